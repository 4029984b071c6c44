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
# Event reminders and waitlist offers are due at most this late.
EVENT_JOBS_INTERVAL = timedelta(seconds=30)
# The proposals' morning digest checks every minute whether its time has come.
PROPOSAL_JOBS_INTERVAL = timedelta(minutes=1)


async def prune_processed_updates(session_factory: async_sessionmaker[AsyncSession]) -> int:
    async with session_factory() as session, session.begin():
        removed = await updates.prune(session, utcnow() - PROCESSED_UPDATES_KEPT)
    logger.info("pruned %d processed update ids", removed)
    return removed


def create_scheduler(
    session_factory: async_sessionmaker[AsyncSession],
    poll_jobs: Callable[[], Awaitable[object]] | None = None,
    event_jobs: Callable[[], Awaitable[object]] | None = None,
    proposal_jobs: Callable[[], Awaitable[object]] | None = None,
) -> AsyncIOScheduler:
    """``poll_jobs``: closes and opens due polls (``PollJobs.run``), every 15 seconds;
    ``event_jobs``: event reminders and waitlist offers (``EventJobs.run``), every 30;
    ``proposal_jobs``: the moderators' morning digest (``ProposalJobs.run``), every minute."""
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
        _every(scheduler, POLL_JOBS_INTERVAL, poll_jobs, "poll_jobs", timedelta(seconds=1))
    if event_jobs is not None:
        _every(scheduler, EVENT_JOBS_INTERVAL, event_jobs, "event_jobs", timedelta(seconds=2))
    if proposal_jobs is not None:
        _every(
            scheduler, PROPOSAL_JOBS_INTERVAL, proposal_jobs, "proposal_jobs", timedelta(seconds=3)
        )
    return scheduler


def _every(
    scheduler: AsyncIOScheduler,
    interval: timedelta,
    job: Callable[[], Awaitable[object]],
    job_id: str,
    first_after: timedelta,
) -> None:
    """A job that reads what is due from our tables: one run at a time, and runs missed
    meanwhile collapse into one (each finds all the work that is due)."""
    scheduler.add_job(
        job,
        "interval",
        seconds=interval.total_seconds(),
        id=job_id,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
        next_run_time=utcnow() + first_after,
    )
