"""The main menu as quick replies, and the answer to anything no flow understood."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.channels.messenger.context import MessengerContext
from bot.channels.messenger.messages import OutMessage, QuickReply, short_title
from bot.channels.messenger.router import MessengerRouter, resolve
from bot.channels.telegram.texts import N_

router = MessengerRouter("menu")

# (label, payload): the payloads every flow answers (polls, events, proposals, ...).
MENU = (
    (N_("Polls"), "polls"),
    (N_("Events"), "events"),
    (N_("My events"), "myevents"),
    (N_("Submit a proposal"), "proposal:new"),
    (N_("My proposals"), "myproposals"),
    (N_("My data"), "mydata"),
    (N_("Link with Telegram"), "link"),
    (N_("Settings"), "settings"),  # the language, municipality, age group, messages
)
# Typed words that open the menu (any case), and the Telegram commands (and words) people may
# know that open a flow.
MENU_WORDS = frozenset({"menu", "meniu", "start", "pradžia", "/start", "/menu", "pagalba"})
COMMANDS = {
    "/mydata": "mydata",
    "/forget": "forget",
    "/language": "settings:lang",
    "/settings": "settings",
    "nustatymai": "settings",
    "settings": "settings",
}


def menu_replies() -> tuple[QuickReply, ...]:
    return tuple(QuickReply(short_title(_(label)), payload) for label, payload in MENU)


def menu_message(text: str | None = None) -> OutMessage:
    prompt = _("What would you like to do? Choose below.")
    return OutMessage(text=f"{text}\n\n{prompt}" if text else prompt, quick_replies=menu_replies())


@router.payload("menu")
async def show_menu(ctx: MessengerContext) -> None:
    ctx.reply(menu_message())


@router.fallback()
async def fallback(ctx: MessengerContext) -> None:
    """Anything no flow took: a stale button, a word, a photo out of place."""
    if ctx.payload:
        ctx.reply(menu_message(_("This button is no longer active.")))
        return
    word = (ctx.text or "").strip().casefold()
    if word in MENU_WORDS:
        ctx.reply(menu_message())
        return
    if word in COMMANDS:
        from bot.channels.messenger import flows  # (the flows import this module)

        match = resolve(flows.routers(), COMMANDS[word], None)
        if match is not None and match.handler is not fallback:
            ctx.args = match.args
            await match.handler(ctx)
            return
    ctx.reply(menu_message(_("Sorry, I did not understand that.")))
