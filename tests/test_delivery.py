"""The delivery engine: everyone once, at the platform's limit, through errors and restarts."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import Application, create_application
from bot.delivery.engine import Content, Outcome, SendResult
from bot.localapi.server import LocalBotAPI
from bot.services import audiences, broadcasts, residents
from bot.services.audiences import Audience
from bot.services.quiet_hours import QuietHours
from models import (
    AgeGroup,
    Broadcast,
    BroadcastStatus,
    Channel,
    MessageCategory,
    Municipality,
    OutboxMessage,
    OutboxStatus,
    Resident,
    utcnow,
)
from tests.conftest import make_settings
from tests.support.db import Database
from tests.support.residents import add_residents

FAST = {"rate_per_second": 30, "progress_interval": 0.2, "retry_base_seconds": 0.2}
NO_QUIET_HOURS = {"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"}


def delivery_settings(database_url: str, api: LocalBotAPI, **extra: Any) -> Any:
    values: dict[str, Any] = {
        "telegram": {"api_base": api.base_url},
        "delivery": FAST,
        **NO_QUIET_HOURS,
    }
    values.update(extra)
    return make_settings(database_url, **values)


@pytest.fixture
async def app(database_url: str, local_api: LocalBotAPI) -> AsyncIterator[Application]:
    local_api.set_rate_limit(30, per_chat_per_second=1.0, per_group_per_minute=20)
    application = await create_application(
        delivery_settings(database_url, local_api), local_api.token
    )
    application.start_background_work()
    yield application
    await application.close()


async def announce(app: Application, text: str = "Kviečiame į susitikimą!", **kwargs: Any) -> int:
    async with app.session_factory() as session, session.begin():
        broadcast = await broadcasts.create(
            session,
            created_by=1,
            text=text,
            audience=kwargs.pop("audience", Audience()),
            **kwargs,
        )
        broadcast_id = broadcast.id
    app.delivery.wake()
    return broadcast_id


async def wait_done(api: LocalBotAPI, db: Database, broadcast_id: int, timeout: float = 30) -> None:
    async def status() -> BroadcastStatus:
        rows = await db.all(Broadcast, Broadcast.id == broadcast_id)
        return rows[0].status

    deadline = utcnow() + timedelta(seconds=timeout)
    while await status() is not BroadcastStatus.DONE:
        assert utcnow() < deadline, "the broadcast did not finish in time"
        await api.wait_changed(api.version, 0.2)


def received(api: LocalBotAPI, chat_ids: list[int], text: str) -> dict[int, int]:
    return {c: sum(1 for m in api.bot_messages(c) if m.text == text) for c in chat_ids}


async def test_every_recipient_gets_the_announcement_exactly_once(
    app: Application, local_api: LocalBotAPI, db: Database
) -> None:
    chats = await add_residents(app.session_factory, local_api, 40)
    broadcast_id = await announce(app)
    await wait_done(local_api, db, broadcast_id)
    assert set(received(local_api, chats, "Kviečiame į susitikimą!").values()) == {1}
    assert local_api.stats.rejected_429 == 0
    rows = await db.all(OutboxMessage, OutboxMessage.broadcast_id == broadcast_id)
    assert len(rows) == 40
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    assert all(r.platform_message_id for r in rows)
    (broadcast,) = await db.all(Broadcast, Broadcast.id == broadcast_id)
    assert broadcast.total == 40 and broadcast.finished_at is not None


async def test_blocked_residents_are_marked_and_not_retried(
    app: Application, local_api: LocalBotAPI, db: Database
) -> None:
    chats = await add_residents(app.session_factory, local_api, 10)
    for chat in chats[:3]:
        local_api.block_chat(chat)
    broadcast_id = await announce(app)
    await wait_done(local_api, db, broadcast_id)
    rows = {r.chat_id: r for r in await db.all(OutboxMessage)}
    assert [rows[str(c)].status for c in chats[:3]] == [OutboxStatus.BLOCKED] * 3
    assert {rows[str(c)].status for c in chats[3:]} == {OutboxStatus.SENT}
    for chat in chats[:3]:
        resident = await db.resident(chat)
        assert resident is not None and resident.unreachable_at is not None
        calls = [
            c
            for c in local_api.calls_for("sendMessage")
            if c.params.get("chat_id") in (chat, str(chat))
        ]
        assert len(calls) == 1


async def test_server_errors_are_retried_and_bad_requests_recorded(
    app: Application, local_api: LocalBotAPI, db: Database
) -> None:
    chats = await add_residents(app.session_factory, local_api, 6)
    local_api.fail_next("sendMessage", 500, chat_id=chats[0])
    local_api.fail_next(
        "sendMessage", 400, "Bad Request: chat not found", chat_id=chats[1], times=5
    )
    broadcast_id = await announce(app)
    await wait_done(local_api, db, broadcast_id)
    rows = {r.chat_id: r for r in await db.all(OutboxMessage)}
    assert rows[str(chats[0])].status is OutboxStatus.SENT
    assert rows[str(chats[0])].attempts == 1
    assert rows[str(chats[1])].status is OutboxStatus.FAILED
    assert rows[str(chats[1])].error == "Bad Request: chat not found"
    assert received(local_api, chats[2:], "Kviečiame į susitikimą!") == dict.fromkeys(chats[2:], 1)


async def test_429_pauses_sending_and_nothing_is_lost(
    app: Application, local_api: LocalBotAPI, db: Database
) -> None:
    chats = await add_residents(app.session_factory, local_api, 12)
    local_api.fail_next("sendMessage", 429, retry_after=1)
    broadcast_id = await announce(app)
    await wait_done(local_api, db, broadcast_id)
    assert set(received(local_api, chats, "Kviečiame į susitikimą!").values()) == {1}
    rows = await db.all(OutboxMessage)
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    assert all(r.attempts == 0 for r in rows)  # a 429 is not the message's fault


async def test_photo_announcement_with_a_button(
    app: Application, local_api: LocalBotAPI, db: Database
) -> None:
    chats = await add_residents(app.session_factory, local_api, 2)
    organizer = 555
    local_api.add_user(organizer, "Tomas")
    photo_update = await local_api.send_photo(organizer, caption="x")
    assert photo_update
    photo = local_api.messages(organizer)[-1]
    assert photo.file_id
    broadcast_id = await announce(
        app,
        "<b>Susitikimas</b> bibliotekoje",
        photo_file_id=photo.file_id,
        button_text="Daugiau",
        button_url="https://dalyvauk.lt/renginys",
    )
    await wait_done(local_api, db, broadcast_id)
    for chat in chats:
        (message,) = local_api.bot_messages(chat)
        assert message.kind == "photo"
        assert message.text == "Susitikimas bibliotekoje"
        assert message.inline_buttons() == [
            {"text": "Daugiau", "url": "https://dalyvauk.lt/renginys"}
        ]


async def test_residents_outside_the_audience_get_nothing(
    app: Application, local_api: LocalBotAPI, db: Database
) -> None:
    pag = await add_residents(app.session_factory, local_api, 3)
    brz = await add_residents(
        app.session_factory, local_api, 3, municipality="BRZ", first_chat_id=200_000
    )
    young = await add_residents(
        app.session_factory,
        local_api,
        2,
        municipality="BRZ",
        age_group=AgeGroup.AGE_18_29,
        first_chat_id=300_000,
    )
    unwilling = await add_residents(
        app.session_factory,
        local_api,
        1,
        municipality="BRZ",
        first_chat_id=400_000,
        wants_announcements=False,
    )
    muted = await add_residents(
        app.session_factory, local_api, 1, municipality="BRZ", first_chat_id=500_000, muted=True
    )
    async with app.session_factory() as session:
        brz_id = await session.scalar(select(Municipality.id).where(Municipality.code == "BRZ"))
    assert brz_id is not None
    audience = Audience(
        municipality_ids=frozenset({brz_id}), age_groups=frozenset({AgeGroup.AGE_30_44})
    )
    async with app.session_factory() as session:
        assert await audiences.count(session, audience, MessageCategory.ANNOUNCEMENT) == 3
    broadcast_id = await announce(app, "Biržams", audience=audience)
    await wait_done(local_api, db, broadcast_id)
    assert set(received(local_api, brz, "Biržams").values()) == {1}
    assert set(received(local_api, pag + young + unwilling + muted, "Biržams").values()) == {0}


async def test_quiet_hours_hold_everything_but_urgent_messages(
    database_url: str, local_api: LocalBotAPI, db: Database
) -> None:
    now = datetime.now(make_settings(database_url).tz)
    quiet = {
        "quiet_hours_start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "quiet_hours_end": (now + timedelta(hours=1)).strftime("%H:%M"),
    }
    app = await create_application(
        delivery_settings(database_url, local_api, **quiet), local_api.token
    )
    assert isinstance(app.delivery.quiet_hours, QuietHours)
    assert app.delivery.quiet_hours.contains(utcnow())
    app.start_background_work()
    try:
        chats = await add_residents(app.session_factory, local_api, 3)
        held = await announce(app, "Palauks ryto")
        urgent = await announce(app, "Skubu: vanduo atjungtas", urgent=True)
        await wait_done(local_api, db, urgent)
        assert set(received(local_api, chats, "Skubu: vanduo atjungtas").values()) == {1}
        assert set(received(local_api, chats, "Palauks ryto").values()) == {0}
        rows = await db.all(OutboxMessage, OutboxMessage.broadcast_id == held)
        assert {r.status for r in rows} == {OutboxStatus.PENDING}
    finally:
        await app.close()


async def test_scheduled_broadcast_is_sent_after_a_restart(
    database_url: str, local_api: LocalBotAPI, db: Database
) -> None:
    settings = delivery_settings(database_url, local_api)
    first = await create_application(settings, local_api.token)
    chats = await add_residents(first.session_factory, local_api, 3)
    broadcast_id = await announce(first, "Rytoj", send_at=utcnow() + timedelta(seconds=2))
    await first.close()  # the bot stops before the time comes

    second = await create_application(settings, local_api.token)
    second.start_background_work()
    try:
        await wait_done(local_api, db, broadcast_id)
        assert set(received(local_api, chats, "Rytoj").values()) == {1}
    finally:
        await second.close()


async def test_cancelled_broadcast_is_never_sent(
    app: Application, local_api: LocalBotAPI, db: Database
) -> None:
    chats = await add_residents(app.session_factory, local_api, 2)
    broadcast_id = await announce(app, "Atšauktas", send_at=utcnow() + timedelta(seconds=1))
    async with app.session_factory() as session, session.begin():
        assert await broadcasts.cancel(session, broadcast_id, created_by=1)
        assert not await broadcasts.cancel(session, broadcast_id, created_by=1)
    later = await announce(app, "Kitas")
    await wait_done(local_api, db, later)
    assert set(received(local_api, chats, "Atšauktas").values()) == {0}
    assert await db.count(OutboxMessage, OutboxMessage.broadcast_id == broadcast_id) == 0


async def test_erasing_a_resident_removes_their_queued_messages(
    database_url: str, local_api: LocalBotAPI, db: Database
) -> None:
    app = await create_application(delivery_settings(database_url, local_api), local_api.token)
    try:
        chats = await add_residents(app.session_factory, local_api, 2)
        broadcast_id = await announce(app)
        async with app.session_factory() as session, session.begin():
            assert await broadcasts.start(session, broadcast_id) == 2
        async with app.session_factory() as session, session.begin():
            resident = await residents.find(session, Channel.TELEGRAM, str(chats[0]))
            assert resident is not None
            await residents.erase(session, resident)
        rows = await db.all(OutboxMessage)
        assert [r.chat_id for r in rows] == [str(chats[1])]
    finally:
        await app.close()


async def test_texts_over_telegram_limits_are_refused(database_url: str, db: Database) -> None:
    from bot.db import create_engine, create_session_factory

    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            with pytest.raises(broadcasts.BroadcastError) as error:
                await broadcasts.create(
                    session, created_by=1, text="<b>" + "a" * 4097 + "</b>", audience=Audience()
                )
            assert error.value.problem is broadcasts.BroadcastProblem.TEXT_TOO_LONG
            assert error.value.length == 4097
            await broadcasts.create(
                session, created_by=1, text="<b>" + "ą" * 4096 + "</b>", audience=Audience()
            )
            with pytest.raises(broadcasts.BroadcastError) as error:
                await broadcasts.create(
                    session, created_by=1, text="a" * 1025, photo_file_id="x", audience=Audience()
                )
            assert error.value.problem is broadcasts.BroadcastProblem.CAPTION_TOO_LONG
    finally:
        await engine.dispose()
    assert await db.count(Resident) == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_two_processes_on_one_sqlite_file_have_one_sender(
    database_url: str, local_api: LocalBotAPI, db: Database
) -> None:
    settings = delivery_settings(database_url, local_api)
    first = await create_application(settings, local_api.token)
    second = await create_application(settings, local_api.token)
    first.start_background_work()
    second.start_background_work()
    try:
        await local_api.wait_for(
            lambda: first.delivery.is_leader or second.delivery.is_leader,
            10,
            description="a sender elected",
        )
        assert [first.delivery.is_leader, second.delivery.is_leader].count(True) == 1
        chats = await add_residents(first.session_factory, local_api, 20)
        broadcast_id = await announce(first)
        second.delivery.wake()
        await wait_done(local_api, db, broadcast_id)
        assert set(received(local_api, chats, "Kviečiame į susitikimą!").values()) == {1}
    finally:
        await first.close()
        await second.close()


class HeldSender:
    """Sends nothing: each send waits until ``release`` is set, then answers ``result``;
    ``all_started`` is set when ``expected`` sends are waiting."""

    def __init__(self, result: SendResult, expected: int = 8) -> None:
        self.result = result
        self.expected = expected
        self.release = asyncio.Event()
        self.all_started = asyncio.Event()
        self.started = 0

    async def send(self, content: Content, chat_id: str, *, tagged: bool = False) -> SendResult:
        self.started += 1
        if self.started >= self.expected:
            self.all_started.set()
        await self.release.wait()
        return self.result


async def outbox_statuses(db: Database, broadcast_id: int) -> Counter[OutboxStatus]:
    rows = await db.all(OutboxMessage, OutboxMessage.broadcast_id == broadcast_id)
    return Counter(r.status for r in rows)


async def sends_in_flight(
    database_url: str, local_api: LocalBotAPI, sender: HeldSender
) -> tuple[Application, int]:
    """An application whose sender holds every send, with a broadcast to 20 residents of
    which ``concurrency`` (8) are being sent."""
    app = await create_application(delivery_settings(database_url, local_api), local_api.token)
    app.delivery.senders[Channel.TELEGRAM] = sender
    chats = await add_residents(app.session_factory, local_api, 20)
    app.start_background_work()
    broadcast_id = await announce(app)
    assert sender.expected == app.settings.delivery.concurrency < len(chats)
    async with asyncio.timeout(10):
        await sender.all_started.wait()
    return app, broadcast_id


async def test_a_stop_waits_for_the_sends_in_flight_and_records_them(
    database_url: str, local_api: LocalBotAPI, db: Database
) -> None:
    sender = HeldSender(SendResult(Outcome.SENT, message_id=7))
    app, broadcast_id = await sends_in_flight(database_url, local_api, sender)
    try:
        stopping = asyncio.create_task(app.delivery.stop(grace=10))
        await asyncio.sleep(0.3)
        assert not stopping.done()  # waiting for the platform's answers
        sender.release.set()
        async with asyncio.timeout(5):
            await stopping
        assert not app.delivery.is_leader
        assert sender.started == 8  # nothing claimed or started after the stop
        assert await outbox_statuses(db, broadcast_id) == {
            OutboxStatus.SENT: 8,
            OutboxStatus.PENDING: 12,
        }
    finally:
        sender.release.set()
        await app.close()


async def test_a_stop_waits_no_longer_than_the_grace(
    database_url: str, local_api: LocalBotAPI, db: Database
) -> None:
    sender = HeldSender(SendResult(Outcome.SENT, message_id=7))
    app, broadcast_id = await sends_in_flight(database_url, local_api, sender)
    try:
        started = time.monotonic()
        await app.delivery.stop(grace=0.3)
        assert time.monotonic() - started < 2
        assert not app.delivery.is_leader
        # Unanswered sends stay 'sending': the next sender recovers them, as after a crash.
        assert await outbox_statuses(db, broadcast_id) == {
            OutboxStatus.SENDING: 8,
            OutboxStatus.PENDING: 12,
        }
    finally:
        sender.release.set()
        await app.close()


async def test_a_stop_does_not_wait_out_a_429_pause(
    database_url: str, local_api: LocalBotAPI, db: Database
) -> None:
    sender = HeldSender(SendResult(Outcome.RATE_LIMITED, retry_after=60))
    app, broadcast_id = await sends_in_flight(database_url, local_api, sender)
    try:
        sender.release.set()  # every send answers 429: sending pauses for a minute
        for _ in range(100):  # up to 5 s for the 8 answers to be recorded
            if (await outbox_statuses(db, broadcast_id))[OutboxStatus.PENDING] == 8:
                break
            await asyncio.sleep(0.05)
        # The next rows are claimed ('sending') and wait for the pacer, not the platform.
        assert await outbox_statuses(db, broadcast_id) == {
            OutboxStatus.PENDING: 8,
            OutboxStatus.SENDING: 12,
        }
        assert sender.started == 8
        started = time.monotonic()
        await app.delivery.stop(grace=10)
        assert time.monotonic() - started < 2
        assert await outbox_statuses(db, broadcast_id) == {OutboxStatus.PENDING: 20}
    finally:
        await app.close()
