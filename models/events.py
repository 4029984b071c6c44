"""Events (consultations, trainings, discussions, …): registrations, waitlist, reminders.

Times are UTC. An event is ``published`` or ``cancelled``; whether it is upcoming, under way
or finished follows from ``starts_at`` and ``ends_at``.

A place is taken by a registration that is ``registered`` or ``offered`` (an offer holds
the place until it is accepted or expires), never more than ``capacity``: the service
locks the event row before counting. Registrations outlive the resident's erasure with
``resident_id`` NULL and the personal fields cleared, so attendance figures stay right;
the municipality is copied onto the registration for the same reason.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow
from models.municipality import Municipality

TITLE_MAX_LENGTH = 200
QUESTION_MAX_LENGTH = 300
ADDRESS_MAX_LENGTH = 300
URL_MAX_LENGTH = 512
ORGANIZATION_MAX_LENGTH = 200
DISPLAY_NAME_MAX_LENGTH = 128
SOURCE_MAX_LENGTH = 64
CHECKIN_CODE_LENGTH = 6
DEFAULT_REMINDER_OFFSETS = (1440, 120)  # minutes before the start: 24 h and 2 h
DEFAULT_OFFER_HOURS = 12


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class EventKind(enum.StrEnum):
    CONSULTATION = "consultation"  # konsultacija
    TRAINING = "training"  # mokymai
    DISCUSSION = "discussion"  # viešoji diskusija
    FOCUS_GROUP = "focus_group"  # fokus grupė
    STUDY_VISIT = "study_visit"  # darbinis vizitas
    SEMINAR = "seminar"  # seminaras


class EventStatus(enum.StrEnum):
    PUBLISHED = "published"  # residents see it and register (finished once ends_at passes)
    CANCELLED = "cancelled"


class RegistrationStatus(enum.StrEnum):
    REGISTERED = "registered"  # has a place
    WAITLISTED = "waitlisted"  # waits for a place, in waitlisted_at order
    OFFERED = "offered"  # a freed place is held for them until offer_expires_at
    CANCELLED = "cancelled"  # by the resident (or at erasure)
    DECLINED = "declined"  # turned the offer down
    EXPIRED = "expired"  # did not answer the offer in time


ACTIVE_STATUSES = (
    RegistrationStatus.REGISTERED,
    RegistrationStatus.WAITLISTED,
    RegistrationStatus.OFFERED,
)
PLACE_STATUSES = (RegistrationStatus.REGISTERED, RegistrationStatus.OFFERED)


event_municipalities = Table(
    "event_municipalities",
    Base.metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("municipality_id", ForeignKey("municipalities.id"), primary_key=True, index=True),
)


class Event(Base):
    """One event with its place, times, capacity and audience."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_status_starts_at", "status", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind))
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    description: Mapped[str] = mapped_column(Text, default="")
    place_address: Mapped[str | None] = mapped_column(String(ADDRESS_MAX_LENGTH))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    online_url: Mapped[str | None] = mapped_column(String(URL_MAX_LENGTH))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int | None] = mapped_column(Integer)  # None: unlimited
    registration_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: start
    per_organization_quota: Mapped[int | None] = mapped_column(Integer)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # Audience.to_json()
    status: Mapped[EventStatus] = mapped_column(_enum(EventStatus), default=EventStatus.PUBLISHED)
    reminder_offsets: Mapped[list[int]] = mapped_column(
        JSON, default=lambda: list(DEFAULT_REMINDER_OFFSETS)
    )
    offer_hours: Mapped[int] = mapped_column(Integer, default=DEFAULT_OFFER_HOURS)
    # The highest of 50/80/100 (% of capacity taken) the organizer has been told about.
    capacity_notified: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int] = mapped_column(BigInteger, index=True)  # Telegram user id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    municipalities: Mapped[list[Municipality]] = relationship(
        secondary=event_municipalities, order_by=Municipality.id, lazy="selectin"
    )
    questions: Mapped[list[EventQuestion]] = relationship(
        back_populates="event",
        order_by="EventQuestion.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )

    @property
    def effective_deadline(self) -> datetime:
        """Registration closes at the deadline, or when the event starts."""
        return self.registration_deadline or self.starts_at

    @property
    def municipality_ids(self) -> frozenset[int]:
        return frozenset(m.id for m in self.municipalities)


class EventQuestion(Base):
    """An optional question residents answer when registering; ``position`` counts from 1."""

    __tablename__ = "event_questions"
    __table_args__ = (UniqueConstraint("event_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(QUESTION_MAX_LENGTH))

    event: Mapped[Event] = relationship(back_populates="questions")


class Registration(Base):
    """A resident's registration to an event: one per resident per event (a UNIQUE key).

    ``answers`` holds the registration questions' answers by question id (``{"7": "…"}``);
    ``display_name`` is kept only when the resident agreed that organizers see it
    (``share_name``). ``checkin_code`` is what the resident shows at the door.
    """

    __tablename__ = "event_registrations"
    __table_args__ = (
        UniqueConstraint("event_id", "resident_id"),
        Index("ix_event_registrations_event_status", "event_id", "status"),
        Index("ix_event_registrations_offers", "status", "offer_expires_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipalities.id", ondelete="SET NULL")
    )
    status: Mapped[RegistrationStatus] = mapped_column(_enum(RegistrationStatus))
    organization: Mapped[str | None] = mapped_column(String(ORGANIZATION_MAX_LENGTH))
    # The organization case-folded with single spaces: what the per-organization quota counts.
    organization_key: Mapped[str | None] = mapped_column(String(ORGANIZATION_MAX_LENGTH))
    answers: Mapped[dict[str, str] | None] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(String(SOURCE_MAX_LENGTH))
    share_name: Mapped[bool] = mapped_column(Boolean, default=False)
    display_name: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX_LENGTH))
    checkin_code: Mapped[str] = mapped_column(String(CHECKIN_CODE_LENGTH), unique=True)
    waitlisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    marked_by: Mapped[int | None] = mapped_column(BigInteger)  # Telegram user id


class EventReminder(Base):
    """A reminder created for an event at an offset (minutes before the start): the UNIQUE
    key makes it once, across restarts and processes."""

    __tablename__ = "event_reminders"
    __table_args__ = (UniqueConstraint("event_id", "offset_minutes"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    offset_minutes: Mapped[int] = mapped_column(Integer)
    sent: Mapped[bool] = mapped_column(Boolean, default=True)  # False: skipped (came too late)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
