"""Settings: language, municipality, age group, privacy notice and help."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.telegram.callbacks import (
    AgeGroupCb,
    LanguageCb,
    MunicipalityCb,
    Purpose,
    SettingsCb,
    parse_age_group,
)
from bot.channels.telegram.filters import MenuButton, Onboarded
from bot.channels.telegram.keyboards import language_keyboard, settings_keyboard
from bot.channels.telegram.onboarding import (
    age_group_prompt,
    main_menu,
    municipality_prompt,
    show_step,
)
from bot.channels.telegram.replies import replace_prompt, send_to_chat
from bot.channels.telegram.texts import age_group_label, help_text, privacy_full
from bot.config import SUPPORTED_LOCALES, Settings
from bot.services import residents
from models import Resident

LANGUAGE_NAMES = {"lt": "lietuvių", "en": "English"}


def profile_summary(resident: Resident, locale: str) -> str:
    municipality = resident.municipality.short_name(locale) if resident.municipality else "–"
    age = age_group_label(resident.age_group) if resident.age_group else _("not given")
    return _(
        "<b>My data and settings</b>\n\nLanguage: {language}\nMunicipality: {municipality}\n"
        "Age group: {age}"
    ).format(
        language=LANGUAGE_NAMES.get(resident.language, resident.language),
        municipality=municipality,
        age=age,
    )


async def help_command(message: Message) -> None:
    await message.answer(help_text())


async def privacy_command(message: Message) -> None:
    await message.answer(privacy_full())


async def language_command(message: Message) -> None:
    await message.answer(_("Choose the language:"), reply_markup=language_keyboard())


async def finish_onboarding_first(
    message: Message,
    resident: Resident | None,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    await message.answer(_("Let us first finish the first steps."))
    await show_step(message, resident, session, settings, i18n.current_locale)


async def municipality_command(message: Message, session: AsyncSession, i18n: I18n) -> None:
    await message.answer(
        **await municipality_prompt(session, i18n.current_locale, Purpose.SETTINGS)
    )


async def settings_menu(message: Message, resident: Resident, i18n: I18n) -> None:
    await message.answer(
        profile_summary(resident, i18n.current_locale), reply_markup=settings_keyboard()
    )


async def settings_language(query: CallbackQuery) -> None:
    await query.answer()
    await send_to_chat(query, text=_("Choose the language:"), reply_markup=language_keyboard())


async def settings_privacy(query: CallbackQuery) -> None:
    await query.answer()
    await send_to_chat(query, text=privacy_full())


async def settings_municipality(query: CallbackQuery, session: AsyncSession, i18n: I18n) -> None:
    await query.answer()
    await send_to_chat(
        query, **await municipality_prompt(session, i18n.current_locale, Purpose.SETTINGS)
    )


async def settings_age(query: CallbackQuery) -> None:
    await query.answer()
    await send_to_chat(query, **age_group_prompt(Purpose.SETTINGS))


async def language_chosen(
    query: CallbackQuery, callback_data: LanguageCb, resident: Resident | None, i18n: I18n
) -> None:
    if callback_data.code not in SUPPORTED_LOCALES:
        await query.answer(_("This button is no longer active."))
        return
    if resident is not None:
        residents.set_language(resident, callback_data.code)
    with i18n.use_locale(callback_data.code):
        await query.answer()
        await replace_prompt(
            query, _("Language: {language}").format(language=LANGUAGE_NAMES[callback_data.code])
        )
        if resident is not None and resident.is_onboarded:
            await send_to_chat(query, **main_menu())


async def municipality_changed(
    query: CallbackQuery,
    callback_data: MunicipalityCb,
    session: AsyncSession,
    resident: Resident,
    i18n: I18n,
) -> None:
    if not await residents.set_municipality(session, resident, callback_data.id):
        await query.answer(
            _("This municipality cannot be chosen. Please choose another one."), show_alert=True
        )
        return
    assert resident.municipality is not None
    await query.answer(_("Saved."))
    await replace_prompt(
        query,
        _("Your municipality: {name}").format(
            name=resident.municipality.short_name(i18n.current_locale)
        ),
    )


async def age_group_changed(
    query: CallbackQuery, callback_data: AgeGroupCb, resident: Resident
) -> None:
    valid, group = parse_age_group(callback_data.group)
    if not valid:
        await query.answer(_("This button is no longer active."))
        return
    residents.set_age_group(resident, group)
    await query.answer(_("Saved."))
    label = age_group_label(group) if group else _("not given")
    await replace_prompt(query, _("Age group: {group}").format(group=label))


def create_router() -> Router:
    router = Router(name="settings")
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    router.message.register(help_command, Command("help"))
    router.message.register(privacy_command, Command("privacy"))
    router.message.register(language_command, Command("language"))
    router.message.register(municipality_command, Command("municipality"), Onboarded())
    router.message.register(finish_onboarding_first, Command("municipality"))
    router.message.register(settings_menu, MenuButton("settings"), Onboarded())
    router.callback_query.register(settings_language, SettingsCb.filter(F.action == "language"))
    router.callback_query.register(settings_privacy, SettingsCb.filter(F.action == "privacy"))
    router.callback_query.register(
        settings_municipality, SettingsCb.filter(F.action == "municipality"), Onboarded()
    )
    router.callback_query.register(settings_age, SettingsCb.filter(F.action == "age"), Onboarded())
    router.callback_query.register(language_chosen, LanguageCb.filter())
    router.callback_query.register(
        municipality_changed, MunicipalityCb.filter(F.purpose == Purpose.SETTINGS), Onboarded()
    )
    router.callback_query.register(
        age_group_changed, AgeGroupCb.filter(F.purpose == Purpose.SETTINGS), Onboarded()
    )
    return router
