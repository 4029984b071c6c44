"""Broadcasts and personal notices on Messenger: the 24-hour window, held broadcasts offered
when the resident writes, the event-update tag, Graph errors, photos.

The real application with Messenger on (its webhook on 127.0.0.1), the local Graph API
(which enforces the window itself) and the local Bot API for Telegram residents.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import Application
from bot.channels.messenger.client import CONFIRMED_EVENT_UPDATE
from bot.delivery.engine import RATE_SAFETY
from bot.localapi.server import LocalBotAPI
from bot.localgraph import LocalGraphAPI
from bot.services import broadcasts, event_registrations
from bot.services.audiences import Audience
from models import (
    Broadcast,
    BroadcastStatus,
    Channel,
    Event,
    EventKind,
    HeldNotice,
    MessageCategory,
    Municipality,
    OutboxMessage,
    OutboxStatus,
    Registration,
    RegistrationStatus,
    Resident,
    ResidentAccount,
    utcnow,
)
from tests.support.db import Database
from tests.support.harness import BotHarness
from tests.support.messenger import (
    APP_SECRET,
    PAGE_TOKEN,
    VERIFY_TOKEN,
    MessengerHarness,
    messenger_settings,
)
from tests.support.residents import add_residents

FAST = {"rate_per_second": 30, "progress_interval": 0.2, "retry_base_seconds": 0.2}
NO_QUIET_HOURS = {"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"}
TEXT = "Kviečiame į <b>susitikimą</b>!"
PLAIN = "Kviečiame į susitikimą!"
INSIDE = "7001"
OUTSIDE = "7002"


@asynccontextmanager
async def running(
    database_url: str, local_api: LocalBotAPI, *, tag: bool = False
) -> AsyncIterator[MessengerHarness]:
    graph = LocalGraphAPI(APP_SECRET, PAGE_TOKEN)
    await graph.start()
    settings = messenger_settings(
        database_url,
        local_api,
        graph,
        messenger={
            "page_access_token": PAGE_TOKEN,
            "app_secret": APP_SECRET,
            "verify_token": VERIFY_TOKEN,
            "api_base": graph.base_url,
            "event_update_tag": tag,
        },
        delivery=FAST,
        **NO_QUIET_HOURS,
    )
    harness = MessengerHarness(graph, BotHarness(local_api, settings))
    try:
        await harness.start()
        yield harness
        await harness.stop()
    finally:
        await graph.close()


@pytest.fixture
async def mh(database_url: str, local_api: LocalBotAPI) -> AsyncIterator[MessengerHarness]:
    async with running(database_url, local_api) as harness:
        yield harness


async def add_messenger_resident(
    mh: MessengerHarness, psid: str, last_inbound: datetime | None
) -> int:
    """An onboarded Messenger resident who last wrote at ``last_inbound`` (the bot's record
    and the Graph API's)."""
    app = mh.app
    async with app.session_factory() as session, session.begin():
        municipality_id = await session.scalar(
            select(Municipality.id).where(Municipality.code == "PAG")
        )
        now = utcnow()
        resident = Resident(
            channel=Channel.MESSENGER,
            external_id=psid,
            language="lt",
            municipality_id=municipality_id,
            consented_at=now,
            onboarded_at=now,
        )
        session.add(resident)
        await session.flush()
        session.add(
            ResidentAccount(
                resident_id=resident.id,
                channel=Channel.MESSENGER,
                external_id=psid,
                last_inbound_at=last_inbound,
            )
        )
        resident_id = resident.id
    mh.graph.set_last_inbound(psid, last_inbound)
    return resident_id


def two_days_ago() -> datetime:
    return utcnow() - timedelta(days=2)


async def create_broadcast(app: Application, text: str = TEXT, **kwargs: Any) -> int:
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


async def eventually(check: Callable[[], Any], what: str, timeout: float = 30) -> None:
    """Wait (not a timed assertion: the limit only stops a hung test) until ``check()``,
    possibly a coroutine, is true."""
    async with asyncio.timeout(timeout):
        while True:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.05)


async def wait_done(db: Database, broadcast_id: int) -> None:
    async def done() -> bool:
        (row,) = await db.all(Broadcast, Broadcast.id == broadcast_id)
        return bool(row.status == BroadcastStatus.DONE)

    await eventually(done, f"broadcast {broadcast_id} done")


async def statuses(db: Database, broadcast_id: int) -> dict[str, OutboxStatus]:
    rows = await db.all(OutboxMessage, OutboxMessage.broadcast_id == broadcast_id)
    return {row.chat_id: row.status for row in rows}


def texts(mh: MessengerHarness, psid: str) -> list[str]:
    return [m.text or "" for m in mh.graph.messages_for(psid)]


# -- broadcasts and the window -------------------------------------------------------------


async def test_an_announcement_reaches_both_apps_and_waits_outside_the_window(
    mh: MessengerHarness, local_api: LocalBotAPI, db: Database
) -> None:
    (chat,) = await add_residents(mh.app.session_factory, local_api, 1)
    await add_messenger_resident(mh, INSIDE, utcnow() - timedelta(hours=1))
    await add_messenger_resident(mh, OUTSIDE, two_days_ago())
    broadcast_id = await create_broadcast(mh.app)
    await wait_done(db, broadcast_id)

    assert [m.text for m in local_api.bot_messages(chat)] == [PLAIN]
    (message,) = mh.graph.messages_for(INSIDE)
    assert (message.text, message.messaging_type, message.tag) == (PLAIN, "UPDATE", None)
    assert mh.graph.messages_for(OUTSIDE) == []
    assert await statuses(db, broadcast_id) == {
        str(chat): OutboxStatus.SENT,
        INSIDE: OutboxStatus.SENT,
        OUTSIDE: OutboxStatus.HELD,
    }
    async with mh.app.session_factory() as session:
        progress = await broadcasts.progress(session, broadcast_id)
    assert (progress.sent, progress.held, progress.finished) == (2, 1, True)
    assert mh.graph.violations == 0


async def test_a_held_announcement_is_offered_when_the_resident_writes_and_shown(
    mh: MessengerHarness, db: Database
) -> None:
    await add_messenger_resident(mh, OUTSIDE, two_days_ago())
    broadcast_id = await create_broadcast(mh.app)
    await wait_done(db, broadcast_id)
    ona = mh.user(OUTSIDE)

    await ona.send("Labas")
    offer = ona.replies[0]
    assert offer.text == "Kol jūsų nebuvo: 1 naujas pranešimas."
    assert offer.buttons == [("Parodyti", "held:show"), ("Ne, ačiū", "held:skip")]
    assert len(ona.replies) >= 2  # then the answer to what they wrote

    await ona.send("Dar kartą labas")
    assert "Kol jūsų nebuvo" not in " ".join(ona.reply_texts)  # offered once

    await ona.postback("held:show", "Parodyti")
    assert ona.reply_texts[0] == "Siunčiame…"
    await eventually(lambda: PLAIN in texts(mh, OUTSIDE), "the announcement")
    sent = [m for m in mh.graph.messages_for(OUTSIDE) if m.text == PLAIN]
    assert len(sent) == 1 and sent[0].messaging_type == "UPDATE"
    assert await statuses(db, broadcast_id) == {OUTSIDE: OutboxStatus.SENT}
    assert mh.graph.violations == 0


async def test_declining_the_held_broadcasts_skips_them(mh: MessengerHarness, db: Database) -> None:
    await add_messenger_resident(mh, OUTSIDE, two_days_ago())
    first = await create_broadcast(mh.app)
    second = await create_broadcast(mh.app, "Antras pranešimas")
    await wait_done(db, first)
    await wait_done(db, second)
    ona = mh.user(OUTSIDE)
    await ona.send("Labas")
    assert ona.reply_texts[0] == "Kol jūsų nebuvo: 2 nauji pranešimai."
    await ona.postback("held:skip", "Ne, ačiū")
    assert ona.reply_texts == ["Gerai. Apklausas ir renginius rasite meniu, kai tik norėsite."]
    assert await statuses(db, first) == {OUTSIDE: OutboxStatus.SKIPPED}
    assert await statuses(db, second) == {OUTSIDE: OutboxStatus.SKIPPED}
    assert PLAIN not in texts(mh, OUTSIDE)
    await ona.send("Labas")
    assert "Kol jūsų nebuvo" not in " ".join(ona.reply_texts)


async def test_the_offer_counts_each_kind_in_lithuanian(mh: MessengerHarness, db: Database) -> None:
    await add_messenger_resident(mh, OUTSIDE, two_days_ago())
    ids = [
        await create_broadcast(mh.app, "Apklausa", category=MessageCategory.POLL),
        await create_broadcast(mh.app, "Apklausa 2", category=MessageCategory.POLL),
        await create_broadcast(mh.app, "Pranešimas"),
        await create_broadcast(mh.app, "Renginys", category=MessageCategory.EVENT),
    ]
    for broadcast_id in ids:
        await wait_done(db, broadcast_id)
    ona = mh.user(OUTSIDE)
    await ona.send("Labas")
    assert ona.reply_texts[0] == (
        "Kol jūsų nebuvo: 2 naujos apklausos, 1 naujas pranešimas ir 1 žinutė apie renginius."
    )


# -- event updates and the tag -------------------------------------------------------------


async def registered_event(app: Application, resident_ids: list[int]) -> int:
    async with app.session_factory() as session, session.begin():
        start = utcnow() + timedelta(days=1)
        event = Event(
            kind=EventKind.CONSULTATION,
            title="Konsultacija",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            created_by=1,
        )
        session.add(event)
        await session.flush()
        for resident_id in resident_ids:
            session.add(
                Registration(
                    event_id=event.id,
                    resident_id=resident_id,
                    status=RegistrationStatus.REGISTERED,
                    checkin_code=event_registrations.new_checkin_code(),
                )
            )
        return event.id


@pytest.mark.parametrize("tag", [True, False], ids=["tag-on", "tag-off"])
async def test_an_event_reminder_outside_the_window_is_tagged_only_when_allowed(
    database_url: str, local_api: LocalBotAPI, db: Database, tag: bool
) -> None:
    async with running(database_url, local_api, tag=tag) as mh:
        resident = await add_messenger_resident(mh, OUTSIDE, two_days_ago())
        event_id = await registered_event(mh.app, [resident])
        broadcast_id = await create_broadcast(
            mh.app,
            "Primename: rytoj konsultacija.",
            category=MessageCategory.EVENT,
            audience=Audience(registered_event_id=event_id),
        )
        await wait_done(db, broadcast_id)
        if tag:
            (message,) = mh.graph.messages_for(OUTSIDE)
            assert (message.text, message.messaging_type, message.tag) == (
                "Primename: rytoj konsultacija.",
                "MESSAGE_TAG",
                CONFIRMED_EVENT_UPDATE,
            )
            assert await statuses(db, broadcast_id) == {OUTSIDE: OutboxStatus.SENT}
        else:
            assert mh.graph.messages_for(OUTSIDE) == []
            assert await statuses(db, broadcast_id) == {OUTSIDE: OutboxStatus.HELD}
        assert mh.graph.violations == 0


async def test_an_event_invitation_is_never_tagged(
    database_url: str, local_api: LocalBotAPI, db: Database
) -> None:
    async with running(database_url, local_api, tag=True) as mh:
        await add_messenger_resident(mh, OUTSIDE, two_days_ago())
        broadcast_id = await create_broadcast(
            mh.app, "Kviečiame į konsultaciją", category=MessageCategory.EVENT
        )
        await wait_done(db, broadcast_id)
        assert mh.graph.messages_for(OUTSIDE) == []
        assert await statuses(db, broadcast_id) == {OUTSIDE: OutboxStatus.HELD}


# -- Graph errors --------------------------------------------------------------------------


async def test_an_unreachable_resident_is_blocked_and_not_retried(
    mh: MessengerHarness, db: Database
) -> None:
    await add_messenger_resident(mh, INSIDE, utcnow())
    mh.graph.make_unreachable(INSIDE)
    broadcast_id = await create_broadcast(mh.app)
    await wait_done(db, broadcast_id)
    assert await statuses(db, broadcast_id) == {INSIDE: OutboxStatus.BLOCKED}
    assert len(mh.graph.calls_for(INSIDE)) == 1
    assert mh.graph.messages_for(INSIDE) == []
    (resident,) = await db.all(Resident, Resident.external_id == INSIDE)
    assert resident.unreachable_at is not None


async def test_outside_the_window_at_send_time_holds_after_one_call(
    mh: MessengerHarness, db: Database
) -> None:
    # The bot thinks the window is open; Meta says otherwise (10/2018278).
    await add_messenger_resident(mh, INSIDE, utcnow())
    mh.graph.set_last_inbound(INSIDE, two_days_ago())
    broadcast_id = await create_broadcast(mh.app)
    await wait_done(db, broadcast_id)
    assert await statuses(db, broadcast_id) == {INSIDE: OutboxStatus.HELD}
    assert len(mh.graph.calls_for(INSIDE)) == 1
    assert mh.graph.messages_for(INSIDE) == []


async def test_a_rate_limit_is_retried_later(mh: MessengerHarness, db: Database) -> None:
    await add_messenger_resident(mh, INSIDE, utcnow())
    mh.graph.fail_next(INSIDE, 613, times=4)  # more than the client's own retries
    broadcast_id = await create_broadcast(mh.app)

    async def rate_limited_once() -> bool:
        rows = await db.all(OutboxMessage, OutboxMessage.broadcast_id == broadcast_id)
        return bool(
            rows and rows[0].status == OutboxStatus.PENDING and len(mh.graph.calls_for(INSIDE)) == 4
        )

    await eventually(rate_limited_once, "the row back in the queue")
    await wait_done(db, broadcast_id)
    assert await statuses(db, broadcast_id) == {INSIDE: OutboxStatus.SENT}
    assert [m.text for m in mh.graph.messages_for(INSIDE)] == [PLAIN]
    (row,) = await db.all(OutboxMessage, OutboxMessage.broadcast_id == broadcast_id)
    assert row.attempts == 0  # a rate limit is not the row's fault


async def test_a_photo_is_uploaded_once_for_every_messenger_resident(
    mh: MessengerHarness, local_api: LocalBotAPI, db: Database
) -> None:
    psids = ["7101", "7102", "7103"]
    for psid in psids:
        await add_messenger_resident(mh, psid, utcnow())
    organizer = 555
    local_api.add_user(organizer, "Tomas")
    await local_api.send_photo(organizer, caption="x")
    photo = local_api.messages(organizer)[-1]
    assert photo.file_id
    broadcast_id = await create_broadcast(
        mh.app,
        "<b>Susitikimas</b> bibliotekoje",
        photo_file_id=photo.file_id,
        button_text="Daugiau",
        button_url="https://dalyvauk.lt/renginys",
    )
    await wait_done(db, broadcast_id)
    assert len(mh.graph.uploads) == 1
    (attachment_id,) = mh.graph.uploads
    for psid in psids:
        image, text = mh.graph.messages_for(psid)
        assert (image.kind, image.attachment_id) == ("image", attachment_id)
        assert image.image is not None and len(image.image) > 0
        assert text.text == "Susitikimas bibliotekoje"
        assert text.buttons == [("Daugiau", "https://dalyvauk.lt/renginys")]
    assert mh.graph.violations == 0


def test_messenger_sends_take_their_own_pacer(mh: MessengerHarness) -> None:
    delivery = mh.app.delivery
    assert set(delivery.senders) == {Channel.TELEGRAM, Channel.MESSENGER}
    messenger = delivery.pacer(Channel.MESSENGER)
    telegram = delivery.pacer(Channel.TELEGRAM)
    assert messenger is not telegram
    assert messenger.interval == pytest.approx(
        1 / (mh.app.settings.messenger.rate_per_second * RATE_SAFETY)
    )
    assert telegram.interval == pytest.approx(
        1 / (mh.app.settings.delivery.rate_per_second * RATE_SAFETY)
    )


# -- personal notices ----------------------------------------------------------------------


async def notifier_resident(mh: MessengerHarness, psid: str) -> Resident:
    async with mh.app.session_factory() as session:
        resident = await session.scalar(select(Resident).where(Resident.external_id == psid))
    assert resident is not None
    return resident


async def test_a_notice_inside_the_window_is_sent_at_once(
    mh: MessengerHarness, db: Database
) -> None:
    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

    await add_messenger_resident(mh, INSIDE, utcnow())
    notifier = mh.dispatcher.services.notifier
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Peržiūrėti", callback_data="prop:view:5")]]
    )
    await notifier.send(
        await notifier_resident(mh, INSIDE), "Jūsų pasiūlymas <b>priimtas</b>.", markup
    )
    (message,) = mh.graph.messages_for(INSIDE)
    assert (message.text, message.messaging_type) == ("Jūsų pasiūlymas priimtas.", "UPDATE")
    assert message.buttons == [("Peržiūrėti", "prop:view:5")]
    assert await db.count(HeldNotice) == 0


async def test_a_notice_outside_the_window_waits_for_the_residents_next_message(
    mh: MessengerHarness, db: Database
) -> None:
    await add_messenger_resident(mh, OUTSIDE, two_days_ago())
    notifier = mh.dispatcher.services.notifier
    await notifier.send(await notifier_resident(mh, OUTSIDE), "Jūsų pasiūlymas <b>priimtas</b>.")
    assert mh.graph.messages_for(OUTSIDE) == []
    assert await db.count(HeldNotice) == 1

    ona = mh.user(OUTSIDE)
    await ona.send("Labas")
    assert ona.reply_texts[0] == "Jūsų pasiūlymas priimtas."
    assert len(ona.replies) >= 2  # the notice first, then the answer
    assert await db.count(HeldNotice) == 0
    await ona.send("Labas")
    assert "Jūsų pasiūlymas priimtas." not in ona.reply_texts
