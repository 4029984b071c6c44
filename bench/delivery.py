# ruff: noqa: E402  (the imports follow the sys.path set-up, so the script runs from the repo)
"""Delivery benchmark (issue 4): rate, memory and crash recovery of ``dalyvauk deliver``.

Run from the repository root::

    .venv/bin/python bench/delivery.py            # the acceptance run (~13 minutes)
    .venv/bin/python bench/delivery.py --quick    # 1,000 / 5,000 recipients, 15 s sample

The sender is a real ``dalyvauk deliver`` process (so its memory is measured alone) on
PostgreSQL, against the local Bot API server in this process, which answers 429 above
30 messages per second. Every run gets a new database, dropped at the end.

1. Rate: one announcement to ``--recipients`` residents. Achieved rate = (successful
   sendMessage calls - 1) / seconds between the first and the last (the intervals between
   sends); target ≥ 95 % of the limit and no 429.
2. Memory: the sender's peak RSS (VmHWM, from /proc) in the rate run, and with ``--large``
   residents queued over ``--large-seconds`` of sending (then SIGTERM); target: the large
   queue adds under 50 MB.
3. Crash: ``kill -9`` of the sender about half way through a ``--recipients`` broadcast
   (a few messages past half, so mid-batch), then a new sender; target: nobody lost, at most
   ``--concurrency`` duplicates.

Timing is tight: paced at 97 % of the limit, sends are 34 ms apart, and 31 fall in one
second once about 31 ms of spacing is lost anywhere (a pause in the sender, or in this
process, which serves the local Bot API). So this process does not collect garbage while a
phase runs, the table shows how often its event loop was late while sending, and the load
average is printed: other work on the machine shows up as 429s first.

PostgreSQL comes from ``DALYVAUK_TEST_POSTGRES_URL`` or a throwaway cluster (as in the
tests). Exits 1 if a target is missed, 2 if it cannot run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shlex
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Self, TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench import common
from bench.common import PhaseError, Row, elapsed, say
from bot.app import prepare_database
from bot.config import explicit_settings
from bot.db import create_engine, create_session_factory
from bot.localapi.server import LocalBotAPI
from bot.services import broadcasts
from bot.services.audiences import Audience
from models import Broadcast, BroadcastStatus, OutboxMessage
from tests.support.residents import add_residents

T = TypeVar("T")

LIMIT = 30  # messages per second: what the local Bot API enforces and the sender is told
RATE_TARGET = 0.95
GROWTH_TARGET_MB = 50.0
TEXT = "Kviečiame į viešąją diskusiją"
SENDER_CODE = "from bot.cli import main; main()"
# Settings the sender must not inherit from the shell (it is configured for the benchmark).
SETTINGS_PREFIXES = (
    "TELEGRAM_",
    "DATABASE_",
    "WEBHOOK_",
    "REDIS_",
    "DELIVERY_",
    "QUIET_",
    "ACTIVE_",
    "DEFAULT_LOCALE",
    "LOG_LEVEL",
    "TIMEZONE",
    "THROTTLE_",
    "PRIVACY_URL",
)

POLL_SECONDS = 0.2
PROGRESS_SECONDS = 15.0
MEMORY_SAMPLE_SECONDS = 1.0
STARTUP_TIMEOUT = 120.0  # sender start → first message (includes expanding the outbox)
STOP_TIMEOUT = 30.0  # SIGTERM → exit, then SIGKILL
SLOWEST_RATE = LIMIT * 0.5  # timeouts allow sending at half the limit
KILL_PAST_HALF = 37  # messages: the crash run kills mid-batch, see kill_point()
LAG_TICK_SECONDS = 0.01
# At 97 % of 30/s, 31 sends fall in one second once ~31 ms of spacing is lost.
STALL_SECONDS = 0.03


# -- options ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    recipients: int
    large: int
    large_seconds: float
    skip_large: bool
    skip_crash: bool
    concurrency: int
    correctness_only: bool
    json_path: Path | None


def parse_args(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="bench/delivery.py",
        description="Rate, memory and crash recovery of `dalyvauk deliver` on PostgreSQL.",
    )
    parser.add_argument("--quick", action="store_true", help="1,000 / 5,000 recipients, 15 s")
    parser.add_argument("--recipients", type=int, help="rate and crash runs (default 10000)")
    parser.add_argument("--large", type=int, help="queued in the memory run (default 100000)")
    parser.add_argument("--large-seconds", type=float, help="memory run sample (default 60)")
    parser.add_argument("--skip-large", action="store_true", help="no large memory run")
    parser.add_argument("--skip-crash", action="store_true", help="no kill -9 run")
    parser.add_argument("--concurrency", type=int, default=8, help="DELIVERY_CONCURRENCY")
    parser.add_argument(
        "--correctness-only",
        action="store_true",
        help="only lost/duplicates/completion decide the exit code (rate, 429s and memory "
        "are still measured and shown); for the smoke test",
    )
    parser.add_argument("--json", type=Path, dest="json_path", help="write the figures here")
    args = parser.parse_args(argv)
    recipients, large, seconds = (1_000, 5_000, 15.0) if args.quick else (10_000, 100_000, 60.0)
    options = Options(
        recipients=args.recipients or recipients,
        large=args.large or large,
        large_seconds=args.large_seconds or seconds,
        skip_large=args.skip_large,
        skip_crash=args.skip_crash,
        concurrency=args.concurrency,
        correctness_only=args.correctness_only,
        json_path=args.json_path,
    )
    if options.recipients < 2 or options.large < 1 or options.large_seconds <= 0:
        parser.error("--recipients must be at least 2, --large and --large-seconds positive")
    return options


# -- PostgreSQL ------------------------------------------------------------------------


class Databases:
    """Fresh databases on one server, each a copy of a migrated template; all dropped later."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.prefix = f"dalyvauk_bench_{uuid.uuid4().hex[:8]}"
        self.template = f"{self.prefix}_template"
        self.created: list[str] = []

    async def _create(self, name: str, template: str | None = None) -> str:
        url = await common.create_database(self.admin_url, name, template)
        self.created.append(name)
        return url

    async def prepare_template(self) -> None:
        url = await self._create(self.template)
        engine = create_engine(url)
        try:
            await prepare_database(explicit_settings(database={"url": url}), engine)
        finally:
            await engine.dispose()

    async def fresh(self, label: str) -> str:
        return await self._create(f"{self.prefix}_{label}", self.template)

    async def drop_all(self) -> None:
        while self.created:
            await common.drop_database(self.admin_url, self.created.pop())


# -- the sender process and its memory -------------------------------------------------


class LoopLag:
    """How late this process's event loop runs while a sender sends.

    The local Bot API is served by this loop: a stall here delays requests, which then
    arrive together, and a 429 follows that the sender did not cause.
    """

    def __init__(self) -> None:
        self.stalls = 0  # wake-ups at least STALL_SECONDS late
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(LAG_TICK_SECONDS)
            late = time.monotonic() - before - LAG_TICK_SECONDS
            if late >= STALL_SECONDS:
                self.stalls += 1
            self.worst = max(self.worst, late)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class Sender:
    """One ``dalyvauk deliver`` process sending through the local Bot API."""

    def __init__(
        self, name: str, database_url: str, api: LocalBotAPI, workdir: Path, concurrency: int
    ) -> None:
        self.name = name
        self.workdir = workdir
        self.log_path = workdir / f"{name}.stderr.log"
        self.env = sender_environment(database_url, api, concurrency)
        self.process: asyncio.subprocess.Process | None = None
        self.started_at = 0.0  # time.time(), comparable with ApiCall.at
        self.lag = LoopLag()

    def _open_log(self) -> IO[bytes]:
        return self.log_path.open("wb")

    async def start(self) -> None:
        with self._open_log() as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                SENDER_CODE,
                "deliver",
                env=self.env,
                cwd=self.workdir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )
        self.started_at = time.time()
        self.lag.start()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        await self.lag.stop()

    async def stop(self) -> int:
        """SIGTERM, then SIGKILL if it has not exited after STOP_TIMEOUT; the exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(STOP_TIMEOUT):
                    await self.process.wait()
            except TimeoutError:
                say(f"  {self.name} ignored SIGTERM for {STOP_TIMEOUT:.0f} s: killed")
                await self.kill()
        await self.lag.stop()
        assert self.process.returncode is not None
        return self.process.returncode

    def stderr(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stderr_tail(self, lines: int = 15) -> str:
        return "\n".join(self.stderr().splitlines()[-lines:])


def sender_environment(database_url: str, api: LocalBotAPI, concurrency: int) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_PREFIXES)}
    python_path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return {
        **inherited,
        "PYTHONPATH": python_path,
        "DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_BASE": api.base_url,
        "DELIVERY_RATE_PER_SECOND": str(LIMIT),
        "DELIVERY_CONCURRENCY": str(concurrency),
        "QUIET_HOURS_START": "00:00",  # no quiet hours: the benchmark may run at night
        "QUIET_HOURS_END": "00:00",
        "LOG_LEVEL": "WARNING",
    }


@dataclass(frozen=True)
class MemoryReading:
    hwm_kb: int  # VmHWM: the peak resident set so far
    rss_kb: int  # VmRSS: resident now


def read_memory(pid: int) -> MemoryReading | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values = dict(re.findall(r"^(VmHWM|VmRSS):\s+(\d+) kB", status, flags=re.MULTILINE))
    if "VmHWM" not in values or "VmRSS" not in values:
        return None  # a zombie has no memory lines
    return MemoryReading(int(values["VmHWM"]), int(values["VmRSS"]))


def mb(kb: int) -> float:
    return kb / 1024


class MemorySampler:
    """Reads the sender's VmHWM and VmRSS every second (and on demand)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self.rss_kb = 0
        self.trace: list[tuple[float, float]] = []  # (seconds, VmRSS MB)
        self._t0 = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        reading = read_memory(self.pid)
        if reading is None:
            return
        self.peak_kb = max(self.peak_kb, reading.hwm_kb)
        self.rss_kb = reading.rss_kb
        self.trace.append((round(time.monotonic() - self._t0, 1), round(mb(reading.rss_kb), 1)))

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(MEMORY_SAMPLE_SECONDS)

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


# -- one run: a fresh database, the local Bot API and a queued broadcast ---------------


@dataclass
class Setup:
    label: str
    api: LocalBotAPI
    database_url: str
    sessions: async_sessionmaker[AsyncSession]
    engine: AsyncEngine
    broadcast_id: int
    chats: list[int]
    workdir: Path
    concurrency: int


@contextlib.asynccontextmanager
async def queued_broadcast(
    databases: Databases, label: str, recipients: int, workdir: Path, concurrency: int
) -> AsyncIterator[Setup]:
    url = await databases.fresh(label)
    api = LocalBotAPI()
    await api.start()
    api.set_rate_limit(LIMIT, per_chat_per_second=1.0, per_group_per_minute=20)
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    try:
        started = time.perf_counter()
        async with asyncio.timeout(60 + recipients / 1000):
            chats = await add_residents(sessions, api, recipients)
            async with sessions() as session, session.begin():
                broadcast = await broadcasts.create(
                    session, created_by=1, text=TEXT, audience=Audience()
                )
                broadcast_id = broadcast.id
        say(f"  {recipients:,} residents and the broadcast queued in {elapsed(started):.1f} s")
        yield Setup(label, api, url, sessions, engine, broadcast_id, chats, workdir, concurrency)
    finally:
        await engine.dispose()
        await api.stop()


@contextlib.asynccontextmanager
async def running_sender(setup: Setup, name: str) -> AsyncIterator[Sender]:
    sender = Sender(name, setup.database_url, setup.api, setup.workdir, setup.concurrency)
    await sender.start()
    try:
        yield sender
    finally:
        if sender.running:
            await sender.stop()


async def broadcast_status(setup: Setup) -> BroadcastStatus:
    async with setup.sessions() as session:
        status = await session.scalar(
            select(Broadcast.status).where(Broadcast.id == setup.broadcast_id)
        )
    assert status is not None
    return BroadcastStatus(status)


async def outbox_statuses(setup: Setup) -> dict[str, int]:
    async with setup.sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.broadcast_id == setup.broadcast_id)
            .group_by(OutboxMessage.status)
        )
        return {str(status): int(count) for status, count in rows}


def finished(setup: Setup) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await broadcast_status(setup) is BroadcastStatus.DONE

    return check


def sent_at_least(api: LocalBotAPI, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return api.stats.sent_ok >= count

    return check


def seconds_passed(seconds: float) -> Callable[[], Awaitable[bool]]:
    start = time.perf_counter()

    async def check() -> bool:
        return elapsed(start) >= seconds

    return check


def progress_line(setup: Setup, total: int, sampler: MemorySampler | None) -> Callable[[], str]:
    last = [time.monotonic(), float(setup.api.stats.sent_ok)]

    def line() -> str:
        """Progress, with the rate since the previous line."""
        stats = setup.api.stats
        now = time.monotonic()
        rate = (stats.sent_ok - last[1]) / max(now - last[0], 1e-9)
        last[:] = [now, stats.sent_ok]
        memory = f" · sender RSS {mb(sampler.rss_kb):.0f} MB" if sampler else ""
        return (
            f"  [{setup.label}] {stats.sent_ok:,}/{total:,} sent · {rate:.1f}/s · "
            f"429s {stats.rejected_429}{memory}"
        )

    return line


async def wait_until(
    what: str,
    done: Callable[[], Awaitable[bool]],
    *,
    timeout: float,
    senders: Sequence[Sender] = (),
    progress: Callable[[], str] | None = None,
    poll: float = POLL_SECONDS,
) -> None:
    """Poll ``done`` until true; PhaseError on timeout or if a sender exits meanwhile."""
    started = time.perf_counter()
    next_report = started + PROGRESS_SECONDS
    while not await done():
        for sender in senders:
            if not sender.running:
                raise PhaseError(
                    f"{sender.name} exited (code {sender.process and sender.process.returncode})"
                    f" while waiting for {what}:\n{sender.stderr_tail()}"
                )
        if elapsed(started) > timeout:
            raise PhaseError(f"timed out after {timeout:.0f} s waiting for {what}")
        if progress is not None and time.perf_counter() >= next_report:
            say(progress())
            next_report += PROGRESS_SECONDS
        await asyncio.sleep(poll)


def sending_timeout(messages: int) -> float:
    return STARTUP_TIMEOUT + messages / SLOWEST_RATE


def ok_send_times(api: LocalBotAPI) -> list[float]:
    return sorted(call.at for call in api.calls_for("sendMessage") if call.ok)


def busiest_second(times: list[float]) -> int:
    """Most sends in any 1-second window (``times`` sorted)."""
    busiest, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        busiest = max(busiest, last - first + 1)
    return busiest


def deliveries(api: LocalBotAPI, chats: list[int]) -> tuple[int, int]:
    """(recipients without the message, extra copies in all)."""
    counts = [sum(1 for m in api.bot_messages(chat) if m.text == TEXT) for chat in chats]
    return sum(1 for c in counts if c == 0), sum(c - 1 for c in counts if c > 1)


async def first_message(setup: Setup, sender: Sender, sampler: MemorySampler) -> int:
    """Wait for the sender's first message; its VmRSS (kB) then."""
    await wait_until(
        "the first message", sent_at_least(setup.api, 1), timeout=STARTUP_TIMEOUT, senders=[sender]
    )
    sampler.sample()
    return sampler.rss_kb


# -- phase 1: rate (and the baseline memory) -------------------------------------------


@dataclass
class RateFigures:
    recipients: int
    sent_ok: int
    rejected_429: int
    lost: int
    duplicates: int
    achieved_per_second: float
    ratio: float
    busiest_second: int
    startup_seconds: float  # sender start → first message
    sending_seconds: float  # first → last message
    total_seconds: float  # sender start → broadcast done
    peak_rss_mb: float  # VmHWM
    end_rss_mb: float  # VmRSS when done, before SIGTERM
    first_send_rss_mb: float  # VmRSS at the first message
    exit_code: int
    harness_stalls: int  # this process's event loop ≥ 30 ms late while sending
    harness_worst_ms: float
    rss_trace_mb: list[tuple[float, float]] = field(repr=False)


async def rate_phase(databases: Databases, options: Options, workdir: Path) -> RateFigures:
    n = options.recipients
    async with (
        queued_broadcast(databases, "rate", n, workdir, options.concurrency) as setup,
        running_sender(setup, "rate-sender") as sender,
        MemorySampler(sender.pid) as sampler,
    ):
        first_send_rss = await first_message(setup, sender, sampler)
        await wait_until(
            "the broadcast to finish",
            finished(setup),
            timeout=sending_timeout(n),
            senders=[sender],
            progress=progress_line(setup, n, sampler),
            poll=0.5,
        )
        total = time.time() - sender.started_at
        sampler.sample()  # the last reading, before SIGTERM
        exit_code = await sender.stop()
        times = ok_send_times(setup.api)
        lost, duplicates = deliveries(setup.api, setup.chats)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    achieved = (len(times) - 1) / span if span > 0 else 0.0
    return RateFigures(
        recipients=n,
        sent_ok=len(times),
        rejected_429=setup.api.stats.rejected_429,
        lost=lost,
        duplicates=duplicates,
        achieved_per_second=achieved,
        ratio=achieved / LIMIT,
        busiest_second=busiest_second(times),
        startup_seconds=times[0] - sender.started_at,
        sending_seconds=span,
        total_seconds=total,
        peak_rss_mb=mb(sampler.peak_kb),
        end_rss_mb=mb(sampler.rss_kb),
        first_send_rss_mb=mb(first_send_rss),
        exit_code=exit_code,
        harness_stalls=sender.lag.stalls,
        harness_worst_ms=sender.lag.worst * 1000,
        rss_trace_mb=sampler.trace,
    )


# -- phase 2: memory with a large queue ------------------------------------------------


@dataclass
class LargeFigures:
    queued: int
    period_seconds: float
    sent_ok: int
    rejected_429: int
    startup_seconds: float  # sender start → first message (includes expanding the outbox)
    peak_rss_mb: float
    end_rss_mb: float
    first_send_rss_mb: float
    exit_code: int
    harness_stalls: int  # this process's event loop ≥ 30 ms late while sending
    harness_worst_ms: float
    rss_trace_mb: list[tuple[float, float]] = field(repr=False)


async def large_phase(databases: Databases, options: Options, workdir: Path) -> LargeFigures:
    n, seconds = options.large, options.large_seconds
    async with (
        queued_broadcast(databases, "large", n, workdir, options.concurrency) as setup,
        running_sender(setup, "large-sender") as sender,
        MemorySampler(sender.pid) as sampler,
    ):
        first_send_rss = await first_message(setup, sender, sampler)
        await wait_until(
            f"{seconds:g} s of sending",
            seconds_passed(seconds),
            timeout=seconds + 10,
            senders=[sender],
            progress=progress_line(setup, n, sampler),
        )
        sampler.sample()  # the last reading, before SIGTERM
        exit_code = await sender.stop()
        times = ok_send_times(setup.api)
    return LargeFigures(
        queued=n,
        period_seconds=seconds,
        sent_ok=len(times),
        rejected_429=setup.api.stats.rejected_429,
        startup_seconds=times[0] - sender.started_at,
        peak_rss_mb=mb(sampler.peak_kb),
        end_rss_mb=mb(sampler.rss_kb),
        first_send_rss_mb=mb(first_send_rss),
        exit_code=exit_code,
        harness_stalls=sender.lag.stalls,
        harness_worst_ms=sender.lag.worst * 1000,
        rss_trace_mb=sampler.trace,
    )


# -- phase 3: kill -9 half way ---------------------------------------------------------


@dataclass
class CrashFigures:
    recipients: int
    sent_at_kill: int
    lost: int
    duplicates: int
    recovered_rows: int  # "recovered N outbox rows" in the new sender's log (none: 0)
    restart_to_first_send_seconds: float
    recovery_seconds: float  # kill → first message from the new sender
    kill_to_done_seconds: float
    rejected_429: int
    outbox: dict[str, int]
    exit_code: int
    harness_stalls: int
    harness_worst_ms: float


def kill_point(recipients: int) -> int:
    """About half way, but a little past it: with a round number of recipients, exactly half
    is the end of a claimed batch (DELIVERY_BATCH_SIZE 100), where nothing is in flight."""
    return recipients // 2 + min(KILL_PAST_HALF, recipients // 4)


async def crash_phase(databases: Databases, options: Options, workdir: Path) -> CrashFigures:
    n = options.recipients
    kill_at = kill_point(n)
    async with queued_broadcast(databases, "crash", n, workdir, options.concurrency) as setup:
        async with running_sender(setup, "crash-sender-1") as first:
            await wait_until(
                f"{kill_at:,} messages to be sent",
                sent_at_least(setup.api, kill_at),
                timeout=sending_timeout(kill_at),
                senders=[first],
                progress=progress_line(setup, n, None),
                poll=0.01,
            )
            await first.kill()
            killed_at = time.time()
            sent_at_kill = setup.api.stats.sent_ok
        say(f"  [crash] kill -9 at {sent_at_kill:,} sent; starting a new sender")
        async with running_sender(setup, "crash-sender-2") as second:
            await wait_until(
                "the broadcast to finish after the crash",
                finished(setup),
                timeout=sending_timeout(n - kill_at),
                senders=[second],
                progress=progress_line(setup, n, None),
                poll=0.5,
            )
            done_at = time.time()
            exit_code = await second.stop()
        first_after = min(t for t in ok_send_times(setup.api) if t >= second.started_at)
        lost, duplicates = deliveries(setup.api, setup.chats)
        outbox = await outbox_statuses(setup)
    recovered = re.search(r"recovered (\d+) outbox rows", second.stderr())
    return CrashFigures(
        recipients=n,
        sent_at_kill=sent_at_kill,
        lost=lost,
        duplicates=duplicates,
        recovered_rows=int(recovered.group(1)) if recovered else 0,
        restart_to_first_send_seconds=first_after - second.started_at,
        recovery_seconds=first_after - killed_at,
        kill_to_done_seconds=done_at - killed_at,
        rejected_429=setup.api.stats.rejected_429,
        outbox=outbox,
        exit_code=exit_code,
        harness_stalls=first.lag.stalls + second.lag.stalls,
        harness_worst_ms=max(first.lag.worst, second.lag.worst) * 1000,
    )


# -- the results table -----------------------------------------------------------------


@dataclass
class Results:
    rate: RateFigures | None = None
    large: LargeFigures | None = None
    crash: CrashFigures | None = None
    errors: dict[str, str] = field(default_factory=dict)


def rate_rows(rate: RateFigures) -> list[Row]:
    n = f"{rate.recipients:,}"
    return [
        Row(
            f"Rate ({n}): achieved ÷ limit",
            f"{rate.ratio:.3f} ({rate.achieved_per_second:.2f}/s of {LIMIT}/s)",
            f"≥ {RATE_TARGET}",
            "performance",
            rate.ratio >= RATE_TARGET,
        ),
        Row(
            f"Rate ({n}): 429 responses",
            str(rate.rejected_429),
            "0",
            "performance",
            rate.rejected_429 == 0,
        ),
        Row(
            f"Rate ({n}): total time",
            f"{rate.total_seconds:.1f} s (start-up {rate.startup_seconds:.1f} s + first → "
            f"last {rate.sending_seconds:.1f} s + marking done)",
            "",
            "info",
        ),
        Row(f"Rate ({n}): busiest 1-s window", f"{rate.busiest_second} messages", "", "info"),
        Row(
            f"Rate ({n}): lost / duplicates",
            f"{rate.lost} / {rate.duplicates}",
            "0 / 0",
            "correctness",
            rate.lost == 0 and rate.duplicates == 0,
        ),
    ]


def memory_rows(rate: RateFigures | None, large: LargeFigures | None) -> list[Row]:
    rows: list[Row] = []
    if rate is not None:
        rows.append(
            Row(
                f"Memory: peak RSS, {rate.recipients:,} sent",
                f"{rate.peak_rss_mb:.1f} MB (VmRSS {rate.first_send_rss_mb:.1f} at the first "
                f"message → {rate.end_rss_mb:.1f} at the end)",
                "",
                "info",
            )
        )
    if large is not None:
        rows.append(
            Row(
                f"Memory: peak RSS, {large.queued:,} queued",
                f"{large.peak_rss_mb:.1f} MB (VmRSS {large.first_send_rss_mb:.1f} → "
                f"{large.end_rss_mb:.1f}; {large.sent_ok:,} sent in {large.period_seconds:g} s)",
                "",
                "info",
            )
        )
    if rate is not None and large is not None:
        growth = large.peak_rss_mb - rate.peak_rss_mb
        rows.append(
            Row(
                "Memory: growth (large peak − rate peak)",
                f"{growth:+.1f} MB",
                f"< {GROWTH_TARGET_MB:g} MB",
                "performance",
                growth < GROWTH_TARGET_MB,
            )
        )
    return rows


def crash_rows(crash: CrashFigures, concurrency: int) -> list[Row]:
    n = f"{crash.recipients:,}"
    return [
        Row(f"Crash ({n}): lost", str(crash.lost), "0", "correctness", crash.lost == 0),
        Row(
            f"Crash ({n}): duplicates",
            f"{crash.duplicates} (killed at {crash.sent_at_kill:,} sent; "
            f"{crash.recovered_rows} rows recovered)",
            f"≤ {concurrency}",
            "correctness",
            crash.duplicates <= concurrency,
        ),
        Row(
            f"Crash ({n}): time to recover",
            f"{crash.recovery_seconds:.1f} s (kill → new sender's first message); "
            f"all done {crash.kill_to_done_seconds:.1f} s after the kill",
            "",
            "info",
        ),
        Row(
            f"Crash ({n}): 429 responses",
            str(crash.rejected_429),
            "0",
            "performance",
            crash.rejected_429 == 0,
        ),
    ]


def harness_rows(results: Results) -> list[Row]:
    phases = [("rate", results.rate), ("large", results.large), ("crash", results.crash)]
    measured = [(name, f) for name, f in phases if f is not None]
    if not measured:
        return []
    counts = ", ".join(f"{name} {f.harness_stalls}" for name, f in measured)
    worst = max(f.harness_worst_ms for _, f in measured)
    return [
        Row(
            f"Harness: stalls ≥ {STALL_SECONDS * 1000:.0f} ms while sending",
            f"{counts} (worst {worst:.0f} ms)",
            "",
            "info",
        )
    ]


def build_rows(results: Results, options: Options) -> list[Row]:
    rows: list[Row] = []
    if results.rate is not None:
        rows += rate_rows(results.rate)
    rows += memory_rows(results.rate, results.large)
    if results.crash is not None:
        rows += crash_rows(results.crash, options.concurrency)
    return rows + harness_rows(results) + common.error_rows(results.errors)


# -- main ------------------------------------------------------------------------------


async def bench(admin_url: str, options: Options, context: dict[str, Any]) -> int:
    databases = Databases(admin_url)
    results = Results()

    async def phase(name: str, run: Awaitable[T]) -> T | None:
        """No garbage collection in this process while a phase runs: the local Bot API runs
        here, and a full collection of its records (every call and message is kept) pauses it
        for about 0.2 s. The requests that arrive meanwhile are then handled together, which
        puts 31 sends in one second: 429s that the sender did not cause."""
        return await common.guarded(name, results.errors, run, pause_collector=True)

    try:
        context["postgresql_version"] = await common.admin_query(admin_url, "SHOW server_version")
        say(f"PostgreSQL {context['postgresql_version']} at {common.redacted(admin_url)}")
        await databases.prepare_template()
        with tempfile.TemporaryDirectory(prefix="dalyvauk-bench-") as tmp:
            workdir = Path(tmp)
            results.rate = await phase("Rate", rate_phase(databases, options, workdir))
            if not options.skip_large:
                results.large = await phase(
                    "Memory (large queue)", large_phase(databases, options, workdir)
                )
            if not options.skip_crash:
                results.crash = await phase("Crash", crash_phase(databases, options, workdir))
    finally:
        await databases.drop_all()
    loads = context["load_average_start"], load_average()
    context["load_average_end"] = loads[1]
    rows = build_rows(results, options)
    ok = common.print_table(rows, options.correctness_only)
    say(
        f"Load average (1 min) {loads[0]:.2f} at the start, {loads[1]:.2f} at the end, on "
        f"{os.cpu_count()} CPUs"
        + (": other processes competed for the CPUs" if busy(*loads) else "")
    )
    if options.json_path is not None:
        payload = {
            **context,
            "options": {**asdict(options), "json_path": str(options.json_path)},
            "rate": common.figures(results.rate),
            "large": common.figures(results.large),
            "crash": common.figures(results.crash),
            "errors": results.errors,
        }
        common.write_json(options.json_path, payload, rows, options.correctness_only)
    return 0 if ok else 1


def load_average() -> float:
    return os.getloadavg()[0]


def busy(*loads: float) -> bool:
    """Was the machine busy with other work? Timing (rate, 429s) suffers first."""
    cpus = os.cpu_count() or 1
    # The benchmark itself keeps about one CPU busy (sender, PostgreSQL, local API).
    return max(loads) > cpus - 0.5


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    command = common.show_command()
    say(
        f"Sender: {shlex.join([sys.executable, '-c', SENDER_CODE, 'deliver'])} with "
        f"DELIVERY_RATE_PER_SECOND={LIMIT} DELIVERY_CONCURRENCY={options.concurrency}; "
        f"local Bot API limit {LIMIT} messages/s"
    )
    large = f"{options.large:,} for {options.large_seconds:g} s"
    say(
        f"Recipients {options.recipients:,}; large queue "
        f"{'skipped' if options.skip_large else large}; "
        f"crash {'skipped' if options.skip_crash else 'yes'}"
    )
    return common.run_on_postgresql(
        lambda admin_url, context: bench(admin_url, options, context), {"command": command}
    )


if __name__ == "__main__":
    sys.exit(main())
