"""Work a handler leaves for after its update's transaction has committed.

A handler runs inside the update's transaction (``DatabaseSessionMiddleware``); on SQLite
that transaction holds the database's only write lock from its first statement
(``BEGIN IMMEDIATE``), on PostgreSQL a pooled connection. Slow work that needs no database —
drawing bar charts, sending them, a job that opens its own short transactions — should not
hold either. :func:`after_commit` runs it once the transaction has committed, and never when
the update is rolled back.

It still belongs to the update: :class:`~bot.channels.telegram.dispatcher.DalyvaukDispatcher`
awaits the work before the update counts as handled, so a graceful stop waits for it and
tests see its messages when the update is "handled". A failure is logged; the update's own
work is committed by then and stays. It runs after the middlewares have finished: there is
no update session and no current gettext locale, so translate texts in the handler (or set
the locale explicitly, as ``PollJobs`` does).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

logger = logging.getLogger(__name__)

Work = Callable[[], Awaitable[object]]

_pending: ContextVar[list[Work] | None] = ContextVar("after_commit_work", default=None)


def after_commit(session: AsyncSession, work: Work) -> None:
    """Run ``work()`` after ``session``'s transaction commits, as part of the update."""
    queue = _pending.get()
    if queue is None:
        raise RuntimeError("after_commit() is for handlers of an update the dispatcher feeds")
    event.listen(session.sync_session, "after_commit", lambda _s: queue.append(work), once=True)


@contextmanager
def collecting() -> Iterator[list[Work]]:
    """While one update is handled: the work its handlers leave for after the commit."""
    queue: list[Work] = []
    token = _pending.set(queue)
    try:
        yield queue
    finally:
        _pending.reset(token)


async def run(queue: list[Work], update_id: int) -> None:
    """The collected work, in order; one failing does not stop the next."""
    while queue:
        work = queue.pop(0)
        try:
            await work()
        except Exception as exc:
            logger.exception(
                "update %s: work after the commit failed: %s", update_id, type(exc).__name__
            )
