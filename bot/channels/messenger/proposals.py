"""Residents' proposals on Messenger: "Pateikti pasiūlymą" step by step, "Mano pasiūlymai",
and the answers to the moderators — on the same services as Telegram
(:mod:`bot.services.proposals`, :mod:`bot.services.proposal_relay`), with the texts of
:mod:`bot.channels.telegram.proposal_view`.

The steps: the topic (quick replies of PROPOSAL_CATEGORIES), the municipality (the
resident's own, or another from the paged list or typed), the seniūnija or place typed or a
shared location (or skipped), the text (20–2,000 characters), up to five photos (image
attachments), the name to show (typed) or only a pseudonym, the summary with
Pateikti/Taisyti/Atšaukti. The draft lives in the conversation state (``fsm_records``), so
it survives a restart; a quick reply or button is valid only at its step, so an old one —
or a second tap on "Pateikti" — changes nothing.

Photos: a Messenger photo is an attachment URL on Meta's CDN. The draft and the
proposal's :class:`~models.ProposalPhoto` keep that URL as the photo's reference; when the
card reaches the moderators' Telegram chat (:func:`bot.channels.telegram.proposal_cards.
deliver_card`, right after the submission's commit while the URL is fresh) the bytes are
downloaded once, posted to the chat as photos replying to the card, and the Telegram
``file_id`` Telegram gave back replaces the URL — from then on the photo is a Telegram
photo like any other. (A proposal for a municipality without a moderators' chat keeps the
URLs until the chat is bound; a URL Meta has expired by then is logged and left out.)

The moderators' messages reach the resident through
:class:`~bot.channels.notices.ResidentNotifier` with a postback "Atsakyti"
(``proposal:reply:<id>``): it waits for the resident's next text as the answer. While a
question waits, the next typed text answers it without the button. The answer is recorded
(:func:`~bot.services.proposal_relay.record_resident_reply`) and posted to the moderators'
chat after the commit as a reply to the card.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram.utils.i18n import gettext as _

from bot.channels.messenger import menu
from bot.channels.messenger.context import MessengerContext
from bot.channels.messenger.messages import (
    MAX_QUICK_REPLIES,
    OutMessage,
    QuickReply,
    quick_reply_page,
    short_title,
)
from bot.channels.messenger.onboarding import match_municipalities
from bot.channels.messenger.router import MessengerRouter
from bot.channels.telegram import proposal_cards as cards
from bot.channels.telegram import proposal_view as view
from bot.services import municipalities, proposal_relay
from bot.services import proposals as service
from bot.services.proposals import ProposalError, ProposalProblem, ProposalSpec
from models import Proposal, utcnow
from models.proposals import (
    DISPLAY_NAME_MAX_LENGTH,
    MAX_PHOTOS,
    PLACE_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    TEXT_MIN_LENGTH,
)

logger = logging.getLogger(__name__)

router = MessengerRouter("proposals")

KEY = "proposal"  # the draft in the conversation data
REPLY_KEY = "proposal_reply"  # the proposal an "Atsakyti" answers
PHOTO_REF_MAX = 512  # ProposalPhoto.file_id

TOPIC = "proposal:topic"
MUNICIPALITY = "proposal:municipality"
PLACE = "proposal:place"
TEXT = "proposal:text"
PHOTOS = "proposal:photos"
NAME = "proposal:name"
CONFIRM = "proposal:confirm"
REPLY = "proposal:reply"
STEPS = (TOPIC, MUNICIPALITY, PLACE, TEXT, PHOTOS, NAME, CONFIRM)


def reply_payload(proposal_id: int) -> str:
    """The payload of the "Atsakyti" button under a relayed moderators' message."""
    return f"{REPLY}:{proposal_id}"


# --- the draft --------------------------------------------------------------------------


def _draft(ctx: MessengerContext) -> dict[str, Any]:
    draft = ctx.data.get(KEY)
    return dict(draft) if isinstance(draft, dict) else {}


async def _save(ctx: MessengerContext, draft: dict[str, Any], step: str) -> None:
    ctx.data.pop(REPLY_KEY, None)
    await ctx.set_state(step, **{KEY: draft})


async def _finish(ctx: MessengerContext) -> None:
    ctx.data.pop(KEY, None)
    ctx.data.pop(REPLY_KEY, None)
    await ctx.set_state(None)


def _at(ctx: MessengerContext, step: str) -> dict[str, Any] | None:
    """The draft when the tapped reply belongs to the step the dialogue is at; else the
    resident is told the button is no longer active (and None)."""
    if ctx.state != step:
        ctx.reply(menu.menu_message(view.stale_button()))
        return None
    return _draft(ctx)


async def _refusal(ctx: MessengerContext) -> str | None:
    block = await service.active_block(ctx.session, ctx.resident.id)
    if block is not None:
        return view.blocked(block.reason)
    limit = ctx.settings.proposal.daily_limit
    if await service.submitted_today(ctx.session, ctx.resident.id, utcnow()) >= limit:
        return view.daily_limit(limit)
    return None


# --- what each step shows ---------------------------------------------------------------


def _mine_reply() -> QuickReply:
    return QuickReply(short_title(_("My proposals")), "myproposals")


def _topic_message(ctx: MessengerContext, text: str | None = None) -> OutMessage:
    replies = [
        QuickReply(short_title(view.category_label(key)), f"{TOPIC}:{key}")
        for key in ctx.settings.proposal.categories
    ][: MAX_QUICK_REPLIES - 1]
    prompt = view.topic_prompt()
    return OutMessage(
        text=f"{text}\n\n{prompt}" if text else prompt,
        quick_replies=(*replies, _mine_reply()),
    )


async def _municipality_message(
    ctx: MessengerContext, text: str | None = None, *, page: int | None = None
) -> OutMessage:
    own = ctx.resident.municipality
    if page is None and own is not None and own.is_active:
        name = own.short_name(ctx.locale)
        prompt = view.municipality_question(name)
        replies: tuple[QuickReply, ...] = (
            QuickReply(short_title(name), "proposal:mun:keep"),
            QuickReply(short_title(_("Another municipality")), "proposal:mun:other"),
        )
    else:
        active = await municipalities.list_active(ctx.session, ctx.locale)
        items = [
            QuickReply(short_title(m.short_name(ctx.locale)), f"proposal:mun:{m.id}")
            for m in active
        ]
        pages = max(1, -(-len(items) // (MAX_QUICK_REPLIES - 1)))
        current = min(max(page or 0, 0), pages - 1)
        replies = quick_reply_page(items, current, "proposal:munp", _("More"))
        prompt = view.choose_municipality() + " " + _("Choose it below or type its name.")
    return OutMessage(text=f"{text}\n\n{prompt}" if text else prompt, quick_replies=replies)


def _place_message(text: str | None = None) -> OutMessage:
    return OutMessage(
        text=text or view.place_prompt(),
        quick_replies=(QuickReply(short_title(_("Skip")), "proposal:place:skip"),),
    )


def _photos_message(text: str, count: int) -> OutMessage:
    title = _("Done") if count else _("No photos")
    return OutMessage(
        text=text, quick_replies=(QuickReply(short_title(title), "proposal:photos:done"),)
    )


def _name_message(text: str | None = None) -> OutMessage:
    prompt = _(
        "May the moderators see your name? Write the name to show them, or choose "
        "“Only a pseudonym”."
    )
    return OutMessage(
        text=f"{text}\n\n{prompt}" if text else prompt,
        quick_replies=(QuickReply(short_title(_("Only a pseudonym")), "proposal:name:no"),),
    )


def _confirm_replies() -> tuple[QuickReply, ...]:
    return (
        QuickReply(short_title(_("Submit")), "proposal:confirm:submit"),
        QuickReply(short_title(_("Edit")), "proposal:confirm:edit"),
        QuickReply(short_title(_("Cancel")), "proposal:confirm:cancel"),
    )


async def _summary_message(ctx: MessengerContext, draft: dict[str, Any]) -> OutMessage:
    municipality = await municipalities.get_active_by_id(ctx.session, int(draft["municipality_id"]))
    text = view.summary(
        category=str(draft["category"]),
        municipality=municipality.short_name(ctx.locale) if municipality else "–",
        place=draft.get("place_text"),
        located=draft.get("latitude") is not None,
        text=str(draft["text"]),
        photos=len(draft.get("photos") or []),
        shown_name=draft.get("display_name"),
    )
    return OutMessage(text=text, quick_replies=_confirm_replies())


async def _repeat_step(ctx: MessengerContext, text: str) -> None:
    """A polite word and the current step's question again (quick replies vanish once a
    message follows them, so they come back with it)."""
    draft = _draft(ctx)
    if ctx.state == TOPIC:
        ctx.reply(_topic_message(ctx, text))
    elif ctx.state == MUNICIPALITY:
        ctx.reply(await _municipality_message(ctx, text))
    elif ctx.state == NAME:
        ctx.reply(_name_message(text))
    elif ctx.state == CONFIRM:
        message = await _summary_message(ctx, draft)
        ctx.reply(OutMessage(text=f"{text}\n\n{message.text}", quick_replies=_confirm_replies()))
    else:
        ctx.reply(text)


# --- the steps --------------------------------------------------------------------------


@router.payload("proposal:new")
async def start(ctx: MessengerContext) -> None:
    """The menu's "Pateikti pasiūlymą": a new draft and its first question."""
    refusal = await _refusal(ctx)
    if refusal is not None:
        await _finish(ctx)
        ctx.reply(refusal, quick_replies=(_mine_reply(),))
        return
    await _save(ctx, {}, TOPIC)
    ctx.reply(_topic_message(ctx))


@router.payload(TOPIC)
async def topic_chosen(ctx: MessengerContext) -> None:
    draft = _at(ctx, TOPIC)
    if draft is None:
        return
    category = ctx.args[0] if ctx.args else ""
    if category not in ctx.settings.proposal.categories:
        ctx.reply(_topic_message(ctx, view.stale_button()))
        return
    draft["category"] = category
    await _save(ctx, draft, MUNICIPALITY)
    ctx.reply(await _municipality_message(ctx))


@router.payload("proposal:munp")
async def municipality_page(ctx: MessengerContext) -> None:
    if _at(ctx, MUNICIPALITY) is None:
        return
    page = int(ctx.args[0]) if ctx.args and ctx.args[0].isdigit() else 0
    ctx.reply(await _municipality_message(ctx, page=page))


@router.payload("proposal:mun")
async def municipality_chosen(ctx: MessengerContext) -> None:
    draft = _at(ctx, MUNICIPALITY)
    if draft is None:
        return
    choice = ctx.args[0] if ctx.args else ""
    if choice == "other":
        ctx.reply(await _municipality_message(ctx, page=0))
        return
    if choice == "keep":
        await _municipality_set(ctx, draft, ctx.resident.municipality_id)
    elif choice.isdigit():
        await _municipality_set(ctx, draft, int(choice))
    else:
        ctx.reply(await _municipality_message(ctx, view.stale_button()))


async def _municipality_set(
    ctx: MessengerContext, draft: dict[str, Any], municipality_id: int | None
) -> None:
    found = (
        await municipalities.get_active_by_id(ctx.session, municipality_id)
        if municipality_id is not None
        else None
    )
    if found is None:
        ctx.reply(await _municipality_message(ctx, view.municipality_unavailable(), page=0))
        return
    draft["municipality_id"] = found.id
    await _save(ctx, draft, PLACE)
    ctx.reply(_place_message())


@router.state(MUNICIPALITY)
async def municipality_typed(ctx: MessengerContext) -> None:
    typed = (ctx.text or "").strip()
    if not typed:
        await _repeat_step(ctx, view.use_buttons_please())
        return
    active = await municipalities.list_active(ctx.session, ctx.locale)
    found = match_municipalities(active, typed)
    if len(found) == 1:
        await _municipality_set(ctx, _draft(ctx), found[0].id)
        return
    if found:
        replies = tuple(
            QuickReply(short_title(m.short_name(ctx.locale)), f"proposal:mun:{m.id}")
            for m in found[:MAX_QUICK_REPLIES]
        )
        ctx.reply(view.choose_municipality(), quick_replies=replies)
        return
    ctx.reply(
        await _municipality_message(ctx, _("I could not find a municipality by that name."), page=0)
    )


@router.payload("proposal:place")
async def place_skipped(ctx: MessengerContext) -> None:
    draft = _at(ctx, PLACE)
    if draft is None:
        return
    draft.update(place_text=None, latitude=None, longitude=None)
    await _ask_text(ctx, draft)


@router.state(PLACE)
async def place_given(ctx: MessengerContext) -> None:
    draft = _draft(ctx)
    if ctx.event.location is not None:
        latitude, longitude = ctx.event.location
        draft.update(place_text=None, latitude=latitude, longitude=longitude)
        await _ask_text(ctx, draft)
        return
    place = (ctx.text or "").strip()
    if not place:
        ctx.reply(_place_message(view.place_please()))
        return
    if len(place) > PLACE_MAX_LENGTH:
        ctx.reply(_place_message(view.place_too_long()))
        return
    draft.update(place_text=place, latitude=None, longitude=None)
    await _ask_text(ctx, draft)


async def _ask_text(ctx: MessengerContext, draft: dict[str, Any]) -> None:
    await _save(ctx, draft, TEXT)
    ctx.reply(view.text_prompt())


@router.state(TEXT)
async def text_typed(ctx: MessengerContext) -> None:
    if ctx.text is None:
        ctx.reply(view.write_text_please())
        return
    text = ctx.text.strip()
    if len(text) < TEXT_MIN_LENGTH:
        ctx.reply(view.text_too_short(len(text)))
        return
    if len(text) > TEXT_MAX_LENGTH:
        ctx.reply(view.text_too_long(len(text)))
        return
    draft = _draft(ctx)
    draft.update(text=text, photos=[])
    await _save(ctx, draft, PHOTOS)
    ctx.reply(_photos_message(view.photos_prompt(), 0))


@router.state(PHOTOS)
async def photo_sent(ctx: MessengerContext) -> None:
    draft = _draft(ctx)
    photos: list[list[str | None]] = list(draft.get("photos") or [])
    urls = ctx.event.images
    if not urls:
        ctx.reply(_photos_message(view.send_photo_please(), len(photos)))
        return
    refused = False
    for url in urls:
        if len(photos) >= MAX_PHOTOS or len(url) > PHOTO_REF_MAX:
            refused = True
            continue
        photos.append([url, None])
    draft["photos"] = photos
    await _save(ctx, draft, PHOTOS)
    if refused and len(photos) >= MAX_PHOTOS:
        ctx.reply(_photos_message(view.too_many_photos(), len(photos)))
    elif refused:
        ctx.reply(_photos_message(_("This photo could not be added; please send another."), 0))
    else:
        ctx.reply(_photos_message(view.photo_added(len(photos)), len(photos)))


@router.payload("proposal:photos")
async def photos_done(ctx: MessengerContext) -> None:
    draft = _at(ctx, PHOTOS)
    if draft is None:
        return
    await _save(ctx, draft, NAME)
    ctx.reply(_name_message())


@router.payload("proposal:name")
async def pseudonym_chosen(ctx: MessengerContext) -> None:
    draft = _at(ctx, NAME)
    if draft is None:
        return
    await _summary(ctx, draft, None)


@router.state(NAME)
async def name_typed(ctx: MessengerContext) -> None:
    name = " ".join((ctx.text or "").split())
    if not name:
        await _repeat_step(ctx, view.use_buttons_please())
        return
    if len(name) > DISPLAY_NAME_MAX_LENGTH:
        await _repeat_step(
            ctx,
            _("The name is too long: please write at most {limit} characters.").format(
                limit=DISPLAY_NAME_MAX_LENGTH
            ),
        )
        return
    await _summary(ctx, _draft(ctx), name)


async def _summary(ctx: MessengerContext, draft: dict[str, Any], name: str | None) -> None:
    draft["display_name"] = name
    await _save(ctx, draft, CONFIRM)
    ctx.reply(await _summary_message(ctx, draft))


@router.state(TOPIC, CONFIRM)
async def use_buttons(ctx: MessengerContext) -> None:
    await _repeat_step(ctx, view.use_buttons_please())


@router.payload("proposal:confirm")
async def confirm(ctx: MessengerContext) -> None:
    draft = _at(ctx, CONFIRM)
    if draft is None:
        return
    step = ctx.args[0] if ctx.args else ""
    if step == "cancel":
        await _finish(ctx)
        ctx.reply(menu.menu_message(view.cancelled()))
        return
    if step == "edit":
        await _save(ctx, draft, TOPIC)
        ctx.reply(_topic_message(ctx))
        return
    if step != "submit":
        await _repeat_step(ctx, view.stale_button())
        return
    await _submit(ctx, draft)


async def _submit(ctx: MessengerContext, draft: dict[str, Any]) -> None:
    settings = ctx.settings
    try:
        result = await service.submit(
            ctx.session,
            ctx.resident,
            ProposalSpec.from_draft(draft),
            daily_limit=settings.proposal.daily_limit,
            categories=settings.proposal.categories,
        )
    except ProposalError as exc:
        logger.info("proposal draft of resident %s refused: %s", ctx.resident.id, exc.problem)
        await _finish(ctx)
        text = (
            view.municipality_unavailable()
            if exc.problem is ProposalProblem.UNKNOWN_MUNICIPALITY
            else view.draft_lost()
        )
        ctx.reply(menu.menu_message(text))
        return
    await _finish(ctx)
    if result.proposal is None:
        text = view.submit_refusal(result, settings.proposal.daily_limit)
        ctx.reply(menu.menu_message(text))
        return
    reference, proposal_id = result.proposal.reference, result.proposal.id
    logger.info("resident %s submitted proposal %s on Messenger", ctx.resident.id, proposal_id)
    services = ctx.services
    # The card (and the photos, fetched while their URLs are fresh) go to the moderators'.
    ctx.after_commit(
        lambda: cards.after_submission(
            services.bot,
            services.session_factory,
            services.i18n,
            services.settings,
            proposal_id,
            download=services.graph.download,
        )
    )
    text = (
        view.submitted(reference)
        if result.chat_id is not None
        else view.submitted_no_moderators(reference)
    )
    ctx.reply(text, quick_replies=(_mine_reply(), QuickReply(short_title(_("Menu")), "menu")))


# --- Mano pasiūlymai --------------------------------------------------------------------


@router.payload("myproposals")
async def my_proposals(ctx: MessengerContext) -> None:
    items = await service.my_proposals(ctx.session, ctx.resident.id)
    if not items:
        ctx.reply(menu.menu_message(view.no_proposals()))
        return
    per_page = view.PROPOSALS_PER_PAGE
    pages = max(1, -(-len(items) // per_page))
    page = int(ctx.args[0]) if ctx.args and ctx.args[0].isdigit() else 0
    page = min(page, pages - 1)
    shown = items[page * per_page : (page + 1) * per_page]
    text = view.my_proposals_text(shown, page, len(items), ctx.settings.tz, ctx.locale)
    replies: list[QuickReply] = []
    if page > 0:
        replies.append(QuickReply(short_title(_("« Newer")), f"myproposals:{page - 1}"))
    if page + 1 < pages:
        replies.append(QuickReply(short_title(_("Older »")), f"myproposals:{page + 1}"))
    replies.append(QuickReply(short_title(_("Menu")), "menu"))
    ctx.reply(text, quick_replies=replies)


# --- answers to the moderators ----------------------------------------------------------


async def _own_proposal(ctx: MessengerContext, proposal_id: int) -> Proposal | None:
    proposal = await service.get_proposal(ctx.session, proposal_id)
    if proposal is None or proposal.resident_id != ctx.resident.id:
        return None
    return proposal


@router.payload(REPLY)
async def reply_pressed(ctx: MessengerContext) -> None:
    """ "Atsakyti" under a relayed moderators' message: the next text is the answer."""
    arg = ctx.args[0] if ctx.args else ""
    proposal = await _own_proposal(ctx, int(arg)) if arg.isdigit() else None
    if proposal is None:
        ctx.reply(menu.menu_message(view.stale_button()))
        return
    ctx.data.pop(KEY, None)  # an unfinished draft gives way to the answer
    await ctx.set_state(REPLY, **{REPLY_KEY: proposal.id})
    ctx.reply(
        _("Write your answer to the moderators about proposal {reference}.").format(
            reference=proposal.reference
        )
    )


@router.state(REPLY)
async def reply_typed(ctx: MessengerContext) -> None:
    if not (ctx.text or "").strip():
        ctx.reply(view.write_text_please())
        return
    proposal_id = ctx.data.get(REPLY_KEY)
    proposal = await _own_proposal(ctx, proposal_id) if isinstance(proposal_id, int) else None
    ctx.data.pop(REPLY_KEY, None)
    await ctx.set_state(None)
    if proposal is None:
        ctx.reply(menu.menu_message(view.stale_button()))
        return
    await _relay(ctx, proposal)


async def _relay(ctx: MessengerContext, proposal: Proposal) -> None:
    relayed = await proposal_relay.record_resident_reply(
        ctx.session, proposal, ctx.text or "", resident_message_id=ctx.event.mid
    )
    message_id = relayed.message.id
    logger.info(
        "proposal %s: the resident replied on Messenger (message %s)", proposal.id, message_id
    )
    services = ctx.services
    ctx.after_commit(
        lambda: cards.relay_resident_reply(
            services.bot, services.session_factory, services.i18n, services.settings, message_id
        )
    )
    ctx.reply(view.reply_relayed(proposal.reference))


@router.fallback()
async def waiting_answer(ctx: MessengerContext) -> None:
    """Typed text outside any dialogue while a moderators' question waits answers it;
    anything else is the menu's."""
    text = (ctx.text or "").strip()
    word = text.casefold()
    if (
        ctx.payload is None
        and text
        and ctx.state is None
        and word not in menu.MENU_WORDS
        and word not in menu.COMMANDS
    ):
        proposal = await proposal_relay.open_conversation(ctx.session, ctx.resident.id)
        if proposal is not None:
            await _relay(ctx, proposal)
            return
    await menu.fallback(ctx)
