"""Reading the database from tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from bot.db import create_engine, create_session_factory
from models import Channel, FsmRecord, Resident


class Database:
    """A separate connection to the bot's database, for assertions."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.sessions = create_session_factory(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()

    async def resident(self, chat_id: int) -> Resident | None:
        async with self.sessions() as session:
            return await session.scalar(
                select(Resident)
                .options(selectinload(Resident.municipality))
                .where(Resident.channel == Channel.TELEGRAM, Resident.external_id == str(chat_id))
            )

    async def count(self, model: Any, *where: Any) -> int:
        async with self.sessions() as session:
            return int(
                await session.scalar(select(func.count()).select_from(model).where(*where)) or 0
            )

    async def all(self, model: Any, *where: Any) -> list[Any]:
        async with self.sessions() as session:
            return list(await session.scalars(select(model).where(*where)))

    async def fsm_records(self) -> list[FsmRecord]:
        return await self.all(FsmRecord)
