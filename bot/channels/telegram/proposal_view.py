"""What a resident sees while submitting a proposal and in Mano pasiūlymai: the texts and
the buttons (every text through gettext; dates via Babel in the bot's time zone)."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.channels.telegram.proposal_callbacks import (
    ConfirmStep,
    MunicipalityStep,
    PhotosStep,
    ProposalCategoryCb,
    ProposalConfirmCb,
    ProposalMineCb,
    ProposalMunicipalityCb,
    ProposalNameCb,
    ProposalPhotosCb,
    ProposalSkipPlaceCb,
    ShareName,
)
from bot.i18n import long_date, short_time
from bot.services.proposals import ProposalWithHistory, SubmitRefusal, SubmitResult
from models import ProposalAction, ProposalStatus
from models.proposals import MAX_PHOTOS, PLACE_MAX_LENGTH, TEXT_MAX_LENGTH, TEXT_MIN_LENGTH

PROPOSALS_PER_PAGE = 5

_CATEGORY_LABELS = {
    "infrastructure": __("Infrastructure"),
    "environment": __("Environment"),
    "culture_leisure": __("Culture and leisure"),
    "social_services": __("Social services"),
    "youth": __("Youth"),
    "other": __("Other"),
}

_STATUS_NAMES = {
    ProposalStatus.NEW: __("new"),
    ProposalStatus.IN_REVIEW: __("in review"),
    ProposalStatus.INFO_REQUESTED: __("waiting for information"),
    ProposalStatus.FORWARDED: __("forwarded to the municipality"),
    ProposalStatus.ACCEPTED: __("accepted"),
    ProposalStatus.REJECTED: __("rejected"),
    ProposalStatus.IMPLEMENTED: __("implemented"),
}


def category_label(key: str) -> str:
    label = _CATEGORY_LABELS.get(key)
    return str(label) if label is not None else key


def status_name(status: ProposalStatus) -> str:
    return str(_STATUS_NAMES[status])


def _button(text: str, data: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())  # type: ignore[attr-defined]


# --- submitting -------------------------------------------------------------------------


def topic_prompt() -> str:
    return _("What is your proposal about? Choose a topic.")


def topic_keyboard(categories: Sequence[str]) -> InlineKeyboardMarkup:
    rows = [[_button(category_label(key), ProposalCategoryCb(category=key))] for key in categories]
    rows.append([_button(_("My proposals"), ProposalMineCb())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def my_proposals_entry() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(_("My proposals"), ProposalMineCb())]])


def choose_municipality() -> str:
    return _("Which municipality is the proposal for?")


def municipality_question(name: str) -> str:
    return _("Which municipality is the proposal for? Yours is “{name}”.").format(name=name)


def municipality_keyboard(name: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(name, ProposalMunicipalityCb(step=MunicipalityStep.KEEP))],
            [
                _button(
                    _("Another municipality"), ProposalMunicipalityCb(step=MunicipalityStep.OTHER)
                )
            ],
        ]
    )


def place_prompt() -> str:
    return _(
        "Where exactly? Write the eldership (seniūnija) or the place, or share a location. "
        "You may skip this question."
    )


def place_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(_("Skip"), ProposalSkipPlaceCb())]])


def place_please() -> str:
    return _("Please write the place, share a location, or press “Skip”.")


def place_too_long() -> str:
    return _("The place is too long: please write at most {limit} characters.").format(
        limit=PLACE_MAX_LENGTH
    )


def text_prompt() -> str:
    return _("Describe your proposal: from {low} to {high} characters.").format(
        low=TEXT_MIN_LENGTH, high=TEXT_MAX_LENGTH
    )


def text_too_short(length: int) -> str:
    return _(
        "The description is too short ({length} characters): please write at least {limit}."
    ).format(length=length, limit=TEXT_MIN_LENGTH)


def text_too_long(length: int) -> str:
    return _(
        "The description is too long ({length} characters): please shorten it to {limit}. "
        "What you chose so far is kept."
    ).format(length=length, limit=TEXT_MAX_LENGTH)


def write_text_please() -> str:
    return _("Please write the proposal as text.")


def use_buttons_please() -> str:
    return _("Please choose with the buttons above.")


def _up_to_photos() -> str:
    return _("up to {count} photo", "up to {count} photos", MAX_PHOTOS).format(count=MAX_PHOTOS)


def photos_prompt() -> str:
    return _("You may add {up_to}: send them one by one, or continue without photos.").format(
        up_to=_up_to_photos()
    )


def photos_keyboard(count: int) -> InlineKeyboardMarkup:
    if count:
        button = _button(_("Done"), ProposalPhotosCb(step=PhotosStep.DONE))
    else:
        button = _button(_("No photos"), ProposalPhotosCb(step=PhotosStep.NONE))
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def photo_added(count: int) -> str:
    return _("Photo added ({count} of {limit}).").format(count=count, limit=MAX_PHOTOS)


def too_many_photos() -> str:
    return _(
        "You may add only {up_to}: this one was not added, the ones you sent are kept. "
        "Press “Done”."
    ).format(up_to=_up_to_photos())


def send_photo_please() -> str:
    return _("Please send a photo, or press a button.")


def name_question(name: str | None) -> str:
    if name:
        return _(
            "May the moderators see your name ({name})? Otherwise they see only a pseudonym."
        ).format(name=name)
    return _("May the moderators see your name? Otherwise they see only a pseudonym.")


def name_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("Yes, show my name"), ProposalNameCb(share=ShareName.YES))],
            [_button(_("No, only a pseudonym"), ProposalNameCb(share=ShareName.NO))],
        ]
    )


def summary(
    *,
    category: str,
    municipality: str,
    place: str | None,
    located: bool,
    text: str,
    photos: int,
    shown_name: str | None,
) -> str:
    lines = [
        _("Please check your proposal:"),
        "",
        _("Topic: {topic}").format(topic=category_label(category)),
        _("Municipality: {name}").format(name=municipality),
    ]
    if place:
        lines.append(_("Place: {place}").format(place=place))
    if located:
        lines.append(_("Location: shared"))
    lines.append(_("Photos: {count}").format(count=photos) if photos else _("No photos"))
    if shown_name:
        lines.append(_("The moderators will see your name: {name}").format(name=shown_name))
    else:
        lines.append(_("The moderators will see only a pseudonym."))
    lines += ["", text]
    return "\n".join(lines)


def confirm_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("Submit"), ProposalConfirmCb(step=ConfirmStep.SUBMIT))],
            [
                _button(_("Edit"), ProposalConfirmCb(step=ConfirmStep.EDIT)),
                _button(_("Cancel"), ProposalConfirmCb(step=ConfirmStep.CANCEL)),
            ],
        ]
    )


def submitted(reference: str) -> str:
    return _(
        "Thank you! Your proposal number is {reference}. The moderators will look at it; "
        "you will see its status in “My proposals”."
    ).format(reference=reference)


def submitted_no_moderators(reference: str) -> str:
    return _(
        "Thank you! Your proposal number is {reference}. It was received and will reach the "
        "moderators soon; you will see its status in “My proposals”."
    ).format(reference=reference)


def cancelled() -> str:
    return _("The proposal was cancelled. Nothing was sent.")


def draft_lost() -> str:
    return _("This proposal draft is no longer active. Press “Submit a proposal” to start again.")


def stale_button() -> str:
    return _("This button is no longer active.")


def blocked(reason: str | None) -> str:
    if reason:
        return _("You cannot submit proposals at the moment. Reason: {reason}").format(
            reason=reason
        )
    return _("You cannot submit proposals at the moment.")


def daily_limit(limit: int) -> str:
    per_day = _("{count} proposal a day", "{count} proposals a day", limit).format(count=limit)
    return _(
        "You have reached the daily limit: you may submit {per_day}. Please try again tomorrow."
    ).format(per_day=per_day)


def not_onboarded() -> str:
    return _("Please finish registering first: press /start.")


def submit_refusal(result: SubmitResult, default_limit: int) -> str:
    """Why a submission was refused (blocked, the daily limit, not registered)."""
    if result.refusal is SubmitRefusal.BLOCKED:
        return blocked(result.block_reason)
    if result.refusal is SubmitRefusal.DAILY_LIMIT:
        return daily_limit(result.limit or default_limit)
    return not_onboarded()


def municipality_unavailable() -> str:
    return _("This municipality is not available. Please choose another one.")


def reply_relayed(reference: str) -> str:
    return _("Your answer was passed on to the moderators (proposal {reference}).").format(
        reference=reference
    )


# --- Mano pasiūlymai --------------------------------------------------------------------


def no_proposals() -> str:
    return _("You have not submitted any proposals yet.")


def _history_line(item_at: str, action: ProposalAction, to: ProposalStatus | None) -> str:
    if action is ProposalAction.SUBMITTED:
        return _("{when}: submitted").format(when=item_at)
    if action is ProposalAction.MESSAGE_TO_RESIDENT:
        return _("{when}: the moderators wrote to you").format(when=item_at)
    if action is ProposalAction.MESSAGE_TO_MODERATORS:
        return _("{when}: you replied to the moderators").format(when=item_at)
    assert to is not None
    return _("{when}: {status}").format(when=item_at, status=status_name(to))


def my_proposals_text(
    items: Sequence[ProposalWithHistory], page: int, total: int, tz: ZoneInfo, locale: str
) -> str:
    header = _("Your proposals ({count}), newest first:").format(count=total)
    blocks = [header]
    for item in items:
        proposal = item.proposal
        lines = [
            _("{reference} – {topic}: {status}").format(
                reference=proposal.reference,
                topic=category_label(proposal.category),
                status=status_name(proposal.status),
            )
        ]
        for step in item.history:
            when = f"{long_date(step.at, tz, locale)}, {short_time(step.at, tz, locale)}"
            lines.append("• " + _history_line(when, step.action, step.to_status))
            if step.to_status is ProposalStatus.REJECTED and step.note:
                lines.append("  " + _("Reason: {reason}").format(reason=step.note))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def my_proposals_keyboard(page: int, total: int) -> InlineKeyboardMarkup | None:
    pages = max(1, -(-total // PROPOSALS_PER_PAGE))
    row = []
    if page > 0:
        row.append(_button(_("« Newer"), ProposalMineCb(page=page - 1)))
    if page + 1 < pages:
        row.append(_button(_("Older »"), ProposalMineCb(page=page + 1)))
    return InlineKeyboardMarkup(inline_keyboard=[row]) if row else None
