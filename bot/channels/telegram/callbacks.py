"""Typed callback data for every inline button (ids only: Telegram allows 64 bytes)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from models import AgeGroup


class Purpose(StrEnum):
    """Why a choice is asked: as a step of onboarding, from the settings, or for a proposal
    (the municipality it is for)."""

    ONBOARDING = "o"
    SETTINGS = "s"
    PROPOSAL = "p"


class ConsentCb(CallbackData, prefix="consent"):
    action: str  # "agree" or "details"


class MunicipalityPageCb(CallbackData, prefix="munp"):
    purpose: Purpose
    page: int


class MunicipalityCb(CallbackData, prefix="mun"):
    purpose: Purpose
    id: int


class AgeGroupCb(CallbackData, prefix="age"):
    purpose: Purpose
    group: str  # an AgeGroup value, or "none"


class LanguageCb(CallbackData, prefix="lang"):
    code: str


class SettingsCb(CallbackData, prefix="set"):
    action: str  # language, municipality, age, mydata, privacy, forget, link


class ForgetCb(CallbackData, prefix="forget"):
    action: str  # "confirm" or "cancel"


AGE_GROUP_NONE = "none"


def parse_age_group(value: str) -> tuple[bool, AgeGroup | None]:
    """(valid, group) from callback data: a known group, or "none" for no answer."""
    if value == AGE_GROUP_NONE:
        return True, None
    try:
        return True, AgeGroup(value)
    except ValueError:
        return False, None


class AnnounceCb(CallbackData, prefix="ann"):
    """A step of composing an announcement; ``draft`` ties the button to one composition."""

    draft: int
    action: str  # nobutton, button, send, schedule, discard (the audience step: audience_picker)


class BroadcastCancelCb(CallbackData, prefix="bcx"):
    id: int


class NotificationsCb(CallbackData, prefix="notif"):
    """Set a preference to ``on`` (the value the button offers, so a double tap is harmless)."""

    preference: str  # a residents.Preference value
    on: bool
