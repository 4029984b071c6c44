# ruff: noqa: E402  (the imports follow the sys.path set-up, so the script runs from the repo)
"""Messenger delivery benchmark (issue 8): bulk sending to Messenger residents at Meta's rate.

Run from the repository root::

    .venv/bin/python bench/messenger.py            # 6,000 recipients per run (~2 minutes)
    .venv/bin/python bench/messenger.py --quick    # 1,500

The sender is a real ``dalyvauk deliver`` process with Messenger on (``MESSENGER_*`` pointing
at the local Graph API in this process, which answers Graph error 613 above 300 Send API
calls per second) and Telegram on (the local Bot API in this process, 429 above 30/s), on
PostgreSQL. Every run gets a new database, dropped at the end.

1. Messenger: one announcement to ``--recipients`` Messenger residents, all inside their
   24-hour window. Achieved rate = (accepted Send API calls - 1) / seconds between the
   first and the last; target ≥ 90 % of MESSENGER_RATE_PER_SECOND (300/s) and no 613.
2. Mixed: one announcement to ``--mixed-recipients`` residents, 1/3 on Telegram and 2/3 on
   Messenger (interleaved, as people sign up), through one sender: each app's rate, 429s
   and 613s, and the total time against the slower app's own time at its limit.

Everyone must get the announcement exactly once (lost / duplicate recipients).

PostgreSQL comes from ``DALYVAUK_TEST_POSTGRES_URL`` or a throwaway cluster (as in the
tests). Exits 1 if a target is missed, 2 if it cannot run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shlex
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench import common
from bench import delivery as telegram_bench
from bench.common import PhaseError, Row, elapsed, say
from bench.delivery import Databases, MemorySampler, Sender, busiest_second, mb, ok_send_times
from bot.config import MESSENGER_RATE_PER_SECOND
from bot.db import create_engine, create_session_factory
from bot.localapi.server import LocalBotAPI
from bot.localgraph import LocalGraphAPI
from bot.services import broadcasts
from bot.services.audiences import Audience
from models import (
    Broadcast,
    BroadcastStatus,
    Channel,
    Municipality,
    OutboxMessage,
    Resident,
    ResidentAccount,
    utcnow,
)

T = TypeVar("T")

MESSENGER_LIMIT = MESSENGER_RATE_PER_SECOND  # Send API calls per second per page
TELEGRAM_LIMIT = telegram_bench.LIMIT  # messages per second
RATE_TARGET = 0.9
MIXED_TIME_TARGET = 1.1  # mixed run: first → last ≤ this × the slower app's time at its limit
TEXT = telegram_bench.TEXT
# The sender's Messenger secrets: made up for each run (only the local Graph API sees them).
APP_SECRET = secrets.token_urlsafe(16)
PAGE_TOKEN = secrets.token_urlsafe(16)
VERIFY_TOKEN = secrets.token_urlsafe(16)
FIRST_CHAT_ID = 100_000  # Telegram residents' chat ids
FIRST_PSID = 7_100_000_000_000_000  # Messenger residents' page-scoped ids
LAST_WROTE = timedelta(hours=1)  # every Messenger resident wrote an hour ago: inside the window

POLL_SECONDS = 0.2
PROGRESS_SECONDS = 10.0
STARTUP_TIMEOUT = 120.0  # sender start → first message (includes expanding the outbox)
SLOWEST_SHARE = 0.1  # timeouts allow sending at a tenth of each app's limit


# -- options ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    recipients: int
    mixed_recipients: int
    skip_mixed: bool
    concurrency: int
    correctness_only: bool
    json_path: Path | None


def parse_args(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="bench/messenger.py",
        description="Bulk delivery to Messenger residents by `dalyvauk deliver` on PostgreSQL.",
    )
    parser.add_argument("--quick", action="store_true", help="1,500 recipients per run")
    parser.add_argument("--recipients", type=int, help="Messenger run (default 6000)")
    parser.add_argument(
        "--mixed-recipients", type=int, help="mixed run, 1/3 Telegram (default: --recipients)"
    )
    parser.add_argument("--skip-mixed", action="store_true", help="no mixed run")
    parser.add_argument("--concurrency", type=int, default=8, help="DELIVERY_CONCURRENCY")
    parser.add_argument(
        "--correctness-only",
        action="store_true",
        help="only lost/duplicates/completion decide the exit code (rates, 613s and 429s are "
        "still measured and shown); for the smoke test",
    )
    parser.add_argument("--json", type=Path, dest="json_path", help="write the figures here")
    args = parser.parse_args(argv)
    recipients = args.recipients or (1_500 if args.quick else 6_000)
    options = Options(
        recipients=recipients,
        mixed_recipients=args.mixed_recipients or recipients,
        skip_mixed=args.skip_mixed,
        concurrency=args.concurrency,
        correctness_only=args.correctness_only,
        json_path=args.json_path,
    )
    if options.recipients < 2 or options.mixed_recipients < 6:
        parser.error("--recipients must be at least 2, --mixed-recipients at least 6")
    return options


# -- one run: a fresh database, both local APIs and a queued broadcast -----------------


@dataclass
class Setup:
    label: str
    bot_api: LocalBotAPI
    graph: LocalGraphAPI
    database_url: str
    sessions: async_sessionmaker[AsyncSession]
    engine: AsyncEngine
    broadcast_id: int
    chats: list[int]  # Telegram residents
    psids: list[str]  # Messenger residents
    workdir: Path
    concurrency: int


async def add_residents(
    sessions: async_sessionmaker[AsyncSession], channels: Sequence[Channel]
) -> tuple[list[int], list[str]]:
    """Onboarded residents in this order of apps (Messenger ones wrote an hour ago); their
    Telegram chat ids and Messenger PSIDs."""
    now = utcnow()
    chats: list[int] = []
    psids: list[str] = []
    rows: list[dict[str, Any]] = []
    async with sessions() as session, session.begin():
        municipality_id = await session.scalar(
            select(Municipality.id).where(Municipality.code == "PAG")
        )
        for channel in channels:
            if channel is Channel.TELEGRAM:
                chats.append(FIRST_CHAT_ID + len(chats))
                external_id = str(chats[-1])
            else:
                psids.append(str(FIRST_PSID + len(psids)))
                external_id = psids[-1]
            rows.append(
                {
                    "channel": channel,
                    "external_id": external_id,
                    "language": "lt",
                    "municipality_id": municipality_id,
                    "consented_at": now,
                    "onboarded_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        for start in range(0, len(rows), 5000):
            await session.execute(insert(Resident), rows[start : start + 5000])
        await session.execute(
            insert(ResidentAccount).from_select(
                ["resident_id", "channel", "external_id", "created_at"],
                select(Resident.id, Resident.channel, Resident.external_id, Resident.created_at),
            )
        )
        await session.execute(
            update(ResidentAccount)
            .where(ResidentAccount.channel == Channel.MESSENGER)
            .values(last_inbound_at=now - LAST_WROTE)
        )
    return chats, psids


@contextlib.asynccontextmanager
async def queued_broadcast(
    databases: Databases,
    label: str,
    channels: Sequence[Channel],
    workdir: Path,
    concurrency: int,
) -> AsyncIterator[Setup]:
    url = await databases.fresh(label)
    bot_api = LocalBotAPI()
    graph = LocalGraphAPI(APP_SECRET, PAGE_TOKEN, rate_limit_per_second=MESSENGER_LIMIT)
    await bot_api.start()
    await graph.start()
    bot_api.set_rate_limit(TELEGRAM_LIMIT, per_chat_per_second=1.0, per_group_per_minute=20)
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    try:
        started = time.perf_counter()
        async with asyncio.timeout(60 + len(channels) / 1000):
            chats, psids = await add_residents(sessions, channels)
            for chat_id in chats:
                bot_api.add_user(chat_id, f"Gyventojas {chat_id}")
            wrote = utcnow() - LAST_WROTE
            for psid in psids:
                graph.set_last_inbound(psid, wrote)
            async with sessions() as session, session.begin():
                broadcast = await broadcasts.create(
                    session, created_by=1, text=TEXT, audience=Audience()
                )
                broadcast_id = broadcast.id
        say(
            f"  {len(chats):,} Telegram and {len(psids):,} Messenger residents and the "
            f"broadcast queued in {elapsed(started):.1f} s"
        )
        yield Setup(
            label,
            bot_api,
            graph,
            url,
            sessions,
            engine,
            broadcast_id,
            chats,
            psids,
            workdir,
            concurrency,
        )
    finally:
        await engine.dispose()
        await graph.close()
        await bot_api.stop()


def messenger_environment(graph: LocalGraphAPI) -> dict[str, str]:
    return {
        "MESSENGER_PAGE_ACCESS_TOKEN": PAGE_TOKEN,
        "MESSENGER_APP_SECRET": APP_SECRET,
        "MESSENGER_VERIFY_TOKEN": VERIFY_TOKEN,
        "MESSENGER_API_BASE": graph.base_url,
        "MESSENGER_RATE_PER_SECOND": f"{MESSENGER_LIMIT:g}",
    }


@contextlib.asynccontextmanager
async def running_sender(setup: Setup, name: str) -> AsyncIterator[Sender]:
    """``dalyvauk deliver`` with both apps on (as bench/delivery.py starts it, plus
    ``MESSENGER_*`` for the local Graph API)."""
    sender = Sender(name, setup.database_url, setup.bot_api, setup.workdir, setup.concurrency)
    for key in [k for k in sender.env if k.startswith("MESSENGER_")]:
        del sender.env[key]  # not the shell's
    sender.env.update(messenger_environment(setup.graph))
    await sender.start()
    try:
        yield sender
    finally:
        if sender.running:
            await sender.stop()


async def broadcast_done(setup: Setup) -> bool:
    async with setup.sessions() as session:
        status = await session.scalar(
            select(Broadcast.status).where(Broadcast.id == setup.broadcast_id)
        )
    return status is not None and BroadcastStatus(status) is BroadcastStatus.DONE


async def outbox_statuses(setup: Setup) -> dict[str, int]:
    async with setup.sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.broadcast_id == setup.broadcast_id)
            .group_by(OutboxMessage.status)
        )
        return {str(status): int(count) for status, count in rows}


def sent_count(setup: Setup) -> int:
    return len(setup.graph.sent) + setup.bot_api.stats.sent_ok


def progress_line(setup: Setup) -> Callable[[], str]:
    total = len(setup.chats) + len(setup.psids)
    last = [time.monotonic(), float(sent_count(setup))]

    def line() -> str:
        now, sent = time.monotonic(), sent_count(setup)
        rate = (sent - last[1]) / max(now - last[0], 1e-9)
        last[:] = [now, sent]
        return (
            f"  [{setup.label}] {sent:,}/{total:,} sent · {rate:.1f}/s · "
            f"613s {setup.graph.rate_limited} · 429s {setup.bot_api.stats.rejected_429}"
        )

    return line


async def wait_until(
    what: str,
    done: Callable[[], Awaitable[bool]],
    *,
    timeout: float,
    sender: Sender,
    progress: Callable[[], str],
) -> None:
    """Poll ``done`` until true; PhaseError on timeout or if the sender exits meanwhile."""
    started = time.perf_counter()
    next_report = started + PROGRESS_SECONDS
    while not await done():
        if not sender.running:
            code = sender.process.returncode if sender.process else None
            raise PhaseError(
                f"{sender.name} exited (code {code}) while waiting for {what}:\n"
                f"{sender.stderr_tail()}"
            )
        if elapsed(started) > timeout:
            raise PhaseError(f"timed out after {timeout:.0f} s waiting for {what}")
        if time.perf_counter() >= next_report:
            say(progress())
            next_report += PROGRESS_SECONDS
        await asyncio.sleep(POLL_SECONDS)


def sending_timeout(setup: Setup) -> float:
    telegram = len(setup.chats) / (TELEGRAM_LIMIT * SLOWEST_SHARE)
    messenger = len(setup.psids) / (MESSENGER_LIMIT * SLOWEST_SHARE)
    return STARTUP_TIMEOUT + telegram + messenger


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class AppFigures:
    """One app's side of a run."""

    recipients: int
    sent_ok: int  # accepted sends (Send API calls / sendMessage)
    rejected: int  # 613 (Messenger) or 429 (Telegram) answers
    lost: int
    duplicates: int
    achieved_per_second: float
    ratio: float  # achieved ÷ the app's limit
    busiest_second: int
    first_send_seconds: float  # sender start → this app's first send
    sending_seconds: float  # this app's first → last send


def app_figures(
    times: list[float], counts: list[int], rejected: int, limit: float, started_at: float
) -> AppFigures:
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    achieved = (len(times) - 1) / span if span > 0 else 0.0
    return AppFigures(
        recipients=len(counts),
        sent_ok=len(times),
        rejected=rejected,
        lost=sum(1 for c in counts if c == 0),
        duplicates=sum(c - 1 for c in counts if c > 1),
        achieved_per_second=achieved,
        ratio=achieved / limit,
        busiest_second=busiest_second(times),
        first_send_seconds=times[0] - started_at if times else 0.0,
        sending_seconds=span,
    )


def messenger_side(setup: Setup, started_at: float) -> AppFigures:
    counts = [
        sum(1 for m in setup.graph.messages_for(psid) if m.text == TEXT) for psid in setup.psids
    ]
    times = sorted(setup.graph.send_times())
    return app_figures(times, counts, setup.graph.rate_limited, MESSENGER_LIMIT, started_at)


def telegram_side(setup: Setup, started_at: float) -> AppFigures:
    counts = [
        sum(1 for m in setup.bot_api.bot_messages(chat) if m.text == TEXT) for chat in setup.chats
    ]
    times = ok_send_times(setup.bot_api)
    rejected = setup.bot_api.stats.rejected_429
    return app_figures(times, counts, rejected, TELEGRAM_LIMIT, started_at)


@dataclass
class RunFigures:
    messenger: AppFigures
    telegram: AppFigures | None
    sending_seconds: float  # first send of either app → the last
    ideal_seconds: float  # the slower app's recipients ÷ its limit
    total_seconds: float  # sender start → broadcast done
    outbox: dict[str, int]
    sender_cpu_seconds: float  # the sender process's CPU time in the run
    harness_cpu_seconds: float  # this process's (both local APIs, the checks)
    sender_peak_rss_mb: float
    exit_code: int
    harness_stalls: int  # this process's event loop ≥ 30 ms late while sending
    harness_worst_ms: float
    load_average: float  # 1 min, at the end of the run
    graph_calls_by_second: list[int] = field(repr=False)  # accepted Send API calls per second


def per_second(times: list[float]) -> list[int]:
    """Accepted calls in each whole second from the first."""
    if not times:
        return []
    counts = [0] * (int(times[-1] - times[0]) + 1)
    for at in times:
        counts[int(at - times[0])] += 1
    return counts


async def run_phase(
    databases: Databases, options: Options, workdir: Path, label: str, channels: list[Channel]
) -> RunFigures:
    async with queued_broadcast(databases, label, channels, workdir, options.concurrency) as setup:
        harness_cpu = time.process_time()
        async with (
            running_sender(setup, f"{label}-sender") as sender,
            MemorySampler(sender.pid) as sampler,
        ):
            await wait_until(
                "the broadcast to finish",
                lambda: broadcast_done(setup),
                timeout=sending_timeout(setup),
                sender=sender,
                progress=progress_line(setup),
            )
            total = time.time() - sender.started_at
            sampler.sample()
            sender_cpu = cpu_seconds(sender.pid)
            exit_code = await sender.stop()
        harness_cpu = time.process_time() - harness_cpu
        outbox = await outbox_statuses(setup)
        messenger = messenger_side(setup, sender.started_at)
        telegram = telegram_side(setup, sender.started_at) if setup.chats else None
        graph_times = sorted(setup.graph.send_times())
        every = graph_times + (ok_send_times(setup.bot_api) if setup.chats else [])
        ideal = max(len(setup.psids) / MESSENGER_LIMIT, len(setup.chats) / TELEGRAM_LIMIT)
    return RunFigures(
        messenger=messenger,
        telegram=telegram,
        sending_seconds=max(every) - min(every) if every else 0.0,
        ideal_seconds=ideal,
        total_seconds=total,
        outbox=outbox,
        sender_cpu_seconds=sender_cpu,
        harness_cpu_seconds=harness_cpu,
        sender_peak_rss_mb=mb(sampler.peak_kb),
        exit_code=exit_code,
        harness_stalls=sender.lag.stalls,
        harness_worst_ms=sender.lag.worst * 1000,
        load_average=os.getloadavg()[0],
        graph_calls_by_second=per_second(graph_times),
    )


def mixed_channels(n: int) -> list[Channel]:
    """One in three on Telegram, interleaved (residents sign up on both apps over time)."""
    return [Channel.TELEGRAM if i % 3 == 0 else Channel.MESSENGER for i in range(n)]


# -- the results table -----------------------------------------------------------------


@dataclass
class Results:
    messenger: RunFigures | None = None
    mixed: RunFigures | None = None
    errors: dict[str, str] = field(default_factory=dict)


def app_rows(name: str, app: AppFigures, limit: float, rate_target: float | None) -> list[Row]:
    code = "613" if limit == MESSENGER_LIMIT else "429"
    rate = (
        f"{app.ratio:.3f} ({app.achieved_per_second:.1f}/s of {limit:g}/s; "
        f"busiest 1-s window {app.busiest_second})"
    )
    return [
        Row(
            f"{name}: achieved ÷ limit",
            rate,
            f"≥ {rate_target}" if rate_target is not None else "",
            "performance" if rate_target is not None else "info",
            app.ratio >= rate_target if rate_target is not None else None,
        ),
        Row(f"{name}: {code} answers", str(app.rejected), "0", "performance", app.rejected == 0),
        Row(
            f"{name}: lost / duplicates",
            f"{app.lost} / {app.duplicates} of {app.recipients:,}",
            "0 / 0",
            "correctness",
            app.lost == 0 and app.duplicates == 0 and app.recipients > 0,
        ),
    ]


def run_rows(title: str, run: RunFigures) -> list[Row]:
    return [
        Row(
            f"{title}: total time",
            f"{run.total_seconds:.1f} s (first → last send {run.sending_seconds:.1f} s; "
            f"at the limits {run.ideal_seconds:.1f} s)",
            "",
            "info",
        ),
        Row(
            f"{title}: CPU",
            f"sender {run.sender_cpu_seconds:.1f} s, harness {run.harness_cpu_seconds:.1f} s "
            f"in {run.total_seconds:.1f} s; load {run.load_average:.2f}",
            "",
            "info",
        ),
    ]


def build_rows(results: Results, options: Options) -> list[Row]:
    rows: list[Row] = []
    if results.messenger is not None:
        run = results.messenger
        name = f"Messenger ({run.messenger.recipients:,})"
        rows += app_rows(name, run.messenger, MESSENGER_LIMIT, RATE_TARGET)
        rows += run_rows(name, run)
    if results.mixed is not None:
        run = results.mixed
        assert run.telegram is not None
        name = f"Mixed ({run.telegram.recipients:,} TG + {run.messenger.recipients:,} M)"
        rows += app_rows(f"{name} Telegram", run.telegram, TELEGRAM_LIMIT, None)
        rows += app_rows(f"{name} Messenger", run.messenger, MESSENGER_LIMIT, None)
        ratio = run.sending_seconds / run.ideal_seconds if run.ideal_seconds else 0.0
        rows.append(
            Row(
                f"{name}: first → last ÷ slower app at its limit",
                f"{ratio:.2f} ({run.sending_seconds:.1f} s ÷ {run.ideal_seconds:.1f} s)",
                f"≤ {MIXED_TIME_TARGET}",
                "performance",
                ratio <= MIXED_TIME_TARGET,
            )
        )
        rows += run_rows(name, run)
    runs = [r for r in (results.messenger, results.mixed) if r is not None]
    if runs:
        rows.append(
            Row(
                f"Harness: stalls ≥ {telegram_bench.STALL_SECONDS * 1000:.0f} ms while sending",
                ", ".join(str(r.harness_stalls) for r in runs)
                + f" (worst {max(r.harness_worst_ms for r in runs):.0f} ms)",
                "",
                "info",
            )
        )
    return rows + common.error_rows(results.errors)


# -- main ------------------------------------------------------------------------------


async def bench(admin_url: str, options: Options, context: dict[str, Any]) -> int:
    databases = Databases(admin_url)
    results = Results()

    async def phase(name: str, run: Awaitable[T]) -> T | None:
        # Both local APIs run here: no garbage collection pauses while a phase runs.
        return await common.guarded(name, results.errors, run, pause_collector=True)

    try:
        context["postgresql_version"] = await common.admin_query(admin_url, "SHOW server_version")
        say(f"PostgreSQL {context['postgresql_version']} at {common.redacted(admin_url)}")
        await databases.prepare_template()
        with tempfile.TemporaryDirectory(prefix="dalyvauk-bench-") as tmp:
            workdir = Path(tmp)
            only = [Channel.MESSENGER] * options.recipients
            results.messenger = await phase(
                "Messenger", run_phase(databases, options, workdir, "messenger", only)
            )
            if not options.skip_mixed:
                mixed = mixed_channels(options.mixed_recipients)
                results.mixed = await phase(
                    "Mixed", run_phase(databases, options, workdir, "mixed", mixed)
                )
    finally:
        await databases.drop_all()
    context["load_average_end"] = os.getloadavg()[0]
    rows = build_rows(results, options)
    ok = common.print_table(rows, options.correctness_only)
    say(
        f"Load average (1 min) {context['load_average_start']:.2f} at the start, "
        f"{context['load_average_end']:.2f} at the end, on {os.cpu_count()} CPUs"
    )
    if options.json_path is not None:
        payload = {
            **context,
            "options": {**asdict(options), "json_path": str(options.json_path)},
            "messenger": common.figures(results.messenger),
            "mixed": common.figures(results.mixed),
            "errors": results.errors,
        }
        common.write_json(options.json_path, payload, rows, options.correctness_only)
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    command = common.show_command()
    say(
        f"Sender: {shlex.join([sys.executable, '-c', telegram_bench.SENDER_CODE, 'deliver'])} "
        f"with MESSENGER_RATE_PER_SECOND={MESSENGER_LIMIT:g} "
        f"DELIVERY_RATE_PER_SECOND={TELEGRAM_LIMIT} DELIVERY_CONCURRENCY={options.concurrency}; "
        f"local Graph API limit {MESSENGER_LIMIT:g} calls/s, local Bot API {TELEGRAM_LIMIT}/s"
    )
    mixed = "skipped" if options.skip_mixed else f"{options.mixed_recipients:,} (1/3 Telegram)"
    say(f"Messenger recipients {options.recipients:,}; mixed {mixed}")
    return common.run_on_postgresql(
        lambda admin_url, context: bench(admin_url, options, context), {"command": command}
    )


if __name__ == "__main__":
    sys.exit(main())
