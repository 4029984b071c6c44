"""The Messenger webhook: Meta's handshake, signed POSTs, several entries, redeliveries, the
answer before the work, and the one line at start that says whether Messenger is on."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest

from bot.app import create_application
from bot.channels.messenger.context import MessengerContext
from bot.localapi.server import LocalBotAPI
from models import Channel, ProcessedMessengerMessage, Resident, ResidentAccount
from tests.support.db import Database
from tests.support.harness import BotHarness, harness_settings
from tests.support.messenger import VERIFY_TOKEN, MessengerHarness

PRIVACY_START = "Prieš pradėdami"


async def get(url: str, **params: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url, params=params) as response:
        return response.status, await response.text()


async def test_handshake_answers_the_challenge_only_to_the_right_token(
    messenger: MessengerHarness,
) -> None:
    url = messenger.webhook_url
    good = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    assert await get(url, **good) == (200, "1158201444")
    assert (await get(url, **{**good, "hub.verify_token": "wrong"}))[0] == 403
    assert (await get(url, **{**good, "hub.mode": "unsubscribe"}))[0] == 403
    assert (await get(url))[0] == 403
    assert await get(f"http://127.0.0.1:{messenger.port}/healthz") == (200, '{"status": "ok"}')


async def test_unsigned_or_wrongly_signed_posts_are_refused_and_change_nothing(
    messenger: MessengerHarness, db: Database
) -> None:
    graph = messenger.graph
    status, _ = await graph.deliver(messenger.webhook_url, "6001", text="Labas", sign=False)
    assert status == 403
    status, _ = await graph.deliver(
        messenger.webhook_url, "6001", text="Labas", signature="sha256=" + "0" * 64
    )
    assert status == 403
    await messenger.dispatcher.wait_idle()
    assert graph.messages_for("6001") == []
    assert await db.count(Resident) == 0
    assert await db.count(ProcessedMessengerMessage) == 0


async def test_signed_garbage_is_a_bad_request(messenger: MessengerHarness) -> None:
    status = await messenger.graph.post_raw(messenger.webhook_url, b"{not json")
    assert status == 400


async def test_every_entry_of_one_post_is_handled(
    messenger: MessengerHarness, db: Database
) -> None:
    graph = messenger.graph
    events = [graph.event(psid, text="Labas") for psid in ("6101", "6102", "6103")]
    assert await graph.deliver_batch(messenger.webhook_url, events) == 200
    await messenger.dispatcher.wait_idle()
    for psid in ("6101", "6102", "6103"):
        texts = [m.text or "" for m in graph.messages_for(psid)]
        assert any(PRIVACY_START in text for text in texts), texts
    assert await db.count(ResidentAccount, ResidentAccount.channel == Channel.MESSENGER) == 3
    assert await db.count(ProcessedMessengerMessage) == 3


async def test_a_message_delivered_twice_is_handled_once(
    messenger: MessengerHarness, db: Database
) -> None:
    ona = messenger.user("6201")
    await ona.onboard()
    before = len(ona.messages)
    status, _ = await messenger.deliver("6201", postback="menu", mid="m_twice")
    assert status == 200
    status, _ = await messenger.deliver("6201", postback="menu", mid="m_twice", entries=2)
    assert status == 200
    assert len(ona.messages) == before + 1
    assert (
        await db.count(ProcessedMessengerMessage, ProcessedMessengerMessage.mid == "m_twice") == 1
    )


async def test_the_post_is_answered_before_the_event_is_handled(
    messenger: MessengerHarness,
) -> None:
    release = asyncio.Event()
    reached = asyncio.Event()

    async def wait_for_the_test(_ctx: MessengerContext) -> None:
        reached.set()
        await release.wait()

    messenger.dispatcher.before_handling.append(wait_for_the_test)
    status, _ = await messenger.graph.deliver(messenger.webhook_url, "6301", text="Labas")
    assert status == 200
    await reached.wait()
    assert messenger.graph.messages_for("6301") == []  # the handler is still running
    release.set()
    await messenger.dispatcher.wait_idle("6301")
    assert PRIVACY_START in (messenger.graph.messages_for("6301")[-1].text or "")


async def test_a_failing_handler_rolls_back_apologises_and_a_redelivery_retries(
    messenger: MessengerHarness, db: Database
) -> None:
    async def fail_once(ctx: MessengerContext) -> None:
        messenger.dispatcher.before_handling.remove(fail_once)
        raise RuntimeError("boom")

    messenger.dispatcher.before_handling.append(fail_once)
    user = messenger.user("6401")
    await user.send("Labas", mid="m_fails")
    assert user.reply_texts == [
        "Atsiprašome, įvyko klaida. Pabandykite dar kartą šiek tiek vėliau."
    ]
    assert await db.count(Resident) == 0
    assert await db.count(ProcessedMessengerMessage) == 0
    await user.send("Labas", mid="m_fails")
    assert any(PRIVACY_START in text for text in user.reply_texts)
    assert await db.count(Resident) == 1


async def test_the_profile_is_set_at_start(messenger: MessengerHarness) -> None:
    profile = messenger.graph.profile
    assert profile["get_started"] == {"payload": "get_started"}
    menus = {menu["locale"]: menu for menu in profile["persistent_menu"]}
    assert set(menus) == {"default", "en_US"}
    titles = [item["title"] for item in menus["default"]["call_to_actions"]]
    assert titles == [
        "Meniu",
        "Apklausos",
        "Renginiai",
        "Pateikti pasiūlymą",
        "Mano duomenys",
        "Nustatymai",
    ]
    assert all(
        len(title) <= 20
        for menu in menus.values()
        for title in (item["title"] for item in menu["call_to_actions"])
    )
    assert {g["locale"] for g in profile["greeting"]} == {"default", "en_US"}
    assert messenger.graph.violations == 0


async def test_startup_line_says_whether_messenger_is_on(
    database_url: str, local_api: LocalBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.app")
    settings = harness_settings(
        database_url, local_api, "polling", messenger={"app_secret": "s3cret"}
    )
    app = await create_application(settings, local_api.token)
    try:
        assert app.messenger is None
    finally:
        await app.close()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Messenger:")]
    assert lines == [
        "Messenger: off — set MESSENGER_PAGE_ACCESS_TOKEN and MESSENGER_VERIFY_TOKEN to turn it on"
    ]
    assert "s3cret" not in caplog.text


async def test_startup_line_when_on(
    messenger: MessengerHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.app")
    app = await create_application(messenger.harness.settings, messenger.harness.api.token)
    try:
        assert app.messenger is not None
    finally:
        await app.close()
    assert "Messenger: on at /messenger/webhook" in caplog.messages


async def test_telegram_is_unchanged_when_messenger_is_off(
    harness: BotHarness, db: Database
) -> None:
    assert harness.app is not None and harness.app.messenger is None
    chat = harness.chat(1001, "Ona")
    await chat.send("/start")
    await chat.click("Sutinku")
    assert chat.reply_texts == ["Kurioje savivaldybėje gyvenate?"]
    resident = await db.resident(1001)
    assert resident is not None and resident.channel == Channel.TELEGRAM
    assert await db.count(ResidentAccount, ResidentAccount.channel == Channel.MESSENGER) == 0
