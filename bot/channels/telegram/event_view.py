"""What residents see of events: the list, an event's card, registering, their
registrations, offers from the waitlist and refusals.

Titles, descriptions, places and questions are written by organizers, so they are
HTML-escaped here. Times are shown in the deployment's zone (Europe/Vilnius).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.numbers import format_percent

from bot.channels.telegram.event_callbacks import (
    CancelStep,
    EventConfirmCb,
    EventListCb,
    EventMineCb,
    EventOpenCb,
    EventRegisterCb,
    OfferAnswer,
    OfferCb,
    QuestionSkipCb,
    RegistrationCancelCb,
    RegistrationStopCb,
    ShareName,
)
from bot.channels.telegram.texts import N_
from bot.i18n import date_and_time, long_date, number, short_time, weekday
from bot.services.event_registrations import MyRegistration, Refusal
from bot.services.events import UpcomingEvent
from models import (
    Event,
    EventKind,
    EventQuestion,
    EventStatus,
    Registration,
    RegistrationStatus,
)
from models.events import ACTIVE_STATUSES

SELECTED = "✓ "
BUTTON_TITLE_LENGTH = 40

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
    return column(
        (_("Yes, I will come"), OfferCb(registration=registration_id, answer=OfferAnswer.ACCEPT)),
        (
            _("No, give the place to someone else"),
            OfferCb(registration=registration_id, answer=OfferAnswer.DECLINE),
        ),
    )


def column(*buttons: tuple[str, CallbackData]) -> InlineKeyboardMarkup:
    """One button a row: (label, callback data)."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data.pack())] for text, data in buttons
        ]
    )


# -- places and statuses ----------------------------------------------------------------


def places_text(left: int | None, locale: str) -> str:
    """``liko 3 vietos``, ``vietų neribota`` or ``laukiančiųjų sąrašas`` (full)."""
    if left is None:
        return _("unlimited places")
    if left <= 0:
        return _("no places left – waitlist")
    return _("{count} place left", "{count} places left", left).format(count=number(left, locale))


def status_text(status: RegistrationStatus | None, position: int | None = None) -> str | None:
    """The resident's own status at an event, or None when they have not registered."""
    if status is RegistrationStatus.REGISTERED:
        return _("✅ You are registered")
    if status is RegistrationStatus.WAITLISTED:
        if position is None:
            return _("⏳ You are on the waitlist")
        return _("⏳ You are on the waitlist, number {position}").format(position=position)
    if status is RegistrationStatus.OFFERED:
        return _("🔔 A place is offered to you – please answer")
    return None


# -- the list ----------------------------------------------------------------------------

EVENTS_PER_PAGE = 5


def no_events_text() -> str:
    return _(
        "There are no upcoming events right now. Consultations, trainings and discussions "
        "you can register for will appear here."
    )


def event_list_text(items: Sequence[UpcomingEvent], page: int, tz: ZoneInfo, locale: str) -> str:
    pages = page_count(len(items))
    lines = [_("<b>Upcoming events</b>")]
    if pages > 1:
        lines[0] += f" ({page + 1} / {pages})"
    start = page * EVENTS_PER_PAGE
    for index, item in enumerate(items[start : start + EVENTS_PER_PAGE], start=start + 1):
        event = item.event
        lines += [
            "",
            f"<b>{index}. {html.escape(event.title)}</b> – {kind_label(event.kind)}",
            f"🗓 {date_and_time(event.starts_at, tz, locale)}",
            f"📍 {place_text(event)}",
        ]
        mine = status_text(item.my_status)
        if mine is not None:
            lines.append(mine)
        elif not item.registration_open:
            lines.append(_("Registration has closed"))
        else:
            lines.append(f"👥 {places_text(item.places_left, locale)}")
    lines += ["", _("Choose an event to see more and to register:")]
    return "\n".join(lines)


def page_count(total: int) -> int:
    return max(1, -(-total // EVENTS_PER_PAGE))


def event_list_keyboard(items: Sequence[UpcomingEvent], page: int) -> InlineKeyboardMarkup:
    pages = page_count(len(items))
    builder = InlineKeyboardBuilder()
    start = page * EVENTS_PER_PAGE
    for index, item in enumerate(items[start : start + EVENTS_PER_PAGE], start=start + 1):
        label = f"{index}. {_short(item.event.title)}"
        if item.my_status in ACTIVE_STATUSES:
            label = SELECTED + label
        builder.row(
            InlineKeyboardButton(text=label, callback_data=EventOpenCb(event=item.event.id).pack())
        )
    if pages > 1:
        builder.row(
            InlineKeyboardButton(
                text=_("◀ Back"), callback_data=EventListCb(page=(page - 1) % pages).pack()
            ),
            InlineKeyboardButton(
                text=_("Next ▶"), callback_data=EventListCb(page=(page + 1) % pages).pack()
            ),
        )
    builder.row(my_registrations_button())
    return builder.as_markup()


def my_registrations_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("My registrations"), callback_data=EventMineCb().pack())


def _short(text: str, limit: int = BUTTON_TITLE_LENGTH) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


# -- an event's card ----------------------------------------------------------------------


def _where_lines(event: Event) -> list[str]:
    lines = [f"📍 {place_text(event)}"]
    if event.online_url:
        lines.append(_("🔗 Online: {url}").format(url=html.escape(event.online_url, quote=False)))
    return lines


def event_card_text(
    event: Event,
    left: int | None,
    status: RegistrationStatus | None,
    position: int | None,
    tz: ZoneInfo,
    locale: str,
    now: datetime,
) -> str:
    lines = [
        f"<b>{html.escape(event.title)}</b>",
        kind_label(event.kind).capitalize(),
        "",
        f"🗓 {when_text(event, tz, locale)}",
        *_where_lines(event),
    ]
    if event.description:
        lines += ["", html.escape(event.description)]
    lines.append("")
    mine = status_text(status, position)
    if mine is not None:
        lines.append(mine)
    elif now >= event.effective_deadline:
        lines.append(_("Registration has closed."))
    else:
        lines.append(f"👥 {places_text(left, locale).capitalize()}")
        lines.append(
            _("Registration is open until {when}.").format(
                when=date_and_time(event.effective_deadline, tz, locale)
            )
        )
    return "\n".join(lines)


def event_card_keyboard(
    event: Event,
    registration: Registration | None,
    can_register: bool,
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    status = registration.status if registration is not None else None
    if registration is not None and status is RegistrationStatus.OFFERED:
        for row in offer_keyboard(registration.id).inline_keyboard:
            builder.row(*row)
    elif registration is not None and status in ACTIVE_STATUSES:
        builder.row(cancel_button(registration.id))
    elif can_register:
        builder.row(
            InlineKeyboardButton(
                text=_("Register"), callback_data=EventRegisterCb(event=event.id).pack()
            )
        )
    builder.row(
        InlineKeyboardButton(text=_("All events"), callback_data=EventListCb().pack()),
        my_registrations_button(),
    )
    return builder.as_markup()


# -- registering --------------------------------------------------------------------------


def display_name(first_name: str, last_name: str | None) -> str:
    return " ".join(part for part in (first_name.strip(), (last_name or "").strip()) if part)


def confirm_text(
    event: Event, left: int | None, name: str | None, tz: ZoneInfo, locale: str
) -> str:
    """The summary before the second tap; ``name``: the one Telegram gives (Messenger gives
    none, so the resident is asked to write it if they want it shown)."""
    lines = [
        _("<b>Registration</b> for the event {title}").format(title=title_html(event)),
        "",
        f"🗓 {when_text(event, tz, locale)}",
        *_where_lines(event),
    ]
    if left is not None and left <= 0:
        lines += [
            "",
            _(
                "There are no places left, so you will be put on the waitlist. If a place "
                "becomes free, we will offer it to you here."
            ),
        ]
    steps = len(event.questions) + (1 if event.per_organization_quota is not None else 0)
    if steps:
        questions = _("{count} short question", "{count} short questions", steps)
        questions = questions.format(count=number(steps, locale))
        lines += ["", _("After you confirm, we will ask {questions}.").format(questions=questions)]
    if name is None:
        share = _(
            "May the organizers see your name? If yes, we will ask you to write it; if not, "
            "they will see only that a resident has registered."
        )
    else:
        share = _(
            "May the organizers see your name ({name})? If not, they will see only that "
            "a resident has registered."
        ).format(name=html.escape(name))
    lines += ["", share]
    return "\n".join(lines)


def confirm_keyboard(event_id: int) -> InlineKeyboardMarkup:
    return column(
        (_("Register and show my name"), EventConfirmCb(event=event_id, share=ShareName.YES)),
        (_("Register without my name"), EventConfirmCb(event=event_id, share=ShareName.NO)),
        (_("Do not register"), RegistrationStopCb(event=event_id)),
    )


def organization_prompt(event: Event) -> str:
    return _(
        "Places at this event are shared among organizations: up to {count} from each. "
        "Which organization or community do you represent? Please write its name."
    ).format(count=event.per_organization_quota)


def question_prompt(event: Event, question: EventQuestion, locale: str) -> str:
    total = len(event.questions)
    return _("Question {number} of {total}:").format(
        number=question.position, total=number(total, locale)
    ) + (
        f"\n\n<b>{html.escape(question.text)}</b>\n\n"
        + _("Please write your answer in one message.")
    )


def question_keyboard(event_id: int, position: int) -> InlineKeyboardMarkup:
    return column(
        (_("Skip this question"), QuestionSkipCb(event=event_id, position=position)),
        (_("Stop registering"), RegistrationStopCb(event=event_id)),
    )


def stop_keyboard(event_id: int) -> InlineKeyboardMarkup:
    return column((_("Stop registering"), RegistrationStopCb(event=event_id)))


def too_long_text(length: int, limit: int, locale: str) -> str:
    return _(
        "Your answer is {length} characters long; up to {limit} fit. Please shorten it and "
        "send it again."
    ).format(length=number(length, locale), limit=number(limit, locale))


def text_expected() -> str:
    return _("Please write your answer as text in one message.")


def registration_stopped() -> str:
    return _("Registration stopped. Nothing was saved.")


def registered_text(event: Event, registration: Registration, tz: ZoneInfo, locale: str) -> str:
    return "\n".join(
        [
            _("✅ <b>You are registered</b> for the event {title}.").format(
                title=title_html(event)
            ),
            "",
            f"🗓 {when_text(event, tz, locale)}",
            *_where_lines(event),
            "",
            _(
                "Your check-in code: <b>{code}</b>. Show it (or the QR code below) when you arrive."
            ).format(code=registration.checkin_code),
            _("The calendar file below adds the event to your phone's calendar."),
        ]
    )


def qr_caption(registration: Registration) -> str:
    return _("Check-in code {code}").format(code=registration.checkin_code)


def calendar_description(event: Event, registration: Registration) -> str:
    """The calendar entry's text (plain, no HTML)."""
    parts = [event.description] if event.description else []
    parts.append(_("Check-in code: {code}").format(code=registration.checkin_code))
    if event.online_url:
        parts.append(_("Online: {url}").format(url=event.online_url))
    return "\n\n".join(parts)


def waitlisted_text(event: Event, position: int | None, locale: str) -> str:
    return _(
        "There are no places left at the event {title}, so you are on the waitlist, "
        "number {position}. If a place becomes free, we will write to you here and hold it "
        "for you for {hours} hours."
    ).format(
        title=title_html(event),
        position=number(position or 1, locale),
        hours=number(event.offer_hours, locale),
    )


def already_text(status: RegistrationStatus, position: int | None) -> str:
    if status is RegistrationStatus.WAITLISTED:
        return _("You are already on the waitlist for this event, number {position}.").format(
            position=position or 1
        )
    if status is RegistrationStatus.OFFERED:
        return _("A place at this event is already offered to you: please accept or decline it.")
    return _("You are already registered for this event.")


def threshold_text(event: Event, percent: int, taken: int, locale: str) -> str:
    """To the organizer: their event reached ``percent`` (50, 80 or 100) % of its places;
    the share shown is the one taken now."""
    capacity = event.capacity or 0
    if percent >= 100:
        return _("All {capacity} places of your event {title} are taken.").format(
            capacity=number(capacity, locale), title=title_html(event)
        )
    return _(
        "{percent} of the places of your event {title} are taken: {taken} of {capacity}."
    ).format(
        percent=format_percent(taken / capacity if capacity else 0, locale=locale),
        title=title_html(event),
        taken=number(taken, locale),
        capacity=number(capacity, locale),
    )


# -- the resident's registrations ------------------------------------------------------------


def no_registrations_text() -> str:
    return _("You have no registrations to upcoming events.")


def my_registrations_text(items: Sequence[MyRegistration], tz: ZoneInfo, locale: str) -> str:
    lines = [_("<b>My registrations</b>")]
    for index, item in enumerate(items, start=1):
        event = item.event
        lines += [
            "",
            f"<b>{index}. {html.escape(event.title)}</b>",
            f"🗓 {date_and_time(event.starts_at, tz, locale)}",
            f"📍 {place_text(event)}",
        ]
        if event.status is EventStatus.CANCELLED:
            lines.append(_("❌ The event has been cancelled"))
        elif item.status is RegistrationStatus.OFFERED:
            expires = item.registration.offer_expires_at or event.starts_at
            lines.append(
                _("🔔 A place is offered to you until {when}").format(
                    when=date_and_time(expires, tz, locale)
                )
            )
        elif item.status is RegistrationStatus.REGISTERED:
            lines.append(
                _("✅ Registered, check-in code {code}").format(code=item.registration.checkin_code)
            )
        else:
            lines.append(status_text(item.status, item.position) or "")
    return "\n".join(lines)


def my_registrations_keyboard(items: Sequence[MyRegistration]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for index, item in enumerate(items, start=1):
        if item.event.status is EventStatus.CANCELLED:
            continue
        if item.status is RegistrationStatus.OFFERED:
            builder.row(
                InlineKeyboardButton(
                    text=_("Accept the place: {number}").format(number=index),
                    callback_data=OfferCb(
                        registration=item.registration.id, answer=OfferAnswer.ACCEPT
                    ).pack(),
                )
            )
        builder.row(
            InlineKeyboardButton(
                text=_("Cancel: {number}. {title}").format(
                    number=index, title=_short(item.event.title, 30)
                ),
                callback_data=RegistrationCancelCb(
                    registration=item.registration.id, step=CancelStep.ASK
                ).pack(),
            )
        )
    builder.row(InlineKeyboardButton(text=_("All events"), callback_data=EventListCb().pack()))
    return builder.as_markup()


def cancel_button(registration_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("Cancel registration"),
        callback_data=RegistrationCancelCb(
            registration=registration_id, step=CancelStep.ASK
        ).pack(),
    )


def cancel_question(event: Event, status: RegistrationStatus, tz: ZoneInfo, locale: str) -> str:
    if status is RegistrationStatus.WAITLISTED:
        question = _("Do you want to leave the waitlist of the event {title}?")
    else:
        question = _(
            "Do you want to cancel your registration for the event {title}? Your place will "
            "go to someone else."
        )
    return (
        question.format(title=title_html(event))
        + f"\n\n🗓 {when_text(event, tz, locale)}\n📍 {place_text(event)}"
    )


def cancel_keyboard(registration_id: int) -> InlineKeyboardMarkup:
    return column(
        (
            _("Yes, cancel"),
            RegistrationCancelCb(registration=registration_id, step=CancelStep.CONFIRM),
        ),
        (
            _("No, keep it"),
            RegistrationCancelCb(registration=registration_id, step=CancelStep.KEEP),
        ),
    )


def cancelled_text(event: Event) -> str:
    return _("Your registration for the event {title} is cancelled.").format(
        title=title_html(event)
    )


def kept_text(event: Event) -> str:
    return _("Your registration for the event {title} stays.").format(title=title_html(event))


def declined_text(event: Event) -> str:
    return _("Thank you for letting us know. The place at {title} will go to someone else.").format(
        title=title_html(event)
    )


# -- refusals -------------------------------------------------------------------------------


def refusal_text(refusal: Refusal | None) -> str:
    texts = {
        Refusal.NOT_FOUND: _("We could not find this event or registration."),
        Refusal.EVENT_CANCELLED: _("This event has been cancelled."),
        Refusal.DEADLINE_PASSED: _("Registration for this event has closed."),
        Refusal.NOT_ONBOARDED: _("Please press /start and choose your municipality first."),
        Refusal.OUTSIDE_MUNICIPALITY: _("This event is for residents of another municipality."),
        Refusal.OUTSIDE_AUDIENCE: _("This event is for another group of residents."),
        Refusal.ORGANIZATION_REQUIRED: _("Please name the organization you represent."),
        Refusal.QUOTA_FULL: _("The places for your organization at this event are all taken."),
        Refusal.BAD_ANSWERS: _("Your answers could not be saved. Please register again."),
        Refusal.EVENT_STARTED: _(
            "The event has started; the registration can no longer be cancelled."
        ),
        Refusal.NO_OFFER: _("This offer is no longer valid."),
        Refusal.OFFER_EXPIRED: _(
            "Sorry, the time to accept the place has passed, and it was offered to the next "
            "person on the waitlist."
        ),
    }
    if refusal is None:
        return stale_text()
    return texts[refusal]


def stale_text() -> str:
    return _("This button is no longer active.")


def finished_text() -> str:
    return _("This event has already taken place.")


def already_cancelled_text() -> str:
    return _("This registration has already been cancelled.")
