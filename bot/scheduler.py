"""Timed work with APScheduler. Jobs read what is due from our tables, so restarts lose nothing."""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import updates
from models import utcnow

logger = logging.getLogger(__name__)

# Telegram keeps undelivered updates for 24 hours; remembering ids for two days is enough.
PROCESSED_UPDATES_KEPT = timedelta(days=2)


async def prune_processed_updates(session_factory: async_sessionmaker[AsyncSession]) -> int:
    async with session_factory() as session, session.begin():
        removed = await updates.prune(session, utcnow() - PROCESSED_UPDATES_KEPT)
    logger.info("pruned %d processed update ids", removed)
    return removed


def create_scheduler(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        prune_processed_updates,
        "interval",
        hours=6,
        args=[session_factory],
        id="prune_processed_updates",
        coalesce=True,
        max_instances=1,
        next_run_time=utcnow() + timedelta(minutes=1),
    )
    return scheduler
