"""Nustatymai on Messenger: the profile summary, and changing the municipality, the age group,
which bulk messages the resident gets (or muting them all) and the language.

The same services and texts as Telegram's settings (``handlers.settings``,
``handlers.notifications``); the municipality chooser and the age group question are
onboarding's, with this flow's payloads:

``settings``                    the summary and what can be changed
``settings:mun[:<id>]``         the chooser (typed names too) / choose one
``settings:munp:<page>``        the chooser's next page ("Daugiau")
``settings:age[:<group>]``      the age group question / choose one
``settings:msg[:<kind>:on|off]`` message preferences / turn one on or off
``settings:lang``               the language (onboarding's handler)
"""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.channels.messenger import menu, onboarding
from bot.channels.messenger.context import MessengerContext
from bot.channels.messenger.messages import OutMessage, QuickReply, html_to_text, short_title
from bot.channels.messenger.router import MessengerRouter
from bot.channels.telegram.callbacks import parse_age_group
from bot.channels.telegram.texts import N_, age_group_label
from bot.services import residents
from bot.services.residents import Preference
from handlers.notifications import notifications_text
from handlers.settings import profile_summary

router = MessengerRouter("settings")

PREFIX = "settings"
MUNICIPALITY_STATE = "settings:municipality"  # the chooser is shown: a typed name picks one

# What the summary offers to change: (label, payload).
CHOICES = (
    (N_("Municipality"), "settings:mun"),
    (N_("Age group"), "settings:age"),
    (N_("Messages"), "settings:msg"),
    (N_("Language"), "settings:lang"),
    (N_("Menu"), "menu"),
)
# The kinds of bulk messages as the summary lists them.
KINDS = (
    (Preference.ANNOUNCEMENTS, N_("Announcements")),
    (Preference.POLLS, N_("Polls")),
    (Preference.EVENTS, N_("Events")),
)
# Quick replies that turn a preference on / off.
TOGGLES = {
    Preference.ANNOUNCEMENTS: (N_("Get announcements"), N_("Stop announcements")),
    Preference.POLLS: (N_("Get polls"), N_("Stop polls")),
    Preference.EVENTS: (N_("Get events"), N_("Stop events")),
    Preference.MUTED: (N_("Mute everything"), N_("Unmute everything")),
}
SWITCH = {"on": True, "off": False}


def settings_message(ctx: MessengerContext, text: str | None = None) -> OutMessage:
    """The profile summary (``text`` said first) with what can be changed."""
    summary = html_to_text(profile_summary(ctx.resident, ctx.locale))
    prompt = _("What would you like to change?")
    body = f"{summary}\n\n{prompt}"
    return OutMessage(
        text=f"{text}\n\n{body}" if text else body,
        quick_replies=tuple(QuickReply(short_title(_(label)), p) for label, p in CHOICES),
    )


def preferences_message(ctx: MessengerContext, text: str | None = None) -> OutMessage:
    """Which kinds of messages are on (✓) or off (✗), and a toggle for each, muting too."""
    chosen = residents.preferences(ctx.resident)
    explanation = html_to_text(notifications_text(ctx.resident, ctx.settings))
    kinds = "\n".join(f"{'✓' if chosen[p] else '✗'} {_(label)}" for p, label in KINDS)
    body = f"{explanation}\n\n{kinds}"
    replies = [
        QuickReply(
            short_title(_(TOGGLES[p][1] if chosen[p] else TOGGLES[p][0])),
            f"settings:msg:{p.value}:{'off' if chosen[p] else 'on'}",
        )
        for p in Preference
    ]
    replies.append(QuickReply(short_title(_("Settings")), "settings"))
    replies.append(QuickReply(short_title(_("Menu")), "menu"))
    return OutMessage(text=f"{text}\n\n{body}" if text else body, quick_replies=tuple(replies))


async def leave_chooser(ctx: MessengerContext) -> None:
    """No longer waiting for a typed municipality (another flow's state is left alone)."""
    if ctx.state == MUNICIPALITY_STATE:
        await ctx.set_state(None)


def stale(ctx: MessengerContext) -> None:
    ctx.reply(settings_message(ctx, _("This button is no longer active.")))


@router.payload("settings")
async def show_settings(ctx: MessengerContext) -> None:
    await leave_chooser(ctx)
    if ctx.args:  # a payload of a later or earlier version
        stale(ctx)
        return
    ctx.reply(settings_message(ctx))


async def show_chooser(ctx: MessengerContext, page: int = 0, text: str | None = None) -> None:
    await ctx.set_state(MUNICIPALITY_STATE)
    ctx.reply(
        await onboarding.municipality_message(ctx.session, ctx.locale, page, text, prefix=PREFIX)
    )


@router.payload("settings:mun")
async def municipality(ctx: MessengerContext) -> None:
    if not ctx.args:
        await show_chooser(ctx)
        return
    if len(ctx.args) != 1 or not ctx.args[0].isdigit():
        await leave_chooser(ctx)
        stale(ctx)
        return
    await choose_municipality(ctx, int(ctx.args[0]))


@router.payload("settings:munp")
async def municipality_page(ctx: MessengerContext) -> None:
    page = int(ctx.args[0]) if ctx.args and ctx.args[0].isdigit() else 0
    await show_chooser(ctx, page)


async def choose_municipality(ctx: MessengerContext, municipality_id: int) -> None:
    """As on Telegram: only the municipality changes (answers, registrations and proposals
    stay as they are); a municipality no longer active cannot be chosen."""
    if not await residents.set_municipality(ctx.session, ctx.resident, municipality_id):
        await show_chooser(
            ctx, text=_("This municipality cannot be chosen. Please choose another one.")
        )
        return
    await leave_chooser(ctx)
    assert ctx.resident.municipality is not None
    name = ctx.resident.municipality.short_name(ctx.locale)
    ctx.reply(settings_message(ctx, _("Your municipality: {name}").format(name=name)))


@router.state(MUNICIPALITY_STATE)
async def municipality_typed(ctx: MessengerContext) -> None:
    """Text while the chooser is shown: a municipality's name, or a way out (Meniu, ...)."""
    typed = (ctx.text or "").strip()
    word = typed.casefold()
    if word in menu.MENU_WORDS or word in menu.COMMANDS:
        await leave_chooser(ctx)
        await menu.fallback(ctx)
        return
    if not typed:  # a photo, a sticker, a location
        await show_chooser(ctx)
        return
    await onboarding.municipality_typed(ctx, typed, choose_municipality, prefix=PREFIX)


@router.payload("settings:age")
async def age_group(ctx: MessengerContext) -> None:
    await leave_chooser(ctx)
    if not ctx.args:
        ctx.reply(onboarding.age_message(prefix=PREFIX))
        return
    valid, group = parse_age_group(ctx.args[0])
    if not valid or len(ctx.args) != 1:
        stale(ctx)
        return
    residents.set_age_group(ctx.resident, group)
    label = age_group_label(group) if group else _("not given")
    ctx.reply(settings_message(ctx, _("Age group: {group}").format(group=label)))


@router.payload("settings:msg")
async def message_preferences(ctx: MessengerContext) -> None:
    """``settings:msg``: the preferences; ``settings:msg:polls:off`` turns one off (a value,
    not a toggle, so a double tap changes nothing)."""
    await leave_chooser(ctx)
    if not ctx.args:
        ctx.reply(preferences_message(ctx))
        return
    values = [p.value for p in Preference]
    if len(ctx.args) != 2 or ctx.args[0] not in values or ctx.args[1] not in SWITCH:
        ctx.reply(preferences_message(ctx, _("This button is no longer active.")))
        return
    residents.set_preference(ctx.resident, Preference(ctx.args[0]), SWITCH[ctx.args[1]])
    ctx.reply(preferences_message(ctx, _("Saved.")))
