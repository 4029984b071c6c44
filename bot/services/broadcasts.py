"""Bulk messages (announcements now; poll invitations and reminders later).

A broadcast is created for a time; when it is due its recipients are written to the outbox
in one INSERT … SELECT (memory stays flat with the audience size), and the delivery engine
sends them.
"""

from __future__ import annotations

import enum
import html
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser

from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audiences
from bot.services.audiences import Audience
from models import (
    Broadcast,
    BroadcastStatus,
    MessageCategory,
    OutboxMessage,
    OutboxStatus,
    utcnow,
)

MAX_TEXT = 4096  # Telegram: message text, counted after formatting is parsed
MAX_CAPTION = 1024  # Telegram: photo caption
MAX_BUTTON_TEXT = 64


class BroadcastProblem(enum.Enum):
    EMPTY = "empty"
    TEXT_TOO_LONG = "text_too_long"
    CAPTION_TOO_LONG = "caption_too_long"
    BUTTON_INVALID = "button_invalid"
    IN_THE_PAST = "in_the_past"


class BroadcastError(ValueError):
    def __init__(self, problem: BroadcastProblem, limit: int = 0, length: int = 0) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.limit = limit
        self.length = length


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_length(html_text: str) -> int:
    """Length of Telegram HTML as residents see it (tags removed, entities decoded),
    in UTF-16 code units as Telegram counts."""
    parser = _TextOnly()
    parser.feed(html_text)
    parser.close()
    return len("".join(parser.parts).encode("utf-16-le")) // 2


def check_content(
    text: str, *, has_photo: bool, button_text: str | None, button_url: str | None
) -> None:
    length = visible_length(text)
    if not has_photo and not text.strip():
        raise BroadcastError(BroadcastProblem.EMPTY)
    if has_photo and length > MAX_CAPTION:
        raise BroadcastError(BroadcastProblem.CAPTION_TOO_LONG, MAX_CAPTION, length)
    if length > MAX_TEXT:
        raise BroadcastError(BroadcastProblem.TEXT_TOO_LONG, MAX_TEXT, length)
    if (button_text is None) != (button_url is None):
        raise BroadcastError(BroadcastProblem.BUTTON_INVALID)
    if (
        button_text is not None
        and button_url is not None
        and (
            not (1 <= len(button_text) <= MAX_BUTTON_TEXT)
            or not button_url.startswith(("https://", "http://", "tg://"))
        )
    ):
        raise BroadcastError(BroadcastProblem.BUTTON_INVALID)


async def create(
    session: AsyncSession,
    *,
    created_by: int,
    text: str,
    audience: Audience,
    category: MessageCategory = MessageCategory.ANNOUNCEMENT,
    photo_file_id: str | None = None,
    button_text: str | None = None,
    button_url: str | None = None,
    send_at: datetime | None = None,
    urgent: bool = False,
    progress_chat_id: int | None = None,
) -> Broadcast:
    """A broadcast due at ``send_at`` (now when None). Raises :class:`BroadcastError`."""
    check_content(
        text, has_photo=photo_file_id is not None, button_text=button_text, button_url=button_url
    )
    now = utcnow()
    if send_at is not None and send_at < now:
        raise BroadcastError(BroadcastProblem.IN_THE_PAST)
    broadcast = Broadcast(
        category=category,
        status=BroadcastStatus.SCHEDULED,
        created_by=created_by,
        text=text,
        photo_file_id=photo_file_id,
        button_text=button_text,
        button_url=button_url,
        audience=audience.to_json(),
        urgent=urgent,
        scheduled_at=send_at or now,
        progress_chat_id=progress_chat_id,
    )
    session.add(broadcast)
    await session.flush()
    return broadcast


async def cancel(
    session: AsyncSession,
    broadcast_id: int,
    created_by: int | None = None,
    category: MessageCategory | None = None,
) -> bool:
    """Cancel a broadcast that has not started; False if it started, ended, is not theirs or
    (with ``category``) is of another kind."""
    query = update(Broadcast).where(
        Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.SCHEDULED
    )
    if created_by is not None:
        query = query.where(Broadcast.created_by == created_by)
    if category is not None:
        query = query.where(Broadcast.category == category)
    result = await session.execute(
        query.values(status=BroadcastStatus.CANCELLED, finished_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def due(session: AsyncSession, now: datetime | None = None) -> list[int]:
    rows = await session.scalars(
        select(Broadcast.id)
        .where(
            Broadcast.status == BroadcastStatus.SCHEDULED,
            Broadcast.scheduled_at <= (now or utcnow()),
        )
        .order_by(Broadcast.scheduled_at, Broadcast.id)
    )
    return list(rows)


async def start(
    session: AsyncSession, broadcast_id: int, now: datetime | None = None
) -> int | None:
    """Write the recipients into the outbox and mark the broadcast as sending.

    Conditional on the broadcast still being scheduled, so two processes cannot both start
    it; returns the number of recipients, or None when it was not (or no longer) due.
    """
    now = now or utcnow()
    claimed = await session.execute(
        update(Broadcast)
        .where(
            Broadcast.id == broadcast_id,
            Broadcast.status == BroadcastStatus.SCHEDULED,
            Broadcast.scheduled_at <= now,
        )
        .values(status=BroadcastStatus.SENDING, started_at=now)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return None
    broadcast = await session.get(Broadcast, broadcast_id)
    assert broadcast is not None
    audience = Audience.from_json(broadcast.audience)
    chosen = audiences.recipients(audience, broadcast.category).subquery()
    await session.execute(
        insert(OutboxMessage).from_select(
            [
                "broadcast_id",
                "resident_id",
                "channel",
                "chat_id",
                "status",
                "attempts",
                "not_before",
            ],
            select(
                literal(broadcast_id),
                chosen.c.id,
                chosen.c.channel,
                chosen.c.external_id,
                literal(OutboxStatus.PENDING.value),
                literal(0),
                literal(now, type_=OutboxMessage.__table__.c.not_before.type),
            ),
        )
    )
    total = int(
        await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.broadcast_id == broadcast_id)
        )
        or 0
    )
    broadcast.total = total
    if total == 0:
        broadcast.status = BroadcastStatus.DONE
        broadcast.finished_at = now
    await session.flush()
    return total


@dataclass(frozen=True, slots=True)
class Progress:
    broadcast_id: int
    total: int
    sent: int
    failed: int
    blocked: int
    waiting: int
    started_at: datetime | None
    finished: bool
    # Messenger: outside the resident's 24-hour window, offered when they next write (an
    # outcome for the broadcast: it finishes without them); skipped = held and declined.
    held: int = 0
    skipped: int = 0

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.blocked + self.held + self.skipped


async def progress(session: AsyncSession, broadcast_id: int) -> Progress:
    """Counts by outcome, from an indexed aggregate (never by loading rows)."""
    broadcast = await session.get(Broadcast, broadcast_id)
    assert broadcast is not None
    rows = await session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.broadcast_id == broadcast_id)
        .group_by(OutboxMessage.status)
    )
    counts: dict[OutboxStatus, int] = {status: count for status, count in rows}  # noqa: C416
    return Progress(
        broadcast_id=broadcast_id,
        total=broadcast.total,
        sent=counts.get(OutboxStatus.SENT, 0),
        failed=counts.get(OutboxStatus.FAILED, 0),
        blocked=counts.get(OutboxStatus.BLOCKED, 0),
        waiting=counts.get(OutboxStatus.PENDING, 0) + counts.get(OutboxStatus.SENDING, 0),
        started_at=broadcast.started_at,
        finished=broadcast.status == BroadcastStatus.DONE,
        held=counts.get(OutboxStatus.HELD, 0),
        skipped=counts.get(OutboxStatus.SKIPPED, 0),
    )


async def finish_if_complete(session: AsyncSession, broadcast_id: int) -> bool:
    """Mark a sending broadcast done once no recipient is waiting (held Messenger rows do not
    wait: they are offered when the resident writes); True if it just finished."""
    waiting = await session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.broadcast_id == broadcast_id,
            OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
        )
    )
    if waiting:
        return False
    result = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.SENDING)
        .values(status=BroadcastStatus.DONE, finished_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def listed(
    session: AsyncSession,
    created_by: int | None = None,
    category: MessageCategory | None = None,
    limit: int = 10,
) -> list[Broadcast]:
    """The latest broadcasts, of one organizer and of one kind when given."""
    query = select(Broadcast).order_by(Broadcast.scheduled_at.desc(), Broadcast.id.desc())
    if created_by is not None:
        query = query.where(Broadcast.created_by == created_by)
    if category is not None:
        query = query.where(Broadcast.category == category)
    return list(await session.scalars(query.limit(limit)))


def preview_text(text: str, limit: int = 60) -> str:
    """A short plain-text excerpt for lists."""
    parser = _TextOnly()
    parser.feed(text)
    parser.close()
    plain = " ".join("".join(parser.parts).split())
    return html.escape(plain if len(plain) <= limit else plain[: limit - 1] + "…")
