"""A resident's message settings: which kinds of messages they get, or none at all."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.channels.telegram.callbacks import NotificationsCb, SettingsCb
from bot.channels.telegram.filters import Onboarded
from bot.channels.telegram.keyboards import notifications_keyboard
from bot.channels.telegram.replies import replace_prompt, send_to_chat
from bot.config import Settings
from bot.services import residents
from bot.services.residents import Preference
from models import Resident


def notifications_text(resident: Resident, settings: Settings) -> str:
    lines = [
        _("<b>Message settings</b>"),
        _(
            "Choose which messages you want to receive. Press a button to turn it on or off: "
            "✓ means on."
        ),
    ]
    if resident.muted:
        lines.append(
            _("All messages are muted now: you will get no announcements, polls or events.")
        )
    start, end = settings.quiet_hours_start, settings.quiet_hours_end
    if start != end:
        lines.append(
            _("From {start} to {end} we do not send messages.").format(
                start=start.strftime("%H:%M"), end=end.strftime("%H:%M")
            )
        )
    return "\n\n".join(lines)


async def show_notifications(query: CallbackQuery, resident: Resident, settings: Settings) -> None:
    await query.answer()
    await send_to_chat(
        query,
        text=notifications_text(resident, settings),
        reply_markup=notifications_keyboard(residents.preferences(resident)),
    )


async def preference_toggled(
    query: CallbackQuery, callback_data: NotificationsCb, resident: Resident, settings: Settings
) -> None:
    try:
        preference = Preference(callback_data.preference)
    except ValueError:
        await query.answer(_("This button is no longer active."))
        return
    residents.set_preference(resident, preference, callback_data.on)
    await query.answer(_("Saved."))
    await replace_prompt(
        query,
        notifications_text(resident, settings),
        notifications_keyboard(residents.preferences(resident)),
    )


def create_router() -> Router:
    router = Router(name="notifications")
    router.callback_query.filter(F.message.chat.type == "private", Onboarded())
    router.callback_query.register(
        show_notifications, SettingsCb.filter(F.action == "notifications")
    )
    router.callback_query.register(preference_toggled, NotificationsCb.filter())
    return router
