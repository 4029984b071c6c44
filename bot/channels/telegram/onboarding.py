"""The resident's next onboarding step, derived from what is stored about them.

Consent, municipality and age group are asked in this order; the step shown is always
computed from the database, so old buttons, double taps and restarts cannot skip or repeat
a step.
"""

from __future__ import annotations

import re
from enum import Enum, auto
from typing import Any

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.telegram.callbacks import Purpose
from bot.channels.telegram.keyboards import (
    age_group_keyboard,
    consent_keyboard,
    main_menu_keyboard,
    municipality_keyboard,
)
from bot.channels.telegram.texts import privacy_summary
from bot.config import Settings
from bot.services import municipalities
from models import Resident

# A link into the bot (/start poll_12, m.me/<page>?ref=poll_12) that a newcomer's onboarding
# keeps as their source and opens at its end: Telegram's deep-link parameters (A-Z, a-z, 0-9,
# _ and -, up to 64 characters), which are also the ones the bot makes for Messenger.
LINK_PARAMETER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Step(Enum):
    CONSENT = auto()
    MUNICIPALITY = auto()
    AGE_GROUP = auto()
    DONE = auto()


def next_step(resident: Resident | None) -> Step:
    if resident is None or not resident.has_consented:
        return Step.CONSENT
    if resident.municipality_id is None:
        return Step.MUNICIPALITY
    if not resident.is_onboarded:
        return Step.AGE_GROUP
    return Step.DONE


async def municipality_prompt(
    session: AsyncSession, locale: str, purpose: Purpose, page: int = 0
) -> dict[str, Any]:
    active = await municipalities.list_active(session, locale)
    if purpose is Purpose.PROPOSAL:
        text = _("Which municipality is the proposal for?")
    else:
        text = _("Which municipality do you live in?")
    return {
        "text": text,
        "reply_markup": municipality_keyboard(active, locale, purpose, page),
    }


def age_group_prompt(purpose: Purpose) -> dict[str, Any]:
    return {
        "text": _(
            "Which age group are you in? This helps the municipality hear people of all ages. "
            "You may skip this question."
        ),
        "reply_markup": age_group_keyboard(purpose),
    }


def main_menu(greeting: str | None = None) -> dict[str, Any]:
    text = _("Choose what you would like to do using the buttons below.")
    return {
        "text": f"{greeting}\n\n{text}" if greeting else text,
        "reply_markup": main_menu_keyboard(),
    }


async def show_step(
    message: Message,
    resident: Resident | None,
    session: AsyncSession,
    settings: Settings,
    locale: str,
) -> Step:
    """Send the prompt of the resident's next step; returns which step it was."""
    step = next_step(resident)
    if step is Step.CONSENT:
        await message.answer(privacy_summary(), reply_markup=consent_keyboard(settings.privacy_url))
    elif step is Step.MUNICIPALITY:
        await message.answer(**await municipality_prompt(session, locale, Purpose.ONBOARDING))
    elif step is Step.AGE_GROUP:
        await message.answer(**age_group_prompt(Purpose.ONBOARDING))
    else:
        await message.answer(**main_menu())
    return step
