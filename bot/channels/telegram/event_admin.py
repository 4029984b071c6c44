"""What organizers see while creating events (/newevent) and managing them (/events,
/event_link): the draft, its keyboards and texts, and the messages residents get when an
event is announced, changed or cancelled.

The draft lives in the organizer's conversation state (FSM data, in the database), so a
restart in the middle of creating an event loses nothing. Every button of the composition
carries the draft's id, so a button of an earlier draft (or a forged one) changes nothing.
Titles, descriptions, places and questions are the organizer's text: HTML-escaped here.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.channels.telegram.audience_picker import (
    SELECTED,
    AudienceDraft,
    AudiencePicker,
    Flow,
    Wording,
    residents_count,
)
from bot.channels.telegram.event_callbacks import (
    EventManageCb,
    ManageAction,
    NewEventCb,
    NewEventMunicipalityCb,
    NewEventPageCb,
)
from bot.channels.telegram.event_view import kind_label, place_text, title_html, when_text
from bot.channels.telegram.keyboards import MUNICIPALITIES_PER_PAGE, page_count
from bot.i18n import date_and_time, number
from bot.services import events
from bot.services.audiences import Audience
from bot.services.events import EventError, EventProblem, EventSpec, EventState, EventSummary
from models import Event, EventKind, Municipality
from models.events import (
    ADDRESS_MAX_LENGTH,
    SOURCE_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    URL_MAX_LENGTH,
)

DEEP_LINK_PREFIX = "evt_"
MAX_QUESTIONS = 5  # asked in the chat, one message each (the service allows more)
INVITATION_DESCRIPTION = 2500  # characters of the description in the invitation (≤ 4096 in all)
URGENT_WITHIN = timedelta(days=1)  # a notice about an event this soon ignores quiet hours
# Telegram's start parameter: up to 64 of A-Z a-z 0-9 _ -
SOURCE_TAG = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_UNLIMITED = {"neribota", "neribotai", "neribotas", "unlimited", "-"}
_POINT = re.compile(r"^\s*(-?\d{1,3}(?:[.,]\d+)?)\s*[,; ]\s*(-?\d{1,3}(?:[.,]\d+)?)\s*$")
_CLOCK = re.compile(r"^\s*(\d{1,2})\s*[:.]\s*(\d{2})\s*$")


def register_url(bot_username: str, event_id: int, source: str | None = None) -> str:
    """The deep link ``/start evt_<id>`` (``evt_<id>_<src>`` with a poster's source tag)."""
    payload = f"{DEEP_LINK_PREFIX}{event_id}" + (f"_{source}" if source else "")
    return f"https://t.me/{bot_username}?start={payload}"


# -- the draft ---------------------------------------------------------------------------


@dataclass
class EventDraft(AudienceDraft):
    """An event being created, or (``editing``: its id) an event whose time or place is
    being changed. Times are ISO strings in UTC. ``municipality_ids`` and ``age_groups``
    (from :class:`AudienceDraft`) are the audience; ``places`` the event's municipalities."""

    KEY: ClassVar[str] = "event_draft"

    kind: str = EventKind.CONSULTATION.value
    title: str = ""
    description: str = ""
    places: list[int] = field(default_factory=list)
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    online_url: str | None = None
    starts_at: str | None = None
    ends_at: str | None = None
    capacity: int | None = None
    deadline: str | None = None  # None: registration closes at the start
    questions: list[str] = field(default_factory=list)
    quota: int | None = None
    editing: int | None = None
    previous_start: str | None = None  # editing: the start the event has now

    @classmethod
    def of_event(cls, draft_id: int, event: Event) -> EventDraft:
        """A draft holding ``event`` as it is, to change its time or place."""
        audience = Audience.from_json(event.audience)
        return cls(
            id=draft_id,
            municipality_ids=sorted(audience.municipality_ids),
            age_groups=sorted(group.value for group in audience.age_groups),
            kind=event.kind.value,
            title=event.title,
            description=event.description,
            places=sorted(event.municipality_ids),
            address=event.place_address,
            latitude=event.latitude,
            longitude=event.longitude,
            online_url=event.online_url,
            starts_at=event.starts_at.isoformat(),
            ends_at=event.ends_at.isoformat(),
            capacity=event.capacity,
            deadline=_iso(event.registration_deadline),
            questions=[question.text for question in event.questions],
            quota=event.per_organization_quota,
            editing=event.id,
            previous_start=event.starts_at.isoformat(),
        )

    @property
    def start(self) -> datetime | None:
        return _moment(self.starts_at)

    @property
    def end(self) -> datetime | None:
        return _moment(self.ends_at)

    @property
    def registration_deadline(self) -> datetime | None:
        return _moment(self.deadline)

    @property
    def current_start(self) -> datetime | None:
        """Changing an event: the start it has now (it may stay, even if it has passed)."""
        return _moment(self.previous_start)

    @property
    def chosen_audience(self) -> Audience:
        """The audience as chosen (stored with the event)."""
        return super().audience

    @property
    def audience(self) -> Audience:
        """Who gets the invitation: the chosen audience within the event's municipalities
        (all of them when none was chosen)."""
        chosen = self.chosen_audience
        within = chosen.municipality_ids & set(self.places) or frozenset(self.places)
        return Audience(municipality_ids=within, age_groups=chosen.age_groups)

    def audience_outside_places(self) -> bool:
        return not set(self.municipality_ids) <= set(self.places)

    def spec(
        self, *, offer_hours: int, reminder_offsets: Sequence[int], now: datetime | None = None
    ) -> EventSpec:
        """The event as the service takes it. With ``now``: for checking the steps taken so
        far, with harmless stand-ins for those not reached yet."""
        start = self.start
        if now is not None and start is None:
            start = now + timedelta(days=1)
        end = self.end
        if now is not None and end is None and start is not None:
            end = start + timedelta(hours=1)
        assert start is not None and end is not None, "the times are asked before the end"
        address = self.address
        if now is not None and address is None and self.online_url is None:
            address = "…"
        return EventSpec(
            kind=EventKind(self.kind),
            title=self.title if now is None or self.title else "…",
            starts_at=start,
            ends_at=end,
            municipality_ids=frozenset(self.places or ([0] if now is not None else [])),
            description=self.description,
            place_address=address,
            latitude=self.latitude,
            longitude=self.longitude,
            online_url=self.online_url,
            capacity=self.capacity,
            registration_deadline=self.registration_deadline,
            per_organization_quota=self.quota,
            audience=self.chosen_audience,
            questions=tuple(self.questions),
            reminder_offsets=tuple(reminder_offsets),
            offer_hours=offer_hours,
        )

    def preview(self) -> Event:
        """An unsaved event with the draft's kind, title, times and place, for the texts
        residents see (never added to a session)."""
        return Event(
            kind=EventKind(self.kind),
            title=self.title,
            place_address=self.address,
            latitude=self.latitude,
            longitude=self.longitude,
            online_url=self.online_url,
            starts_at=self.start,
            ends_at=self.end,
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# -- reading what the organizer typed ---------------------------------------------------


def parse_count(text: str) -> int | None:
    """A whole number (spaces allowed: ``1 000``), or None when it is not one."""
    digits = "".join(text.split())
    return int(digits) if digits.isdigit() and len(digits) <= 9 else None


def is_unlimited(text: str) -> bool:
    return text.strip().casefold() in _UNLIMITED


def parse_point(text: str) -> tuple[float, float] | None:
    """``55.08, 21.91`` (latitude, longitude) typed instead of sharing a location."""
    match = _POINT.match(text)
    if match is None:
        return None
    latitude, longitude = (float(part.replace(",", ".")) for part in match.groups())
    return latitude, longitude


def parse_end(text: str, start: datetime, tz: ZoneInfo) -> datetime | None:
    """Only a time (``20:00``): that time on the day the event starts (local time)."""
    match = _CLOCK.match(text)
    if match is None:
        return None
    hour, minute = (int(part) for part in match.groups())
    if hour > 23 or minute > 59:
        return None
    local = start.astimezone(tz).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return local.replace(tzinfo=None).replace(tzinfo=tz).astimezone(UTC)


def example_moment(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _example(now: datetime, tz: ZoneInfo) -> str:
    day = (now.astimezone(tz) + timedelta(days=7)).replace(hour=18, minute=0)
    return example_moment(day, tz)


# -- wording --------------------------------------------------------------------------------


def kind_button(kind: EventKind) -> str:
    label = kind_label(kind)
    return label[:1].upper() + label[1:]


def quoted(text: str) -> str:
    return _("“{text}”").format(text=html.escape(text))


def place_line(event: Event) -> str:
    """The address (with a map link when there is a point), or "online" with the link."""
    if event.place_address:
        line = place_text(event)
        if event.latitude is not None and event.longitude is not None:
            line += " – " + map_link(event.latitude, event.longitude)
        return line
    return f"{place_text(event)}: {html.escape(event.online_url or '')}"


def map_link(latitude: float, longitude: float) -> str:
    url = f"https://www.openstreetmap.org/?mlat={latitude:.6f}&mlon={longitude:.6f}#map=17/{latitude:.6f}/{longitude:.6f}"
    return '<a href="{url}">{label}</a>'.format(url=html.escape(url), label=_("map"))


def places_text(count: int | None, locale: str) -> str:
    if count is None:
        return _("unlimited")
    return _("{count} place", "{count} places", count).format(count=number(count, locale))


def problem_text(error: EventError, locale: str) -> str:
    """A polite explanation of why the event cannot be like this; the step stays."""
    p = error.problem
    texts = {
        EventProblem.TITLE_EMPTY: _("The title is empty. Please write the title."),
        EventProblem.TITLE_TOO_LONG: _(
            "The title can have up to {limit} characters. Please write a shorter one."
        ),
        EventProblem.DESCRIPTION_TOO_LONG: _(
            "The description can have up to {limit} characters. Please write a shorter one."
        ),
        EventProblem.NO_MUNICIPALITY: _(
            "Please choose at least one municipality where the event takes place."
        ),
        EventProblem.UNKNOWN_MUNICIPALITY: _(
            "One of the chosen municipalities is no longer served. Please choose again."
        ),
        EventProblem.NO_PLACE: _("Please write the address, or choose an online event."),
        EventProblem.ADDRESS_TOO_LONG: _(
            "The address can have up to {limit} characters. Please write a shorter one."
        ),
        EventProblem.BAD_URL: _(
            "This does not look like a link. Please send a link that starts with https://, "
            "for example https://meet.example.lt/susitikimas"
        ),
        EventProblem.BAD_POINT: _(
            "This map point is not valid: the latitude must be from -90 to 90 and the "
            "longitude from -180 to 180. Please share the location again."
        ),
        EventProblem.END_BEFORE_START: _(
            "The event must end after it starts. Please write a later time."
        ),
        EventProblem.START_IN_PAST: _(
            "This time has already passed. Please write a time in the future."
        ),
        EventProblem.DEADLINE_AFTER_START: _(
            "Registration must close no later than the event starts. Please write an earlier time."
        ),
        EventProblem.BAD_CAPACITY: _(
            "The number of places must be from 1 to {limit}. Please write a number, or “unlimited”."
        ),
        EventProblem.BAD_QUOTA: _(
            "The places for one organization must be at least 1. Please write a number."
        ),
        EventProblem.TOO_MANY_QUESTIONS: _(
            "An event can have at most {limit} registration questions. Press “{done}”."
        ),
        EventProblem.QUESTION_EMPTY: _("The question is empty. Please write the question."),
        EventProblem.QUESTION_TOO_LONG: _(
            "A question can have up to {limit} characters. Please write a shorter one."
        ),
        EventProblem.NOT_FOUND: _("This event was not found."),
        EventProblem.NOT_OWNER: _("This event was not found."),
        EventProblem.CANCELLED: _("This event is cancelled, so it cannot be changed."),
        EventProblem.FINISHED: _("This event has already ended, so it cannot be changed."),
        EventProblem.CAPACITY_BELOW_TAKEN: _(
            "More places are already taken ({limit}). Please write a larger number."
        ),
        EventProblem.QUESTIONS_LOCKED: _(
            "Residents have already registered, so the questions cannot be changed."
        ),
    }
    text = texts.get(p, _("Sorry, the event cannot be like this. Please check it."))
    return text.format(limit=number(error.limit or 0, locale), done=_("Done"))


def time_in_the_past(now: datetime, tz: ZoneInfo) -> str:
    return _(
        "This time has already passed. Please write a time in the future, for example {example}"
    ).format(example=_example(now, tz))


def end_before_start(start: datetime, tz: ZoneInfo) -> str:
    return _(
        "The event must end after it starts ({start}). Please write a later time, for "
        "example {example}"
    ).format(
        start=example_moment(start, tz),
        example=example_moment(start + timedelta(hours=2), tz),
    )


def lost_text() -> str:
    return _("Sorry, this event was lost. To start again, send /newevent.")


def discarded_text() -> str:
    return _("The event was discarded. Nothing was published.")


# -- the steps ------------------------------------------------------------------------------


def kind_prompt() -> str:
    return _("<b>New event</b>\nWhat kind of event is it?\n\nTo stop at any step, send /cancel.")


def kind_keyboard(draft: EventDraft) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for kind in EventKind:
        builder.button(
            text=kind_button(kind), callback_data=NewEventCb(draft=draft.id, action=kind.value)
        )
    builder.adjust(2)
    return builder.as_markup()


def kind_chosen(draft: EventDraft) -> str:
    return _("<b>New event</b>\nKind: {kind}").format(kind=kind_label(EventKind(draft.kind)))


def title_prompt() -> str:
    return _("Write the title of the event, up to {limit} characters.").format(
        limit=TITLE_MAX_LENGTH
    )


def description_prompt() -> str:
    return _(
        "Write a short description: what the event is about and for whom, up to {limit} "
        "characters. Or press “{skip}”."
    ).format(limit=number(events.DESCRIPTION_MAX_LENGTH, "lt"), skip=_("No description"))


def description_keyboard(draft: EventDraft) -> InlineKeyboardMarkup:
    return _one_button(draft, _("No description"), "nodescription")


def _one_button(draft: EventDraft, text: str, action: str) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        text=text, callback_data=NewEventCb(draft=draft.id, action=action).pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def municipalities_text(chosen: Sequence[Municipality], locale: str) -> str:
    names = ", ".join(m.short_name(locale) for m in chosen) or _("none yet")
    return _(
        "<b>Where does the event take place?</b>\nChoose one or several municipalities: "
        "their residents can register. Press a municipality to add it or to remove it, then "
        "press “{done}”.\n\nChosen: {names}"
    ).format(done=_("Continue"), names=names)


def municipalities_keyboard(
    draft: EventDraft, municipalities: Sequence[Municipality], locale: str, page: int
) -> InlineKeyboardMarkup:
    """A page of the active municipalities (chosen ones marked), arrows, "Continue"."""
    pages = page_count(len(municipalities))
    page = min(max(page, 0), pages - 1)
    shown = municipalities[page * MUNICIPALITIES_PER_PAGE : (page + 1) * MUNICIPALITIES_PER_PAGE]
    builder = InlineKeyboardBuilder()
    for item in shown:
        builder.button(
            text=(SELECTED if item.id in draft.places else "") + item.short_name(locale),
            callback_data=NewEventMunicipalityCb(draft=draft.id, id=item.id, page=page),
        )
    builder.adjust(2)
    if pages > 1:
        arrows = (("◀", page - 1), (f"{page + 1} / {pages}", page), ("▶", page + 1))
        builder.row(
            *(
                InlineKeyboardButton(
                    text=label,
                    callback_data=NewEventPageCb(draft=draft.id, page=target % pages).pack(),
                )
                for label, target in arrows
            )
        )
    builder.row(
        InlineKeyboardButton(
            text=_("Continue"), callback_data=NewEventCb(draft=draft.id, action="places").pack()
        )
    )
    return builder.as_markup()


def place_prompt() -> str:
    return _(
        "<b>Where exactly?</b>\nWrite the address (up to {limit} characters), for example "
        "„Vilniaus g. 5, Pagėgiai, salė 2“. If the event is online, press “{online}”."
    ).format(limit=ADDRESS_MAX_LENGTH, online=_("Online event"))


def place_keyboard(draft: EventDraft) -> InlineKeyboardMarkup:
    return _one_button(draft, _("Online event"), "online")


def online_prompt() -> str:
    return _(
        "Send the link residents will join by (up to {limit} characters), for example "
        "https://meet.example.lt/susitikimas"
    ).format(limit=URL_MAX_LENGTH)


def point_prompt() -> str:
    return _(
        "Add a point on the map? Share the location (📎 → Location), or write the "
        "coordinates, for example 55.1358, 21.9094. Or press “{skip}”."
    ).format(skip=_("No map point"))


def point_keyboard(draft: EventDraft) -> InlineKeyboardMarkup:
    return _one_button(draft, _("No map point"), "nopoint")


def point_expected() -> str:
    return _(
        "Please share the location (📎 → Location), write the coordinates, for example "
        "55.1358, 21.9094, or press “{skip}”."
    ).format(skip=_("No map point"))


def starts_prompt(now: datetime, tz: ZoneInfo) -> str:
    return _(
        "<b>When does the event start?</b>\nWrite the date and time in Lithuanian time, for "
        "example {example}"
    ).format(example=_example(now, tz))


def ends_prompt(start: datetime, tz: ZoneInfo, locale: str) -> str:
    return _(
        "Starts: {start}\n\n<b>When does it end?</b>\nWrite the time (for example {time}), "
        "or the date and time if it ends on another day (for example {example})."
    ).format(
        start=date_and_time(start, tz, locale),
        time=(start + timedelta(hours=2)).astimezone(tz).strftime("%H:%M"),
        example=example_moment(start + timedelta(days=1), tz),
    )


def capacity_prompt() -> str:
    return _(
        "<b>How many places are there?</b>\nWrite a number, or press “{unlimited}”. When the "
        "places are taken, residents can join the waiting list."
    ).format(unlimited=_("Unlimited"))


def capacity_keyboard(draft: EventDraft) -> InlineKeyboardMarkup:
    return _one_button(draft, _("Unlimited"), "unlimited")


def capacity_not_understood() -> str:
    return _("Please write the number of places, for example 30, or “unlimited”.")


def deadline_prompt(start: datetime, tz: ZoneInfo, locale: str) -> str:
    return _(
        "<b>Until when can residents register?</b>\nPress “{at_start}” ({start}), or write "
        "the date and time, for example {example}"
    ).format(
        at_start=_("Until the start"),
        start=date_and_time(start, tz, locale),
        example=example_moment(start - timedelta(days=1), tz),
    )


def deadline_keyboard(draft: EventDraft) -> InlineKeyboardMarkup:
    return _one_button(draft, _("Until the start"), "atstart")


def questions_prompt() -> str:
    return _(
        "<b>Registration questions</b> (optional)\nWrite a question residents answer when "
        "they register, for example „Kokiai bendruomenei atstovaujate?“ – one question per "
        "message, up to {count}. When you are done, press “{done}”."
    ).format(count=MAX_QUESTIONS, done=_("Done"))


def questions_status(draft: EventDraft) -> str:
    lines = [_("<b>Registration questions</b>"), _numbered(draft.questions), ""]
    if len(draft.questions) >= MAX_QUESTIONS:
        lines.append(
            _("This is the most an event can have. Press “{done}”.").format(done=_("Done"))
        )
    else:
        lines.append(
            _("Write another question, or press “{done}” if that is all.").format(done=_("Done"))
        )
    return "\n".join(lines)


def _numbered(items: Sequence[str]) -> str:
    return "\n".join(f"{n}. {html.escape(text)}" for n, text in enumerate(items, start=1))


def questions_keyboard(draft: EventDraft) -> InlineKeyboardMarkup:
    label = _("Done") if draft.questions else _("No questions")
    return _one_button(draft, label, "questions")


def quota_prompt() -> str:
    return _(
        "<b>Places for one organization</b> (optional)\nIf each organization may take only a "
        "few places (for example 3 for a study visit), write the number: residents will "
        "name their organization when registering. Otherwise press “{skip}”."
    ).format(skip=_("No limit"))


def quota_keyboard(draft: EventDraft) -> InlineKeyboardMarkup:
    return _one_button(draft, _("No limit"), "noquota")


def quota_not_understood() -> str:
    return _("Please write a number, for example 3, or press “{skip}”.").format(skip=_("No limit"))


AUDIENCE = AudiencePicker(
    Flow.EVENT,
    Wording(
        question=lambda: _("<b>Who should get the invitation to the event?</b>"),
        reach=lambda residents: _(
            "The invitation will reach {residents} in the event's municipalities."
        ).format(residents=residents),
        counted=lambda: _("Only residents who have not turned event messages off are counted."),
    ),
)


def audience_outside_places() -> str:
    return _(
        "Some chosen municipalities are not the event's. Please choose among the event's "
        "municipalities, or press “{everyone}”."
    ).format(everyone=_("All residents"))


def summary_text(
    draft: EventDraft, places: Sequence[Municipality], audience: str, tz: ZoneInfo, locale: str
) -> str:
    event = draft.preview()
    deadline = draft.registration_deadline
    lines = [
        _("<b>Check the event</b>"),
        "",
        f"{title_html(event)} – {kind_label(event.kind)}",
    ]
    if draft.description:
        lines.append(html.escape(_excerpt(draft.description, 300)))
    lines += [
        "",
        _("Municipalities: {names}").format(names=", ".join(m.short_name(locale) for m in places)),
        _("When: {when}").format(when=when_text(event, tz, locale)),
        _("Where: {place}").format(place=place_line(event)),
        _("Places: {places}").format(places=places_text(draft.capacity, locale)),
        _("Registration until: {when}").format(
            when=date_and_time(deadline, tz, locale) if deadline else _("the start")
        ),
    ]
    if draft.quota is not None:
        lines.append(
            _("Places for one organization: {count}").format(count=number(draft.quota, locale))
        )
    if draft.questions:
        lines += [_("Registration questions:"), _numbered(draft.questions)]
    lines += ["", audience]
    return "\n".join(lines)


def confirm_keyboard(draft: EventDraft) -> InlineKeyboardMarkup:
    """Publish a new event, or save a change (and notify); or discard the draft."""
    label, action = (_("Save and notify"), "save") if draft.editing else (_("Publish"), "publish")
    builder = InlineKeyboardBuilder()
    builder.button(text=label, callback_data=NewEventCb(draft=draft.id, action=action))
    builder.button(text=_("Discard"), callback_data=NewEventCb(draft=draft.id, action="discard"))
    builder.adjust(1)
    return builder.as_markup()


def published_text(event: Event, reached: int, url: str, locale: str) -> str:
    return "\n\n".join(
        [
            _(
                "The event is published (no. {id}). The invitation is being sent to {residents}."
            ).format(id=event.id, residents=residents_count(reached, locale)),
            _("Registration link: {url}\nThe QR code of this link for posters is below.").format(
                url=url
            ),
            _(
                "To see which poster brought whom, give each poster its own tag: /event_link "
                "{id} TAG (Latin letters and digits), for example /event_link {id} library"
            ).format(id=event.id),
            _("Your events: /events"),
        ]
    )


def poster_caption(event: Event, url: str, source: str | None) -> str:
    if source:
        return _("QR code of {title} for posters (tag {tag}): {url}").format(
            title=title_html(event), tag=html.escape(source), url=url
        )
    return _("QR code of {title} for posters: {url}").format(title=title_html(event), url=url)


def link_text(event: Event, url: str, source: str) -> str:
    return _(
        "Link to {title} with the tag {tag}:\n{url}\n\nRegistrations that come through it "
        "are marked with this tag in the export."
    ).format(title=title_html(event), tag=html.escape(source), url=url)


def link_usage() -> str:
    return _(
        "Please add the event's number and a tag, for example: /event_link 12 library\n"
        "The tag (Latin letters, digits, - and _, up to {limit} characters) shows which "
        "poster brought a registration."
    ).format(limit=32)


def bad_tag() -> str:
    return _(
        "The tag can have only Latin letters, digits, - and _, up to {limit} characters, "
        "for example library or poster-2."
    ).format(limit=min(32, SOURCE_MAX_LENGTH))


def no_such_event(event_id: int) -> str:
    return _("There is no event no. {id}. Please check the number.").format(id=event_id)


def event_not_open(event: Event) -> str:
    if events.state(event) is EventState.CANCELLED:
        return _("Event no. {id} is cancelled.").format(id=event.id)
    return _("Event no. {id} has already ended.").format(id=event.id)


# -- what residents get -------------------------------------------------------------------


def _excerpt(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def invitation_text(event: Event, tz: ZoneInfo, locale: str) -> str:
    """The announcement of a new event (Telegram HTML, in the current gettext locale)."""
    parts = [
        _("<b>New event – {kind}</b>").format(kind=kind_label(event.kind)),
        title_html(event),
    ]
    if event.description:
        parts.append(html.escape(_excerpt(event.description, INVITATION_DESCRIPTION)))
    details = [f"🗓 {when_text(event, tz, locale)}", f"📍 {place_line(event)}"]
    if event.capacity is not None:
        details.append(_("Places: {places}").format(places=places_text(event.capacity, locale)))
    if event.registration_deadline is not None:
        details.append(
            _("Registration until {when}").format(
                when=date_and_time(event.registration_deadline, tz, locale)
            )
        )
    parts += [
        "\n".join(details),
        _("To register, press “{register}”.").format(register=_("Register")),
    ]
    return "\n\n".join(parts)


def register_button() -> str:
    return _("Register")


def change_notice(
    event: Event,
    old_when: str,
    old_place: str,
    *,
    time: bool,
    place: bool,
    tz: ZoneInfo,
    locale: str,
) -> str:
    """What changed, old → new, for the registered and waiting residents."""
    head = (
        _("<b>The event's time and place have changed</b>")
        if time and place
        else _("<b>The event's time has changed</b>")
        if time
        else _("<b>The event's place has changed</b>")
    )
    lines = [head, title_html(event), ""]
    if time:
        lines.append(
            _("Time: {old} → {new}").format(old=old_when, new=when_text(event, tz, locale))
        )
    if place:
        lines.append(_("Place: {old} → {new}").format(old=old_place, new=place_line(event)))
    lines += [
        "",
        _(
            "Your registration stays. If you can no longer come, please cancel it, so that "
            "someone else can take the place."
        ),
    ]
    return "\n".join(lines)


def cancellation_notice(event: Event, tz: ZoneInfo, locale: str) -> str:
    return "\n".join(
        [
            _("<b>The event is cancelled</b>"),
            title_html(event),
            "",
            f"🗓 {when_text(event, tz, locale)}",
            f"📍 {place_line(event)}",
            "",
            _("We are sorry. Your registration is no longer needed."),
        ]
    )


def is_urgent(starts: Sequence[datetime], now: datetime) -> bool:
    """A notice about an event starting within a day goes out at once, quiet hours or not."""
    return min(starts) - now <= URGENT_WITHIN


# -- the organizer's events -------------------------------------------------------------


def _state_label(summary: EventSummary) -> str:
    labels = {
        EventState.UPCOMING: _("upcoming"),
        EventState.ONGOING: _("under way"),
        EventState.FINISHED: _("ended"),
        EventState.CANCELLED: _("cancelled"),
    }
    return labels[events.state(summary.event)]


def manageable(summary: EventSummary) -> bool:
    return events.state(summary.event) in (EventState.UPCOMING, EventState.ONGOING)


def figures_line(summary: EventSummary, locale: str) -> str:
    capacity = summary.event.capacity
    taken = number(summary.registered, locale)
    registered = (
        _("Registered: {count} of {capacity}").format(
            count=taken, capacity=number(capacity, locale)
        )
        if capacity is not None
        else _("Registered: {count} (places unlimited)").format(count=taken)
    )
    parts = [registered, _("waiting: {count}").format(count=number(summary.waitlisted, locale))]
    if summary.offered:
        parts.append(_("offered a place: {count}").format(count=number(summary.offered, locale)))
    parts.append(_("came: {count}").format(count=number(summary.attended, locale)))
    return " · ".join(parts)


def events_text(items: Sequence[EventSummary], tz: ZoneInfo, locale: str) -> str:
    if not items:
        return _("You have no events yet. To create one, send /newevent.")
    lines = [_("<b>Your events</b>")]
    for n, item in enumerate(items, start=1):
        event = item.event
        lines += [
            "",
            f"{n}. {title_html(event)} – {kind_label(event.kind)} "
            + _("(no. {id})").format(id=event.id),
            f"{when_text(event, tz, locale)} – {_state_label(item)}",
            figures_line(item, locale),
        ]
    lines += ["", _("To create a new event, send /newevent.")]
    return "\n".join(lines)


def events_keyboard(items: Sequence[EventSummary]) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    for n, item in enumerate(items, start=1):
        if not manageable(item):
            continue
        event_id = item.event.id
        builder.row(
            InlineKeyboardButton(
                text=_("{number}. Change time/place").format(number=n),
                callback_data=EventManageCb(event=event_id, action=ManageAction.EDIT).pack(),
            ),
            InlineKeyboardButton(
                text=_("{number}. Cancel the event").format(number=n),
                callback_data=EventManageCb(event=event_id, action=ManageAction.CANCEL).pack(),
            ),
        )
    markup = builder.as_markup()
    return markup if markup.inline_keyboard else None


def edit_menu_text(event: Event, tz: ZoneInfo, locale: str) -> str:
    return "\n".join(
        [
            _("<b>What should change?</b>"),
            title_html(event),
            f"🗓 {when_text(event, tz, locale)}",
            f"📍 {place_line(event)}",
        ]
    )


def edit_menu_keyboard(event_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("The time"), callback_data=EventManageCb(event=event_id, action=ManageAction.TIME)
    )
    builder.button(
        text=_("The place"),
        callback_data=EventManageCb(event=event_id, action=ManageAction.PLACE),
    )
    builder.adjust(2)
    return builder.as_markup()


def edit_confirm_text(
    event: Event, draft: EventDraft, recipients: int, tz: ZoneInfo, locale: str
) -> str:
    new = draft.preview()
    lines = [_("<b>Check the change</b>"), title_html(event), ""]
    if (draft.start, draft.end) != (event.starts_at, event.ends_at):
        lines.append(
            _("Time: {old} → {new}").format(
                old=when_text(event, tz, locale), new=when_text(new, tz, locale)
            )
        )
    if (draft.address, draft.latitude, draft.longitude, draft.online_url) != (
        event.place_address,
        event.latitude,
        event.longitude,
        event.online_url,
    ):
        lines.append(_("Place: {old} → {new}").format(old=place_line(event), new=place_line(new)))
    if len(lines) == 3:
        lines.append(_("Nothing has changed."))
    if event.registration_deadline is not None and draft.deadline is None:
        lines.append(_("Registration will close when the event starts."))
    lines += [
        "",
        _("The notice will reach {residents} (registered and waiting).").format(
            residents=residents_count(recipients, locale)
        ),
    ]
    return "\n".join(lines)


def changed_text(recipients: int, locale: str) -> str:
    if not recipients:
        return _("The event is changed. Nobody has registered yet, so nobody was notified.")
    return _("The event is changed. The notice is being sent to {residents}.").format(
        residents=residents_count(recipients, locale)
    )


def unchanged_text() -> str:
    return _("Nothing has changed.")


def edit_discarded_text() -> str:
    return _("The change was discarded. The event stays as it was.")


def cancel_question(event: Event, recipients: int, tz: ZoneInfo, locale: str) -> str:
    return "\n".join(
        [
            _("<b>Cancel the event?</b>"),
            f"{title_html(event)}, {when_text(event, tz, locale)}",
            "",
            _("{residents} (registered and waiting) will be told. This cannot be undone.").format(
                residents=residents_count(recipients, locale)
            ),
        ]
    )


def cancel_keyboard(event_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("Yes, cancel the event"),
        callback_data=EventManageCb(event=event_id, action=ManageAction.CANCEL_CONFIRM),
    )
    builder.button(
        text=_("No, keep it"),
        callback_data=EventManageCb(event=event_id, action=ManageAction.CANCEL_KEEP),
    )
    builder.adjust(1)
    return builder.as_markup()


def cancelled_text(event: Event, recipients: int, locale: str) -> str:
    return _("The event {title} is cancelled. The notice is being sent to {residents}.").format(
        title=title_html(event), residents=residents_count(recipients, locale)
    )


def kept_text(event: Event) -> str:
    return _("The event {title} is not cancelled.").format(title=title_html(event))
