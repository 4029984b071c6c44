"""Links into the bot: an invitation's button (``start:poll_12``, ``start:evt_5_plakatas``,
turned from Telegram's ``https://t.me/<bot>?start=…`` by the Messenger sender) and m.me links
with ``?ref=`` (the same parameters). One place reads the parameter and opens what it names.
"""

from __future__ import annotations

from bot.channels.event_messages import event_link_from_payload
from bot.channels.messenger import events_flow, polls
from bot.channels.messenger.context import MessengerContext
from bot.channels.messenger.router import MessengerRouter

router = MessengerRouter("deep_links")


@router.payload("start")
async def open_link(ctx: MessengerContext) -> None:
    param = ":".join(ctx.args)
    poll_id = polls.poll_of_link(param)
    if poll_id is not None:
        await polls.open_poll(ctx, poll_id)
        return
    event_link = event_link_from_payload(param)
    if event_link is not None:
        await events_flow.open_from_link(ctx, *event_link)
        return
    ctx.reply(polls.stale_text(), quick_replies=(polls.menu_reply(),))
