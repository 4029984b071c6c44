"""Linking Messenger with Telegram, the Messenger side: the menu's "link" offers a code to
type in Telegram ("link:code") or asks for the code Telegram showed ("link:enter", then the
state ``link:code``).

Open before onboarding too: someone who already takes part in Telegram can link a new
Messenger conversation at once, keeping the consent given there. The service
(:mod:`bot.services.account_links`) does the linking; the texts are shared with Telegram.
"""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.channels import linking_texts as texts
from bot.channels.messenger.context import MessengerContext
from bot.channels.messenger.menu import menu_message
from bot.channels.messenger.messages import QuickReply, short_title
from bot.channels.messenger.router import MessengerRouter
from bot.services import account_links, residents
from bot.services.account_links import LinkOutcome
from models import Channel

router = MessengerRouter("linking")

STATE = "link:code"


def link_replies() -> tuple[QuickReply, ...]:
    return (
        QuickReply(short_title(texts.get_code_title()), "link:code"),
        QuickReply(short_title(texts.enter_code_title()), "link:enter"),
    )


def _after(ctx: MessengerContext, text: str) -> None:
    """An answer, then the way on: the menu, or the next onboarding step."""
    if ctx.resident.is_onboarded:
        ctx.reply(menu_message(text))
    else:
        ctx.reply(text, quick_replies=link_replies())


@router.payload("link", before_onboarding=True)
async def link(ctx: MessengerContext) -> None:
    """``link``: the offer; ``link:code``: a new code; ``link:enter``: wait for a code."""
    action = ctx.args[0] if ctx.args else None
    if action == "code":
        if not ctx.resident.has_consented:
            ctx.reply(texts.consent_first(Channel.MESSENGER), quick_replies=link_replies())
            return
        code = await account_links.issue_code(ctx.session, ctx.resident, Channel.MESSENGER)
        ctx.reply(texts.code_shown(code, Channel.MESSENGER))
        return
    if action == "enter":
        await ctx.set_state(STATE)
        ctx.reply(texts.enter_prompt(Channel.MESSENGER))
        return
    ctx.reply(texts.intro(Channel.MESSENGER), quick_replies=link_replies())


@router.state(STATE, before_onboarding=True)
async def code_typed(ctx: MessengerContext) -> None:
    typed = ctx.text or ""
    if not account_links.looks_like_code(typed):
        await ctx.clear_state()  # not stuck waiting for a code
        ctx.reply(texts.not_a_code(), quick_replies=link_replies())
        return
    result = await account_links.link(ctx.session, ctx.resident, Channel.MESSENGER, ctx.psid, typed)
    if result.outcome is not LinkOutcome.UNKNOWN_CODE:
        await ctx.clear_state()  # a wrong code may be typed again; anything else ends here
    if result.outcome is LinkOutcome.UNKNOWN_CODE:  # still waiting: they may type it again
        ctx.reply(
            texts.outcome(result.outcome, Channel.MESSENGER),
            quick_replies=[QuickReply(short_title(_("Menu")), "menu")],
        )
        return
    if not result.linked:
        _after(ctx, texts.outcome(result.outcome, Channel.MESSENGER))
        return
    # This conversation belongs to the kept profile now: its language, its menu.
    kept = result.resident
    ctx.resident = kept
    ctx.account = await residents.find_account(ctx.session, Channel.MESSENGER, ctx.psid)
    i18n = ctx.services.i18n
    if kept.language in i18n.available_locales:
        ctx.locale = kept.language
    with i18n.use_locale(ctx.locale):
        _after(ctx, texts.outcome(result.outcome, Channel.MESSENGER))
