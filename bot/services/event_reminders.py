"""Event reminders: which are due, each created once (also across restarts and processes).

An event has reminder offsets in minutes before its start (default 24 h and 2 h). When an
offset's time comes, :func:`reminders_due` inserts an ``event_reminders`` row; the UNIQUE
key (event, offset) and ``ON CONFLICT DO NOTHING`` let only one transaction insert it, so
only that one gets the reminder job. The caller creates the broadcast (audience: the
registered residents) in the same transaction, so the marker and the broadcast are
committed together or not at all.

Reminders that come too late are skipped (marked, not sent): one whose time was before the
event was created, and any but the latest of several due at once (the bot was down).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import dialect_of, insert_function
from bot.services.quiet_hours import QuietHours
from models import Event, EventReminder, EventStatus, Registration, RegistrationStatus, utcnow

MAX_REMINDER_OFFSET = 30 * 24 * 60  # minutes: reminders up to 30 days before the start


def reminder_time(event: Event, offset_minutes: int) -> datetime:
    return event.starts_at - timedelta(minutes=offset_minutes)


def is_urgent(starts_at: datetime, quiet_hours: QuietHours, now: datetime) -> bool:
    """A reminder may not wait for the morning when the event starts before quiet hours
    end (the delivery engine holds non-urgent messages while they last)."""
    return quiet_hours.contains(now) and starts_at <= quiet_hours.next_end(now)


@dataclass(frozen=True, slots=True)
class ReminderJob:
    """A reminder to send now to the residents registered to ``event``: create a broadcast
    with ``Audience(registered_event_id=event.id)``, ``urgent`` as given."""

    event: Event
    offset_minutes: int
    urgent: bool
    registered: int  # residents registered when it was created (always at least 1)

    @property
    def event_id(self) -> int:
        return self.event.id


async def _insert_markers(
    session: AsyncSession, event_id: int, offsets: dict[int, bool], now: datetime
) -> set[int]:
    """Insert the markers that do not exist yet; returns the offsets this call inserted."""
    if not offsets:
        return set()
    statement = (
        insert_function(dialect_of(session))(EventReminder)
        .values(
            [
                {"event_id": event_id, "offset_minutes": offset, "sent": sent, "created_at": now}
                for offset, sent in sorted(offsets.items())
            ]
        )
        .on_conflict_do_nothing(index_elements=["event_id", "offset_minutes"])
        .returning(EventReminder.offset_minutes)
    )
    return set((await session.execute(statement)).scalars())


async def _registered_counts(session: AsyncSession, event_ids: list[int]) -> dict[int, int]:
    if not event_ids:
        return {}
    rows = await session.execute(
        select(Registration.event_id, func.count())
        .where(
            Registration.event_id.in_(event_ids),
            Registration.status == RegistrationStatus.REGISTERED,
            Registration.resident_id.is_not(None),
        )
        .group_by(Registration.event_id)
    )
    return {event_id: int(n) for event_id, n in rows}


async def reminders_due(
    session: AsyncSession, *, quiet_hours: QuietHours, now: datetime | None = None
) -> list[ReminderJob]:
    """The reminders whose time has come and that no call created before: each is marked
    created here and returned once. Events of published status that have not started;
    an event with nobody registered gets its marker but no job."""
    now = now or utcnow()
    events = list(
        await session.scalars(
            select(Event)
            .where(
                Event.status == EventStatus.PUBLISHED,
                Event.starts_at > now,
                Event.starts_at <= now + timedelta(minutes=MAX_REMINDER_OFFSET),
            )
            .order_by(Event.starts_at, Event.id)
        )
    )
    due = {
        event.id: [o for o in event.reminder_offsets if reminder_time(event, o) <= now]
        for event in events
    }
    events = [event for event in events if due[event.id]]
    counts = await _registered_counts(session, [event.id for event in events])
    jobs = []
    for event in events:
        latest = min(due[event.id])
        send = reminder_time(event, latest) >= event.created_at and counts.get(event.id, 0) > 0
        inserted = await _insert_markers(
            session, event.id, {o: send and o == latest for o in due[event.id]}, now
        )
        if send and latest in inserted:
            jobs.append(
                ReminderJob(
                    event, latest, is_urgent(event.starts_at, quiet_hours, now), counts[event.id]
                )
            )
    return jobs


async def reschedule_reminders(session: AsyncSession, event: Event, now: datetime) -> None:
    """After the event's time or reminder offsets changed: reminders now in the future
    will be sent (again, for the new time); those whose time has passed are skipped (the
    change notice told the residents)."""
    future = [o for o in event.reminder_offsets if reminder_time(event, o) > now]
    past = [o for o in event.reminder_offsets if reminder_time(event, o) <= now]
    if future:
        await session.execute(
            delete(EventReminder).where(
                EventReminder.event_id == event.id, EventReminder.offset_minutes.in_(future)
            )
        )
    await _insert_markers(session, event.id, dict.fromkeys(past, False), now)
