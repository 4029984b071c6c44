"""Many onboarded residents at once, for delivery tests and benchmarks."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.localapi.server import LocalBotAPI
from models import AgeGroup, Channel, Municipality, Resident, ResidentAccount, utcnow

FIRST_CHAT_ID = 100_000


async def add_residents(
    sessions: async_sessionmaker[AsyncSession],
    api: LocalBotAPI | None,
    count: int,
    *,
    municipality: str = "PAG",
    age_group: AgeGroup | None = AgeGroup.AGE_30_44,
    first_chat_id: int = FIRST_CHAT_ID,
    **flags: object,
) -> list[int]:
    """Insert ``count`` onboarded Telegram residents; returns their chat ids."""
    chat_ids = list(range(first_chat_id, first_chat_id + count))
    now = utcnow()
    async with sessions() as session, session.begin():
        municipality_id = await session.scalar(
            select(Municipality.id).where(Municipality.code == municipality)
        )
        rows = [
            {
                "channel": Channel.TELEGRAM,
                "external_id": str(chat_id),
                "language": "lt",
                "municipality_id": municipality_id,
                "age_group": age_group,
                "consented_at": now,
                "onboarded_at": now,
                "created_at": now,
                "updated_at": now,
                **flags,
            }
            for chat_id in chat_ids
        ]
        for start in range(0, len(rows), 5000):
            await session.execute(insert(Resident), rows[start : start + 5000])
        # Each resident's app account, through which their messages find them.
        await session.execute(
            insert(ResidentAccount).from_select(
                ["resident_id", "channel", "external_id", "created_at"],
                select(Resident.id, Resident.channel, Resident.external_id, Resident.created_at)
                .outerjoin(ResidentAccount, ResidentAccount.resident_id == Resident.id)
                .where(ResidentAccount.id.is_(None)),
            )
        )
    if api is not None:
        for chat_id in chat_ids:
            api.add_user(chat_id, f"Gyventojas {chat_id}")
    return chat_ids
