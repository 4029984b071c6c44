"""Proposals (pasiūlymai): a resident's idea, reviewed by the moderators of its municipality.

Times are UTC. ``reference`` (``PAG-2026-0042``) is the municipality's code, the year of
submission in Lithuanian time and a per-municipality-per-year number allocated from
``proposal_counters`` with one atomic ``INSERT … ON CONFLICT DO UPDATE … RETURNING``.

A proposal outlives its author's erasure with ``resident_id`` NULL (see
:func:`bot.services.proposals.forget_resident` for what is kept). The moderators' card
(``card_chat_id``/``card_message_id``, ``topic_thread_id`` in a forum) is NULL until it is
delivered: ``delivered_at`` stays NULL while the municipality has no moderators' chat.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow
from models.resident import Channel

TEXT_MIN_LENGTH = 20
TEXT_MAX_LENGTH = 2000
PLACE_MAX_LENGTH = 200
REASON_MAX_LENGTH = 1000
MESSAGE_MAX_LENGTH = 2000
DISPLAY_NAME_MAX_LENGTH = 128
MAX_PHOTOS = 5
REFERENCE_MAX_LENGTH = 24
# Category keys (labels are the interface's job); a deployment may pass its own list.
DEFAULT_CATEGORIES = (
    "infrastructure",
    "environment",
    "culture_leisure",
    "social_services",
    "youth",
    "other",
)
CATEGORY_MAX_LENGTH = 32
ERASED_TEXT = "[ištrinta]"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class ProposalStatus(enum.StrEnum):
    NEW = "new"  # naujas
    IN_REVIEW = "in_review"  # peržiūrimas
    INFO_REQUESTED = "info_requested"  # laukiama informacijos
    FORWARDED = "forwarded"  # perduotas savivaldybei
    ACCEPTED = "accepted"  # priimtas
    REJECTED = "rejected"  # atmestas (with a reason)
    IMPLEMENTED = "implemented"  # įgyvendintas


# Waiting for the moderators (or for the resident's answer): what the digest lists.
WAITING_STATUSES = (
    ProposalStatus.NEW,
    ProposalStatus.IN_REVIEW,
    ProposalStatus.INFO_REQUESTED,
)


class ProposalAction(enum.StrEnum):
    SUBMITTED = "submitted"
    DELIVERED = "delivered"  # the card reached the moderators' chat
    STATUS_CHANGED = "status_changed"
    MESSAGE_TO_RESIDENT = "to_resident"
    MESSAGE_TO_MODERATORS = "to_moderators"
    AUTHOR_ERASED = "author_erased"


class ActorKind(enum.StrEnum):
    RESIDENT = "resident"
    STAFF = "staff"  # a moderator or an admin: ``actor_user_id`` is their Telegram id
    SYSTEM = "system"


class MessageDirection(enum.StrEnum):
    TO_RESIDENT = "to_resident"
    TO_MODERATORS = "to_moderators"


class ProposalCounter(Base):
    """The last reference number given in a municipality in a year."""

    __tablename__ = "proposal_counters"

    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer)


class Proposal(Base):
    """One proposal. ``display_name`` is kept only when not ``anonymous``; ``pseudonym``
    (random per proposal) is what moderators see otherwise."""

    __tablename__ = "proposals"
    __table_args__ = (
        Index("ix_proposals_municipality_status", "municipality_id", "status"),
        Index("ix_proposals_resident_created", "resident_id", "created_at"),
        Index("ix_proposals_card", "card_chat_id", "card_message_id"),
        Index("ix_proposals_topic", "card_chat_id", "topic_thread_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(REFERENCE_MAX_LENGTH), unique=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    category: Mapped[str] = mapped_column(String(CATEGORY_MAX_LENGTH))
    place_text: Mapped[str | None] = mapped_column(String(PLACE_MAX_LENGTH))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    display_name: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX_LENGTH))
    pseudonym: Mapped[str] = mapped_column(String(16))
    status: Mapped[ProposalStatus] = mapped_column(
        _enum(ProposalStatus), default=ProposalStatus.NEW
    )
    rejection_reason: Mapped[str | None] = mapped_column(String(REASON_MAX_LENGTH))
    text_erased: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    card_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    topic_thread_id: Mapped[int | None] = mapped_column(BigInteger)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    photos: Mapped[list[ProposalPhoto]] = relationship(
        order_by="ProposalPhoto.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )


class ProposalPhoto(Base):
    """A photo of a proposal, ``position`` 1–5. ``file_id``: the channel's reference
    (Telegram file_id; a Messenger attachment reference)."""

    __tablename__ = "proposal_photos"
    __table_args__ = (UniqueConstraint("proposal_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    file_id: Mapped[str] = mapped_column(String(512))
    file_unique_id: Mapped[str | None] = mapped_column(String(128))


class ProposalAudit(Base):
    """The audit log: every step of a proposal, who (``actor``), when, from which status
    to which; ``note``: the reason or the moderators' question."""

    __tablename__ = "proposal_audit"
    __table_args__ = (Index("ix_proposal_audit_proposal_at", "proposal_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[ActorKind] = mapped_column(_enum(ActorKind))
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[ProposalAction] = mapped_column(_enum(ProposalAction))
    from_status: Mapped[ProposalStatus | None] = mapped_column(_enum(ProposalStatus))
    to_status: Mapped[ProposalStatus | None] = mapped_column(_enum(ProposalStatus))
    note: Mapped[str | None] = mapped_column(Text)


class ProposalMessage(Base):
    """A relayed message. ``moderators_message_id``: the message in the moderators' chat
    (the moderator's own, or the bot's copy of the resident's), so a reply to it finds the
    proposal; ``resident_message_id``: the message in the resident's chat (the bot's copy
    of the moderator's, or the resident's own), text for Messenger's ids."""

    __tablename__ = "proposal_messages"
    __table_args__ = (
        Index("ix_proposal_messages_moderators", "moderators_chat_id", "moderators_message_id"),
        Index("ix_proposal_messages_proposal", "proposal_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    direction: Mapped[MessageDirection] = mapped_column(_enum(MessageDirection))
    moderator_user_id: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    moderators_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    moderators_message_id: Mapped[int | None] = mapped_column(BigInteger)
    resident_message_id: Mapped[str | None] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProposalBlock(Base):
    """A resident blocked from submitting proposals (everywhere) until ``lifted_at``."""

    __tablename__ = "proposal_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(REASON_MAX_LENGTH))
    blocked_by: Mapped[int] = mapped_column(BigInteger)
    blocked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    proposal_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposals.id", ondelete="SET NULL")
    )  # the proposal the block was made from, if any
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_by: Mapped[int | None] = mapped_column(BigInteger)
