"""Who receives a bulk message: audiences of residents, as SQL, never as lists in memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import AgeGroup, Channel, MessageCategory, PollProgress, Resident

_WANTS = {
    MessageCategory.ANNOUNCEMENT: Resident.wants_announcements,
    MessageCategory.POLL: Resident.wants_polls,
    MessageCategory.EVENT: Resident.wants_events,
}


@dataclass(frozen=True, slots=True)
class Audience:
    """Residents of these municipalities and age groups (empty: all of them), and with
    ``answered_poll_id`` only those who answered that poll (the results sent at its closing).

    Later features add conditions (registered to an event, has not answered a poll) here,
    so every bulk message chooses its recipients the same way.
    """

    municipality_ids: frozenset[int] = field(default_factory=frozenset)
    age_groups: frozenset[AgeGroup] = field(default_factory=frozenset)
    answered_poll_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "municipality_ids": sorted(self.municipality_ids),
            "age_groups": sorted(group.value for group in self.age_groups),
        }
        if self.answered_poll_id is not None:  # absent otherwise: older audiences read the same
            data["answered_poll_id"] = self.answered_poll_id
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        answered = data.get("answered_poll_id")
        return cls(
            municipality_ids=frozenset(int(i) for i in data.get("municipality_ids", [])),
            age_groups=frozenset(AgeGroup(g) for g in data.get("age_groups", [])),
            answered_poll_id=int(answered) if answered is not None else None,
        )

    @property
    def is_everyone(self) -> bool:
        return not self.municipality_ids and not self.age_groups and self.answered_poll_id is None


def conditions(audience: Audience, category: MessageCategory) -> list[ColumnElement[bool]]:
    """Onboarded, reachable Telegram residents who want this kind of message."""
    where: list[ColumnElement[bool]] = [
        Resident.channel == Channel.TELEGRAM,
        Resident.onboarded_at.is_not(None),
        Resident.unreachable_at.is_(None),
        Resident.muted.is_(False),
        _WANTS[category].is_(True),
    ]
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
    return where


def recipients(audience: Audience, category: MessageCategory) -> Select[int, str]:
    """(resident id, chat id) of every recipient, in a stable order."""
    return (
        select(Resident.id, Resident.external_id)
        .where(*conditions(audience, category))
        .order_by(Resident.id)
    )


async def count(session: AsyncSession, audience: Audience, category: MessageCategory) -> int:
    total = await session.scalar(
        select(func.count()).select_from(Resident).where(*conditions(audience, category))
    )
    return int(total or 0)
