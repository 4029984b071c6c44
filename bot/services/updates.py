"""Each Telegram update is handled once, even when the platform delivers it again."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import dialect_of, insert_function
from models import ProcessedUpdate, utcnow


@functools.cache
def _claim_statement(dialect: str) -> Any:
    """Built once per database kind: this runs first in every update."""
    return (
        insert_function(dialect)(ProcessedUpdate)
        .values(
            bot_id=bindparam("bot_id"),
            update_id=bindparam("update_id"),
            processed_at=bindparam("processed_at"),
        )
        .on_conflict_do_nothing(index_elements=["bot_id", "update_id"])
        .returning(ProcessedUpdate.update_id)
    )


async def claim(session: AsyncSession, bot_id: int, update_id: int) -> bool:
    """Record the update as handled in the current transaction; False if it was already.

    The row commits together with the handler's work, so an update whose handling failed
    and rolled back can be handled again when it is redelivered. One statement: a
    concurrent delivery of the same update waits on the key and then finds it taken.
    """
    inserted = await session.scalar(
        _claim_statement(dialect_of(session)),
        {"bot_id": bot_id, "update_id": update_id, "processed_at": utcnow()},
    )
    return inserted is not None


async def prune(session: AsyncSession, older_than: datetime) -> int:
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < older_than)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
