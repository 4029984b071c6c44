"""What residents read when they link Telegram and Messenger: the same words in both apps.

Plain text (no HTML), so Telegram sends it as it is and Messenger too.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiogram.utils.i18n import gettext as _

from bot.services.account_links import CODE_TTL, LinkOutcome, format_code
from models import Channel

APP_NAMES = {Channel.TELEGRAM: "Telegram", Channel.MESSENGER: "Messenger"}
MINUTES = int(CODE_TTL.total_seconds() // 60)


def other_app(channel: Channel) -> Channel:
    return Channel.MESSENGER if channel is Channel.TELEGRAM else Channel.TELEGRAM


def get_code_title() -> str:
    return _("Get a code")


def enter_code_title() -> str:
    return _("Enter a code")


def intro(channel: Channel) -> str:
    """The offer, in ``channel`` (the app the resident is in now)."""
    return _(
        "Do you use both Telegram and Messenger? Link them: you will have one profile, one "
        "consent and the same data in both apps, and we will write to you in the app you "
        "last wrote from.\n\n"
        "Get a code here and type it in {other}, or enter the code you see in {other}."
    ).format(other=APP_NAMES[other_app(channel)])


def code_shown(code: str, channel: Channel) -> str:
    """The new code, shown in ``channel``."""
    if channel is Channel.TELEGRAM:
        where = _("Within {minutes} min. write it to our Facebook page in the Messenger app.")
    else:
        where = _("Within {minutes} min. write it to our bot in the Telegram app.")
    return (
        _("Your code: {code}.").format(code=format_code(code)) + " " + where.format(minutes=MINUTES)
    )


def enter_prompt(channel: Channel) -> str:
    return _("Type the code you see in {other} (for example, ACEF-HJKL).").format(
        other=APP_NAMES[other_app(channel)]
    )


def not_a_code() -> str:
    return _(
        "This does not look like a code: it has 8 letters, for example ACEF-HJKL. To try "
        "again, choose „{enter}“ once more."
    ).format(enter=enter_code_title())


def messenger_off() -> str:
    return _("This service does not use Messenger, so there is nothing to link with.")


def consent_first(channel: Channel) -> str:
    return _(
        "A code can be shown once you have agreed to the privacy notice and chosen your "
        "municipality. If you already take part in {other}, enter the code shown there "
        "instead."
    ).format(other=APP_NAMES[other_app(channel)])


def outcome(result: LinkOutcome, channel: Channel) -> str:
    """The answer to a typed code, typed in ``channel``."""
    other = APP_NAMES[other_app(channel)]
    if result is LinkOutcome.LINKED:
        return _(
            "Done: your Telegram and Messenger are linked. It is one profile now: your "
            "settings, answers and registrations are the same in both apps, and we will "
            "write to you in the app you last wrote from."
        )
    if result is LinkOutcome.SAME_APP:
        return _("This code was shown here: type it in {other}.").format(other=other)
    if result is LinkOutcome.ALREADY_LINKED:
        return _("Your Telegram and Messenger are already linked.")
    if result is LinkOutcome.OTHER_APP_TAKEN:
        return _(
            "These apps cannot be linked: one of the two profiles is already linked with "
            "another account. A profile can have one Telegram and one Messenger account."
        )
    if result is LinkOutcome.THROTTLED:
        return _("Too many wrong codes. Please try again in {minutes} min.").format(minutes=MINUTES)
    return _(
        "This code does not work: it may be mistyped or older than {minutes} min. Check it "
        "or get a new one in {other}."
    ).format(minutes=MINUTES, other=other)


def linked_apps(channels: Iterable[Channel]) -> str | None:
    """ "Linked apps: Telegram and Messenger." — None for a single app."""
    names = [APP_NAMES[c] for c in channels]
    if len(names) < 2:
        return None
    return _("Linked apps: {first} and {second}.").format(first=names[0], second=names[1])
