"""A closed poll's results are handed out once: to its organizer, and (when the poll allows
it) to the residents who answered, through a broadcast.

``polls.results_announced_at`` records that it happened. It is set by a conditional UPDATE
in the transaction that creates the residents' broadcast, so however many processes try,
and however often the bot restarts, one broadcast is created per poll.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Poll, PollStatus, utcnow


async def mark_results_announced(
    session: AsyncSession, poll_id: int, now: datetime | None = None
) -> bool:
    """Mark a closed poll's results as handed out; False when they already were."""
    result = await session.execute(
        update(Poll)
        .where(
            Poll.id == poll_id,
            Poll.status == PollStatus.CLOSED,
            Poll.results_announced_at.is_(None),
        )
        .values(results_announced_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def unannounced(session: AsyncSession, closed_before: datetime) -> list[int]:
    """Polls closed before ``closed_before`` whose results were never handed out (the
    process stopped between closing a poll and handing out its results)."""
    rows = await session.scalars(
        select(Poll.id)
        .where(
            Poll.status == PollStatus.CLOSED,
            Poll.results_announced_at.is_(None),
            Poll.closed_at <= closed_before,
        )
        .order_by(Poll.id)
    )
    return list(rows)
