"""Sender processes on PostgreSQL: kill -9 mid-broadcast, and two senders on one database.

Each sender is a real ``dalyvauk deliver`` process; the local Bot API server runs in the test
and enforces Telegram's 30 messages per second.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import explicit_settings
from bot.db import create_engine, create_session_factory
from bot.localapi.server import LocalBotAPI
from bot.services import broadcasts
from bot.services.audiences import Audience
from models import Broadcast, BroadcastStatus, OutboxMessage, OutboxStatus
from tests.support.db import Database
from tests.support.residents import add_residents

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

TEXT = "Kviečiame į viešąją diskusiją"
CONCURRENCY = 8


class SenderProcess:
    def __init__(self, database_url: str, api: LocalBotAPI, cwd: Path) -> None:
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("TELEGRAM_", "DATABASE_", "DELIVERY_", "QUIET_"))
            },
            "DATABASE_URL": database_url,
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_BASE": api.base_url,
            "DELIVERY_RATE_PER_SECOND": "30",
            "DELIVERY_CONCURRENCY": str(CONCURRENCY),
            "QUIET_HOURS_START": "00:00",
            "QUIET_HOURS_END": "00:00",
            "LOG_LEVEL": "WARNING",
        }
        self.cwd = cwd
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from bot.cli import main; main()",
            "deliver",
            env=self.env,
            cwd=self.cwd,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> str:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(self.process.communicate(), 30)
        return stderr.decode()


@pytest.fixture
async def queued(database_url: str, local_api: LocalBotAPI) -> AsyncIterator[tuple[int, list[int]]]:
    """A broadcast to 240 residents, due now."""
    local_api.set_rate_limit(30, per_chat_per_second=1.0, per_group_per_minute=20)
    engine = create_engine(explicit_settings(database={"url": database_url}).database.url)
    sessions = create_session_factory(engine)
    chats = await add_residents(sessions, local_api, 240)
    async with sessions() as session, session.begin():
        broadcast = await broadcasts.create(session, created_by=1, text=TEXT, audience=Audience())
        broadcast_id = broadcast.id
    yield broadcast_id, chats
    await engine.dispose()


def sent_count(api: LocalBotAPI) -> int:
    return api.stats.sent_ok


async def wait_all_sent(db: Database, broadcast_id: int, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while True:
            rows = await db.all(Broadcast, Broadcast.id == broadcast_id)
            if rows[0].status is BroadcastStatus.DONE:
                return
            await asyncio.sleep(0.2)


async def test_kill_9_mid_broadcast_loses_nobody(
    database_url: str,
    local_api: LocalBotAPI,
    db: Database,
    queued: tuple[int, list[int]],
    tmp_path: Path,
) -> None:
    broadcast_id, chats = queued
    first = SenderProcess(database_url, local_api, tmp_path)
    await first.start()
    await local_api.wait_for(
        lambda: sent_count(local_api) >= len(chats) // 2,
        60,
        description="half of the broadcast sent",
    )
    await first.kill()
    second = SenderProcess(database_url, local_api, tmp_path)
    await second.start()
    try:
        await wait_all_sent(db, broadcast_id)
    finally:
        stderr = await second.stop()
    counts = [sum(1 for m in local_api.bot_messages(c) if m.text == TEXT) for c in chats]
    assert min(counts) == 1, "a resident lost the message"
    duplicates = sum(count - 1 for count in counts)
    assert duplicates <= CONCURRENCY, f"{duplicates} duplicates, more than in flight"
    rows = await db.all(OutboxMessage, OutboxMessage.broadcast_id == broadcast_id)
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    assert "recovered" in stderr or duplicates == 0


async def test_two_senders_share_the_work_and_the_rate_limit(
    database_url: str,
    local_api: LocalBotAPI,
    db: Database,
    queued: tuple[int, list[int]],
    tmp_path: Path,
) -> None:
    broadcast_id, chats = queued
    senders = [SenderProcess(database_url, local_api, tmp_path) for _ in range(2)]
    for sender in senders:
        await sender.start()
    try:
        await wait_all_sent(db, broadcast_id)
    finally:
        for sender in senders:
            await sender.stop()
    counts = [sum(1 for m in local_api.bot_messages(c) if m.text == TEXT) for c in chats]
    assert counts == [1] * len(chats), "a row was sent twice or not at all"
    assert local_api.stats.rejected_429 == 0
    sends = sorted(c.at for c in local_api.calls_for("sendMessage") if c.ok)
    # No second of the run holds more than the limit (30 messages/s).
    busiest = max(sum(1 for t in sends[i:] if t < start + 1.0) for i, start in enumerate(sends))
    assert busiest <= 30
    rate = (len(sends) - 1) / (sends[-1] - sends[0])
    assert rate <= 30.5
