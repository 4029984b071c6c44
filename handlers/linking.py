"""Linking Telegram with Messenger, the Telegram side: /link and Nustatymai → Susieti su
Messenger; get a code to type in Messenger, or type the code Messenger showed.

The service (:mod:`bot.services.account_links`) does the linking; the texts are shared with
Messenger (:mod:`bot.channels.linking_texts`).
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels import linking_texts as texts
from bot.channels.telegram.callbacks import SettingsCb
from bot.channels.telegram.onboarding import main_menu
from bot.channels.telegram.replies import send_to_chat
from bot.config import Settings
from bot.services import account_links, residents
from bot.services.account_links import LinkOutcome
from models import Channel, Resident


class LinkCb(CallbackData, prefix="link"):
    action: str  # "code" (show a code) or "enter" (type the other app's code)


class Linking(StatesGroup):
    code = State()  # waiting for the code shown in Messenger


def link_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=texts.get_code_title(), callback_data=LinkCb(action="code"))
    builder.button(text=texts.enter_code_title(), callback_data=LinkCb(action="enter"))
    builder.adjust(2)
    return builder.as_markup()


def _offer() -> str:
    return texts.intro(Channel.TELEGRAM)


async def link_command(message: Message, settings: Settings) -> None:
    if not settings.messenger.enabled:
        await message.answer(texts.messenger_off())
        return
    await message.answer(_offer(), reply_markup=link_keyboard())


async def link_button(query: CallbackQuery, settings: Settings) -> None:
    await query.answer()
    if not settings.messenger.enabled:
        await send_to_chat(query, text=texts.messenger_off())
        return
    await send_to_chat(query, text=_offer(), reply_markup=link_keyboard())


async def get_code(
    query: CallbackQuery, session: AsyncSession, resident: Resident | None, settings: Settings
) -> None:
    await query.answer()
    if not settings.messenger.enabled:
        await send_to_chat(query, text=texts.messenger_off())
        return
    if resident is None or not resident.has_consented:
        await send_to_chat(
            query,
            text=texts.consent_first(Channel.TELEGRAM),
            reply_markup=link_keyboard(),
        )
        return
    code = await account_links.issue_code(session, resident, Channel.TELEGRAM)
    await send_to_chat(query, text=texts.code_shown(code, Channel.TELEGRAM))


async def enter_code(query: CallbackQuery, state: FSMContext, settings: Settings) -> None:
    await query.answer()
    if not settings.messenger.enabled:
        await send_to_chat(query, text=texts.messenger_off())
        return
    await state.set_state(Linking.code)
    await send_to_chat(query, text=texts.enter_prompt(Channel.TELEGRAM))


async def code_typed(
    message: Message,
    session: AsyncSession,
    resident: Resident | None,
    state: FSMContext,
    i18n: I18n,
    settings: Settings,
) -> None:
    assert message.text is not None and message.from_user is not None
    if not account_links.looks_like_code(message.text):
        await state.clear()  # not stuck waiting for a code: they may be doing something else
        await message.answer(texts.not_a_code(), reply_markup=link_keyboard())
        return
    chat = str(message.chat.id)
    if resident is None:  # wrote /link before /start: the account that types the code
        resident = await residents.get_or_create(
            session, Channel.TELEGRAM, chat, language=i18n.current_locale
        )
    result = await account_links.link(session, resident, Channel.TELEGRAM, chat, message.text)
    if result.outcome is not LinkOutcome.UNKNOWN_CODE:
        await state.clear()  # a wrong code may be typed again; anything else ends here
    if not result.linked:
        await message.answer(texts.outcome(result.outcome, Channel.TELEGRAM))
        return
    kept = result.resident
    language = kept.language if kept.language in i18n.available_locales else i18n.current_locale
    with i18n.use_locale(language):
        if kept.is_onboarded:
            await message.answer(**main_menu(texts.outcome(result.outcome, Channel.TELEGRAM)))
        else:
            await message.answer(texts.outcome(result.outcome, Channel.TELEGRAM))


def create_router() -> Router:
    router = Router(name="linking")
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    router.message.register(link_command, Command("link"))
    router.callback_query.register(link_button, SettingsCb.filter(F.action == "link"))
    router.callback_query.register(get_code, LinkCb.filter(F.action == "code"))
    router.callback_query.register(enter_code, LinkCb.filter(F.action == "enter"))
    router.message.register(code_typed, StateFilter(Linking.code), F.text, ~F.text.startswith("/"))
    return router
