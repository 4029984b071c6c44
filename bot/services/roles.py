"""Staff roles: admins (from configuration), organizers, moderators and their group chats.

Every change is written to ``role_changes`` with who made it and when.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.collation import lithuanian_sort_key
from models import Moderator, ModeratorChat, Municipality, Organizer, RoleAction, RoleChange

ORGANIZER = "organizer"
MODERATOR = "moderator"


def is_admin(admin_ids: Collection[int], telegram_user_id: int) -> bool:
    return telegram_user_id in admin_ids


async def is_organizer(session: AsyncSession, telegram_user_id: int) -> bool:
    return await session.get(Organizer, telegram_user_id) is not None


async def is_moderator(session: AsyncSession, telegram_user_id: int, municipality_id: int) -> bool:
    return await session.get(Moderator, (telegram_user_id, municipality_id)) is not None


def _record(
    session: AsyncSession, actor: int, action: RoleAction, **details: int | str | None
) -> None:
    session.add(RoleChange(actor_telegram_id=actor, action=action, **details))


async def grant_organizer(session: AsyncSession, actor: int, target: int) -> bool:
    if await is_organizer(session, target):
        return False
    session.add(Organizer(telegram_user_id=target, granted_by=actor))
    _record(session, actor, RoleAction.GRANT, role=ORGANIZER, target_telegram_id=target)
    await session.flush()
    return True


async def revoke_organizer(session: AsyncSession, actor: int, target: int) -> bool:
    result = await session.execute(delete(Organizer).where(Organizer.telegram_user_id == target))
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    _record(session, actor, RoleAction.REVOKE, role=ORGANIZER, target_telegram_id=target)
    await session.flush()
    return True


async def grant_moderator(
    session: AsyncSession, actor: int, target: int, municipality: Municipality
) -> bool:
    if await is_moderator(session, target, municipality.id):
        return False
    session.add(
        Moderator(telegram_user_id=target, municipality_id=municipality.id, granted_by=actor)
    )
    _record(
        session,
        actor,
        RoleAction.GRANT,
        role=MODERATOR,
        target_telegram_id=target,
        municipality_id=municipality.id,
    )
    await session.flush()
    return True


async def revoke_moderator(
    session: AsyncSession, actor: int, target: int, municipality: Municipality
) -> bool:
    result = await session.execute(
        delete(Moderator).where(
            Moderator.telegram_user_id == target, Moderator.municipality_id == municipality.id
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    _record(
        session,
        actor,
        RoleAction.REVOKE,
        role=MODERATOR,
        target_telegram_id=target,
        municipality_id=municipality.id,
    )
    await session.flush()
    return True


@dataclass(frozen=True, slots=True)
class BindResult:
    changed: bool
    previous_municipality_code: str | None = None


async def bind_moderator_chat(
    session: AsyncSession, actor: int, municipality: Municipality, chat_id: int
) -> BindResult:
    """Make ``chat_id`` the municipality's moderators' chat.

    One chat per municipality and one municipality per chat: binding a chat that served
    another municipality moves it.
    """
    current = await session.get(ModeratorChat, municipality.id)
    if current is not None and current.chat_id == chat_id:
        return BindResult(changed=False)
    previous = await session.scalar(select(ModeratorChat).where(ModeratorChat.chat_id == chat_id))
    previous_code = None
    if previous is not None:
        previous_municipality = await session.get(Municipality, previous.municipality_id)
        previous_code = previous_municipality.code if previous_municipality else None
        await session.delete(previous)
    if current is not None:
        await session.delete(current)
    await session.flush()
    session.add(ModeratorChat(municipality_id=municipality.id, chat_id=chat_id, bound_by=actor))
    _record(session, actor, RoleAction.BIND_CHAT, municipality_id=municipality.id, chat_id=chat_id)
    await session.flush()
    return BindResult(changed=True, previous_municipality_code=previous_code)


async def set_municipality_active(
    session: AsyncSession, actor: int, municipality: Municipality, active: bool
) -> bool:
    if municipality.is_active == active:
        return False
    municipality.is_active = active
    action = RoleAction.ACTIVATE if active else RoleAction.DEACTIVATE
    _record(session, actor, action, municipality_id=municipality.id)
    await session.flush()
    return True


@dataclass(slots=True)
class MunicipalityStaff:
    municipality: Municipality
    moderator_ids: list[int] = field(default_factory=list)
    chat_id: int | None = None


@dataclass(slots=True)
class StaffOverview:
    organizer_ids: list[int]
    municipalities: list[MunicipalityStaff]


async def staff_overview(session: AsyncSession) -> StaffOverview:
    organizer_ids = list(
        await session.scalars(select(Organizer.telegram_user_id).order_by(Organizer.granted_at))
    )
    by_municipality: dict[int, MunicipalityStaff] = {}
    moderator_rows = await session.execute(
        select(Moderator.telegram_user_id, Municipality)
        .join(Municipality, Municipality.id == Moderator.municipality_id)
        .order_by(Moderator.granted_at)
    )
    for user_id, municipality in moderator_rows:
        staff = by_municipality.setdefault(municipality.id, MunicipalityStaff(municipality))
        staff.moderator_ids.append(user_id)
    chat_rows = await session.execute(
        select(ModeratorChat.chat_id, Municipality).join(
            Municipality, Municipality.id == ModeratorChat.municipality_id
        )
    )
    for chat_id, municipality in chat_rows:
        by_municipality.setdefault(
            municipality.id, MunicipalityStaff(municipality)
        ).chat_id = chat_id
    ordered = sorted(
        by_municipality.values(), key=lambda s: lithuanian_sort_key(s.municipality.short_lt)
    )
    return StaffOverview(organizer_ids=organizer_ids, municipalities=ordered)


async def role_history(session: AsyncSession, limit: int = 20) -> list[RoleChange]:
    rows = await session.scalars(
        select(RoleChange).order_by(RoleChange.at.desc(), RoleChange.id.desc()).limit(limit)
    )
    return list(rows)


async def organizer_ids(session: AsyncSession) -> list[int]:
    """Telegram user ids of every organizer, in the order they were granted."""
    rows = await session.scalars(
        select(Organizer.telegram_user_id).order_by(
            Organizer.granted_at, Organizer.telegram_user_id
        )
    )
    return list(rows)
