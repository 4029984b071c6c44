"""Texts used in more than one handler. Every string goes through gettext."""

from __future__ import annotations

from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from models import AgeGroup


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


_MENU_LABELS = {
    "polls": N_("Polls"),
    "events": N_("Events"),
    "proposal": N_("Submit a proposal"),
    "settings": N_("My data and settings"),
}


def menu_label(key: str) -> str:
    return _(_MENU_LABELS[key])


def menu_label_in_every_locale(key: str) -> frozenset[str]:
    """The label as any locale shows it, so a keyboard sent before a language switch works."""
    i18n = get_i18n()
    msgid = _MENU_LABELS[key]
    return frozenset(i18n.gettext(msgid, locale=loc) for loc in i18n.available_locales) | {msgid}


def age_group_label(group: AgeGroup) -> str:
    labels = {
        AgeGroup.UNDER_18: _("under 18"),
        AgeGroup.AGE_18_29: _("18–29"),
        AgeGroup.AGE_30_44: _("30–44"),
        AgeGroup.AGE_45_64: _("45–64"),
        AgeGroup.AGE_65_PLUS: _("65 and older"),
    }
    return labels[group]


def privacy_summary() -> str:
    return _(
        "Before we start, please read how we use your data.\n\n"
        "We keep only what is needed to take part: your chat id, your municipality, "
        "an age group if you choose to give one, your language, and your answers, "
        "registrations and proposals. We use them only to run consultations with your "
        "municipality. You can download or delete your data at any time.\n\n"
        "Do you agree?"
    )


def privacy_full() -> str:
    return _(
        "<b>Privacy notice</b>\n\n"
        "<b>Who processes the data.</b> The organisation running this bot for your "
        "municipality, together with the municipality's moderators.\n\n"
        "<b>What we keep.</b> Your chat id (needed to reply to you), your language, your "
        "municipality, an optional age group, and what you send us: answers to polls, "
        "registrations for events and proposals. We do not keep your name or phone number.\n\n"
        "<b>Why.</b> To let you take part in local decisions: polls, consultations, "
        "trainings, discussions and proposals to your municipality. The legal basis is "
        "your consent.\n\n"
        "<b>Research.</b> Results are shared with researchers only under pseudonyms, "
        "never with your chat id.\n\n"
        "<b>Your rights.</b> /mydata sends you everything we keep about you. /forget "
        "deletes it; anonymous totals (such as the number of votes) stay. You can also "
        "withdraw consent by deleting your data."
    )


def help_text() -> str:
    return _(
        "<b>How to use this bot</b>\n\n"
        "Use the buttons under the message field:\n"
        "• <b>Polls</b> – answer questions from your municipality;\n"
        "• <b>Events</b> – consultations, trainings and discussions you can register for;\n"
        "• <b>Submit a proposal</b> – send an idea to your municipality;\n"
        "• <b>My data and settings</b> – language, municipality, your data.\n\n"
        "Commands: /start – start again, /language – change the language, "
        "/municipality – change the municipality, /privacy – privacy notice, "
        "/mydata – download my data, /forget – delete my data."
    )
