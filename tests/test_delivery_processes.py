"""Sender processes: kill -9 mid-broadcast and two senders on one database (PostgreSQL), and
a graceful stop (SIGTERM) mid-broadcast that leaves no duplicates (PostgreSQL and SQLite).

Each sender is a real ``dalyvauk deliver`` process; the local Bot API server runs in the test
and enforces Telegram's 30 messages per second.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest
from aiohttp import ClientSession, web

from bot.config import explicit_settings
from bot.db import create_engine, create_session_factory
from bot.localapi.server import LocalBotAPI
from bot.services import broadcasts
from bot.services.audiences import Audience
from models import Broadcast, BroadcastStatus, OutboxMessage, OutboxStatus
from tests.support.db import Database
from tests.support.residents import add_residents

postgresql_only = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

TEXT = "Kviečiame į viešąją diskusiją"
CONCURRENCY = 8


class SenderProcess:
    def __init__(
        self, database_url: str, api: LocalBotAPI, cwd: Path, *, api_base: str | None = None
    ) -> None:
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("TELEGRAM_", "DATABASE_", "DELIVERY_", "QUIET_"))
            },
            "DATABASE_URL": database_url,
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_BASE": api_base or api.base_url,
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


async def queue_broadcast(
    database_url: str, api: LocalBotAPI, residents: int
) -> tuple[int, list[int]]:
    """A broadcast to ``residents`` new residents, due now; returns its id and their chats."""
    api.set_rate_limit(30, per_chat_per_second=1.0, per_group_per_minute=20)
    engine = create_engine(explicit_settings(database={"url": database_url}).database.url)
    try:
        sessions = create_session_factory(engine)
        chats = await add_residents(sessions, api, residents)
        async with sessions() as session, session.begin():
            broadcast = await broadcasts.create(
                session, created_by=1, text=TEXT, audience=Audience()
            )
            return broadcast.id, chats
    finally:
        await engine.dispose()


@pytest.fixture
async def queued(database_url: str, local_api: LocalBotAPI) -> tuple[int, list[int]]:
    """A broadcast to 240 residents, due now."""
    return await queue_broadcast(database_url, local_api, 240)


def sent_count(api: LocalBotAPI) -> int:
    return api.stats.sent_ok


async def wait_all_sent(db: Database, broadcast_id: int, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while True:
            rows = await db.all(Broadcast, Broadcast.id == broadcast_id)
            if rows[0].status is BroadcastStatus.DONE:
                return
            await asyncio.sleep(0.2)


@postgresql_only
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


@postgresql_only
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


class SlowAnswers:
    """A proxy in front of the local Bot API that holds every ``sendMessage`` answer for
    ``delay`` seconds after the API has taken the message: the sends in flight when a sender
    stops are messages residents already have, as on a slow network to Telegram."""

    def __init__(self, api: LocalBotAPI, delay: float) -> None:
        self.api = api
        self.delay = delay
        self.held = 0  # answers being held right now
        self._client: ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def __aenter__(self) -> SlowAnswers:
        self._client = ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None and self._client is not None
        await self._runner.cleanup()
        await self._client.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._client is not None
        async with self._client.request(
            request.method,
            self.api.base_url + request.path_qs,
            data=await request.read(),
            headers={"Content-Type": request.headers.get("Content-Type", "text/plain")},
        ) as answer:
            body = await answer.read()
            status = answer.status
            content_type = answer.headers.get("Content-Type", "application/json")
        if request.path.lower().endswith("/sendmessage"):
            self.held += 1
            try:
                await asyncio.sleep(self.delay)
            finally:
                self.held -= 1
        return web.Response(body=body, status=status, headers={"Content-Type": content_type})


async def test_sigterm_mid_broadcast_records_the_sends_in_flight(
    database_url: str, local_api: LocalBotAPI, db: Database, tmp_path: Path
) -> None:
    """A deploy stops the sender with SIGTERM while sends are in flight: it lets them finish
    and records them, so the restarted sender re-sends nothing."""
    broadcast_id, chats = await queue_broadcast(database_url, local_api, 80)
    async with SlowAnswers(local_api, delay=0.5) as proxy:
        first = SenderProcess(database_url, local_api, tmp_path, api_base=proxy.base_url)
        await first.start()
        await local_api.wait_for(
            lambda: sent_count(local_api) >= len(chats) // 3 and proxy.held >= CONCURRENCY // 2,
            60,
            description="a third of the broadcast sent, answers in flight",
        )
        in_flight = proxy.held
        first_stderr = await first.stop()
        assert first.process is not None and first.process.returncode == 0, first_stderr
        taken_before_restart = sent_count(local_api)
        after_stop = Counter(
            r.status
            for r in await db.all(OutboxMessage, OutboxMessage.broadcast_id == broadcast_id)
        )
        second = SenderProcess(database_url, local_api, tmp_path, api_base=proxy.base_url)
        await second.start()
        try:
            await wait_all_sent(db, broadcast_id)
        finally:
            second_stderr = await second.stop()
    counts = [sum(1 for m in local_api.bot_messages(c) if m.text == TEXT) for c in chats]
    duplicates = sum(count - 1 for count in counts if count > 1)
    assert duplicates == 0, f"{duplicates} duplicates after a graceful stop ({in_flight} in flight)"
    assert min(counts) == 1, "a resident lost the message"
    # The stop came mid-broadcast, with every message Telegram took recorded as sent.
    assert after_stop[OutboxStatus.SENDING] == 0, after_stop
    assert after_stop[OutboxStatus.SENT] == taken_before_restart, after_stop
    assert after_stop[OutboxStatus.PENDING] > 0, after_stop
    assert "recovered" not in second_stderr
    rows = await db.all(OutboxMessage, OutboxMessage.broadcast_id == broadcast_id)
    assert {r.status for r in rows} == {OutboxStatus.SENT}
