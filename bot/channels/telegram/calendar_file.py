"""A registration as an iCalendar (.ics) file, for the resident's phone calendar.

Times are written in UTC (``…Z``), which every calendar shows in its own zone, so no
VTIMEZONE is needed. The UID is the same for a registration every time the file is made,
so importing it again (after a change of time or place) updates the entry instead of
adding a second one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar
from icalendar import Event as CalendarEvent

from models import Event, Registration, utcnow

PRODUCT_ID = "-//Dalyvauk//Renginiai//LT"
UID_DOMAIN = "dalyvauk"


def registration_uid(registration: Registration) -> str:
    return f"registration-{registration.id}@{UID_DOMAIN}"


def filename(event: Event) -> str:
    return f"renginys-{event.id}.ics"


def calendar_bytes(
    event: Event,
    registration: Registration,
    *,
    description: str,
    now: datetime | None = None,
) -> bytes:
    """The .ics of one registration. ``description``: the text shown in the calendar
    entry (the event's description with the check-in code, already translated)."""
    entry = CalendarEvent()
    entry.add("uid", registration_uid(registration))
    entry.add("dtstamp", (now or utcnow()).astimezone(UTC))
    entry.add("dtstart", event.starts_at.astimezone(UTC))
    entry.add("dtend", event.ends_at.astimezone(UTC))
    entry.add("summary", event.title)
    location = event.place_address or event.online_url
    if location:
        entry.add("location", location)
    if event.online_url:
        entry.add("url", event.online_url)
    if description:
        entry.add("description", description)
    if event.latitude is not None and event.longitude is not None:
        entry.add("geo", (event.latitude, event.longitude))
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(entry)
    ical: bytes = calendar.to_ical()
    return ical
