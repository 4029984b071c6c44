"""Residents: consent, profile, their data and its erasure."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import account_links, event_registrations, polls, proposal_export
from bot.services.municipalities import get_active_by_id
from models import AgeGroup, Channel, Event, Registration, Resident, ResidentAccount, utcnow

SOURCE_MAX_LENGTH = 64


_FIND = (
    select(Resident)
    .join(ResidentAccount, ResidentAccount.resident_id == Resident.id)
    .where(
        ResidentAccount.channel == bindparam("channel"),
        ResidentAccount.external_id == bindparam("external_id"),
    )
)  # built once: every update of a private chat looks its resident up (by any linked account)

_ACCOUNT = select(ResidentAccount).where(
    ResidentAccount.channel == bindparam("channel"),
    ResidentAccount.external_id == bindparam("external_id"),
)


async def find(session: AsyncSession, channel: Channel, external_id: str) -> Resident | None:
    """The resident one of whose app accounts this is (Telegram chat id, Messenger PSID)."""
    return await session.scalar(_FIND, {"channel": channel, "external_id": external_id})


async def find_account(
    session: AsyncSession, channel: Channel, external_id: str
) -> ResidentAccount | None:
    return await session.scalar(_ACCOUNT, {"channel": channel, "external_id": external_id})


async def accounts(session: AsyncSession, resident_id: int) -> list[ResidentAccount]:
    """The resident's app accounts, Telegram first."""
    rows = await session.scalars(
        select(ResidentAccount)
        .where(ResidentAccount.resident_id == resident_id)
        .order_by(ResidentAccount.channel.desc())  # "telegram" > "messenger"
    )
    return list(rows)


async def get_or_create(
    session: AsyncSession, channel: Channel, external_id: str, *, language: str
) -> Resident:
    """The resident for this chat; a new one keeps only the chat id and the language."""
    resident = await find(session, channel, external_id)
    if resident is not None:
        return resident
    resident = Resident(channel=channel, external_id=external_id, language=language)
    try:
        async with session.begin_nested():
            session.add(resident)
            await session.flush()
            session.add(
                ResidentAccount(resident_id=resident.id, channel=channel, external_id=external_id)
            )
    except IntegrityError:
        # The same person's other update created the row a moment ago.
        existing = await find(session, channel, external_id)
        assert existing is not None
        return existing
    return resident


def give_consent(resident: Resident, *, source: str | None = None) -> bool:
    """Record consent; returns False when it had been given already (a double tap)."""
    if resident.consented_at is not None:
        return False
    resident.consented_at = utcnow()
    if source and resident.source is None:
        resident.source = source[:SOURCE_MAX_LENGTH]
    return True


async def set_municipality(session: AsyncSession, resident: Resident, municipality_id: int) -> bool:
    """Choose a municipality; only active ones can be chosen."""
    municipality = await get_active_by_id(session, municipality_id)
    if municipality is None:
        return False
    resident.municipality_id = municipality.id
    resident.municipality = municipality
    return True


def set_age_group(resident: Resident, age_group: AgeGroup | None) -> None:
    resident.age_group = age_group


def finish_onboarding(resident: Resident) -> bool:
    if resident.onboarded_at is not None:
        return False
    resident.onboarded_at = utcnow()
    return True


def set_language(resident: Resident, language: str) -> None:
    resident.language = language


class Preference(enum.StrEnum):
    """Which bulk messages a resident receives: three kinds, and muting them all."""

    ANNOUNCEMENTS = "announcements"
    POLLS = "polls"
    EVENTS = "events"
    MUTED = "muted"


_PREFERENCE_FIELDS = {
    Preference.ANNOUNCEMENTS: "wants_announcements",
    Preference.POLLS: "wants_polls",
    Preference.EVENTS: "wants_events",
    Preference.MUTED: "muted",
}


def preferences(resident: Resident) -> dict[Preference, bool]:
    return {p: bool(getattr(resident, name)) for p, name in _PREFERENCE_FIELDS.items()}


def set_preference(resident: Resident, preference: Preference, value: bool) -> bool:
    """Turn one preference on or off; False when it already was (a double tap)."""
    name = _PREFERENCE_FIELDS[preference]
    if bool(getattr(resident, name)) == value:
        return False
    setattr(resident, name, value)
    return True


def mark_reachable(resident: Resident) -> None:
    resident.unreachable_at = None


async def note_inbound(
    session: AsyncSession,
    resident: Resident,
    channel: Channel,
    external_id: str,
    now: datetime | None = None,
) -> ResidentAccount | None:
    """The resident wrote from this account: the bot now writes back there (their address),
    and on Messenger their 24-hour window starts again. Writes only what changed."""
    if resident.channel != channel or resident.external_id != external_id:
        resident.channel = channel
        resident.external_id = external_id
    if resident.unreachable_at is not None:
        resident.unreachable_at = None
    if channel is not Channel.MESSENGER:
        return None
    account = await find_account(session, channel, external_id)
    if account is not None:
        account.last_inbound_at = now or utcnow()
    return account


def mark_unreachable_now(resident: Resident) -> bool:
    """The resident blocked the bot or the platform refused delivery; False if known already."""
    if resident.unreachable_at is not None:
        return False
    resident.unreachable_at = utcnow()
    return True


async def mark_unreachable(session: AsyncSession, channel: Channel, external_id: str) -> bool:
    """The platform refused to deliver to this chat (bot blocked, account deleted)."""
    resident = await find(session, channel, external_id)
    return resident is not None and mark_unreachable_now(resident)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def _registrations(session: AsyncSession, resident: Resident) -> list[dict[str, Any]]:
    """The resident's event registrations, every status, oldest first."""
    rows = await session.execute(
        select(Registration, Event)
        .join(Event, Event.id == Registration.event_id)
        .where(Registration.resident_id == resident.id)
        .order_by(Registration.created_at, Registration.id)
    )
    result = []
    for registration, event in rows:
        questions = {str(q.id): q.text for q in event.questions}
        answers = registration.answers or {}
        result.append(
            {
                "event": {
                    "id": event.id,
                    "title": event.title,
                    "starts_at": _iso(event.starts_at),
                    "status": event.status.value,
                },
                "status": registration.status.value,
                "checkin_code": registration.checkin_code,
                "organization": registration.organization,
                "answers": [
                    {"question": questions.get(key), "answer": value}
                    for key, value in answers.items()
                ],
                "source": registration.source,
                "share_name": registration.share_name,
                "display_name": registration.display_name,
                "waitlisted_at": _iso(registration.waitlisted_at),
                "offer_expires_at": _iso(registration.offer_expires_at),
                "attended_at": _iso(registration.attended_at),
                "created_at": _iso(registration.created_at),
                "updated_at": _iso(registration.updated_at),
                "cancelled_at": _iso(registration.cancelled_at),
            }
        )
    return result


async def export_data(session: AsyncSession, resident: Resident) -> dict[str, Any]:
    """Everything stored about the resident, for the resident to download."""
    municipality = resident.municipality
    return {
        "resident": {
            "channel": resident.channel.value,
            "chat_id": resident.external_id,
            "language": resident.language,
            "municipality": (
                {"code": municipality.code, "name": municipality.name_lt} if municipality else None
            ),
            "age_group": resident.age_group.value if resident.age_group else None,
            "source": resident.source,
            "consented_at": _iso(resident.consented_at),
            "onboarded_at": _iso(resident.onboarded_at),
            "unreachable_since": _iso(resident.unreachable_at),
            "message_preferences": {p.value: v for p, v in preferences(resident).items()},
            "created_at": _iso(resident.created_at),
            "updated_at": _iso(resident.updated_at),
        },
        # Every app account of the person (both, once they linked them), when it joined.
        "accounts": [
            {
                "channel": account.channel.value,
                "id": account.external_id,
                "linked_at": _iso(account.created_at),
            }
            for account in await accounts(session, resident.id)
        ],
        "event_registrations": await _registrations(session, resident),
        **await proposal_export.resident_data(session, resident.id),
        "exported_at": utcnow().isoformat(),
    }


async def erase(session: AsyncSession, resident: Resident) -> list[proposal_export.ErasedCard]:
    """Delete the resident. Cannot be undone. (The handler clears the conversation state.)

    Poll answers stay as anonymous aggregates (the database detaches them); free-text
    answers, which may identify the person, are blanked first. Registrations to events
    that have not started are cancelled; the others stay, anonymous, for attendance
    figures, without the name, answers and organization. Proposals stay without the link
    to the person, the name, photos and the conversation; their text and place only once
    the municipality has them (:func:`bot.services.proposal_export.forget_resident`). Returns
    the moderators' cards to redraw.
    """
    await polls.forget_resident(session, resident.id)
    await event_registrations.forget_resident(session, resident.id)
    cards = await proposal_export.forget_resident(session, resident.id)
    await account_links.forget_resident(session, resident.id)
    await session.delete(resident)
    await session.flush()
    return cards
