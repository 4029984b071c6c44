"""The moderators' side of proposals, in a municipality's moderators' group.

The card's buttons move a proposal (:func:`bot.services.proposals.change_status`); *Atmesti*
and *Paprašyti informacijos* first ask the pressing moderator for the reason or the question
(their next message in the group), as does blocking the author. A moderator's reply to the
card or to a relayed message, or any message in the proposal's forum topic, is relayed to
the resident as from "moderatorius". The resident hears of every status change in their
language. Only the municipality's moderators and the admins act; a press by anyone else, or
on a card that is out of date, changes nothing. Everything sent outside the pressed message
goes after the commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    TelegramObject,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.notices import ResidentNotifier
from bot.channels.telegram import proposal_cards as cards
from bot.channels.telegram.after_commit import after_commit
from bot.channels.telegram.proposal_callbacks import (
    BlockAction,
    ProposalBlockCb,
    ProposalInfoCb,
    ProposalStatusCb,
)
from bot.channels.telegram.proposal_view import status_name
from bot.config import Settings
from bot.services import proposal_relay, proposals
from bot.services.proposals import BlockOutcome, ChangeOutcome, ChangeRefusal, StatusChange
from models import Channel, Proposal, ProposalStatus, Resident
from models.proposals import MESSAGE_MAX_LENGTH, REASON_MAX_LENGTH

GROUPS = {"group", "supergroup"}


class Moderating(StatesGroup):
    """What the moderator's next message in the group is (the data: ``proposal``,
    ``expected``)."""

    reason = State()  # the reason for rejecting
    question = State()  # the question for the resident
    block_reason = State()  # the reason for blocking the author


class Desk:
    """What sending after the commit needs, from the handler's arguments."""

    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        i18n: I18n,
        settings: Settings,
        notifier: ResidentNotifier | None = None,
    ) -> None:
        self.bot = bot
        self.sessions = session_factory
        self.i18n = i18n
        self.settings = settings
        # Without the application's notifier (Messenger off) Messenger notices are held.
        self.notifier = notifier or ResidentNotifier(bot, None, session_factory, settings)

    def redraw(self, session: AsyncSession, proposal_id: int) -> None:
        after_commit(
            session,
            lambda: cards.redraw_card(
                self.bot, self.sessions, self.i18n, self.settings, proposal_id
            ),
        )

    async def tell_resident(
        self,
        session: AsyncSession,
        proposal: Proposal,
        build: Callable[[bool], str],
        *,
        relay_message_id: int | None = None,
    ) -> None:
        """``build(messenger)`` → the text, in the resident's language; sent after the commit
        on the resident's app (:class:`ResidentNotifier`). A relayed moderators' message
        carries "Atsakyti" on Messenger; on Telegram where it landed is recorded, so the
        resident's reply to it finds the proposal."""
        if proposal.resident_id is None:
            return
        resident = await session.get(Resident, proposal.resident_id)
        if resident is None:
            return
        resident_id, messenger = resident.id, resident.channel is Channel.MESSENGER
        with self.i18n.use_locale(resident.language):
            text = build(messenger)
            markup = (
                cards.reply_markup(proposal.id)
                if messenger and relay_message_id is not None
                else None
            )
        chat_id = cards.resident_chat_id(resident)
        if relay_message_id is not None and chat_id is not None:
            after_commit(
                session,
                lambda: cards.send_to_resident(
                    self.bot, self.sessions, chat_id, text, relay_message_id=relay_message_id
                ),
            )
            return
        after_commit(session, lambda: self._notify(resident_id, text, markup))

    async def _notify(
        self, resident_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        async with self.sessions() as session:
            resident = await session.get(Resident, resident_id)
        if resident is not None and resident.external_id:
            await self.notifier.send(resident, text, markup)


async def _with_desk(
    handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
    event: TelegramObject,
    data: dict[str, Any],
) -> Any:
    """Gives the matched handler its :class:`Desk` as ``desk``."""
    data["desk"] = Desk(
        data["bot"], data["session_factory"], data["i18n"], data["settings"], data.get("notifier")
    )
    return await handler(event, data)


def _refusal_text() -> str:
    return _("Sorry, only this municipality's moderators and the administrators can do this.")


def _change_text(change: StatusChange) -> str:
    """What the moderator is told about a step (a toast or a message)."""
    if change.outcome is ChangeOutcome.CHANGED and change.to_status is not None:
        return _("Done: the proposal is now “{status}”.").format(
            status=status_name(change.to_status)
        )
    if change.outcome is ChangeOutcome.ALREADY and change.to_status is not None:
        return _("The proposal is already “{status}”.").format(status=status_name(change.to_status))
    refusal = change.refusal
    if refusal is ChangeRefusal.NOT_AUTHORIZED:
        return _refusal_text()
    if refusal is ChangeRefusal.NOT_FOUND:
        return _("This proposal no longer exists.")
    if refusal is ChangeRefusal.REASON_REQUIRED:
        return _("A reason is needed to reject a proposal.")
    return _("This card was out of date and nothing changed; it now shows the current status.")


async def _finish(
    desk: Desk, session: AsyncSession, change: StatusChange, *, question: str | None = None
) -> None:
    """After a step: redraw the card; tell the resident of a change."""
    proposal = change.proposal
    if proposal is None:
        return
    desk.redraw(session, proposal.id)
    if change.outcome is not ChangeOutcome.CHANGED or change.to_status is None:
        return
    if change.to_status is ProposalStatus.INFO_REQUESTED:
        return  # the question itself tells the resident (request_information)
    to, reason, reference = change.to_status, proposal.rejection_reason, proposal.reference
    await desk.tell_resident(
        session, proposal, lambda _messenger: cards.status_notice(reference, to, reason)
    )


async def _may_act(
    query: CallbackQuery, session: AsyncSession, settings: Settings, proposal_id: int
) -> Proposal | None:
    """The proposal, when the presser may act on it; else a toast and None."""
    proposal = await proposals.get_proposal(session, proposal_id)
    if proposal is None:
        await query.answer(_("This proposal no longer exists."))
        return None
    if not await proposals.may_moderate(
        session, query.from_user.id, proposal, settings.telegram.admin_ids
    ):
        await query.answer(_refusal_text(), show_alert=True)
        return None
    return proposal


async def _prompt(
    query: CallbackQuery, state: FSMContext, step: State, proposal: Proposal, text: str
) -> None:
    """Ask the presser for their next message (a reply to the card, in its topic)."""
    await state.set_state(step)
    await state.set_data({"proposal": proposal.id, "expected": proposal.status.value})
    await query.answer()
    message = query.message
    if isinstance(message, Message):
        await message.answer(
            text,
            reply_parameters=ReplyParameters(
                message_id=message.message_id, allow_sending_without_reply=True
            ),
        )


async def status_pressed(
    query: CallbackQuery,
    callback_data: ProposalStatusCb,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    desk: Desk,
) -> None:
    proposal = await _may_act(query, session, settings, callback_data.proposal)
    if proposal is None:
        return
    to, expected = callback_data.to, callback_data.expected
    if to is ProposalStatus.REJECTED and proposal.status is not ProposalStatus.REJECTED:
        if proposal.status is not expected or to not in proposals.allowed_moves(proposal.status):
            await query.answer(_change_text(StatusChange(ChangeOutcome.REFUSED)))
            desk.redraw(session, proposal.id)
            return
        await _prompt(
            query,
            state,
            Moderating.reason,
            proposal,
            _(
                "{name}, write the reason for rejecting {reference} in your next message. "
                "It is sent to the resident. /cancel stops."
            ).format(name=query.from_user.first_name, reference=proposal.reference),
        )
        return
    change = await proposals.change_status(
        session,
        proposal.id,
        query.from_user.id,
        to,
        admin_ids=settings.telegram.admin_ids,
        expected=expected,
    )
    await query.answer(_change_text(change))
    await _finish(desk, session, change)


async def info_pressed(
    query: CallbackQuery,
    callback_data: ProposalInfoCb,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
) -> None:
    proposal = await _may_act(query, session, settings, callback_data.proposal)
    if proposal is None:
        return
    if proposal.status is not callback_data.expected:
        await query.answer(_change_text(StatusChange(ChangeOutcome.REFUSED)))
        return
    await _prompt(
        query,
        state,
        Moderating.question,
        proposal,
        _(
            "{name}, write your question for the author of {reference} in your next message. "
            "The resident sees it as from “moderator”. /cancel stops."
        ).format(name=query.from_user.first_name, reference=proposal.reference),
    )


async def block_pressed(
    query: CallbackQuery,
    callback_data: ProposalBlockCb,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    desk: Desk,
) -> None:
    proposal = await _may_act(query, session, settings, callback_data.proposal)
    if proposal is None:
        return
    if callback_data.action is BlockAction.BLOCK:
        await _prompt(
            query,
            state,
            Moderating.block_reason,
            proposal,
            _(
                "{name}, write why the author of {reference} is blocked from submitting "
                "proposals, in your next message. /cancel stops."
            ).format(name=query.from_user.first_name, reference=proposal.reference),
        )
        return
    result = await proposals.unblock_author(
        session, proposal.id, query.from_user.id, admin_ids=settings.telegram.admin_ids
    )
    if result.outcome is BlockOutcome.UNBLOCKED:
        await query.answer(_("The author may submit proposals again."))
    elif result.outcome is BlockOutcome.ALREADY:
        await query.answer(_("The author was not blocked."))
    else:
        await query.answer(_("The author erased their data; there is nobody to unblock."))
    desk.redraw(session, proposal.id)


async def _awaited(
    message: Message, session: AsyncSession, state: FSMContext, limit: int
) -> tuple[Proposal, ProposalStatus] | None:
    """The proposal the moderator's awaited text is about, and the status its button was
    drawn for; None (told why) when it is gone or the text is too long (the question
    stays)."""
    assert message.text is not None
    data = await state.get_data()
    proposal = await proposals.get_proposal(session, int(data.get("proposal", 0)))
    if proposal is None:
        await state.clear()
        await message.reply(_("This proposal no longer exists."))
        return None
    if await _too_long(message, message.text, limit):
        return None
    await state.clear()
    return proposal, ProposalStatus(data["expected"])


async def _too_long(message: Message, text: str, limit: int) -> bool:
    if len(text) <= limit:
        return False
    await message.reply(
        _("This is too long ({length} characters); please write at most {limit}.").format(
            length=len(text), limit=limit
        )
    )
    return True


async def reason_written(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    desk: Desk,
) -> None:
    assert message.from_user is not None and message.text is not None
    awaited = await _awaited(message, session, state, REASON_MAX_LENGTH)
    if awaited is None:
        return
    proposal, expected = awaited
    change = await proposals.change_status(
        session,
        proposal.id,
        message.from_user.id,
        ProposalStatus.REJECTED,
        admin_ids=settings.telegram.admin_ids,
        reason=message.text,
        expected=expected,
    )
    await message.reply(_change_text(change))
    await _finish(desk, session, change)


async def question_written(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    desk: Desk,
) -> None:
    assert message.from_user is not None and message.text is not None
    awaited = await _awaited(message, session, state, REASON_MAX_LENGTH)
    if awaited is None:
        return
    proposal, expected = awaited
    if proposal.status is not expected:
        await message.reply(_change_text(StatusChange(ChangeOutcome.REFUSED)))
        return
    result = await proposal_relay.request_information(
        session,
        proposal.id,
        message.from_user.id,
        message.text,
        admin_ids=settings.telegram.admin_ids,
        moderators_chat_id=message.chat.id,
        moderators_message_id=message.message_id,
    )
    if result.relayed is None:
        text = (
            _change_text(result.change)
            if result.change.outcome is ChangeOutcome.REFUSED
            else _("The author erased their data; the question was not sent.")
        )
        await message.reply(text)
        return
    await message.reply(_("The question was sent to the resident."))
    await _finish(desk, session, result.change)
    reference, question = proposal.reference, result.relayed.message.text
    await desk.tell_resident(
        session,
        proposal,
        lambda messenger: cards.moderator_message_text(
            reference, question, question=True, messenger=messenger
        ),
        relay_message_id=result.relayed.message.id,
    )


async def block_reason_written(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
    desk: Desk,
) -> None:
    assert message.from_user is not None and message.text is not None
    awaited = await _awaited(message, session, state, REASON_MAX_LENGTH)
    if awaited is None:
        return
    proposal = awaited[0]
    result = await proposals.block_author(
        session,
        proposal.id,
        message.from_user.id,
        message.text,
        admin_ids=settings.telegram.admin_ids,
    )
    if result.outcome is BlockOutcome.BLOCKED:
        text = _("The author of {reference} is blocked from submitting proposals.")
    elif result.outcome is BlockOutcome.ALREADY:
        text = _("The author of {reference} was blocked already.")
    else:
        text = _("The author of {reference} could not be blocked.")
    await message.reply(text.format(reference=proposal.reference))
    desk.redraw(session, proposal.id)


async def cancel_pending(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.reply(_("Stopped; nothing was changed."))


async def not_text_while_pending(message: Message) -> None:
    await message.reply(_("Please write it as text, or /cancel."))


async def in_proposal_thread(message: Message, session: AsyncSession) -> dict[str, Proposal] | bool:
    """A message about a proposal: it replies to the card or a relayed message, or it is in
    the proposal's forum topic."""
    if message.text is not None and message.text.startswith("/"):
        return False
    reply = message.reply_to_message
    proposal = await proposal_relay.find_for_moderators_message(
        session,
        message.chat.id,
        reply_to_message_id=reply.message_id if reply is not None else None,
        thread_id=message.message_thread_id if message.is_topic_message else None,
    )
    return {"proposal": proposal} if proposal is not None else False


async def moderator_writes(
    message: Message,
    proposal: Proposal,
    session: AsyncSession,
    settings: Settings,
    desk: Desk,
) -> None:
    assert message.from_user is not None
    if not await proposals.may_moderate(
        session, message.from_user.id, proposal, settings.telegram.admin_ids
    ):
        return  # a resident's chatter in the group is not relayed
    if message.text is None:
        await message.reply(_("Only text is passed on to the resident; please write it."))
        return
    if await _too_long(message, message.text, MESSAGE_MAX_LENGTH):
        return
    relayed = await proposal_relay.record_moderator_message(
        session,
        proposal,
        message.from_user.id,
        message.text,
        admin_ids=settings.telegram.admin_ids,
        moderators_chat_id=message.chat.id,
        moderators_message_id=message.message_id,
    )
    if relayed is None:
        await message.reply(_("The author erased their data; nothing was sent."))
        return
    reference, text = proposal.reference, relayed.message.text
    await desk.tell_resident(
        session,
        proposal,
        lambda messenger: cards.moderator_message_text(reference, text, messenger=messenger),
        relay_message_id=relayed.message.id,
    )
    await message.reply(_("Sent to the resident."))


def create_router() -> Router:
    router = Router(name="proposal_moderation")
    router.message.filter(F.chat.type.in_(GROUPS))
    router.callback_query.filter(F.message.chat.type.in_(GROUPS))
    router.message.middleware(_with_desk)
    router.callback_query.middleware(_with_desk)
    router.callback_query.register(status_pressed, ProposalStatusCb.filter())
    router.callback_query.register(info_pressed, ProposalInfoCb.filter())
    router.callback_query.register(block_pressed, ProposalBlockCb.filter())
    pending = StateFilter(Moderating.reason, Moderating.question, Moderating.block_reason)
    router.message.register(cancel_pending, pending, Command("cancel"))
    router.message.register(reason_written, StateFilter(Moderating.reason), F.text)
    router.message.register(question_written, StateFilter(Moderating.question), F.text)
    router.message.register(block_reason_written, StateFilter(Moderating.block_reason), F.text)
    router.message.register(not_text_while_pending, pending)
    router.message.register(moderator_writes, in_proposal_thread)
    return router
