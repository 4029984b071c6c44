"""Telegram tells the bot when a resident blocks or unblocks it (my_chat_member updates)."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated

from bot.services import residents
from models import Resident

logger = logging.getLogger(__name__)


async def bot_blocked(event: ChatMemberUpdated, resident: Resident | None) -> None:
    if resident is not None:
        residents.mark_unreachable_now(resident)
        logger.info("resident chat %s blocked the bot", event.chat.id)


async def bot_unblocked(event: ChatMemberUpdated, resident: Resident | None) -> None:
    if resident is not None:
        residents.mark_reachable(resident)
        logger.info("resident chat %s unblocked the bot", event.chat.id)


def create_router() -> Router:
    router = Router(name="membership")
    router.my_chat_member.filter(F.chat.type == "private")
    router.my_chat_member.register(
        bot_blocked, ChatMemberUpdatedFilter(member_status_changed=KICKED)
    )
    router.my_chat_member.register(
        bot_unblocked, ChatMemberUpdatedFilter(member_status_changed=MEMBER)
    )
    return router
