"""The audience step of a composition (announcements, polls): all residents, or chosen
municipalities and age groups, with the count of residents the choice reaches.

Not one of :func:`handlers.get_routers`: a flow includes ``create_router(its step)`` in its
own router, and handles "All residents" and "Continue" itself (they lead to its next step):
register a handler with ``step.done_filter()`` and start it with ``await step.chosen(…)``.

Also here, for every composition: :class:`Drafts`, a flow's draft in the conversation state
(FSM data), and :func:`ask`, the next question as a new message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from aiogram import F, Router
from aiogram.dispatcher.event.handler import CallbackType
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.telegram.audience_picker import (
    AudienceAgeCb,
    AudienceButton,
    AudienceCb,
    AudienceDraft,
    AudienceMunicipalityCb,
    AudiencePageCb,
    AudiencePicker,
    toggled,
)
from bot.channels.telegram.replies import replace_prompt, send_to_chat
from bot.services import audiences, municipalities
from models import AgeGroup, MessageCategory

D = TypeVar("D", bound=AudienceDraft)


class Drafts(Generic[D]):
    """A flow's draft in the conversation state, under the draft class's ``KEY``."""

    def __init__(self, kind: type[D]) -> None:
        self.kind = kind

    async def start(self, message: Message, state: FSMContext, step: State, prompt: str) -> None:
        """A new draft (the command's message id is its id), and its first question."""
        await state.set_state(step)
        await self.save(state, self.kind(id=message.message_id))
        await message.answer(prompt)

    async def get(self, state: FSMContext) -> D | None:
        return self.kind.from_data(await state.get_data())

    async def for_button(self, query: CallbackQuery, state: FSMContext, draft_id: int) -> D | None:
        """The draft this button belongs to; otherwise the button is answered as stale."""
        draft = await self.get(state)
        if draft is None or draft.id != draft_id:
            await query.answer(_("This button is no longer active."))
            return None
        return draft

    async def save(self, state: FSMContext, draft: D) -> None:
        await state.update_data(draft.to_data())

    async def finish(self, state: FSMContext) -> None:
        """End the composition (other conversation data, such as a deep-link source, stays)."""
        data = await state.get_data()
        data.pop(self.kind.KEY, None)
        await state.set_state(None)
        await state.set_data(data)

    async def stop(self, message: Message, state: FSMContext, text: str) -> None:
        """End the composition from a message (/cancel, or the draft was lost): say ``text``."""
        await self.finish(state)
        await message.answer(text)

    async def discard(
        self, query: CallbackQuery, state: FSMContext, draft_id: int, text: str
    ) -> None:
        """The draft's "Discard" button: end the composition and say so in its message."""
        if await self.for_button(query, state, draft_id) is None:
            return
        await self.finish(state)
        await query.answer()
        await replace_prompt(query, text)


async def ask(
    target: Message | CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """The next question of a composition as a new message, after the organizer's message or
    the button they pressed."""
    if isinstance(target, Message):
        await target.answer(text, reply_markup=markup)
    else:
        await send_to_chat(target, text=text, reply_markup=markup)


@dataclass(frozen=True)
class AudienceStep(Generic[D]):
    """One flow's audience step: its texts and buttons, its draft, the conversation state
    of the step, and the kind of message (residents who turned it off are not counted)."""

    picker: AudiencePicker
    drafts: Drafts[D]
    state: State
    category: MessageCategory

    async def lines(self, session: AsyncSession, draft: D, locale: str) -> str:
        chosen = await municipalities.list_by_ids(session, draft.municipality_ids, locale)
        count = await audiences.count(session, draft.audience, self.category)
        return self.picker.lines(chosen, draft.age_groups, count, locale)

    async def show(
        self,
        target: Message | CallbackQuery,
        state: FSMContext,
        session: AsyncSession,
        locale: str,
        draft: D,
    ) -> None:
        """Begin the step: the question as a new message."""
        await state.set_state(self.state)
        lines = await self.lines(session, draft, locale)
        await ask(target, self.picker.text(lines), self.picker.keyboard(draft))

    def done_filter(self) -> CallbackQueryFilter:
        """The buttons "All residents" and "Continue": on to the flow's next step."""
        return AudienceCb.filter((F.flow == self.picker.flow) & F.action.in_({"everyone", "done"}))

    async def chosen(
        self,
        query: CallbackQuery,
        callback_data: AudienceCb,
        state: FSMContext,
        session: AsyncSession,
        locale: str,
    ) -> D | None:
        """The draft with its audience chosen, the question left showing the choice without
        buttons; None when the button is stale (it is answered so)."""
        draft = await self.drafts.for_button(query, state, callback_data.draft)
        if draft is None:
            return None
        if callback_data.action == "everyone":
            draft.choose_everyone()
            await self.drafts.save(state, draft)
        await query.answer()
        await replace_prompt(query, self.picker.text(await self.lines(session, draft, locale)))
        return draft

    async def pressed(
        self,
        query: CallbackQuery,
        callback_data: AudienceButton,
        state: FSMContext,
        session: AsyncSession,
        i18n: I18n,
    ) -> None:
        """A button of the question or of a list: change the choice, or show another list."""
        draft = await self.drafts.for_button(query, state, callback_data.draft)
        if draft is None:
            return
        refusal = await self._toggle(callback_data, draft, state, session)
        if refusal is not None:
            await query.answer(refusal)
            return
        await query.answer()
        view = await self._view(callback_data, draft, session, i18n.current_locale)
        await replace_prompt(query, *view)

    async def _toggle(
        self, button: AudienceButton, draft: D, state: FSMContext, session: AsyncSession
    ) -> str | None:
        """Add or remove the button's municipality or age group; why not, if refused."""
        if isinstance(button, AudienceMunicipalityCb):
            chosen = button.id in draft.municipality_ids
            if not chosen and await municipalities.get_active_by_id(session, button.id) is None:
                return _("This municipality cannot be chosen. Please choose another one.")
            draft.municipality_ids = toggled(draft.municipality_ids, button.id)
        elif isinstance(button, AudienceAgeCb):
            if button.group not in {group.value for group in AgeGroup}:
                return _("This button is no longer active.")
            draft.age_groups = toggled(draft.age_groups, button.group)
        else:
            return None
        await self.drafts.save(state, draft)
        return None

    async def _view(
        self, button: AudienceButton, draft: D, session: AsyncSession, locale: str
    ) -> tuple[str, InlineKeyboardMarkup]:
        """The question, the age groups or a page of the municipalities, as the button asks."""
        lines = await self.lines(session, draft, locale)
        picker = self.picker
        match button:
            case AudienceMunicipalityCb(page=page) | AudiencePageCb(page=page):
                pass
            case AudienceCb(action="municipalities"):
                page = 0
            case AudienceAgeCb() | AudienceCb(action="ages"):
                return picker.age_text(lines), picker.age_keyboard(draft)
            case _:
                return picker.text(lines), picker.keyboard(draft)
        active = await municipalities.list_active(session, locale)
        keyboard = picker.municipality_keyboard(draft, active, locale, page)
        return picker.municipality_text(lines), keyboard


def create_router(step: AudienceStep[D], *filters: CallbackType) -> Router:
    """The buttons of ``step``'s question and lists; ``filters`` apply to every button."""
    router = Router(name=f"audience_{step.picker.flow.name.lower()}")
    router.callback_query.filter(*filters)
    mine = F.flow == step.picker.flow
    for button in (
        AudienceCb.filter(mine & F.action.in_({"menu", "municipalities", "ages"})),
        AudiencePageCb.filter(mine),
        AudienceMunicipalityCb.filter(mine),
        AudienceAgeCb.filter(mine),
    ):
        router.callback_query.register(step.pressed, step.state, button)
    return router
