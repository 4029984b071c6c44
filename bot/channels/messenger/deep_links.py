"""Links into the bot: an invitation's button (``start:poll_12``, ``start:evt_5_plakatas``,
turned from Telegram's ``https://t.me/<bot>?start=…`` by the Messenger sender) and m.me links
with ``?ref=`` (the same parameters). One place reads the parameter and opens what it names.

Someone who has not finished onboarding yet (a newcomer who scanned a poster's QR code and
pressed Get Started) gets the link remembered: it is their source, as on Telegram, and it
opens once they are set up.
"""

from __future__ import annotations

from bot.channels.event_messages import event_link_from_payload
from bot.channels.messenger import events_flow, polls
from bot.channels.messenger.context import MessengerContext
from bot.channels.messenger.router import MessengerRouter
from bot.channels.telegram.onboarding import LINK_PARAMETER

router = MessengerRouter("deep_links")

PREFIX = "start"
LINK_KEY = "start_link"  # conversation data: the link a newcomer came with


def link_of(ctx: MessengerContext) -> str | None:
    """The link this event came with: ``start:<param>`` or a Get Started's m.me ref."""
    if ctx.event.referral:
        return ctx.event.referral
    payload = ctx.payload or ""
    if payload.startswith(PREFIX + ":"):
        return payload[len(PREFIX) + 1 :]
    return None


async def remember(ctx: MessengerContext) -> None:
    """Keep the link of this event (if it has one that we make) until onboarding ends."""
    param = link_of(ctx)
    if param and LINK_PARAMETER.match(param):
        await ctx.update_data(**{LINK_KEY: param})


def remembered(ctx: MessengerContext) -> str | None:
    value = ctx.data.get(LINK_KEY)
    return value if isinstance(value, str) else None


async def open_remembered(ctx: MessengerContext) -> None:
    """Open the link a newcomer came with (once), after they finished onboarding."""
    param = remembered(ctx)
    if param is None:
        return
    ctx.data.pop(LINK_KEY, None)
    await ctx.update_data()
    await open_param(ctx, param)


@router.payload(PREFIX)
async def open_link(ctx: MessengerContext) -> None:
    await open_param(ctx, ":".join(ctx.args))


async def open_param(ctx: MessengerContext, param: str) -> None:
    poll_id = polls.poll_of_link(param)
    if poll_id is not None:
        await polls.open_poll(ctx, poll_id)
        return
    event_link = event_link_from_payload(param)
    if event_link is not None:
        await events_flow.open_from_link(ctx, *event_link)
        return
    ctx.reply(polls.stale_text(), quick_replies=(polls.menu_reply(),))
