"""What residents see of events: the list, an event's card, registering, their
registrations, offers from the waitlist and refusals.

Titles, descriptions, places and questions are written by organizers, so they are
HTML-escaped here. Times are shown in the deployment's zone (Europe/Vilnius).
"""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.channels.telegram.event_callbacks import OfferAnswer, OfferCb
from bot.channels.telegram.texts import N_
from bot.i18n import date_and_time, long_date, short_time, weekday
from models import Event, EventKind, Registration

_KIND_LABELS = {
    EventKind.CONSULTATION: N_("consultation"),
    EventKind.TRAINING: N_("training"),
    EventKind.DISCUSSION: N_("public discussion"),
    EventKind.FOCUS_GROUP: N_("focus group"),
    EventKind.STUDY_VISIT: N_("study visit"),
    EventKind.SEMINAR: N_("seminar"),
}


def kind_label(kind: EventKind) -> str:
    """``konsultacija``, ``mokymai``, … (lower case, for after the title)."""
    return _(_KIND_LABELS[kind])


def when_text(event: Event, tz: ZoneInfo, locale: str) -> str:
    """``2026 m. gruodžio 3 d., ketvirtadienis, 18:00–20:00`` (the end's date too when the
    event ends on another day)."""
    start, end = event.starts_at.astimezone(tz), event.ends_at.astimezone(tz)
    if start.date() == end.date():
        return f"{date_and_time(start, tz, locale)}–{short_time(end, tz, locale)}"
    return f"{date_and_time(start, tz, locale)} – {date_and_time(end, tz, locale)}"


def day_text(moment: datetime, tz: ZoneInfo, locale: str) -> str:
    """``2026 m. gruodžio 3 d., ketvirtadienis``"""
    return f"{long_date(moment, tz, locale)}, {weekday(moment, tz, locale)}"


def place_text(event: Event) -> str:
    """The address, or "online" when the event has only a link (escaped)."""
    if event.place_address:
        return html.escape(event.place_address)
    return _("online")


def title_html(event: Event) -> str:
    return f"„{html.escape(event.title)}“"


# -- offers from the waitlist ----------------------------------------------------------


def offer_text(event: Event, registration: Registration, tz: ZoneInfo, locale: str) -> str:
    """A place freed for a waitlisted resident: what, when, where and until when it is
    held for them."""
    expires = registration.offer_expires_at or event.starts_at
    return _(
        "<b>A place has become free for you</b> at the event {title}.\n\n"
        "🗓 {when}\n📍 {place}\n\n"
        "We are holding it for you until {deadline}. Will you come?"
    ).format(
        title=title_html(event),
        when=when_text(event, tz, locale),
        place=place_text(event),
        deadline=date_and_time(expires, tz, locale),
    )


def offer_keyboard(registration_id: int) -> InlineKeyboardMarkup:
    """Accept or decline the offered place."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Yes, I will come"),
                    callback_data=OfferCb(
                        registration=registration_id, answer=OfferAnswer.ACCEPT
                    ).pack(),
                )
            ],
            [
                InlineKeyboardButton(
                    text=_("No, give the place to someone else"),
                    callback_data=OfferCb(
                        registration=registration_id, answer=OfferAnswer.DECLINE
                    ).pack(),
                )
            ],
        ]
    )
