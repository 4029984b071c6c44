"""A Messenger resident's own data: a readable summary, the full export, and erasure.

Messenger has no simple way for a bot to send a file it builds (attachments are uploaded
by URL or as images), so "Mano duomenys" answers with a summary and, on request, the same
JSON export Telegram sends as a file, as text in as many messages as it needs.
"""

from __future__ import annotations

import json

from aiogram.utils.i18n import gettext as _

from bot.channels.messenger import state as conversation
from bot.channels.messenger.context import MessengerContext
from bot.channels.messenger.menu import menu_message
from bot.channels.messenger.messages import QuickReply, short_title, split_text
from bot.channels.messenger.onboarding import LANGUAGES
from bot.channels.messenger.router import MessengerRouter
from bot.channels.telegram import proposal_cards
from bot.channels.telegram.texts import age_group_label
from bot.services import residents
from handlers.mydata import forget_question

router = MessengerRouter("mydata")


def summary_replies() -> list[QuickReply]:
    return [
        QuickReply(short_title(_("All data (JSON)")), "mydata:json"),
        QuickReply(short_title(_("Delete data")), "forget"),
        QuickReply(short_title(_("Menu")), "menu"),
    ]


@router.payload("mydata")
async def my_data(ctx: MessengerContext) -> None:
    resident = ctx.resident
    data = await residents.export_data(ctx.session, resident)
    if ctx.args == ["json"]:
        body = json.dumps(data, ensure_ascii=False, indent=1)
        ctx.reply(_("Here is everything we keep about you."))
        for chunk in split_text(body):
            ctx.reply(chunk)
        ctx.reply(menu_message())
        return
    accounts = await residents.accounts(ctx.session, resident.id)
    municipality = resident.municipality.short_name(ctx.locale) if resident.municipality else "–"
    age = age_group_label(resident.age_group) if resident.age_group else _("not given")
    lines = [
        _("What we keep about you:"),
        "• " + _("Language: {language}").format(language=LANGUAGES.get(resident.language, "–")),
        "• " + _("Municipality: {name}").format(name=municipality),
        "• " + _("Age group: {group}").format(group=age),
        "• "
        + _("Apps: {apps}").format(
            apps=", ".join(a.channel.value.capitalize() for a in accounts) or "–"
        ),
        "• " + _("Event registrations: {count}").format(count=len(data["event_registrations"])),
        "• " + _("Proposals: {count}").format(count=len(data.get("proposals", []))),
    ]
    if resident.consented_at is not None:
        day = resident.consented_at.astimezone(ctx.settings.tz).date().isoformat()
        lines.append("• " + _("Consent given: {day}").format(day=day))
    ctx.reply("\n".join(lines), quick_replies=summary_replies())


@router.payload("forget")
async def forget(ctx: MessengerContext) -> None:
    """``forget``: the question; ``forget:confirm`` erases; ``forget:cancel`` keeps all."""
    action = ctx.args[0] if ctx.args else None
    if action == "cancel":
        ctx.reply(menu_message(_("Nothing was deleted.")))
        return
    if action != "confirm":
        ctx.reply(
            forget_question(),
            quick_replies=[
                QuickReply(short_title(_("Yes, delete")), "forget:confirm"),
                QuickReply(short_title(_("No, keep")), "forget:cancel"),
            ],
        )
        return
    erased = await residents.erase(ctx.session, ctx.resident)
    if erased:
        # The moderators' cards of the resident's proposals show what is left of them.
        services = ctx.services
        ids = [card.proposal_id for card in erased]
        ctx.after_commit(
            lambda: proposal_cards.redraw_cards(
                services.bot, services.session_factory, services.i18n, services.settings, ids
            )
        )
    await conversation.clear(ctx.session, ctx.psid)
    ctx.state, ctx.data = None, {}
    ctx.reply(
        _("Your data has been deleted. Goodbye! If you want to take part again, just write to us.")
    )
