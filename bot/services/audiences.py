"""Who receives a bulk message: audiences of residents, as SQL, never as lists in memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    AgeGroup,
    Channel,
    MessageCategory,
    PollProgress,
    Registration,
    RegistrationStatus,
    Resident,
)
from models.events import ACTIVE_STATUSES

_WANTS = {
    MessageCategory.ANNOUNCEMENT: Resident.wants_announcements,
    MessageCategory.POLL: Resident.wants_polls,
    MessageCategory.EVENT: Resident.wants_events,
}


@dataclass(frozen=True, slots=True)
class Audience:
    """Residents of these municipalities and age groups (empty: all of them), and with
    ``answered_poll_id`` only those who answered that poll (the results sent at its closing).

    With ``registered_event_id`` only those registered to that event (its reminders, change
    and cancellation notices); ``with_waitlist`` adds those on its waitlist and those
    holding an offer of a place. They asked for these messages by registering, so the
    *Renginiai* message preference does not hold them back (muting everything still does).

    Later features add conditions (has not answered a poll) here, so every bulk message
    chooses its recipients the same way.
    """

    municipality_ids: frozenset[int] = field(default_factory=frozenset)
    age_groups: frozenset[AgeGroup] = field(default_factory=frozenset)
    answered_poll_id: int | None = None
    registered_event_id: int | None = None
    with_waitlist: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "municipality_ids": sorted(self.municipality_ids),
            "age_groups": sorted(group.value for group in self.age_groups),
        }
        if self.answered_poll_id is not None:  # absent otherwise: older audiences read the same
            data["answered_poll_id"] = self.answered_poll_id
        if self.registered_event_id is not None:
            data["registered_event_id"] = self.registered_event_id
            if self.with_waitlist:
                data["with_waitlist"] = True
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        answered = data.get("answered_poll_id")
        event = data.get("registered_event_id")
        return cls(
            municipality_ids=frozenset(int(i) for i in data.get("municipality_ids", [])),
            age_groups=frozenset(AgeGroup(g) for g in data.get("age_groups", [])),
            answered_poll_id=int(answered) if answered is not None else None,
            registered_event_id=int(event) if event is not None else None,
            with_waitlist=event is not None and bool(data.get("with_waitlist", False)),
        )

    @property
    def is_everyone(self) -> bool:
        return (
            not self.municipality_ids
            and not self.age_groups
            and self.answered_poll_id is None
            and self.registered_event_id is None
        )


def conditions(audience: Audience, category: MessageCategory) -> list[ColumnElement[bool]]:
    """Onboarded, reachable residents (on either app) who want this kind of message."""
    where: list[ColumnElement[bool]] = [
        Resident.onboarded_at.is_not(None),
        Resident.unreachable_at.is_(None),
        Resident.muted.is_(False),
    ]
    if audience.registered_event_id is None:
        where.append(_WANTS[category].is_(True))
    if audience.municipality_ids:
        where.append(Resident.municipality_id.in_(sorted(audience.municipality_ids)))
    if audience.age_groups:
        where.append(Resident.age_group.in_(sorted(audience.age_groups)))
    if audience.answered_poll_id is not None:
        # Submitted at least one answer (a survey left half-way counts); rows of erased
        # residents have no resident_id and match no one. Uses the (poll_id, resident_id) key.
        where.append(
            exists().where(
                PollProgress.poll_id == audience.answered_poll_id,
                PollProgress.resident_id == Resident.id,
                PollProgress.first_answer_at.is_not(None),
            )
        )
    if audience.registered_event_id is not None:
        # Rows of erased residents have no resident_id and match no one. Uses the
        # (event_id, resident_id) key.
        statuses = ACTIVE_STATUSES if audience.with_waitlist else (RegistrationStatus.REGISTERED,)
        where.append(
            exists().where(
                Registration.event_id == audience.registered_event_id,
                Registration.resident_id == Resident.id,
                Registration.status.in_(statuses),
            )
        )
    return where


def recipients(audience: Audience, category: MessageCategory) -> Select[int, Channel, str]:
    """(resident id, app, chat id) of every recipient, in a stable order: each resident once,
    at their address (the app they last wrote from)."""
    return (
        select(Resident.id, Resident.channel, Resident.external_id)
        .where(*conditions(audience, category))
        .order_by(Resident.id)
    )


async def count(session: AsyncSession, audience: Audience, category: MessageCategory) -> int:
    total = await session.scalar(
        select(func.count()).select_from(Resident).where(*conditions(audience, category))
    )
    return int(total or 0)
