"""Bulk sending: broadcasts and the persisted outbox (one row per recipient per message)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow
from models.resident import Channel


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class MessageCategory(enum.StrEnum):
    """What kind of message a resident receives; residents choose which kinds they want."""

    ANNOUNCEMENT = "announcement"
    POLL = "poll"
    EVENT = "event"


class BroadcastStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  # waiting for its time
    SENDING = "sending"  # recipients are in the outbox
    DONE = "done"  # every outbox row has an outcome
    CANCELLED = "cancelled"


class Broadcast(Base):
    """One message to many residents: an announcement (later also polls and reminders)."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[MessageCategory] = mapped_column(_enum(MessageCategory))
    status: Mapped[BroadcastStatus] = mapped_column(_enum(BroadcastStatus), index=True)
    created_by: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)  # Telegram HTML; the caption when there is a photo
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    button_text: Mapped[str | None] = mapped_column(String(64))
    button_url: Mapped[str | None] = mapped_column(String(512))
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    total: Mapped[int] = mapped_column(Integer, default=0)
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # to be sent at not_before or later
    SENDING = "sending"  # claimed by the sender; the platform may or may not have it
    SENT = "sent"
    FAILED = "failed"  # refused by the platform (400) or out of attempts
    BLOCKED = "blocked"  # the resident blocked the bot (403) or cannot be reached
    # Messenger: outside the resident's 24-hour window; offered when they next write.
    HELD = "held"
    SKIPPED = "skipped"  # held, and the resident said they do not want it now


class OutboxMessage(Base):
    """One recipient of one broadcast, written before anything is sent."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "resident_id"),
        Index("ix_outbox_due", "status", "not_before"),
        Index("ix_outbox_broadcast_status", "broadcast_id", "status"),
        Index("ix_outbox_resident_status", "resident_id", "status"),  # held rows of one resident
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    chat_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[Channel] = mapped_column(
        _enum(Channel), default=Channel.TELEGRAM, server_default=Channel.TELEGRAM.value
    )
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    platform_message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(255))


class HeldNotice(Base):
    """A personal message (a proposal's status, a moderator's question, an event change)
    for a Messenger resident outside their 24-hour window: sent when they next write.

    ``text`` is plain text in the resident's language; ``buttons`` are
    ``[{"title": …, "payload": …}]`` (postbacks) or ``[{"title": …, "url": …}]``.
    """

    __tablename__ = "held_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
