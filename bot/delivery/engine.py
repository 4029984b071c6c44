"""The delivery engine: persisted outbox → platform, at the platform's limits, through crashes.

How it works
------------
* A broadcast that is due is expanded into ``outbox`` rows (one per recipient) in one
  INSERT … SELECT before anything is sent (``bot.services.broadcasts.start``).
* One sender per database sends. On PostgreSQL it is elected with an advisory lock held on
  its own connection, so several bot processes can share a database: the others wait and
  take over if it dies. Rows are claimed with ``FOR UPDATE SKIP LOCKED``. On SQLite a file
  lock next to the database plays the same role.
* A claimed row is marked ``sending`` and committed before its send; the outcome (message
  id, failure, blocked) is committed right after the platform answers. After a crash the
  next sender puts ``sending`` rows back to ``pending``: nobody is lost, and a resident
  can get a message twice only if the process died between the platform accepting it and
  our record of it — at most ``concurrency`` messages per app per crash.
* Each app (Telegram, Messenger) is a lane with its own batches, workers and pacer, so a
  broadcast to both goes out at each app's own rate.
* A graceful stop (SIGTERM → ``Application.close``) claims nothing more, lets the sends in
  flight finish for up to ``stop_grace`` seconds and records their outcome, releases the
  sender role, and only then cancels what is left: after an ordinary restart nothing is
  sent twice (a send still unanswered after the grace stays ``sending`` and is recovered
  as after a crash).
* Each app (Telegram, Messenger) has its own sender and its own pacer: sends are paced
  evenly under that platform's overall rate with a minimum gap per chat. A 429 (Messenger:
  codes 4/613 after the client's own retries) pauses that app's sending for
  ``retry_after``; 5xx and network errors are retried later with exponential backoff, up
  to ``max_attempts``; 403 (Messenger: 551, 100/2018001) marks the resident unreachable and
  is not retried; other refusals are recorded as failed with the reason.
* Messenger's 24-hour window (``bot.services.messaging_window``): for each batch the
  engine reads when its Messenger recipients last wrote, in one query. Inside the window a
  row is sent; outside it an event reminder or change to the people registered goes with
  the ``CONFIRMED_EVENT_UPDATE`` tag when the deployment allows it; anything else is
  *held* (not sent) and offered when the resident next writes (``channels/messenger/held``).
  A held row is an outcome: the broadcast finishes without waiting for it.
* Non-urgent broadcasts wait while quiet hours last.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import fcntl
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import DeliverySettings
from bot.delivery.ratelimit import SendPacer
from bot.services import broadcasts, messaging_window, residents
from bot.services.broadcasts import Progress
from bot.services.messaging_window import WindowDecision
from bot.services.quiet_hours import QuietHours
from models import (
    Broadcast,
    BroadcastStatus,
    Channel,
    OutboxMessage,
    OutboxStatus,
    ResidentAccount,
    utcnow,
)

logger = logging.getLogger(__name__)

# Pace a little under the limit so timing jitter never puts a 1-second window over it.
RATE_SAFETY = 0.97
ADVISORY_LOCK_KEY = 0x44414C59  # "DALY"
IDLE_POLL_SECONDS = 1.0
RETRY_MAX_SECONDS = 300.0
PROGRESS_REPORT_TIMEOUT = 10.0
# How long a graceful stop waits for the sends in flight (each is also bounded by the Bot
# API's HTTP timeout); short enough for ``docker stop``'s 10 s before SIGKILL.
STOP_GRACE_SECONDS = 5.0
# Messenger has no per-person limit like Telegram's one message a second per chat; a short
# gap still keeps two broadcasts to one person in order (concurrent workers could otherwise
# race them) and spares them a burst.
MESSENGER_CHAT_GAP_SECONDS = 0.5
NO_SENDER_ERROR = "this app is not configured in this deployment"


class Outcome(enum.Enum):
    SENT = "sent"
    BLOCKED = "blocked"  # 403: the resident blocked the bot (Messenger: unreachable)
    HELD = "held"  # Messenger: outside the 24-hour window; offered when they next write
    FAILED = "failed"  # refused for good (400 …)
    RETRY = "retry"  # 5xx or network: try again later
    RATE_LIMITED = "rate_limited"  # 429


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    message_id: int | None = None
    retry_after: float | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Content:
    """What a broadcast sends; loaded once per broadcast."""

    broadcast_id: int
    text: str
    photo_file_id: str | None
    button_text: str | None
    button_url: str | None
    # An event's reminder or change to the people registered: on Messenger it may go
    # outside the 24-hour window with the CONFIRMED_EVENT_UPDATE tag.
    event_update: bool = False


class Sender(Protocol):
    """An app's way of sending one message. ``tagged``: send it as a tagged event update
    (Messenger outside the window); other apps ignore it."""

    async def send(self, content: Content, chat_id: str, *, tagged: bool = False) -> SendResult: ...


def default_rates(
    delivery: DeliverySettings, messenger_rate: float | None = None
) -> dict[Channel, float]:
    rates = {Channel.TELEGRAM: delivery.rate_per_second}
    if messenger_rate is not None:
        rates[Channel.MESSENGER] = messenger_rate
    return rates


def pacer_for(channel: Channel, rate: float) -> SendPacer:
    """A channel's pacer: Telegram one message a second per chat (three for groups),
    Messenger a short gap per person (see MESSENGER_CHAT_GAP_SECONDS)."""
    if channel is Channel.MESSENGER:
        return SendPacer(
            rate * RATE_SAFETY,
            per_chat_gap=MESSENGER_CHAT_GAP_SECONDS,
            group_gap=MESSENGER_CHAT_GAP_SECONDS,
        )
    return SendPacer(rate * RATE_SAFETY)


ProgressCallback = Callable[[Broadcast, Progress], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    broadcast_id: int
    chat_id: str
    attempts: int
    channel: Channel = Channel.TELEGRAM
    tagged: bool = False  # Messenger outside the window, as a tagged event update


@contextlib.contextmanager
def sqlite_sender_lock(database: str | None) -> Iterator[bool]:
    """An exclusive, non-blocking lock on ``<database>.sender-lock``; released on exit or
    when the process dies. An in-memory database has only this process."""
    if not database or database == ":memory:":
        yield True
        return
    with open(f"{database}.sender-lock", "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class DeliveryEngine:
    def __init__(
        self,
        engine: AsyncEngine,
        session_factory: async_sessionmaker[AsyncSession],
        senders: Mapping[Channel, Sender],
        settings: DeliverySettings,
        quiet_hours: QuietHours,
        on_progress: ProgressCallback | None = None,
        *,
        rates: Mapping[Channel, float] | None = None,
        event_update_tag: bool = False,
        stop_grace: float = STOP_GRACE_SECONDS,
    ) -> None:
        """``senders``: one per app that is on (no Messenger sender when Messenger is off);
        ``rates``: messages per second per app (Telegram defaults to the delivery
        settings'); ``event_update_tag``: MESSENGER_EVENT_UPDATE_TAG."""
        self.engine = engine
        self.sessions = session_factory
        self.senders: dict[Channel, Sender] = dict(senders)
        self.settings = settings
        self.quiet_hours = quiet_hours
        self.on_progress = on_progress
        self.stop_grace = stop_grace
        self.event_update_tag = event_update_tag
        self.rates = default_rates(settings)
        self.rates.update(rates or {})
        self.pacers: dict[Channel, SendPacer] = {
            channel: pacer_for(channel, rate) for channel, rate in self.rates.items()
        }
        self._wake = asyncio.Event()
        self._stop_requested = asyncio.Event()  # set once, never cleared (unlike _wake)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._contents: dict[int, Content] = {}
        self._last_report: dict[int, float] = {}
        self.is_leader = False

    # -- life cycle ------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="delivery-engine")

    async def stop(self, grace: float | None = None) -> None:
        """Stop sending: claim nothing more, let the sends in flight finish and record them
        (at most ``grace`` seconds, default ``stop_grace``), give up the sender role, then
        cancel whatever is left."""
        self._stopping = True
        self._stop_requested.set()
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        grace = self.stop_grace if grace is None else grace
        try:
            await asyncio.wait({task}, timeout=grace)
        finally:  # also when the caller is cancelled: never leave the task running
            if not task.done():
                logger.warning(
                    "delivery engine: sends still unanswered after %s s; stopping them "
                    "(their rows stay 'sending' and are recovered at the next start)",
                    grace,
                )
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        """Something is due now (a broadcast was created): don't wait for the next tick."""
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                async with self._leadership() as leader:
                    if not leader:
                        await self._sleep(2.0)
                        continue
                    await self._recover()
                    while not self._stopping:
                        await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("delivery engine error; restarting in 2 s")
                await self._sleep(2.0)

    async def _sleep(self, seconds: float) -> None:
        if self._stopping:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        self._wake.clear()

    @contextlib.asynccontextmanager
    async def _leadership(self) -> AsyncIterator[bool]:
        """Hold the sender role: a PostgreSQL advisory lock, or a file lock next to the
        SQLite database (so a second process on the same file does not send too)."""
        if self.engine.dialect.name != "postgresql":
            with sqlite_sender_lock(self.engine.url.database) as got:
                self.is_leader = got
                try:
                    yield got
                finally:
                    self.is_leader = False
            return
        async with self.engine.connect() as conn:
            got = await conn.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
            await conn.commit()
            if not got:
                yield False
                return
            self.is_leader = True
            watchdog = asyncio.create_task(self._watch_lock(conn))
            try:
                yield True
            finally:
                self.is_leader = False
                watchdog.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await watchdog
                with contextlib.suppress(Exception):
                    await conn.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
                    )
                    await conn.commit()

    async def _watch_lock(self, conn: AsyncConnection) -> None:
        """If the lock's connection dies, the lock is gone: stop sending at once."""
        while True:
            await asyncio.sleep(5)
            try:
                await conn.execute(text("SELECT 1"))
                await conn.commit()
            except Exception:
                logger.error("lost the delivery lock's connection; stepping down")
                current = asyncio.current_task()
                if self._task is not None and self._task is not current:
                    self._task.cancel()
                return

    async def _recover(self) -> None:
        """Rows left ``sending`` by a sender that died go back to the queue."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.SENDING)
                .values(status=OutboxStatus.PENDING, claimed_at=None)
            )
        recovered = int(result.rowcount)  # type: ignore[attr-defined]
        if recovered:
            logger.warning("recovered %d outbox rows left in flight by a stopped sender", recovered)

    # -- one round -------------------------------------------------------------------
    async def tick(self) -> int:
        """Start due broadcasts, then send a batch on each app; returns how many rows were
        handled.

        Each app is a lane with its own batch and workers, so Messenger (300/s) is not held
        to Telegram's pace (30/s) when one broadcast goes to both: while any lane is still
        sending its batch, the others go on with their next ones; the round ends when the
        slowest lane's batch is done (then broadcasts are started and progress reported).
        """
        await self.start_due_broadcasts()
        if self._stopping:
            return 0
        lanes = self._lanes()
        busy = set(range(len(lanes)))
        handled = [0] * len(lanes)

        async def lane(index: int) -> None:
            try:
                while not self._stopping:
                    count = await self._send_batch(lanes[index])
                    handled[index] += count
                    if count == 0 or not (busy - {index}):
                        return
            finally:
                busy.discard(index)

        await asyncio.gather(*(lane(index) for index in range(len(lanes))))
        total = sum(handled)
        if not total:
            await self.report_progress(force=False)
            await self._sleep(IDLE_POLL_SECONDS)
            return 0
        if not self._stopping:  # the next sender reports; a stop should not wait for it
            await self.report_progress(force=False)
        return total

    def _lanes(self) -> list[frozenset[Channel]]:
        """One lane per app with a sender, and one for rows of apps that are off (they are
        recorded as failed)."""
        lanes = [frozenset({channel}) for channel in self.senders]
        off = frozenset(Channel) - frozenset(self.senders)
        return [*lanes, off] if off else lanes

    async def _send_batch(self, channels: frozenset[Channel]) -> int:
        """Claim a batch of these apps' rows and send it; returns how many were claimed."""
        batch = await self.claim(self.settings.batch_size, channels)
        if not batch:
            return 0
        to_send = await self._settle_unsendable(batch)
        queue: asyncio.Queue[Claimed] = asyncio.Queue()
        for row in to_send:
            queue.put_nowait(row)
        workers = [
            asyncio.create_task(self._worker(queue))
            for _ in range(min(self.settings.concurrency, len(to_send)))
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
            leftover = []
            while not queue.empty():
                leftover.append(queue.get_nowait().id)
            if leftover:
                await self._release(leftover)
        return len(batch)

    async def start_due_broadcasts(self) -> None:
        async with self.sessions() as session, session.begin():
            due = await broadcasts.due(session)
        for broadcast_id in due:
            async with self.sessions() as session, session.begin():
                total = await broadcasts.start(session, broadcast_id)
            if total is not None:
                logger.info("broadcast %s started: %d recipients", broadcast_id, total)
                if total > 1000 and self.engine.dialect.name == "postgresql":
                    # Fresh statistics, so claiming a batch uses the index on a big queue.
                    async with self.engine.connect() as conn:
                        await conn.execute(text("ANALYZE outbox"))
                        await conn.commit()
                await self.report_progress(force=True, broadcast_id=broadcast_id)

    async def claim(
        self, limit: int, channels: frozenset[Channel] = frozenset(Channel)
    ) -> list[Claimed]:
        now = utcnow()
        due = select(OutboxMessage.id).where(
            OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.not_before <= now
        )
        if channels != frozenset(Channel):
            due = due.where(OutboxMessage.channel.in_(sorted(channels)))
        if self.quiet_hours.contains(now):
            urgent = select(Broadcast.id).where(Broadcast.urgent.is_(True))
            due = due.where(OutboxMessage.broadcast_id.in_(urgent))
        due = due.order_by(OutboxMessage.id).limit(limit)
        if self.engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        async with self.sessions() as session, session.begin():
            rows = (
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(due.scalar_subquery()))
                    .values(status=OutboxStatus.SENDING, claimed_at=now)
                    .returning(
                        OutboxMessage.id,
                        OutboxMessage.broadcast_id,
                        OutboxMessage.chat_id,
                        OutboxMessage.attempts,
                        OutboxMessage.channel,
                    )
                )
            ).all()
        return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)

    async def _settle_unsendable(self, batch: list[Claimed]) -> list[Claimed]:
        """Decide Messenger's window for the batch (one query for its recipients); record
        held rows and rows of an app that is off; return the rows to send (tagged ones
        marked)."""
        no_sender = [row.id for row in batch if row.channel not in self.senders]
        psids = {row.chat_id for row in batch if row.channel is Channel.MESSENGER}
        if not psids and not no_sender:
            return batch
        last_inbound: dict[str, Any] = {}
        if Channel.MESSENGER in self.senders:
            async with self.sessions() as session:
                rows = await session.execute(
                    select(ResidentAccount.external_id, ResidentAccount.last_inbound_at).where(
                        ResidentAccount.channel == Channel.MESSENGER,
                        ResidentAccount.external_id.in_(psids),
                    )
                )
                last_inbound = dict(rows.all())
        now = utcnow()
        held: list[int] = []
        to_send: list[Claimed] = []
        for row in batch:
            if row.channel not in self.senders:
                continue
            if row.channel is not Channel.MESSENGER:
                to_send.append(row)
                continue
            content = await self._content(row.broadcast_id)
            decision = messaging_window.decide(
                last_inbound.get(row.chat_id),
                now,
                may_tag=content.event_update,
                tag_enabled=self.event_update_tag,
            )
            if decision is WindowDecision.HOLD:
                held.append(row.id)
            else:
                to_send.append(replace(row, tagged=decision is WindowDecision.SEND_TAGGED))
        if held or no_sender:
            async with self.sessions() as session, session.begin():
                if held:
                    await session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.id.in_(held))
                        .values(status=OutboxStatus.HELD, claimed_at=None, error=None)
                    )
                if no_sender:
                    await session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.id.in_(no_sender))
                        .values(status=OutboxStatus.FAILED, error=NO_SENDER_ERROR)
                    )
            if no_sender:
                logger.error(
                    "%d outbox rows for an app that is off were marked failed", len(no_sender)
                )
        return to_send

    async def _release(self, ids: list[int]) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(status=OutboxStatus.PENDING, claimed_at=None)
            )

    async def _content(self, broadcast_id: int) -> Content:
        content = self._contents.get(broadcast_id)
        if content is None:
            async with self.sessions() as session:
                broadcast = await session.get(Broadcast, broadcast_id)
            assert broadcast is not None
            content = Content(
                broadcast.id,
                broadcast.text,
                broadcast.photo_file_id,
                broadcast.button_text,
                broadcast.button_url,
                event_update=messaging_window.may_use_event_tag(
                    broadcast.category, broadcast.audience
                ),
            )
            self._contents[broadcast_id] = content
        return content

    async def _worker(self, queue: asyncio.Queue[Claimed]) -> None:
        """Send rows from the batch until it is empty or a stop is requested. A send that
        has started is always awaited and recorded; rows not started go back to the queue
        (``tick`` releases them)."""
        while not queue.empty() and not self._stopping:
            row = queue.get_nowait()
            pacer = self.pacer(row.channel)
            wait = pacer.chat_ready_in(row.chat_id)
            if wait > 0:  # this chat got a message a moment ago
                await self._record(row, SendResult(Outcome.RETRY), delay=wait)
                continue
            content = await self._content(row.broadcast_id)
            sender = self.senders[row.channel]
            # A Messenger message may take several Send API calls (an image, long text):
            # each takes a slot of the page's rate.
            calls = getattr(sender, "calls", None)
            slots = calls(content) if callable(calls) else 1
            if not await self._send_slot(pacer, row.chat_id, slots):
                queue.put_nowait(row)
                return
            try:
                result = await sender.send(content, row.chat_id, tagged=row.tagged)
            except Exception as exc:  # never lose the row to an unexpected error
                logger.exception("outbox %s: unexpected send error", row.id)
                result = SendResult(Outcome.RETRY, error=type(exc).__name__)
            if result.outcome is Outcome.RATE_LIMITED:
                pacer.pause(result.retry_after or 1.0)
                logger.warning(
                    "rate limited by %s: pausing %s s", row.channel.value, result.retry_after
                )
            await self._record(row, result)

    def pacer(self, channel: Channel) -> SendPacer:
        """The pacer of ``channel`` (created at Telegram's rate if none was configured)."""
        pacer = self.pacers.get(channel)
        if pacer is None:
            pacer = self.pacers[channel] = pacer_for(channel, self.settings.rate_per_second)
        return pacer

    async def _send_slot(self, pacer: SendPacer, chat_id: str, slots: int = 1) -> bool:
        """Wait for the pacer's slot(s) for ``chat_id``; False if a stop came first (a 429
        can hold the pacer for many seconds, longer than a stop may wait)."""
        for _ in range(max(1, slots)):
            if not await self._one_slot(pacer, chat_id):
                return False
        return True

    async def _one_slot(self, pacer: SendPacer, chat_id: str) -> bool:
        if self._stopping:
            return False
        acquire = asyncio.ensure_future(pacer.acquire(chat_id))
        stop = asyncio.ensure_future(self._stop_requested.wait())
        try:
            await asyncio.wait({acquire, stop}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            acquire.cancel()
            raise
        finally:
            stop.cancel()
        if not acquire.done():  # the stop came first
            acquire.cancel()
            return False
        acquire.result()  # raise what the pacer raised
        return not self._stopping

    async def _record(self, row: Claimed, result: SendResult, delay: float | None = None) -> None:
        now = utcnow()
        values: dict[str, object]
        if result.outcome is Outcome.SENT:
            values = {
                "status": OutboxStatus.SENT,
                "sent_at": now,
                "platform_message_id": result.message_id,
                "error": None,
            }
        elif result.outcome is Outcome.BLOCKED:
            values = {"status": OutboxStatus.BLOCKED, "error": result.error}
        elif result.outcome is Outcome.HELD:
            # Meta refused it as outside the window after all: offered when they next write.
            values = {"status": OutboxStatus.HELD, "claimed_at": None, "error": None}
        elif result.outcome is Outcome.FAILED:
            values = {"status": OutboxStatus.FAILED, "error": (result.error or "")[:255]}
        elif result.outcome is Outcome.RATE_LIMITED:
            # Not the row's fault: back to the queue without using an attempt.
            values = {
                "status": OutboxStatus.PENDING,
                "claimed_at": None,
                "not_before": now + timedelta(seconds=result.retry_after or 1.0),
            }
        elif delay is not None:
            values = {
                "status": OutboxStatus.PENDING,
                "claimed_at": None,
                "not_before": now + timedelta(seconds=delay),
            }
        elif row.attempts + 1 >= self.settings.max_attempts:
            values = {
                "status": OutboxStatus.FAILED,
                "attempts": row.attempts + 1,
                "error": (result.error or "gave up after retries")[:255],
            }
        else:
            backoff = min(RETRY_MAX_SECONDS, self.settings.retry_base_seconds * 2**row.attempts)
            values = {
                "status": OutboxStatus.PENDING,
                "claimed_at": None,
                "attempts": row.attempts + 1,
                "error": (result.error or "")[:255],
                "not_before": now + timedelta(seconds=backoff),
            }
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values)
            )
            if result.outcome is Outcome.BLOCKED and row.channel is Channel.MESSENGER:
                # (On Telegram the bot's request middleware does this on every 403.)
                await residents.mark_unreachable(session, Channel.MESSENGER, row.chat_id)

    # -- progress --------------------------------------------------------------------
    async def report_progress(self, *, force: bool, broadcast_id: int | None = None) -> None:
        """Tell the organizer how a sending broadcast goes (at most every few seconds)."""
        async with self.sessions() as session:
            query = select(Broadcast.id).where(
                or_(Broadcast.status == BroadcastStatus.SENDING, Broadcast.id == broadcast_id)
            )
            sending = list(await session.scalars(query))
        for bid in sending:
            async with self.sessions() as session, session.begin():
                just_finished = await broadcasts.finish_if_complete(session, bid)
            now = time.monotonic()
            interval_passed = (
                now - self._last_report.get(bid, 0.0) >= self.settings.progress_interval
            )
            if not (force or just_finished or interval_passed):
                continue
            self._last_report[bid] = now
            async with self.sessions() as session:
                progress = await broadcasts.progress(session, bid)
                broadcast = await session.get(Broadcast, bid)
            if just_finished:
                self._contents.pop(bid, None)
                self._last_report.pop(bid, None)
                logger.info(
                    "broadcast %s finished: %d sent, %d failed, %d blocked, %d held",
                    bid,
                    progress.sent,
                    progress.failed,
                    progress.blocked,
                    progress.held,
                )
            if self.on_progress is not None and broadcast is not None:
                try:
                    # A slow report (the organizer's chat rate-limited) must not hold sending.
                    async with asyncio.timeout(PROGRESS_REPORT_TIMEOUT):
                        await self.on_progress(broadcast, progress)
                except Exception:
                    logger.exception("broadcast %s: progress report failed", bid)
