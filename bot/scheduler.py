"""Timed work with APScheduler. Jobs read what is due from our tables, so restarts lose nothing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import updates
from models import utcnow

logger = logging.getLogger(__name__)

# Telegram keeps undelivered updates for 24 hours; remembering ids for two days is enough.
PROCESSED_UPDATES_KEPT = timedelta(days=2)
# Polls open and close at most this late (their times are stored; a restart loses nothing).
POLL_JOBS_INTERVAL = timedelta(seconds=15)


async def prune_processed_updates(session_factory: async_sessionmaker[AsyncSession]) -> int:
    async with session_factory() as session, session.begin():
        removed = await updates.prune(session, utcnow() - PROCESSED_UPDATES_KEPT)
    logger.info("pruned %d processed update ids", removed)
    return removed


def create_scheduler(
    session_factory: async_sessionmaker[AsyncSession],
    poll_jobs: Callable[[], Awaitable[object]] | None = None,
) -> AsyncIOScheduler:
    """``poll_jobs``: closes and opens due polls (``PollJobs.run``), every 15 seconds."""
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
    if poll_jobs is not None:
        scheduler.add_job(
            poll_jobs,
            "interval",
            seconds=POLL_JOBS_INTERVAL.total_seconds(),
            id="poll_jobs",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            next_run_time=utcnow() + timedelta(seconds=1),
        )
    return scheduler
