from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class Organizer(Base):
    """A Telegram user who may create polls, events and announcements."""

    __tablename__ = "organizers"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    granted_by: Mapped[int] = mapped_column(BigInteger)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Moderator(Base):
    """A Telegram user who reviews proposals of one municipality."""

    __tablename__ = "moderators"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE"), primary_key=True
    )
    granted_by: Mapped[int] = mapped_column(BigInteger)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ModeratorChat(Base):
    """The Telegram group where one municipality's moderators work."""

    __tablename__ = "moderator_chats"

    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE"), primary_key=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    bound_by: Mapped[int] = mapped_column(BigInteger)
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RoleAction(enum.StrEnum):
    GRANT = "grant"
    REVOKE = "revoke"
    BIND_CHAT = "bind_chat"
    ACTIVATE = "activate"
    DEACTIVATE = "deactivate"


class RoleChange(Base):
    """Audit trail: every role change and chat binding, who did it and when."""

    __tablename__ = "role_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_telegram_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[RoleAction] = mapped_column(
        Enum(
            RoleAction, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
        )
    )
    role: Mapped[str | None] = mapped_column(String(16))
    target_telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipalities.id", ondelete="SET NULL")
    )
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
