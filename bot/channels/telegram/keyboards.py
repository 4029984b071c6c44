"""Keyboards residents see. Labels go through gettext; callback data carries ids only."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.channels.telegram.callbacks import (
    AGE_GROUP_NONE,
    AgeGroupCb,
    ConsentCb,
    ForgetCb,
    LanguageCb,
    MunicipalityCb,
    MunicipalityPageCb,
    NotificationsCb,
    Purpose,
    SettingsCb,
)
from bot.channels.telegram.texts import age_group_label, menu_label
from bot.services.residents import Preference
from models import AgeGroup, Municipality

MUNICIPALITIES_PER_PAGE = 12
MUNICIPALITY_COLUMNS = 2


def consent_keyboard(privacy_url: str | None) -> InlineKeyboardMarkup:
    details = (
        InlineKeyboardButton(text=_("Read the full privacy notice"), url=privacy_url)
        if privacy_url
        else InlineKeyboardButton(
            text=_("Read the full privacy notice"),
            callback_data=ConsentCb(action="details").pack(),
        )
    )
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("I agree"), callback_data=ConsentCb(action="agree").pack()
                )
            ],
            [details],
        ]
    )


def page_count(total: int) -> int:
    return max(1, math.ceil(total / MUNICIPALITIES_PER_PAGE))


def municipality_keyboard(
    municipalities: Sequence[Municipality], locale: str, purpose: Purpose, page: int = 0
) -> InlineKeyboardMarkup:
    pages = page_count(len(municipalities))
    page = min(max(page, 0), pages - 1)
    start = page * MUNICIPALITIES_PER_PAGE
    builder = InlineKeyboardBuilder()
    for municipality in municipalities[start : start + MUNICIPALITIES_PER_PAGE]:
        builder.button(
            text=municipality.short_name(locale),
            callback_data=MunicipalityCb(purpose=purpose, id=municipality.id),
        )
    builder.adjust(MUNICIPALITY_COLUMNS)
    if pages > 1:
        navigation = [
            InlineKeyboardButton(
                text=_("◀ Back"),
                callback_data=MunicipalityPageCb(purpose=purpose, page=(page - 1) % pages).pack(),
            ),
            InlineKeyboardButton(
                text=f"{page + 1} / {pages}",
                callback_data=MunicipalityPageCb(purpose=purpose, page=page).pack(),
            ),
            InlineKeyboardButton(
                text=_("Next ▶"),
                callback_data=MunicipalityPageCb(purpose=purpose, page=(page + 1) % pages).pack(),
            ),
        ]
        builder.row(*navigation)
    return builder.as_markup()


def age_group_keyboard(purpose: Purpose) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for group in AgeGroup:
        builder.button(
            text=age_group_label(group),
            callback_data=AgeGroupCb(purpose=purpose, group=group.value),
        )
    builder.adjust(2)
    builder.row(
        InlineKeyboardButton(
            text=_("I'd rather not say"),
            callback_data=AgeGroupCb(purpose=purpose, group=AGE_GROUP_NONE).pack(),
        )
    )
    return builder.as_markup()


def main_menu_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=menu_label("polls")), KeyboardButton(text=menu_label("events"))],
            [KeyboardButton(text=menu_label("proposal"))],
            [KeyboardButton(text=menu_label("settings"))],
        ],
        resize_keyboard=True,
        is_persistent=True,
    )


def settings_keyboard() -> InlineKeyboardMarkup:
    rows = [
        (_("Language"), "language"),
        (_("Municipality"), "municipality"),
        (_("Age group"), "age"),
        (_("Message settings"), "notifications"),
        (_("Download my data"), "mydata"),
        (_("Privacy notice"), "privacy"),
        (_("Delete my data"), "forget"),
        (_("Link with Messenger"), "link"),
    ]
    builder = InlineKeyboardBuilder()
    for text, action in rows:
        builder.button(text=text, callback_data=SettingsCb(action=action))
    builder.adjust(2, 1, 1, 1, 1, 1, 1)
    return builder.as_markup()


def notifications_keyboard(chosen: Mapping[Preference, bool]) -> InlineKeyboardMarkup:
    """One toggle per kind of message, and muting them all; ✓ marks what is on."""
    labels = {
        Preference.ANNOUNCEMENTS: _("Announcements"),
        Preference.POLLS: _("Polls"),
        Preference.EVENTS: _("Events"),
        Preference.MUTED: _("Mute everything"),
    }
    builder = InlineKeyboardBuilder()
    for preference, label in labels.items():
        builder.button(
            text=("✓ " if chosen[preference] else "") + label,
            callback_data=NotificationsCb(preference=preference.value, on=not chosen[preference]),
        )
    builder.adjust(1)
    return builder.as_markup()


def language_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Lietuvių", callback_data=LanguageCb(code="lt").pack()),
                InlineKeyboardButton(text="English", callback_data=LanguageCb(code="en").pack()),
            ]
        ]
    )


def forget_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Yes, delete my data"),
                    callback_data=ForgetCb(action="confirm").pack(),
                )
            ],
            [
                InlineKeyboardButton(
                    text=_("No, keep my data"), callback_data=ForgetCb(action="cancel").pack()
                )
            ],
        ]
    )
