"""How the bot behaves towards Telegram: webhook secret, retries, blocked chats, start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramForbiddenError, TelegramServerError

from bot.channels.telegram.retry import RetryRequestMiddleware
from bot.localapi.server import LocalBotAPI
from tests.support.db import Database
from tests.support.harness import WEBHOOK_SECRET, BotHarness
from tests.test_onboarding import onboard


def start_update(update_id: int, user_id: int) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_790_000_000,
            "text": "/start",
            "chat": {"id": user_id, "type": "private", "first_name": "Eve"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Eve"},
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


@pytest.mark.parametrize("mode", ["webhook"], indirect=True)
async def test_webhook_rejects_a_wrong_secret_and_processes_nothing(
    harness: BotHarness, db: Database
) -> None:
    status = await harness.api.post_webhook_raw(start_update(900, 4001), secret="wrong")
    assert status == 401
    status = await harness.api.post_webhook_raw(start_update(901, 4001), secret=None)
    assert status == 401
    assert await db.resident(4001) is None
    assert harness.api.bot_messages(4001) == []


@pytest.mark.parametrize("mode", ["webhook"], indirect=True)
async def test_webhook_is_registered_with_secret_and_used_update_types(
    harness: BotHarness,
) -> None:
    webhook = harness.api.webhook
    assert webhook is not None
    assert webhook.url == f"http://127.0.0.1:{harness.webhook_port}/telegram/webhook"
    assert webhook.secret_token == WEBHOOK_SECRET
    assert harness.app is not None
    assert sorted(webhook.allowed_updates or []) == sorted(
        harness.app.dispatcher.resolve_used_update_types()
    )
    assert {"message", "callback_query"} <= set(webhook.allowed_updates or [])


async def test_polling_asks_only_for_used_update_types(harness: BotHarness) -> None:
    assert harness.app is not None
    assert sorted(harness.api.allowed_updates or []) == sorted(
        harness.app.dispatcher.resolve_used_update_types()
    )


@pytest.mark.parametrize("mode", ["polling", "webhook"], indirect=True)
async def test_429_is_waited_out_and_the_resident_still_gets_the_answer(
    harness: BotHarness,
) -> None:
    chat = harness.chat(4002)
    harness.api.fail_next("sendMessage", 429, retry_after=1)
    await chat.send("/start")
    assert chat.reply_texts[0].startswith("Sveiki, Ona!")
    statuses = [call.status for call in harness.api.calls_for("sendMessage")]
    assert statuses[:2] == [429, 200]


async def test_server_error_is_retried(harness: BotHarness) -> None:
    chat = harness.chat(4003)
    harness.api.fail_next("sendMessage", 502)
    await chat.send("/start")
    assert chat.reply_texts[0].startswith("Sveiki, Ona!")
    assert [c.status for c in harness.api.calls_for("sendMessage")][:2] == [502, 200]


@pytest.mark.parametrize("mode", ["polling", "webhook"], indirect=True)
async def test_blocked_bot_marks_the_resident_unreachable(
    harness: BotHarness, db: Database
) -> None:
    chat = harness.chat(4004)
    await onboard(chat)
    harness.api.block_chat(4004)
    await chat.send("/help")
    resident = await db.resident(4004)
    assert resident is not None and resident.unreachable_at is not None
    assert resident.is_onboarded  # nothing else was lost

    harness.api.unblock_chat(4004)
    await chat.send("/help")
    resident = await db.resident(4004)
    assert resident is not None and resident.unreachable_at is None
    assert chat.last_text.startswith("Kaip naudotis")


async def test_failing_start_up_calls_do_not_stop_the_bot(
    database_url: str, local_api: LocalBotAPI
) -> None:
    from tests.support.harness import harness_settings

    local_api.fail_next("setMyCommands", 400, "Bad Request: BOT_COMMAND_INVALID", times=10)
    harness = BotHarness(local_api, harness_settings(database_url, local_api, "polling"))
    await harness.start()
    try:
        chat = harness.chat(4005)
        await chat.send("/start")
        assert chat.reply_texts[0].startswith("Sveiki, Ona!")
    finally:
        await harness.stop()


async def test_commands_are_registered_in_both_languages(harness: BotHarness) -> None:
    calls = harness.api.calls_for("setMyCommands")
    languages = {call.params.get("language_code") for call in calls}
    assert languages == {None, "lt", "en"}
    lithuanian = next(c for c in calls if c.params.get("language_code") == "lt")
    descriptions = {cmd["command"]: cmd["description"] for cmd in lithuanian.params["commands"]}
    assert descriptions["forget"] == "Ištrinti mano duomenis"


@pytest.fixture
async def raw_bot(local_api: LocalBotAPI) -> AsyncIterator[tuple[Bot, list[int]]]:
    forbidden: list[int] = []

    async def on_forbidden(chat_id: int) -> None:
        forbidden.append(chat_id)

    session = AiohttpSession(api=TelegramAPIServer.from_base(local_api.base_url))
    session.middleware(
        RetryRequestMiddleware(max_attempts=3, base_delay=0.01, on_forbidden=on_forbidden)
    )
    bot = Bot(local_api.token, session=session)
    local_api.add_user(4100, "Ona")
    yield bot, forbidden
    await session.close()


async def test_retries_are_bounded(raw_bot: tuple[Bot, list[int]], local_api: LocalBotAPI) -> None:
    bot, _ = raw_bot
    local_api.fail_next("sendMessage", 500, times=10)
    with pytest.raises(TelegramServerError):
        await bot.send_message(4100, "Labas")
    assert len(local_api.calls_for("sendMessage")) == 3
    assert local_api.bot_messages(4100) == []


async def test_forbidden_is_reported_and_not_retried(
    raw_bot: tuple[Bot, list[int]], local_api: LocalBotAPI
) -> None:
    bot, forbidden = raw_bot
    local_api.block_chat(4100)
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(4100, "Labas")
    assert forbidden == [4100]
    assert len(local_api.calls_for("sendMessage")) == 1


async def test_unexpected_error_gets_an_apology_and_rolls_back(
    harness: BotHarness, db: Database
) -> None:
    chat = harness.chat(4006)
    harness.api.fail_next("sendMessage", 400, "Bad Request: something unexpected")
    await chat.send("/start")
    assert chat.reply_texts == ["Atsiprašome, mums įvyko klaida. Pabandykite dar kartą."]
    assert await db.resident(4006) is None  # the failed update left nothing half-done
    await chat.send("/start")
    assert chat.reply_texts[0].startswith("Sveiki, Ona!")
    assert await db.resident(4006) is not None


async def test_blocking_and_unblocking_the_bot_is_recorded(
    harness: BotHarness, db: Database
) -> None:
    chat = harness.chat(4007)
    await onboard(chat)
    sent_before = len(chat.messages)
    await harness.handled(await harness.api.block_bot(4007))
    resident = await db.resident(4007)
    assert resident is not None and resident.unreachable_at is not None
    await harness.handled(await harness.api.unblock_bot(4007))
    resident = await db.resident(4007)
    assert resident is not None and resident.unreachable_at is None
    assert len(chat.messages) == sent_before  # nothing is sent in answer to these updates
    assert [c.status for c in harness.api.calls_for("sendMessage")].count(403) == 0
