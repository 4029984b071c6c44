"""Events on Messenger: the list (Renginiai), an event's card, registering in two taps with
the registration questions, the waitlist, Mano registracijos with cancelling in two taps,
and the places offered from the waitlist.

The rules are in ``bot.services.event_registrations`` and the texts are Telegram's
(``bot.channels.telegram.event_view``, HTML turned into plain text); this module only lays
them out as Messenger messages. Payloads are the Telegram callback data (``eo:12``,
``er:12``, ``ec:12:y``, ``rc:7:ask``, ``of:7:a``, …) unpacked with the same
``CallbackData`` classes, so an offer sent by the scheduler or by another resident's
cancellation through :class:`~bot.channels.notices.ResidentNotifier` (its buttons become
postbacks with the callback data) is answered here. Every payload can be forged or stale:
each handler checks the ids against the database and that the registration is the
resident's own.

Differences from Telegram, because of what Messenger offers:

* The name: a Messenger bot does not get the person's name, so "Su mano vardu" asks them to
  write the name the organizers may see (one more step); "Be vardo" needs none.
* The calendar file: the Send API carries images but a file only from a public URL, and the
  bot publishes none, so the confirmation has the check-in code and its QR image, and says
  the calendar file is available in Telegram only (the date and time are in the message).
* Offers of a place and their expiry are sent with ``event_update=True``: the waitlisted
  resident registered to that event, so Meta's ``CONFIRMED_EVENT_UPDATE`` tag may carry
  them outside the 24-hour window when the deployment enables it.

The registration being filled in waits in the conversation state (stored in the database),
so a restart in the middle of the questions loses nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram.utils.i18n import gettext as _
from sqlalchemy import select

from bot.channels.event_messages import Outgoing, offer_messages, send_all
from bot.channels.messenger.context import MessengerContext
from bot.channels.messenger.messages import (
    Button,
    OutMessage,
    QuickReply,
    html_to_text,
    quick_reply_page,
    short_title,
)
from bot.channels.messenger.router import MessengerRouter
from bot.channels.telegram import event_view as view
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
from bot.channels.telegram.event_jobs import messenger_offer_keyboard
from bot.channels.telegram.qr import qr_png
from bot.services import event_registrations, events
from bot.services.event_registrations import (
    ANSWER_MAX_LENGTH,
    CancelOutcome,
    OfferOutcome,
    Refusal,
    RegistrationOutcome,
    RegistrationResult,
)
from bot.services.events import EventState
from models import Event, EventStatus, Registration, RegistrationStatus, utcnow
from models.events import ACTIVE_STATUSES, DISPLAY_NAME_MAX_LENGTH, ORGANIZATION_MAX_LENGTH

logger = logging.getLogger(__name__)

router = MessengerRouter("events_flow")

LIST = "events"
MINE = "myevents"
DRAFT_KEY = "event_registration"  # conversation data: the registration being filled in
SOURCE_KEY = "event_source"  # conversation data: {"event": id, "src": tag} from a link
NAME_STATE = "events:name"
ORGANIZATION_STATE = "events:organization"
ANSWER_STATE = "events:answer"
STATES = (NAME_STATE, ORGANIZATION_STATE, ANSWER_STATE)


# -- small pieces -----------------------------------------------------------------------------


def _text(html: str) -> str:
    return html_to_text(html).strip()


def _qr(title: str, payload: str) -> QuickReply:
    return QuickReply(short_title(title), payload)


def _nav_replies() -> tuple[QuickReply, ...]:
    return (
        _qr(_("All events"), LIST),
        _qr(_("My registrations"), MINE),
        _qr(_("Menu"), "menu"),
    )


def _say(ctx: MessengerContext, text_html: str) -> None:
    """A short answer (a refusal, a stale button) with the way on."""
    ctx.reply(_text(text_html), quick_replies=_nav_replies())


def _int_arg(ctx: MessengerContext) -> int:
    return int(ctx.args[0]) if ctx.args and ctx.args[0].isdigit() else 0


# -- the list ----------------------------------------------------------------------------------


@router.payload(LIST)
@router.payload(EventListCb.__prefix__)
async def show_list(ctx: MessengerContext) -> None:
    """Renginiai: the upcoming events of the resident's municipality, five a page; a quick
    reply opens one, "Daugiau" shows the next page."""
    items = await events.list_upcoming_for(ctx.session, ctx.resident)
    if not items:
        ctx.reply(
            _text(view.no_events_text()),
            quick_replies=(_qr(_("My registrations"), MINE), _qr(_("Menu"), "menu")),
        )
        return
    pages = view.page_count(len(items))
    page = min(_int_arg(ctx), pages - 1)
    text = view.event_list_text(items, page, ctx.settings.tz, ctx.locale)
    start = page * view.EVENTS_PER_PAGE
    replies = [
        _qr(
            ("✓ " if item.my_status in ACTIVE_STATUSES else "") + f"{index}. {item.event.title}",
            EventOpenCb(event=item.event.id).pack(),
        )
        for index, item in enumerate(items[start : start + view.EVENTS_PER_PAGE], start=start + 1)
    ]
    if page + 1 < pages:
        replies.append(_qr(_("More"), f"{LIST}:{page + 1}"))
    replies += [_qr(_("My registrations"), MINE), _qr(_("Menu"), "menu")]
    ctx.reply(_text(text), quick_replies=replies)


# -- an event's card ---------------------------------------------------------------------------


async def _visible_event(ctx: MessengerContext, event_id: int) -> Event | None:
    """The event if the resident may see it; else they are told why (None)."""
    event = await events.get_event(ctx.session, event_id)
    resident = ctx.resident
    refusal: str | None = None
    if event is None:
        refusal = view.refusal_text(Refusal.NOT_FOUND)
    elif resident.municipality_id not in event.municipality_ids:
        refusal = view.refusal_text(Refusal.OUTSIDE_MUNICIPALITY)
    elif not events.in_audience(event, resident):
        refusal = view.refusal_text(Refusal.OUTSIDE_AUDIENCE)
    elif events.state(event) is EventState.CANCELLED:
        refusal = view.refusal_text(Refusal.EVENT_CANCELLED)
    elif events.state(event) is EventState.FINISHED:
        refusal = view.finished_text()
    if refusal is not None or event is None:
        _say(ctx, refusal or view.stale_text())
        return None
    return event


async def _own_registration(ctx: MessengerContext, event: Event) -> Registration | None:
    return await ctx.session.scalar(
        select(Registration).where(
            Registration.event_id == event.id, Registration.resident_id == ctx.resident.id
        )
    )


async def _show_card(ctx: MessengerContext, event: Event) -> None:
    now = utcnow()
    registration = await _own_registration(ctx, event)
    status = registration.status if registration is not None else None
    if status not in ACTIVE_STATUSES:
        status = None
    position = None
    if registration is not None and status is RegistrationStatus.WAITLISTED:
        position = await events.waitlist_position(ctx.session, registration)
    left = await events.places_left(ctx.session, event)
    text = view.event_card_text(event, left, status, position, ctx.settings.tz, ctx.locale, now)
    buttons: list[Button] = []
    if registration is not None and status is RegistrationStatus.OFFERED:
        buttons += _offer_buttons(registration.id)
    elif registration is not None and status is not None:
        ask = RegistrationCancelCb(registration=registration.id, step=CancelStep.ASK)
        buttons.append(Button(short_title(_("Cancel")), payload=ask.pack()))
    elif event_registrations.can_register(event, ctx.resident, now) is None:
        register = EventRegisterCb(event=event.id)
        buttons.append(Button(short_title(_("Register")), payload=register.pack()))
    if event.online_url and event.online_url.startswith(("https://", "http://")):
        buttons.append(Button(short_title(_("Join online")), url=event.online_url))
    ctx.reply(OutMessage(text=_text(text), buttons=tuple(buttons), quick_replies=_nav_replies()))


def _offer_buttons(registration_id: int) -> list[Button]:
    return [
        Button(short_title(row[0].text), payload=row[0].callback_data)
        for row in messenger_offer_keyboard(registration_id).inline_keyboard
    ]


@router.payload(EventOpenCb.__prefix__)
async def open_event(ctx: MessengerContext) -> None:
    try:
        event_id = EventOpenCb.unpack(ctx.payload or "").event
    except (TypeError, ValueError):
        _say(ctx, view.stale_text())
        return
    event = await _visible_event(ctx, event_id)
    if event is not None:
        await _show_card(ctx, event)


async def open_from_link(ctx: MessengerContext, event_id: int, source: str | None) -> None:
    """An invitation's button, ``start:evt_12`` or ``start:evt_12_plakatas``
    (:mod:`bot.channels.messenger.deep_links`): the card; the source tag is kept for the
    registration (as Telegram's deep link does)."""
    event = await _visible_event(ctx, event_id)
    if event is None:
        return
    if source:
        await ctx.update_data(**{SOURCE_KEY: {"event": event.id, "src": source}})
    await _show_card(ctx, event)


# -- registering ------------------------------------------------------------------------------


async def _registrable(ctx: MessengerContext, event_id: int) -> Event | None:
    """The event if the resident may register now; else they are told why."""
    event = await events.get_event(ctx.session, event_id)
    if event is None:
        _say(ctx, view.refusal_text(Refusal.NOT_FOUND))
        return None
    if event.status is EventStatus.CANCELLED:
        _say(ctx, view.refusal_text(Refusal.EVENT_CANCELLED))
        return None
    existing = await _own_registration(ctx, event)
    if existing is not None and existing.status in ACTIVE_STATUSES:
        position = await events.waitlist_position(ctx.session, existing)
        _say(ctx, view.already_text(existing.status, position))
        return None
    refusal = event_registrations.can_register(event, ctx.resident)
    if refusal is not None:
        _say(ctx, view.refusal_text(refusal))
        return None
    return event


def confirm_text(event: Event, left: int | None, ctx: MessengerContext) -> str:
    """Telegram's summary before the second tap, without a name (Messenger gives none)."""
    return view.confirm_text(event, left, None, ctx.settings.tz, ctx.locale)


@router.payload(EventRegisterCb.__prefix__)
async def register_pressed(ctx: MessengerContext) -> None:
    """First tap: the summary, with the choice of showing the name (the second tap)."""
    try:
        event_id = EventRegisterCb.unpack(ctx.payload or "").event
    except (TypeError, ValueError):
        _say(ctx, view.stale_text())
        return
    event = await _registrable(ctx, event_id)
    if event is None:
        return
    left = await events.places_left(ctx.session, event)
    replies = (
        _qr(_("With my name"), EventConfirmCb(event=event.id, share=ShareName.YES).pack()),
        _qr(_("Without my name"), EventConfirmCb(event=event.id, share=ShareName.NO).pack()),
        _qr(_("Do not register"), RegistrationStopCb(event=event.id).pack()),
    )
    ctx.reply(_text(confirm_text(event, left, ctx)), quick_replies=replies)


def _draft(ctx: MessengerContext) -> dict[str, Any] | None:
    draft = ctx.data.get(DRAFT_KEY)
    return dict(draft) if isinstance(draft, dict) else None


async def _leave_registering(ctx: MessengerContext) -> None:
    ctx.data.pop(DRAFT_KEY, None)
    await ctx.set_state(None if ctx.state in STATES else ctx.state)


@router.payload(EventConfirmCb.__prefix__)
async def confirm_pressed(ctx: MessengerContext) -> None:
    """Second tap: register, or ask the name, the organization and the questions first."""
    try:
        data = EventConfirmCb.unpack(ctx.payload or "")
    except (TypeError, ValueError):
        _say(ctx, view.stale_text())
        return
    draft = _draft(ctx)
    if draft is not None and draft.get("event") == data.event and ctx.state in STATES:
        ctx.reply(_("Please answer the question above first."))
        return
    event = await _registrable(ctx, data.event)
    if event is None:
        return
    share = data.share is ShareName.YES
    draft = {
        "event": event.id,
        "share": share,
        "name": None,
        "organization": None,
        "answers": {},
        "position": 0,  # the question being answered (0: none yet)
    }
    await _next_step(ctx, event, draft)


def _stop_replies(event_id: int, position: int | None = None) -> tuple[QuickReply, ...]:
    stop = _qr(_("Stop"), RegistrationStopCb(event=event_id).pack())
    if position is None:
        return (stop,)
    skip = _qr(_("Skip"), QuestionSkipCb(event=event_id, position=position).pack())
    return (skip, stop)


async def _next_step(ctx: MessengerContext, event: Event, draft: dict[str, Any]) -> None:
    """Ask what is still missing (name, organization, the questions in order), or register."""
    if draft.get("share") and not draft.get("name"):
        await ctx.set_state(NAME_STATE, **{DRAFT_KEY: draft})
        ctx.reply(
            _("Please write your name as the organizers may see it."),
            quick_replies=_stop_replies(event.id),
        )
        return
    if event.per_organization_quota is not None and not draft.get("organization"):
        await ctx.set_state(ORGANIZATION_STATE, **{DRAFT_KEY: draft})
        ctx.reply(_text(view.organization_prompt(event)), quick_replies=_stop_replies(event.id))
        return
    position = int(draft.get("position") or 0)
    question = next((q for q in event.questions if q.position > position), None)
    if question is not None:
        draft["position"] = question.position
        await ctx.set_state(ANSWER_STATE, **{DRAFT_KEY: draft})
        ctx.reply(
            _text(view.question_prompt(event, question, ctx.locale)),
            quick_replies=_stop_replies(event.id, question.position),
        )
        return
    await _leave_registering(ctx)
    await _register(ctx, event, draft)


async def _register(ctx: MessengerContext, event: Event, draft: dict[str, Any]) -> None:
    link = ctx.data.get(SOURCE_KEY)
    source = None
    if isinstance(link, dict) and link.get("event") == event.id:
        source = str(link.get("src") or "") or None
        ctx.data.pop(SOURCE_KEY, None)
        await ctx.update_data()
    answers = {int(key): str(value) for key, value in (draft.get("answers") or {}).items()}
    result = await event_registrations.register(
        ctx.session,
        event.id,
        ctx.resident,
        organization=draft.get("organization"),
        answers=answers,
        source=source,
        share_name=bool(draft.get("share")),
        display_name=draft.get("name"),
    )
    await _registered(ctx, result)


def _confirmation(ctx: MessengerContext, event: Event, registration: Registration) -> None:
    """The check-in code (text), its QR code (an image); the calendar file stays in Telegram."""
    tz, locale = ctx.settings.tz, ctx.locale
    lines = [
        _("✅ <b>You are registered</b> for the event {title}.").format(
            title=view.title_html(event)
        ),
        "",
        f"🗓 {view.when_text(event, tz, locale)}",
        f"📍 {view.place_text(event)}",
    ]
    if event.online_url:
        lines.append(_("🔗 Online: {url}").format(url=event.online_url))
    lines += [
        "",
        _(
            "Your check-in code: <b>{code}</b>. Show it (or the QR code below) when you arrive."
        ).format(code=registration.checkin_code),
        _("Messenger cannot carry a calendar file: please add the date to your calendar yourself."),
    ]
    ctx.reply(_text("\n".join(lines)))
    ctx.reply(OutMessage(image=qr_png(registration.checkin_code), quick_replies=_nav_replies()))


async def _tell_offered(ctx: MessengerContext, offered: list[Registration]) -> None:
    """The next residents on the waitlist get their offers (on their app) after the commit."""
    if not offered:
        return
    messages = await offer_messages(
        ctx.session,
        offered,
        i18n=ctx.services.i18n,
        settings=ctx.settings,
        messenger=True,
    )
    bot, notifier = ctx.services.bot, ctx.services.notifier
    if messages:
        ctx.after_commit(lambda: send_all(bot, messages, notifier))


async def _registered(ctx: MessengerContext, result: RegistrationResult) -> None:
    event, registration = result.event, result.registration
    if result.outcome is RegistrationOutcome.REFUSED or event is None or registration is None:
        _say(ctx, view.refusal_text(result.refusal))
        return
    if result.outcome is RegistrationOutcome.ALREADY:
        _say(ctx, view.already_text(registration.status, result.position))
    elif result.outcome is RegistrationOutcome.WAITLISTED:
        _say(ctx, view.waitlisted_text(event, result.position, ctx.locale))
    else:
        _confirmation(ctx, event, registration)
    await _tell_offered(ctx, result.offered)
    if result.thresholds:
        await _tell_thresholds(ctx, event, result.thresholds)


async def _tell_thresholds(
    ctx: MessengerContext, event: Event, thresholds: tuple[int, ...]
) -> None:
    """The organizer (on Telegram) learns the highest capacity threshold newly reached."""
    taken = await events.taken_places(ctx.session, event.id)
    i18n, locale = ctx.services.i18n, ctx.settings.default_locale
    with i18n.use_locale(locale):
        text = view.threshold_text(event, max(thresholds), taken, locale)
    bot = ctx.services.bot
    message = [Outgoing(event.created_by, text)]
    ctx.after_commit(lambda: send_all(bot, message))


@router.state(*STATES)
async def text_typed(ctx: MessengerContext) -> None:
    """The name, the organization or a question's answer, as the conversation waits for."""
    draft = _draft(ctx)
    event = await events.get_event(ctx.session, int(draft["event"])) if draft else None
    if draft is None or event is None:
        await _leave_registering(ctx)
        _say(ctx, view.refusal_text(Refusal.NOT_FOUND))
        return
    typed = ctx.text
    if not typed or not typed.strip():
        ctx.reply(_text(view.text_expected()), quick_replies=_stop_replies(event.id))
        return
    if ctx.state == ANSWER_STATE:
        text, limit = typed.strip(), ANSWER_MAX_LENGTH
    else:
        text = " ".join(typed.split())
        limit = DISPLAY_NAME_MAX_LENGTH if ctx.state == NAME_STATE else ORGANIZATION_MAX_LENGTH
    if len(text) > limit:
        ctx.reply(_text(view.too_long_text(len(text), limit, ctx.locale)))
        return
    if ctx.state == NAME_STATE:
        draft["name"] = text
    elif ctx.state == ORGANIZATION_STATE:
        draft["organization"] = text
    else:
        question = next((q for q in event.questions if q.position == draft.get("position")), None)
        if question is None:
            await _leave_registering(ctx)
            _say(ctx, view.refusal_text(Refusal.BAD_ANSWERS))
            return
        answers = dict(draft.get("answers") or {})
        answers[str(question.id)] = text
        draft["answers"] = answers
    await _next_step(ctx, event, draft)


@router.payload(QuestionSkipCb.__prefix__)
async def question_skipped(ctx: MessengerContext) -> None:
    draft = _draft(ctx)
    try:
        data = QuestionSkipCb.unpack(ctx.payload or "")
    except (TypeError, ValueError):
        data = None
    if (
        data is None
        or draft is None
        or draft.get("event") != data.event
        or draft.get("position") != data.position
        or ctx.state != ANSWER_STATE
    ):
        _say(ctx, view.stale_text())
        return
    event = await events.get_event(ctx.session, data.event)
    if event is None:
        await _leave_registering(ctx)
        _say(ctx, view.refusal_text(Refusal.NOT_FOUND))
        return
    await _next_step(ctx, event, draft)


@router.payload(RegistrationStopCb.__prefix__)
async def registration_stopped(ctx: MessengerContext) -> None:
    draft = _draft(ctx)
    try:
        event_id = RegistrationStopCb.unpack(ctx.payload or "").event
    except (TypeError, ValueError):
        event_id = None
    if draft is not None and draft.get("event") == event_id:
        await _leave_registering(ctx)
    _say(ctx, view.registration_stopped())


# -- the resident's registrations, cancelling, offers ------------------------------------------


@router.payload(MINE)
@router.payload(EventMineCb.__prefix__)
async def my_registrations(ctx: MessengerContext) -> None:
    """Mano registracijos: the list, and a quick reply to cancel each (or accept an offer)."""
    items = await event_registrations.my_registrations(ctx.session, ctx.resident)
    if not items:
        ctx.reply(
            _text(view.no_registrations_text()),
            quick_replies=(_qr(_("All events"), LIST), _qr(_("Menu"), "menu")),
        )
        return
    text = view.my_registrations_text(items, ctx.settings.tz, ctx.locale)
    actions: list[QuickReply] = []
    for index, item in enumerate(items, start=1):
        if item.event.status is EventStatus.CANCELLED:
            continue
        registration_id = item.registration.id
        if item.status is RegistrationStatus.OFFERED:
            accept = OfferCb(registration=registration_id, answer=OfferAnswer.ACCEPT)
            actions.append(_qr(_("Accept the place: {number}").format(number=index), accept.pack()))
        ask = RegistrationCancelCb(registration=registration_id, step=CancelStep.ASK)
        actions.append(
            _qr(
                _("Cancel: {number}. {title}").format(number=index, title=item.event.title),
                ask.pack(),
            )
        )
    page = _int_arg(ctx) if ctx.payload and ctx.payload.startswith(f"{MINE}:") else 0
    replies = list(quick_reply_page(actions, page, MINE, _("More")))
    if len(replies) < 13:
        replies.append(_qr(_("All events"), LIST))
    if len(replies) < 13:
        replies.append(_qr(_("Menu"), "menu"))
    ctx.reply(_text(text), quick_replies=replies)


@router.payload(RegistrationCancelCb.__prefix__)
async def cancel_pressed(ctx: MessengerContext) -> None:
    """Atšaukti registraciją in two taps: the question, then "Taip, atšaukti"."""
    try:
        data = RegistrationCancelCb.unpack(ctx.payload or "")
    except (TypeError, ValueError):
        _say(ctx, view.stale_text())
        return
    registration = await event_registrations.get_registration(
        ctx.session, data.registration, ctx.resident
    )
    event = await events.get_event(ctx.session, registration.event_id) if registration else None
    if registration is None or event is None:
        _say(ctx, view.refusal_text(Refusal.NOT_FOUND))
        return
    if registration.status not in ACTIVE_STATUSES:
        _say(ctx, view.already_cancelled_text())
        return
    if data.step is CancelStep.KEEP:
        _say(ctx, view.kept_text(event))
        return
    if data.step is CancelStep.ASK:
        if event.status is EventStatus.CANCELLED:
            _say(ctx, view.refusal_text(Refusal.EVENT_CANCELLED))
            return
        if event.starts_at <= utcnow():
            _say(ctx, view.refusal_text(Refusal.EVENT_STARTED))
            return
        confirm = RegistrationCancelCb(registration=registration.id, step=CancelStep.CONFIRM)
        keep = RegistrationCancelCb(registration=registration.id, step=CancelStep.KEEP)
        question = view.cancel_question(event, registration.status, ctx.settings.tz, ctx.locale)
        ctx.reply(
            _text(question),
            quick_replies=(
                _qr(_("Yes, cancel"), confirm.pack()),
                _qr(_("No, keep it"), keep.pack()),
            ),
        )
        return
    result = await event_registrations.cancel_registration(
        ctx.session, registration.id, resident=ctx.resident
    )
    if result.outcome is CancelOutcome.ALREADY:
        _say(ctx, view.already_cancelled_text())
        return
    if result.outcome is CancelOutcome.REFUSED:
        _say(ctx, view.refusal_text(result.refusal))
        return
    _say(ctx, view.cancelled_text(event))
    await _tell_offered(ctx, result.offered)


@router.payload(OfferCb.__prefix__)
async def offer_pressed(ctx: MessengerContext) -> None:
    """Yes, I will come / Decline the place, from an offer's postback buttons."""
    try:
        data = OfferCb.unpack(ctx.payload or "")
    except (TypeError, ValueError):
        _say(ctx, view.stale_text())
        return
    if data.answer is OfferAnswer.ACCEPT:
        result = await event_registrations.accept_offer(
            ctx.session, data.registration, ctx.resident
        )
    else:
        result = await event_registrations.decline_offer(
            ctx.session, data.registration, ctx.resident
        )
    event, registration = result.event, result.registration
    await _tell_offered(ctx, result.offered)
    if result.outcome is OfferOutcome.ALREADY and registration is not None:
        if registration.status is RegistrationStatus.REGISTERED:
            _say(ctx, view.already_text(registration.status, None))
        else:
            _say(ctx, view.refusal_text(Refusal.NO_OFFER))
        return
    if result.outcome is OfferOutcome.REFUSED or event is None or registration is None:
        _say(ctx, view.refusal_text(result.refusal))
        return
    if result.outcome is OfferOutcome.DECLINED:
        _say(ctx, view.declined_text(event))
        return
    _confirmation(ctx, event, registration)
