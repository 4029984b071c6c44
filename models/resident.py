from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Enum,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow
from models.municipality import Municipality


class Channel(enum.StrEnum):
    TELEGRAM = "telegram"
    MESSENGER = "messenger"


class AgeGroup(enum.StrEnum):
    UNDER_18 = "under_18"
    AGE_18_29 = "18_29"
    AGE_30_44 = "30_44"
    AGE_45_64 = "45_64"
    AGE_65_PLUS = "65_plus"


class Resident(Base):
    """A person talking to the bot, on Telegram, Messenger or both (linked accounts).

    ``channel`` and ``external_id`` are the *address*: the app and chat the bot writes to,
    the one the person last wrote from. Every app account of the person is a
    :class:`ResidentAccount`; inbound messages find the resident through it.

    Before consent only the channel, the chat id and the interface language are kept:
    what is needed to show the privacy notice.
    """

    __tablename__ = "residents"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(
        Enum(Channel, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    external_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="lt")
    municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipalities.id", ondelete="SET NULL"), index=True
    )
    age_group: Mapped[AgeGroup | None] = mapped_column(
        Enum(AgeGroup, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    source: Mapped[str | None] = mapped_column(String(64))
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    onboarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Which kinds of bulk messages the resident wants (Nustatymai); muted stops them all.
    wants_announcements: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    wants_polls: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    wants_events: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    municipality: Mapped[Municipality | None] = relationship(lazy="joined")

    @property
    def has_consented(self) -> bool:
        return self.consented_at is not None

    @property
    def is_onboarded(self) -> bool:
        return self.onboarded_at is not None


class ResidentAccount(Base):
    """One app account of a resident: their Telegram chat or their Messenger page-scoped id.

    A resident has one account per channel at most; linking (a one-time code shown in one
    app and typed in the other) puts both accounts on one resident. ``last_inbound_at`` is
    kept for Messenger, whose 24-hour messaging window counts from the person's last message.
    """

    __tablename__ = "resident_accounts"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        UniqueConstraint("resident_id", "channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(
        Enum(Channel, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    external_id: Mapped[str] = mapped_column(String(64))
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LinkCode(Base):
    """A one-time code that links a resident's two apps: shown in one, typed in the other.

    The profile that showed the code is kept; the account that types it joins it.
    """

    __tablename__ = "link_codes"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[Channel] = mapped_column(
        Enum(Channel, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
