"""The moderators' side of a proposal on Telegram: its card in the municipality's
moderators' chat, and the messages between that chat and the resident.

One card per proposal: reference, category, municipality, place, text, author (name or
pseudonym) and channel, status, the steps so far ("Peržiūrimas – Rasa, 11-26 14:05") and
the buttons of the moves the status allows. Photos and the map point follow as replies to
the card. In a forum group each proposal gets its own topic, named with the reference, and
the card lives there.

Everything here runs after the commit of the update that caused it (use
:func:`bot.channels.telegram.after_commit.after_commit`) and opens its own short
transactions for what it records (where the card landed, where a relayed message landed).
Texts for the moderators are in the deployment's default language, texts for a resident in
the resident's.

For the resident's dialogue (:mod:`handlers.proposals`):

- after the commit of a submission: :func:`after_submission` (delivers the card, or tells
  the admins that the municipality has no moderators' chat);
- after the commit of :func:`bot.services.proposal_relay.record_resident_reply`:
  :func:`relay_resident_reply` with the recorded message's id.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.messenger.client import GraphClient, MessengerError
from bot.channels.telegram.proposal_callbacks import (
    BlockAction,
    ProposalBlockCb,
    ProposalInfoCb,
    ProposalStatusCb,
)
from bot.channels.telegram.proposal_view import category_label, status_name
from bot.config import Settings
from bot.services import proposal_relay, proposals
from models import (
    ActorKind,
    Channel,
    MessageDirection,
    Municipality,
    Proposal,
    ProposalAction,
    ProposalAudit,
    ProposalMessage,
    ProposalPhoto,
    ProposalStatus,
    Resident,
)

Download = Callable[[str], Awaitable[bytes]]

logger = logging.getLogger(__name__)

S = ProposalStatus
CARD_MAX_LENGTH = 4096  # a message's text
REASON_SHOWN = 300  # characters of a rejection reason in the card's history
# The order of the buttons on a card.
_MOVE_ORDER = (S.IN_REVIEW, S.INFO_REQUESTED, S.FORWARDED, S.ACCEPTED, S.REJECTED, S.IMPLEMENTED)


@contextmanager
def moderators_language(i18n: I18n, settings: Settings) -> Iterator[None]:
    """Texts for the moderators' chat and the admins: the deployment's default language
    (also outside a handler, e.g. after the commit)."""
    with i18n.context(), i18n.use_locale(settings.default_locale):
        yield


def _move_label(to: ProposalStatus) -> str:
    labels = {
        S.IN_REVIEW: _("Review"),
        S.INFO_REQUESTED: _("Ask for information"),
        S.FORWARDED: _("Forward to the municipality"),
        S.ACCEPTED: _("Accept"),
        S.REJECTED: _("Reject"),
        S.IMPLEMENTED: _("Implemented"),
    }
    return labels[to]


def _step_label(entry: ProposalAudit) -> str | None:
    if entry.action is ProposalAction.SUBMITTED:
        return _("Submitted")
    if entry.action is ProposalAction.STATUS_CHANGED and entry.to_status is not None:
        label = status_name(entry.to_status)
        return label[:1].upper() + label[1:]
    return None


@dataclass(frozen=True, slots=True)
class CardView:
    """What a card shows: its text and its buttons."""

    text: str
    markup: InlineKeyboardMarkup | None


def card_view(
    proposal: Proposal,
    municipality: Municipality,
    steps: Iterable[ProposalAudit],
    names: dict[int, str],
    tz: ZoneInfo,
    *,
    author_blocked: bool,
) -> CardView:
    """The card of ``proposal`` in the current language; ``names``: moderators' names by
    Telegram id (for who did what)."""
    category = html.escape(category_label(proposal.category))
    lines = [
        f"<b>{html.escape(proposal.reference)}</b> – {category}",
        _("Municipality: {name}").format(name=html.escape(municipality.name_lt)),
    ]
    if proposal.place_text:
        lines.append(_("Place: {place}").format(place=html.escape(proposal.place_text)))
    if proposal.latitude is not None and proposal.longitude is not None:
        url = f"https://www.openstreetmap.org/?mlat={proposal.latitude:.6f}&mlon={proposal.longitude:.6f}#map=17/{proposal.latitude:.6f}/{proposal.longitude:.6f}"
        lines.append(
            _('Map point: <a href="{url}">{lat}, {lon}</a>').format(
                url=html.escape(url),
                lat=f"{proposal.latitude:.5f}",
                lon=f"{proposal.longitude:.5f}",
            )
        )
    author = _("[erased]") if proposal.resident_id is None else proposals.author_label(proposal)
    channel = "Telegram" if proposal.channel is Channel.TELEGRAM else "Messenger"
    lines.append(
        _("Author: {author} ({channel})").format(author=html.escape(author), channel=channel)
    )
    if author_blocked:
        lines.append(_("The author is blocked from submitting proposals."))
    lines.append(_("Status: <b>{status}</b>").format(status=status_name(proposal.status)))
    lines += ["", html.escape(proposal.text)]
    if proposal.photos:
        count = len(proposal.photos)
        lines += ["", _("{count} photo below", "{count} photos below", count).format(count=count)]
    history = []
    for entry in steps:
        label = _step_label(entry)
        if label is None:
            continue
        when = entry.at.astimezone(tz).strftime("%m-%d %H:%M")
        who = ""
        if entry.actor is ActorKind.STAFF and entry.actor_user_id is not None:
            who = names.get(entry.actor_user_id, str(entry.actor_user_id)) + ", "
        elif entry.actor is ActorKind.RESIDENT and entry.action is ProposalAction.STATUS_CHANGED:
            who = _("resident") + ", "
        line = f"{label} – {html.escape(who)}{when}"
        if entry.to_status is S.REJECTED and entry.note:
            line += ": „" + html.escape(_shorten(entry.note, REASON_SHOWN)) + "“"
        history.append(line)
    tail = ["", _("Reply to this card to write to the resident.")]
    # The oldest steps give way when the card would be longer than Telegram allows.
    earlier = 0
    while history and _visible_length([*lines, "", "", *history, *tail]) > CARD_MAX_LENGTH:
        history.pop(0)
        earlier += 1
    if history:
        lines += ["", _("<b>History</b>")]
        if earlier:
            lines.append(
                _("… {count} earlier step", "… {count} earlier steps", earlier).format(
                    count=earlier
                )
            )
        lines += history
    lines += tail
    return CardView("\n".join(lines), card_keyboard(proposal, author_blocked=author_blocked))


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _visible_length(lines: list[str]) -> int:
    """How long the text is as Telegram counts it (tags parsed away, entities decoded)."""
    return len(html.unescape(re.sub(r"<[^>]+>", "", "\n".join(lines))))


def card_keyboard(proposal: Proposal, *, author_blocked: bool) -> InlineKeyboardMarkup | None:
    moves = proposals.allowed_moves(proposal.status)
    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for to in _MOVE_ORDER:
        if to not in moves:
            continue
        if to is S.INFO_REQUESTED:
            data = ProposalInfoCb(proposal=proposal.id, expected=proposal.status).pack()
        else:
            data = ProposalStatusCb(proposal=proposal.id, to=to, expected=proposal.status).pack()
        row.append(InlineKeyboardButton(text=_move_label(to), callback_data=data))
        if len(row) == 2:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    if proposal.resident_id is not None:
        action = BlockAction.UNBLOCK if author_blocked else BlockAction.BLOCK
        label = _("Unblock the author") if author_blocked else _("Block the author")
        rows.append(
            [
                InlineKeyboardButton(
                    text=label,
                    callback_data=ProposalBlockCb(proposal=proposal.id, action=action).pack(),
                )
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


async def _names(bot: Bot, chat_id: int | None, steps: Iterable[ProposalAudit]) -> dict[int, str]:
    """The first names of the staff in ``steps`` as the moderators' chat knows them."""
    names: dict[int, str] = {}
    for entry in steps:
        user_id = entry.actor_user_id
        if entry.actor is not ActorKind.STAFF or user_id is None or user_id in names:
            continue
        names[user_id] = str(user_id)
        if chat_id is None:
            continue
        try:
            member = await bot.get_chat_member(chat_id, user_id)
        except TelegramAPIError:
            continue
        names[user_id] = member.user.first_name
    return names


async def render_card(
    bot: Bot, session: AsyncSession, i18n: I18n, settings: Settings, proposal: Proposal
) -> CardView:
    """The card as it is now, in the deployment's default language."""
    municipality = await session.get(Municipality, proposal.municipality_id)
    assert municipality is not None
    steps = await proposals.audit_log(session, proposal.id)
    blocked = (
        proposal.resident_id is not None
        and await proposals.active_block(session, proposal.resident_id) is not None
    )
    names = await _names(bot, proposal.card_chat_id, steps)
    with moderators_language(i18n, settings):
        return card_view(proposal, municipality, steps, names, settings.tz, author_blocked=blocked)


# --- delivering cards -------------------------------------------------------------------


async def deliver_card(
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    i18n: I18n,
    settings: Settings,
    proposal_id: int,
    *,
    download: Download | None = None,
) -> bool:
    """Post the proposal's card (in its own topic when the chat is a forum), its photos and
    map point as replies, and record where it is. False when the municipality has no
    moderators' chat or the card is there already. Call after the commit.

    A photo from Messenger is referenced by its attachment URL: its bytes are fetched
    (``download``, else a Graph client of the settings), posted as an upload, and the
    ``file_id`` Telegram gives it replaces the URL (see :func:`_post_photo`)."""
    async with sessions() as session, session.begin():
        proposal = await proposals.get_proposal(session, proposal_id)
        if proposal is None or proposal.delivered_at is not None:
            return False
        chat = await proposals.moderators_chat(session, proposal.municipality_id)
        if chat is None:
            return False
        chat_id = chat.chat_id
        view = await render_card(bot, session, i18n, settings, proposal)
        reference = proposal.reference
        photos = [(photo.position, photo.file_id) for photo in proposal.photos]
        point = (
            (proposal.latitude, proposal.longitude)
            if proposal.latitude is not None and proposal.longitude is not None
            else None
        )
    thread_id: int | None = None
    if (await bot.get_chat(chat_id)).is_forum:
        topic = await bot.create_forum_topic(chat_id, name=reference)
        thread_id = topic.message_thread_id
    card = await bot.send_message(
        chat_id, view.text, reply_markup=view.markup, message_thread_id=thread_id
    )
    async with sessions() as session, session.begin():
        await proposal_relay.mark_delivered(
            session, proposal_id, chat_id=chat_id, message_id=card.message_id, thread_id=thread_id
        )
    reply = ReplyParameters(message_id=card.message_id)
    for position, file_id in photos:
        if is_attachment_url(file_id):
            await _post_photo(
                bot,
                sessions,
                settings,
                download,
                proposal_id,
                position,
                file_id,
                chat_id=chat_id,
                reply=reply,
                thread_id=thread_id,
            )
            continue
        await bot.send_photo(chat_id, file_id, reply_parameters=reply, message_thread_id=thread_id)
    if point is not None:
        await bot.send_location(
            chat_id, point[0], point[1], reply_parameters=reply, message_thread_id=thread_id
        )
    logger.info("proposal %s: card delivered to chat %s", proposal_id, chat_id)
    return True


def is_attachment_url(reference: str) -> bool:
    """A photo reference that is a Messenger attachment's URL (Telegram file ids are never
    URLs)."""
    return reference.startswith(("https://", "http://"))


async def _post_photo(
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    download: Download | None,
    proposal_id: int,
    position: int,
    url: str,
    *,
    chat_id: int,
    reply: ReplyParameters,
    thread_id: int | None,
) -> None:
    """A Messenger photo into the moderators' chat: downloaded once, uploaded once, and the
    proposal's photo then refers to Telegram's ``file_id`` (a URL from Meta expires)."""
    try:
        if download is not None:
            data = await download(url)
        else:
            data = await _download_with_settings(settings, url)
    except (MessengerError, ValueError) as exc:
        logger.warning(
            "proposal %s: photo %s not fetched from Messenger: %s",
            proposal_id,
            position,
            type(exc).__name__,
        )
        return
    sent = await bot.send_photo(
        chat_id,
        BufferedInputFile(data, filename=f"photo-{position}.jpg"),
        reply_parameters=reply,
        message_thread_id=thread_id,
    )
    if not sent.photo:
        return
    largest = sent.photo[-1]
    async with sessions() as session, session.begin():
        await session.execute(
            update(ProposalPhoto)
            .where(ProposalPhoto.proposal_id == proposal_id, ProposalPhoto.position == position)
            .values(file_id=largest.file_id, file_unique_id=largest.file_unique_id)
        )


async def _download_with_settings(settings: Settings, url: str) -> bytes:
    """An attachment's bytes through a short-lived Graph client (e.g. when /bind delivers
    waiting cards outside the Messenger flow)."""
    token = settings.messenger.page_access_token
    if token is None:
        raise ValueError("Messenger is off")
    graph = GraphClient(settings.messenger.api_base, token.get_secret_value())
    try:
        return await graph.download(url)
    finally:
        await graph.close()


async def after_submission(
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    i18n: I18n,
    settings: Settings,
    proposal_id: int,
    *,
    download: Download | None = None,
) -> None:
    """After the commit of a submission: the card goes to the moderators' chat, or, when the
    municipality has none, every admin is told that the proposal waits. ``download``: how
    Messenger photos are fetched (the Messenger flow's Graph client)."""
    if await deliver_card(bot, sessions, i18n, settings, proposal_id, download=download):
        return
    async with sessions() as session:
        proposal = await proposals.get_proposal(session, proposal_id)
        if proposal is None or proposal.delivered_at is not None:
            return
        municipality = await session.get(Municipality, proposal.municipality_id)
        assert municipality is not None
        with moderators_language(i18n, settings):
            text = _(
                "{reference} is waiting: {municipality} has no moderators' chat, bind one "
                "with /bind {code}."
            ).format(
                reference=proposal.reference,
                municipality=municipality.name_lt,
                code=municipality.code,
            )
    for admin_id in settings.telegram.admin_ids:
        try:
            await bot.send_message(admin_id, text)
        except TelegramAPIError as exc:
            logger.info(
                "admin %s could not be told of a waiting proposal: %s", admin_id, exc.message
            )


async def deliver_waiting(
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    i18n: I18n,
    settings: Settings,
    municipality_id: int,
) -> int:
    """Deliver the municipality's waiting proposals (after its chat is bound); how many."""
    async with sessions() as session:
        waiting = [p.id for p in await proposal_relay.undelivered(session, municipality_id)]
    delivered = 0
    for proposal_id in waiting:
        if await deliver_card(bot, sessions, i18n, settings, proposal_id):
            delivered += 1
    return delivered


async def redraw_card(
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    i18n: I18n,
    settings: Settings,
    proposal_id: int,
) -> None:
    """Edit the card to show the proposal as it is now (status, steps, buttons; an erased
    author's proposal shows [ištrinta]). Call after the commit."""
    async with sessions() as session:
        proposal = await proposals.get_proposal(session, proposal_id)
        if proposal is None or proposal.card_chat_id is None or proposal.card_message_id is None:
            return
        view = await render_card(bot, session, i18n, settings, proposal)
        chat_id, message_id = proposal.card_chat_id, proposal.card_message_id
    try:
        await bot.edit_message_text(
            view.text, chat_id=chat_id, message_id=message_id, reply_markup=view.markup
        )
    except TelegramBadRequest as exc:
        if "message is not modified" not in exc.message:
            logger.info("proposal %s: card not edited: %s", proposal_id, exc.message)


async def redraw_cards(
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    i18n: I18n,
    settings: Settings,
    proposal_ids: Iterable[int],
) -> None:
    """:func:`redraw_card` for each (e.g. the cards :func:`bot.services.residents.erase`
    returned); one failing does not stop the next."""
    for proposal_id in proposal_ids:
        try:
            await redraw_card(bot, sessions, i18n, settings, proposal_id)
        except TelegramAPIError as exc:
            logger.info("proposal %s: card not redrawn: %s", proposal_id, type(exc).__name__)


# --- messages between the moderators and the resident -----------------------------------


def resident_chat_id(resident: Resident | None) -> int | None:
    """Where a Telegram resident is written to (None: erased, or another channel)."""
    if resident is None or resident.channel is not Channel.TELEGRAM:
        return None
    return int(resident.external_id)


async def relay_resident_reply(
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    i18n: I18n,
    settings: Settings,
    message_id: int,
) -> bool:
    """Copy the resident's recorded answer (``ProposalMessage`` ``message_id``) into the
    moderators' chat as a reply to the card (in its topic), record where it landed, and
    redraw the card when the answer moved the status. False when the card is not
    delivered yet (the answer stays recorded; moderators see it in the history). Call after
    the commit of :func:`bot.services.proposal_relay.record_resident_reply`."""
    async with sessions() as session:
        message = await session.get(ProposalMessage, message_id)
        if message is None or message.direction is not MessageDirection.TO_MODERATORS:
            return False
        proposal = await proposals.get_proposal(session, message.proposal_id)
        if proposal is None or proposal.card_chat_id is None or proposal.card_message_id is None:
            return False
        chat_id, card_id, thread_id = (
            proposal.card_chat_id,
            proposal.card_message_id,
            proposal.topic_thread_id,
        )
        with moderators_language(i18n, settings):
            text = _("{reference} – the resident replies: {text}").format(
                reference=proposal.reference, text=html.escape(message.text)
            )
    sent = await bot.send_message(
        chat_id,
        text,
        reply_parameters=ReplyParameters(message_id=card_id, allow_sending_without_reply=True),
        message_thread_id=thread_id,
    )
    async with sessions() as session, session.begin():
        await proposal_relay.set_relay_message_ids(
            session, message_id, moderators_chat_id=chat_id, moderators_message_id=sent.message_id
        )
    await redraw_card(bot, sessions, i18n, settings, proposal.id)
    return True


async def send_to_resident(
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    chat_id: int,
    text: str,
    *,
    relay_message_id: int | None = None,
) -> None:
    """Send a resident ``text`` (after the commit); with ``relay_message_id`` record where
    the relayed moderators' message landed, so the resident's reply to it finds it."""
    try:
        sent = await bot.send_message(chat_id, text)
    except TelegramAPIError as exc:
        logger.info("resident chat %s not reached: %s", chat_id, type(exc).__name__)
        return
    if relay_message_id is not None:
        async with sessions() as session, session.begin():
            await proposal_relay.set_relay_message_ids(
                session, relay_message_id, resident_message_id=str(sent.message_id)
            )


def status_notice(reference: str, status: ProposalStatus, reason: str | None) -> str:
    """What the resident is told when their proposal's status changes (current language)."""
    if status is S.REJECTED:
        return _("Your proposal {reference} was rejected. Reason: {reason}").format(
            reference=reference, reason=html.escape(reason or "")
        )
    return _("The status of your proposal {reference} is now: {status}.").format(
        reference=reference, status=status_name(status)
    )


def moderator_message_text(
    reference: str, text: str, *, question: bool = False, messenger: bool = False
) -> str:
    """A moderator's message as the resident sees it (current language): from
    "moderatorius", never a name; ``question``: it asks for more information;
    ``messenger``: the resident answers with the "Atsakyti" button (or, to a question, by
    simply writing), not with Telegram's reply."""
    if question:
        header = _("The moderators need more information about your proposal {reference}.")
    else:
        header = _("A message about your proposal {reference}.")
    return "\n".join(
        [
            header.format(reference=reference),
            _("Moderator: {text}").format(text=html.escape(text)),
            "",
            (
                (
                    _("Write your answer, or press “Reply”.")
                    if question
                    else _("To answer, press “Reply”.")
                )
                if messenger
                else _("Reply to this message to answer.")
            ),
        ]
    )


def reply_markup(proposal_id: int) -> InlineKeyboardMarkup:
    """The "Atsakyti" button under a moderators' message to a Messenger resident (its
    callback data is the Messenger flow's postback payload)."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=_("Reply"), callback_data=f"proposal:reply:{proposal_id}")]
        ]
    )
