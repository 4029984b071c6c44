"""Each Telegram update is handled once, even when the platform delivers it again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import ProcessedUpdate


async def claim(session: AsyncSession, bot_id: int, update_id: int) -> bool:
    """Record the update as handled in the current transaction; False if it was already.

    The row commits together with the handler's work, so an update whose handling failed
    and rolled back can be handled again when it is redelivered.
    """
    try:
        async with session.begin_nested():
            session.add(ProcessedUpdate(bot_id=bot_id, update_id=update_id))
    except IntegrityError:
        return False
    return True


async def prune(session: AsyncSession, older_than: datetime) -> int:
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < older_than)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
