"""The organizer's progress message for a broadcast, edited as sending goes on."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.utils.i18n import I18n

from bot.config import Settings
from bot.services.broadcasts import Progress
from models import Broadcast

logger = logging.getLogger(__name__)


class ProgressReporter:
    def __init__(self, bot: Bot, i18n: I18n, settings: Settings) -> None:
        self.bot = bot
        self.i18n = i18n
        self.settings = settings

    async def report(self, broadcast: Broadcast, progress: Progress) -> None:
        """Placeholder until the announcement flow renders it (see handlers/announcements)."""
        logger.info("broadcast %s: %d/%d", broadcast.id, progress.done, progress.total)
