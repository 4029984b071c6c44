"""aiogram FSM storage in our database, so a conversation survives a restart.

Inside a handler it writes through the update's own session (the state commits with the
handler's work); elsewhere it opens a short session of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db_context import current_session
from models import FsmRecord

_KNOWN = "dalyvauk.fsm_records"  # session.info: storage key → record (None: no record)


class SQLAlchemyStorage(BaseStorage):
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.key_builder = key_builder or DefaultKeyBuilder(with_bot_id=True)

    def storage_key(self, key: StorageKey) -> str:
        return self.key_builder.build(key)

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        shared = current_session.get()
        if shared is not None:
            yield shared
            return
        async with self.session_factory() as session, session.begin():
            yield session

    @staticmethod
    async def _find(session: AsyncSession, storage_key: str) -> FsmRecord | None:
        """The record, read at most once per session: aiogram reads the state of every
        update and handlers read it again, and most chats have no record at all (which the
        session's identity map cannot remember by itself)."""
        known: dict[str, FsmRecord | None] = session.info.setdefault(_KNOWN, {})
        if storage_key not in known:
            known[storage_key] = await session.get(FsmRecord, storage_key)
        return known[storage_key]

    async def _write(self, key: StorageKey, **values: Any) -> None:
        storage_key = self.storage_key(key)
        async with self._session() as session:
            known: dict[str, FsmRecord | None] = session.info.setdefault(_KNOWN, {})
            record = await self._find(session, storage_key)
            if record is None:
                record = FsmRecord(key=storage_key, state=None, data={})
                try:
                    async with session.begin_nested():
                        session.add(record)
                except IntegrityError:  # created concurrently: update that one
                    record = await session.get(FsmRecord, storage_key)
                    assert record is not None
            for name, value in values.items():
                setattr(record, name, value)
            if record.state is None and not record.data:
                await session.delete(record)
                known[storage_key] = None
            else:
                known[storage_key] = record
            await session.flush()

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._write(key, state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        async with self._session() as session:
            record = await self._find(session, self.storage_key(key))
            return record.state if record else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._write(key, data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self._session() as session:
            record = await self._find(session, self.storage_key(key))
            return dict(record.data) if record else {}

    async def close(self) -> None:
        """Nothing to close: the engine belongs to the application."""
