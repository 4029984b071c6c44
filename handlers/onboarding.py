"""A resident's first steps: /start, consent, municipality, age group, main menu."""

from __future__ import annotations

import html

from aiogram import Bot, F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.event_messages import event_link_from_payload
from bot.channels.telegram.callbacks import (
    AgeGroupCb,
    ConsentCb,
    MunicipalityCb,
    MunicipalityPageCb,
    Purpose,
    parse_age_group,
)
from bot.channels.telegram.onboarding import (
    LINK_PARAMETER,
    Step,
    age_group_prompt,
    main_menu,
    municipality_prompt,
    next_step,
    show_step,
)
from bot.channels.telegram.replies import replace_prompt, send_to_chat
from bot.channels.telegram.texts import age_group_label, privacy_full, privacy_summary
from bot.config import Settings
from bot.services import residents
from handlers import events, poll_answering
from models import Channel, Resident


async def start(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    resident: Resident | None,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    assert message.from_user is not None
    payload = command.args.strip() if command.args else None
    if payload and LINK_PARAMETER.match(payload):
        await state.update_data(start_payload=payload)
    if resident is None:
        resident = await residents.get_or_create(
            session, Channel.TELEGRAM, str(message.from_user.id), language=settings.default_locale
        )
    name = html.escape(message.from_user.first_name)
    if resident.is_onboarded:
        await message.answer(**main_menu(_("Welcome back, {name}!").format(name=name)))
        await _open_link(
            message.bot, message.chat.id, payload, session, resident, state, settings, i18n
        )
        return
    await message.answer(
        _(
            "Hello, {name}! I am Dalyvauk, the participation bot of your municipality. "
            "Here you can answer polls, register for consultations and trainings, and send "
            "proposals to the municipality."
        ).format(name=name)
    )
    await show_step(message, resident, session, settings, i18n.current_locale)


async def consent_details(query: CallbackQuery) -> None:
    await query.answer()
    await send_to_chat(query, text=privacy_full())


async def consent_given(
    query: CallbackQuery,
    session: AsyncSession,
    resident: Resident | None,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    if resident is None:
        resident = await residents.get_or_create(
            session, Channel.TELEGRAM, str(query.from_user.id), language=i18n.current_locale
        )
    source = (await state.get_data()).get("start_payload")
    if not residents.give_consent(resident, source=source):
        await query.answer(_("You have already agreed."))
        return
    await query.answer(_("Thank you!"))
    await replace_prompt(query, privacy_summary() + "\n\n✅ " + _("You agreed."))
    await send_to_chat(
        query, **await municipality_prompt(session, i18n.current_locale, Purpose.ONBOARDING)
    )


async def municipality_page(
    query: CallbackQuery,
    callback_data: MunicipalityPageCb,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    await query.answer()
    prompt = await municipality_prompt(
        session, i18n.current_locale, callback_data.purpose, callback_data.page
    )
    await replace_prompt(query, prompt["text"], prompt["reply_markup"])


async def municipality_chosen(
    query: CallbackQuery,
    callback_data: MunicipalityCb,
    session: AsyncSession,
    resident: Resident | None,
    i18n: I18n,
) -> None:
    if next_step(resident) is not Step.MUNICIPALITY:
        await query.answer(_("This button is no longer active."))
        return
    assert resident is not None
    if not await residents.set_municipality(session, resident, callback_data.id):
        await query.answer(
            _("This municipality cannot be chosen. Please choose another one."), show_alert=True
        )
        return
    assert resident.municipality is not None
    await query.answer()
    await replace_prompt(
        query,
        _("Your municipality: {name}").format(
            name=resident.municipality.short_name(i18n.current_locale)
        ),
    )
    await send_to_chat(query, **age_group_prompt(Purpose.ONBOARDING))


async def age_group_chosen(
    query: CallbackQuery,
    callback_data: AgeGroupCb,
    resident: Resident | None,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    valid, group = parse_age_group(callback_data.group)
    if next_step(resident) is not Step.AGE_GROUP or not valid:
        await query.answer(_("This button is no longer active."))
        return
    assert resident is not None
    residents.set_age_group(resident, group)
    residents.finish_onboarding(resident)
    payload = (await state.get_data()).get("start_payload")
    await state.update_data(start_payload=None)
    await query.answer()
    label = age_group_label(group) if group else _("not given")
    await replace_prompt(query, _("Age group: {group}").format(group=label))
    await send_to_chat(query, **main_menu(_("Thank you, you are all set!")))
    await _open_link(
        query.bot, query.from_user.id, payload, session, resident, state, settings, i18n
    )


async def _open_link(
    bot: Bot | None,
    chat_id: int,
    payload: str | None,
    session: AsyncSession,
    resident: Resident,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    """What a poster's or link's deep link opens: a poll (/start poll_12) or an event
    (/start evt_12, or evt_12_<tag> to record which poster brought the registration)."""
    if bot is None:
        return
    locale = i18n.current_locale
    poll_id = poll_answering.poll_id_from_payload(payload)
    if poll_id is not None:
        await poll_answering.open_poll(
            bot,
            chat_id,
            poll_id,
            session=session,
            resident=resident,
            state=state,
            settings=settings,
            locale=locale,
        )
    link = event_link_from_payload(payload)
    if link is not None:
        await events.open_event(
            bot,
            chat_id,
            link[0],
            session=session,
            resident=resident,
            state=state,
            settings=settings,
            locale=locale,
            source=link[1],
        )


def create_router() -> Router:
    router = Router(name="onboarding")
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    router.message.register(start, CommandStart())
    router.callback_query.register(consent_details, ConsentCb.filter(F.action == "details"))
    router.callback_query.register(consent_given, ConsentCb.filter(F.action == "agree"))
    router.callback_query.register(municipality_page, MunicipalityPageCb.filter())
    router.callback_query.register(
        municipality_chosen, MunicipalityCb.filter(F.purpose == Purpose.ONBOARDING)
    )
    router.callback_query.register(
        age_group_chosen, AgeGroupCb.filter(F.purpose == Purpose.ONBOARDING)
    )
    return router
