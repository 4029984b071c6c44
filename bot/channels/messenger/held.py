"""What waited while a Messenger resident was outside their 24-hour window.

When the resident writes, :func:`before_handling` (a hook the dispatcher runs before the
flows, in the event's transaction) queues, before the answer to what they wrote:

1. their held personal notices (:class:`~models.HeldNotice`: a proposal's status, a
   moderator's question, an event change), oldest first; the rows are deleted;
2. if broadcasts were held for them (outbox rows ``held``), one offer: "Kol jūsų nebuvo:
   2 naujos apklausos ir 1 naujas pranešimas." with the buttons *Parodyti*
   (``held:show``) and *Ne, ačiū* (``held:skip``).

The offer is made once per batch of held rows, not at every message: a held row's
``claimed_at`` (unused while held) records when it was offered, and the offer comes again
only when a row not yet offered is held. The count covers every held row, offered or not.
The offer uses postback buttons rather than quick replies: quick replies vanish once
another message follows, and the answer to what the resident wrote always follows it.

:data:`router` handles the two payloads: *Parodyti* puts the rows back in the queue now (the
window is open: the resident has just written) and wakes the delivery engine; *Ne, ačiū*
marks them ``skipped``.
"""

from __future__ import annotations

import logging

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy import delete, func, select, update

from bot.channels.messenger.context import MessengerContext
from bot.channels.messenger.messages import Button
from bot.channels.messenger.router import MessengerRouter
from bot.channels.notices import out_message
from models import (
    Broadcast,
    Channel,
    HeldNotice,
    MessageCategory,
    OutboxMessage,
    OutboxStatus,
    utcnow,
)

logger = logging.getLogger(__name__)

router = MessengerRouter("held")

SHOW = "held:show"
SKIP = "held:skip"


def counted(category: MessageCategory, count: int) -> str:
    """``2 naujos apklausos``, ``1 naujas pranešimas``, ``3 žinutės apie renginius``."""
    if category == MessageCategory.POLL:
        text = ngettext("{count} new poll", "{count} new polls", count)
    elif category == MessageCategory.EVENT:
        text = ngettext("{count} message about events", "{count} messages about events", count)
    else:
        text = ngettext("{count} new announcement", "{count} new announcements", count)
    return text.format(count=count)


def offer_text(counts: dict[MessageCategory, int]) -> str:
    """The offer: ``Kol jūsų nebuvo: 2 naujos apklausos ir 1 naujas pranešimas.``"""
    order = (MessageCategory.POLL, MessageCategory.ANNOUNCEMENT, MessageCategory.EVENT)
    items = [counted(category, counts[category]) for category in order if counts.get(category)]
    if len(items) > 1:
        listed = _("{items} and {last}").format(items=", ".join(items[:-1]), last=items[-1])
    else:
        listed = items[0]
    return _("While you were away: {items}.").format(items=listed)


async def held_counts(ctx: MessengerContext) -> tuple[dict[MessageCategory, int], bool]:
    """The resident's held broadcasts by kind, and whether any has not been offered yet."""
    rows = await ctx.session.execute(
        select(
            Broadcast.category,
            func.count(),
            func.count().filter(OutboxMessage.claimed_at.is_(None)),
        )
        .join(Broadcast, Broadcast.id == OutboxMessage.broadcast_id)
        .where(
            OutboxMessage.resident_id == ctx.resident.id,
            OutboxMessage.status == OutboxStatus.HELD,
        )
        .group_by(Broadcast.category)
    )
    counts: dict[MessageCategory, int] = {}
    new = False
    for category, count, not_offered in rows:
        counts[MessageCategory(category)] = int(count)
        new = new or bool(not_offered)
    return counts, new


async def send_held_notices(ctx: MessengerContext) -> None:
    notices = list(
        await ctx.session.scalars(
            select(HeldNotice)
            .where(HeldNotice.resident_id == ctx.resident.id)
            .order_by(HeldNotice.created_at, HeldNotice.id)
        )
    )
    for notice in notices:
        ctx.reply(out_message(notice.text, list(notice.buttons or [])))
    if notices:
        await ctx.session.execute(
            delete(HeldNotice).where(HeldNotice.id.in_([n.id for n in notices]))
        )
        logger.info("resident %s: %d held notices sent", ctx.resident.id, len(notices))


async def offer_held_broadcasts(ctx: MessengerContext) -> None:
    if ctx.payload is not None and ctx.payload.startswith("held:"):
        return  # they are answering the offer
    counts, new = await held_counts(ctx)
    if not counts or not new:
        return
    await ctx.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.resident_id == ctx.resident.id,
            OutboxMessage.status == OutboxStatus.HELD,
            OutboxMessage.claimed_at.is_(None),
        )
        .values(claimed_at=utcnow())  # offered (see the module's docstring)
    )
    ctx.reply(
        offer_text(counts),
        buttons=(Button(_("Show"), payload=SHOW), Button(_("No, thanks"), payload=SKIP)),
    )
    logger.info("resident %s: held broadcasts offered", ctx.resident.id)


async def before_handling(ctx: MessengerContext) -> None:
    """The dispatcher's hook: held notices, then the offer of held broadcasts."""
    await send_held_notices(ctx)
    await offer_held_broadcasts(ctx)


@router.payload("held")
async def answer_offer(ctx: MessengerContext) -> None:
    action = ctx.args[0] if ctx.args else ""
    if action == "show":
        result = await ctx.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.resident_id == ctx.resident.id,
                OutboxMessage.status == OutboxStatus.HELD,
            )
            .values(
                status=OutboxStatus.PENDING,
                not_before=utcnow(),
                claimed_at=None,
                channel=Channel.MESSENGER,
                chat_id=ctx.psid,
                error=None,
            )
        )
        shown = int(result.rowcount)  # type: ignore[attr-defined]
        if not shown:
            ctx.reply(_("Everything has already been sent to you."))
            return
        ctx.reply(_("Sending…"))
        delivery = ctx.services.delivery

        async def wake() -> None:
            delivery.wake()

        ctx.after_commit(wake)
        logger.info("resident %s: %d held broadcasts to be sent", ctx.resident.id, shown)
    elif action == "skip":
        await ctx.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.resident_id == ctx.resident.id,
                OutboxMessage.status == OutboxStatus.HELD,
            )
            .values(status=OutboxStatus.SKIPPED)
        )
        ctx.reply(_("All right. You will find polls and events in the menu whenever you like."))
