"""What organizers see while announcing: the draft, its keyboards and texts, and the list.

The draft being composed lives in the organizer's conversation state (FSM data, in the
database), so a restart in the middle of composing loses nothing.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.channels.telegram.audience_picker import (
    AudienceDraft,
    AudiencePicker,
    Flow,
    Wording,
    residents_count,
)
from bot.channels.telegram.callbacks import AnnounceCb, BroadcastCancelCb
from bot.channels.telegram.sender import content_markup
from bot.delivery.engine import Content
from bot.i18n import date_and_time, number
from bot.services import broadcasts
from bot.services.broadcasts import BroadcastError, BroadcastProblem, Progress
from models import Broadcast, BroadcastStatus

MAX_URL_LENGTH = 512  # broadcasts.button_url


@dataclass
class Draft(AudienceDraft):
    """An announcement being composed; ``id`` ties buttons to this composition."""

    KEY: ClassVar[str] = "draft"

    text: str = ""
    photo_file_id: str | None = None
    button_text: str | None = None
    button_url: str | None = None

    @property
    def content(self) -> Content:
        return Content(0, self.text, self.photo_file_id, self.button_text, self.button_url)


AUDIENCE = AudiencePicker(
    Flow.ANNOUNCEMENT,
    Wording(
        question=lambda: _("<b>Who should receive the announcement?</b>"),
        reach=lambda residents: _("The announcement will reach {residents}.").format(
            residents=residents
        ),
        counted=lambda: _("Only residents who have not turned announcements off are counted."),
    ),
)


# -- composing --------------------------------------------------------------------------


def content_prompt() -> str:
    return _(
        "<b>New announcement</b>\n\nSend the text of the announcement, or a photo with a "
        "caption. You can use bold, italics and links: residents will see the text as you "
        "send it.\n\nTo stop, send /cancel."
    )


def wrong_content_kind() -> str:
    return _(
        "An announcement can only be text, or a photo with a caption. Please send the text "
        "or a photo."
    )


def characters(count: int, locale: str) -> str:
    return _("{count} character", "{count} characters", count).format(count=number(count, locale))


def content_problem(error: BroadcastError, locale: str) -> str:
    if error.problem is BroadcastProblem.EMPTY:
        return _("The announcement is empty. Please send the text or a photo.")
    if error.problem is BroadcastProblem.CAPTION_TOO_LONG:
        text = _(
            "The photo caption is too long: {characters}, at most {limit} allowed. Please "
            "shorten it and send the photo again."
        )
    elif error.problem is BroadcastProblem.TEXT_TOO_LONG:
        text = _(
            "The text is too long: {characters}, at most {limit} allowed. Please shorten it "
            "and send it again."
        )
    elif error.problem is BroadcastProblem.IN_THE_PAST:
        return time_in_the_past()
    else:
        return bad_url()
    return text.format(
        characters=characters(error.length, locale), limit=number(error.limit, locale)
    )


def button_question() -> str:
    return _("Add a button with a link under the announcement?")


def button_choice_keyboard(draft: Draft) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("No button"), callback_data=AnnounceCb(draft=draft.id, action="nobutton"))
    builder.button(
        text=_("Add a button with a link"),
        callback_data=AnnounceCb(draft=draft.id, action="button"),
    )
    builder.adjust(1)
    return builder.as_markup()


def button_text_prompt() -> str:
    return _("Write the text of the button, up to {limit} characters.").format(
        limit=broadcasts.MAX_BUTTON_TEXT
    )


def button_text_problem(length: int) -> str:
    return _(
        "The button text can have up to {limit} characters; yours has {length}. Please "
        "write a shorter one."
    ).format(limit=broadcasts.MAX_BUTTON_TEXT, length=length)


def button_url_prompt() -> str:
    return _(
        "Send the link the button opens: an address starting with https://, or a Telegram "
        "link such as t.me/…"
    )


def bad_url() -> str:
    return _(
        "This does not look like a link. Please send an address starting with https://, for "
        "example https://www.pagegiai.lt, or a Telegram link such as t.me/…"
    )


def text_expected() -> str:
    return _("Please answer with text.")


_TELEGRAM_HOSTS = ("t.me/", "telegram.me/", "www.t.me/")


def normalize_url(text: str) -> str | None:
    """An https:// address or a t.me link (``t.me/x`` becomes ``https://t.me/x``), or None."""
    url = text.strip()
    if url.lower().startswith(_TELEGRAM_HOSTS):
        url = "https://" + url
    if len(url) > MAX_URL_LENGTH or any(c.isspace() for c in url):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or "." not in parts.netloc or parts.netloc.endswith("."):
        return None
    return url


# -- preview and confirmation ---------------------------------------------------------------


def preview_markup(draft: Draft) -> InlineKeyboardMarkup | None:
    """The same button residents get (the delivery engine's own markup)."""
    return content_markup(draft.content)


def preview_intro() -> str:
    return _("Preview – this is how residents will see the announcement:")


def confirm_text(count: int, locale: str) -> str:
    return _("Send this announcement? It will reach {residents}.").format(
        residents=residents_count(count, locale)
    )


def confirm_keyboard(draft: Draft) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Send now"), callback_data=AnnounceCb(draft=draft.id, action="send"))
    builder.button(text=_("Schedule"), callback_data=AnnounceCb(draft=draft.id, action="schedule"))
    builder.button(text=_("Discard"), callback_data=AnnounceCb(draft=draft.id, action="discard"))
    builder.adjust(2, 1)
    return builder.as_markup()


def schedule_prompt(now: datetime, tz: ZoneInfo) -> str:
    example = (now.astimezone(tz) + timedelta(days=1)).strftime("%Y-%m-%d") + " 18:00"
    return _(
        "When should it be sent? Write the date and time in Lithuanian time, for example {example}"
    ).format(example=example)


def time_not_understood(now: datetime, tz: ZoneInfo) -> str:
    example = (now.astimezone(tz) + timedelta(days=1)).strftime("%Y-%m-%d") + " 18:00"
    return _(
        "I did not understand this date and time. Please write them like this: {example}"
    ).format(example=example)


def time_in_the_past() -> str:
    return _("This time has already passed. Please write a time in the future.")


_MOMENT = re.compile(
    r"^\s*(\d{4})\s*[-./]\s*(\d{1,2})\s*[-./]\s*(\d{1,2})(?:\s+|\s*[T,]\s*)"
    r"(\d{1,2})\s*[:.]\s*(\d{2})\s*$"
)


def parse_local_moment(text: str, tz: ZoneInfo) -> datetime | None:
    """``2026-12-01 18:00`` (local time in ``tz``) as an aware UTC datetime, or None."""
    match = _MOMENT.match(text)
    if match is None:
        return None
    year, month, day, hour, minute = (int(part) for part in match.groups())
    try:
        local = datetime(year, month, day, hour, minute, tzinfo=tz)
    except ValueError:
        return None
    return local.astimezone(UTC)


def scheduled_text(moment: datetime, tz: ZoneInfo, locale: str) -> str:
    return _("The announcement is scheduled: {when}").format(when=date_and_time(moment, tz, locale))


def sending_text() -> str:
    return _("The announcement is being sent. You will see the progress below.")


def discarded_text() -> str:
    return _("The announcement was discarded. Nothing was sent.")


def quiet_hours_note(resume_at: datetime, tz: ZoneInfo, locale: str, *, now: bool) -> str:
    """Bulk messages wait while quiet hours last; say when this one will start."""
    when = date_and_time(resume_at, tz, locale)
    if now:
        return _("It is quiet hours now, so sending will start on {when}.").format(when=when)
    return _("This time is within the quiet hours, so sending will start on {when}.").format(
        when=when
    )


# -- the organizer's announcements --------------------------------------------------------


def _excerpt(broadcast: Broadcast, limit: int) -> str:
    text = broadcasts.preview_text(broadcast.text, limit)
    if broadcast.photo_file_id:
        return f"🖼 {text}".rstrip()
    return text


def status_line(broadcast: Broadcast, progress: Progress | None, tz: ZoneInfo, locale: str) -> str:
    sent = number(progress.sent if progress else 0, locale)
    total = number(broadcast.total, locale)
    if broadcast.status is BroadcastStatus.SCHEDULED:
        return _("scheduled for {when}").format(
            when=date_and_time(broadcast.scheduled_at, tz, locale)
        )
    if broadcast.status is BroadcastStatus.SENDING:
        return _("being sent – {sent} / {total}").format(sent=sent, total=total)
    if broadcast.status is BroadcastStatus.DONE:
        when = broadcast.finished_at or broadcast.scheduled_at
        return _("sent {when} – {sent} / {total}").format(
            when=date_and_time(when, tz, locale), sent=sent, total=total
        )
    return _("cancelled")


def announcements_text(
    items: Sequence[tuple[Broadcast, Progress | None]], tz: ZoneInfo, locale: str
) -> str:
    if not items:
        return _("You have no announcements yet. To write one, send /announce.")
    lines = [_("<b>Your announcements</b>")]
    for number_, (broadcast, progress) in enumerate(items, start=1):
        lines.append(
            f"\n{number_}. <i>{_excerpt(broadcast, 60)}</i>\n"
            f"{status_line(broadcast, progress, tz, locale)}"
        )
    lines.append("\n" + _("To write a new announcement, send /announce."))
    return "\n".join(lines)


def _button_excerpt(broadcast: Broadcast, limit: int = 28) -> str:
    """A few whole words of the text, plain (button labels show no formatting)."""
    plain = html.unescape(_excerpt(broadcast, broadcasts.MAX_TEXT))
    if len(plain) <= limit:
        return plain
    return plain[: limit - 1].rsplit(" ", 1)[0] + "…"


def announcements_keyboard(items: Sequence[Broadcast]) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    for number_, broadcast in enumerate(items, start=1):
        if broadcast.status is BroadcastStatus.SCHEDULED:
            excerpt = _button_excerpt(broadcast)
            builder.button(
                text=_("Cancel {number}. {excerpt}").format(number=number_, excerpt=excerpt),
                callback_data=BroadcastCancelCb(id=broadcast.id),
            )
    builder.adjust(1)
    markup = builder.as_markup()
    return markup if markup.inline_keyboard else None
