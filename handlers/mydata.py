"""A resident's own data: download it (/mydata) or erase it (/forget)."""

from __future__ import annotations

import json

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels import linking_texts
from bot.channels.telegram import proposal_cards
from bot.channels.telegram.after_commit import after_commit
from bot.channels.telegram.callbacks import ForgetCb, SettingsCb
from bot.channels.telegram.keyboards import forget_keyboard
from bot.channels.telegram.replies import replace_prompt, send_to_chat
from bot.config import Settings
from bot.services import residents
from models import Resident

EXPORT_FILENAME = "dalyvauk-mano-duomenys.json"


async def export_file(session: AsyncSession, resident: Resident) -> BufferedInputFile:
    data = await residents.export_data(session, resident)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return BufferedInputFile(body.encode("utf-8"), filename=EXPORT_FILENAME)


def forget_question() -> str:
    return _(
        "Do you want to delete all your data? Your profile, answers, registrations and "
        "proposals will be deleted and cannot be restored. Anonymous totals, such as the "
        "number of votes or participants, will stay."
    )


async def data_caption(session: AsyncSession, resident: Resident) -> str:
    """The export's caption; a linked resident also reads which apps the profile has."""
    caption = _("Here is everything we keep about you.")
    channels = [a.channel for a in await residents.accounts(session, resident.id)]
    apps = linking_texts.linked_apps(channels)
    return f"{caption}\n{apps}" if apps else caption


async def mydata_command(
    message: Message, session: AsyncSession, resident: Resident | None
) -> None:
    if resident is None:
        await message.answer(_("We do not keep any data about you."))
        return
    await message.answer_document(
        await export_file(session, resident), caption=await data_caption(session, resident)
    )


async def mydata_button(
    query: CallbackQuery, session: AsyncSession, resident: Resident | None
) -> None:
    await query.answer()
    if resident is None:
        await send_to_chat(query, text=_("We do not keep any data about you."))
        return
    assert query.message is not None and query.bot is not None
    await query.bot.send_document(
        query.message.chat.id,
        await export_file(session, resident),
        caption=await data_caption(session, resident),
    )


async def forget_command(message: Message, resident: Resident | None) -> None:
    if resident is None:
        await message.answer(_("We do not keep any data about you."))
        return
    await message.answer(forget_question(), reply_markup=forget_keyboard())


async def forget_button(query: CallbackQuery, resident: Resident | None) -> None:
    await query.answer()
    if resident is None:
        await send_to_chat(query, text=_("We do not keep any data about you."))
        return
    await send_to_chat(query, text=forget_question(), reply_markup=forget_keyboard())


async def forget_cancelled(query: CallbackQuery) -> None:
    await query.answer()
    await replace_prompt(query, _("Nothing was deleted."))


async def forget_confirmed(
    query: CallbackQuery,
    session: AsyncSession,
    resident: Resident | None,
    state: FSMContext,
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    i18n: I18n,
    settings: Settings,
) -> None:
    if resident is None:
        await query.answer(_("Your data has already been deleted."))
        return
    erased = await residents.erase(session, resident)
    # The moderators' cards of the resident's proposals show what is left of them.
    if erased:
        ids = [card.proposal_id for card in erased]
        after_commit(
            session, lambda: proposal_cards.redraw_cards(bot, session_factory, i18n, settings, ids)
        )
    await state.clear()
    await query.answer()
    await replace_prompt(query, _("Your data has been deleted."))
    await send_to_chat(
        query,
        text=_("Goodbye! If you want to take part again, press /start."),
        reply_markup=ReplyKeyboardRemove(),
    )


def create_router() -> Router:
    router = Router(name="mydata")
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    router.message.register(mydata_command, Command("mydata"))
    router.callback_query.register(mydata_button, SettingsCb.filter(F.action == "mydata"))
    router.message.register(forget_command, Command("forget"))
    router.callback_query.register(forget_button, SettingsCb.filter(F.action == "forget"))
    router.callback_query.register(forget_cancelled, ForgetCb.filter(F.action == "cancel"))
    router.callback_query.register(forget_confirmed, ForgetCb.filter(F.action == "confirm"))
    return router
