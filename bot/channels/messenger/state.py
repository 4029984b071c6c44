"""A Messenger resident's conversation state (what the bot is waiting for), in fsm_records.

The key is ``messenger:<psid>``; the row is read and written through the event's own
session, so the state commits or rolls back with the handler's work.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import FsmRecord


def state_key(psid: str) -> str:
    return f"messenger:{psid}"


async def load(session: AsyncSession, psid: str) -> tuple[str | None, dict[str, Any]]:
    record = await session.get(FsmRecord, state_key(psid))
    if record is None:
        return None, {}
    return record.state, dict(record.data or {})


async def save(session: AsyncSession, psid: str, state: str | None, data: dict[str, Any]) -> None:
    """Write the state; nothing at all (no row) when there is neither state nor data."""
    key = state_key(psid)
    record = await session.get(FsmRecord, key)
    if state is None and not data:
        if record is not None:
            await session.delete(record)
            await session.flush()
        return
    if record is None:
        record = FsmRecord(key=key, state=state, data=dict(data))
        try:
            async with session.begin_nested():
                session.add(record)
        except IntegrityError:  # written concurrently: update that one
            record = await session.get(FsmRecord, key)
            assert record is not None
    record.state = state
    record.data = dict(data)
    await session.flush()


async def clear(session: AsyncSession, psid: str) -> None:
    await save(session, psid, None, {})
