"""Meta's 24-hour messaging window on Messenger, as pure rules (no I/O).

A page may message a person freely within 24 hours of that person's last message to it.
Outside the window only a tagged, non-promotional message may go: for us the
``CONFIRMED_EVENT_UPDATE`` tag, for reminders and changes of an event the resident
registered to. Invitations, announcements and polls are promotional in Meta's sense: they
wait (are *held*) until the resident writes again, and are offered then.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from models import MessageCategory

WINDOW = timedelta(hours=24)
# Keep a little margin: a message decided now reaches Meta a moment later.
MARGIN = timedelta(minutes=1)


class WindowDecision(enum.Enum):
    SEND = "send"  # inside the window: an ordinary message (messaging_type UPDATE/RESPONSE)
    SEND_TAGGED = "send_tagged"  # outside, allowed with the CONFIRMED_EVENT_UPDATE tag
    HOLD = "hold"  # outside: keep it until the resident writes


def inside(last_inbound_at: datetime | None, now: datetime) -> bool:
    """Whether the resident wrote within the last 24 hours (less a small margin)."""
    return last_inbound_at is not None and now - last_inbound_at < WINDOW - MARGIN


def decide(
    last_inbound_at: datetime | None, now: datetime, *, may_tag: bool, tag_enabled: bool
) -> WindowDecision:
    """How to deliver one message to a Messenger resident who last wrote at
    ``last_inbound_at``: ``may_tag`` says the message qualifies for the event-update tag,
    ``tag_enabled`` that the deployment allows using it."""
    if inside(last_inbound_at, now):
        return WindowDecision.SEND
    if may_tag and tag_enabled:
        return WindowDecision.SEND_TAGGED
    return WindowDecision.HOLD


def may_use_event_tag(category: MessageCategory, audience_json: dict[str, Any] | None) -> bool:
    """True only for an event broadcast to the people registered to that event (its
    reminders, changes, cancellation) — never for invitations, announcements or polls."""
    return category == MessageCategory.EVENT and bool(
        audience_json and audience_json.get("registered_event_id") is not None
    )
