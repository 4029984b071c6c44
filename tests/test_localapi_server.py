"""The local Bot API emulator, driven through aiogram's real Bot and HTTP session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiohttp import ClientSession, web

from bot.localapi import SECRET_TOKEN_HEADER, LocalBotAPI

USER_ID = 1001
GROUP_ID = -1001234567890
SECRET = "s3cret_token-1"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


def make_bot(api: LocalBotAPI, token: str | None = None) -> Bot:
    return Bot(
        token or api.token,
        session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def keyboard(**buttons: str) -> InlineKeyboardMarkup:
    """One inline button per row: label=callback_data."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data)] for text, data in buttons.items()
        ]
    )


@pytest.fixture
async def api() -> AsyncIterator[LocalBotAPI]:
    server = LocalBotAPI(webhook_retry_delay=0.01)
    await server.start()
    server.add_user(USER_ID, "Ona", last_name="Onaitė", username="ona_lt")
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def bot(api: LocalBotAPI) -> AsyncIterator[Bot]:
    client = make_bot(api)
    try:
        yield client
    finally:
        await client.session.close()


class WebhookReceiver:
    """A tiny webhook endpoint that records what it gets and answers as scripted."""

    def __init__(self) -> None:
        self.received: list[tuple[str | None, dict[str, Any]]] = []
        self.statuses: list[int] = []
        self.reply: dict[str, Any] | None = None
        self.required_secret: str | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        secret = request.headers.get(SECRET_TOKEN_HEADER)
        if self.required_secret is not None and secret != self.required_secret:
            return web.Response(status=401, text="Unauthorized")
        self.received.append((secret, await request.json()))
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200 and self.reply is not None:
            return web.json_response(self.reply)
        return web.Response(status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    endpoint = WebhookReceiver()
    app = web.Application()
    app.router.add_post("/hook", endpoint.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    endpoint.url = f"http://{host}:{port}/hook"
    try:
        yield endpoint
    finally:
        await runner.cleanup()


async def raw_post(api: LocalBotAPI, method: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    async with (
        ClientSession() as session,
        session.post(f"{api.base_url}/bot{api.token}/{method}", **kwargs) as response,
    ):
        return response.status, await response.json()


# --------------------------------------------------------------------------------------------
# basics
# --------------------------------------------------------------------------------------------


async def test_get_me_returns_the_bot_user(api: LocalBotAPI, bot: Bot) -> None:
    me = await bot.get_me()

    assert (me.id, me.is_bot, me.username, me.first_name) == (
        123456,
        True,
        "dalyvauk_test_bot",
        "Dalyvauk",
    )


async def test_wrong_token_is_unauthorized(api: LocalBotAPI) -> None:
    intruder = make_bot(api, token="999:WRONG-TOKEN")
    try:
        with pytest.raises(TelegramUnauthorizedError) as excinfo:
            await intruder.get_me()
    finally:
        await intruder.session.close()

    assert excinfo.value.message == "Unauthorized"


async def test_unknown_method_is_not_found(api: LocalBotAPI) -> None:
    status, body = await raw_post(api, "sendTelepathy", data={"chat_id": str(USER_ID)})

    assert status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}


async def test_unknown_chat_is_chat_not_found(api: LocalBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest) as excinfo:
        await bot.send_message(424242, "Labas")

    assert excinfo.value.message == "Bad Request: chat not found"


async def test_json_body_is_accepted(api: LocalBotAPI) -> None:
    markup = {"inline_keyboard": [[{"text": "Taip", "callback_data": "yes"}]]}
    status, body = await raw_post(
        api, "sendMessage", json={"chat_id": USER_ID, "text": "Ar?", "reply_markup": markup}
    )

    assert status == 200
    assert body["result"]["reply_markup"] == markup
    assert api.bot_messages(USER_ID)[0].button_data("Taip") == "yes"


async def test_urlencoded_body_is_accepted(api: LocalBotAPI) -> None:
    status, body = await raw_post(
        api, "sendMessage", data={"chat_id": str(USER_ID), "text": "[1, 2]"}
    )

    assert status == 200
    assert body["result"]["text"] == "[1, 2]"


# --------------------------------------------------------------------------------------------
# sending and text limits
# --------------------------------------------------------------------------------------------


async def test_send_message_stores_plain_text_parsed_from_html(api: LocalBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(USER_ID, "<b>Labas</b>, &lt;Ona&gt; ąčę")

    stored = api.bot_messages(USER_ID)[-1]
    assert sent.text == stored.text == "Labas, <Ona> ąčę"
    assert stored.html == "<b>Labas</b>, &lt;Ona&gt; ąčę"
    assert stored.parse_mode == "HTML"
    assert stored.entities == [{"type": "bold", "offset": 0, "length": 5}]
    assert sent.from_user is not None
    assert sent.from_user.is_bot


async def test_4096_visible_characters_inside_bold_are_accepted(api: LocalBotAPI, bot: Bot) -> None:
    text = "<b>" + "ą" * 4096 + "</b>"

    sent = await bot.send_message(USER_ID, text)

    assert len(sent.text or "") == 4096


async def test_4097_visible_characters_are_too_long(api: LocalBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest) as excinfo:
        await bot.send_message(USER_ID, "<b>" + "a" * 4097 + "</b>")

    assert excinfo.value.message == "Bad Request: message is too long"
    assert api.bot_messages(USER_ID) == []


async def test_text_empty_after_parsing_is_rejected(api: LocalBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest) as excinfo:
        await bot.send_message(USER_ID, "<b></b>")

    assert excinfo.value.message == "Bad Request: message text is empty"


async def test_unclosed_html_tag_cannot_be_parsed(api: LocalBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest) as excinfo:
        await bot.send_message(USER_ID, "<b>Labas")

    assert excinfo.value.message == (
        "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""
    )


async def test_unsupported_html_tag_cannot_be_parsed(api: LocalBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest) as excinfo:
        await bot.send_message(USER_ID, "Labas<br>Ona")

    assert excinfo.value.message == (
        'Bad Request: can\'t parse entities: Unsupported start tag "br" at byte offset 5'
    )


async def test_unescaped_markdown_v2_character_cannot_be_parsed(api: LocalBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest) as excinfo:
        await bot.send_message(USER_ID, "Kaina: 5.00", parse_mode=ParseMode.MARKDOWN_V2)

    assert "Character '.' is reserved" in excinfo.value.message


async def test_caption_of_1024_characters_is_accepted(api: LocalBotAPI, bot: Bot) -> None:
    photo = BufferedInputFile(b"\x89PNG fake", filename="foto.png")

    sent = await bot.send_photo(USER_ID, photo, caption="<i>" + "č" * 1024 + "</i>")

    assert len(sent.caption or "") == 1024
    assert api.bot_messages(USER_ID)[-1].kind == "photo"


async def test_caption_of_1025_characters_is_too_long(api: LocalBotAPI, bot: Bot) -> None:
    photo = BufferedInputFile(b"\x89PNG fake", filename="foto.png")

    with pytest.raises(TelegramBadRequest) as excinfo:
        await bot.send_photo(USER_ID, photo, caption="x" * 1025)

    assert excinfo.value.message == "Bad Request: message caption is too long"


async def test_send_document_keeps_bytes_and_filename(api: LocalBotAPI, bot: Bot) -> None:
    content = "Duomenys apie Oną\n".encode()

    sent = await bot.send_document(
        USER_ID, BufferedInputFile(content, filename="mano_duomenys.json"), caption="Jūsų duomenys"
    )

    stored = api.bot_messages(USER_ID)[-1]
    assert (stored.kind, stored.document_name, stored.document_bytes) == (
        "document",
        "mano_duomenys.json",
        content,
    )
    assert stored.text == "Jūsų duomenys"
    assert sent.document is not None
    assert sent.document.mime_type == "application/json"


async def test_reply_keyboard_is_kept_until_removed(api: LocalBotAPI, bot: Bot) -> None:
    menu = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="Apklausos"), KeyboardButton(text="Nustatymai")]]
    )
    await bot.send_message(USER_ID, "Meniu", reply_markup=menu)
    shown = api.reply_keyboard(USER_ID)

    await bot.send_message(USER_ID, "Viso", reply_markup=ReplyKeyboardRemove())

    assert shown == [["Apklausos", "Nustatymai"]]
    assert api.reply_keyboard(USER_ID) is None


# --------------------------------------------------------------------------------------------
# inline keyboards and callbacks
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", ["ą" * 32 + "a", "ą" * 33], ids=["65-bytes", "66-bytes"])
async def test_callback_data_over_64_bytes_is_invalid(
    api: LocalBotAPI, bot: Bot, data: str
) -> None:
    with pytest.raises(TelegramBadRequest) as excinfo:
        await bot.send_message(USER_ID, "Rinkitės", reply_markup=keyboard(Taip=data))

    assert excinfo.value.message == "Bad Request: BUTTON_DATA_INVALID"
    assert api.bot_messages(USER_ID) == []


async def test_callback_data_of_64_bytes_is_accepted(api: LocalBotAPI, bot: Bot) -> None:
    data = "ą" * 32

    sent = await bot.send_message(USER_ID, "Rinkitės", reply_markup=keyboard(Taip=data))

    assert api.message(USER_ID, sent.message_id).button_data("Taip") == data


async def test_inline_button_without_action_is_rejected(api: LocalBotAPI, bot: Bot) -> None:
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Niekas")]])

    with pytest.raises(TelegramBadRequest) as excinfo:
        await bot.send_message(USER_ID, "?", reply_markup=markup)

    assert "Text buttons are unallowed in the inline keyboard" in excinfo.value.message


async def test_press_button_sends_callback_query_with_current_message(
    api: LocalBotAPI, bot: Bot
) -> None:
    sent = await bot.send_message(USER_ID, "Ar sutinkate?", reply_markup=keyboard(Taip="agree"))

    await api.press_button(USER_ID, sent.message_id, "agree")
    (update,) = await bot.get_updates()

    query = update.callback_query
    assert query is not None
    assert query.data == "agree"
    assert query.from_user.id == USER_ID
    assert isinstance(query.message, Message)
    assert query.message.text == "Ar sutinkate?"
    assert query.message.reply_markup is not None
    assert query.message.reply_markup.model_dump(exclude_none=True) == {
        "inline_keyboard": [[{"text": "Taip", "callback_data": "agree"}]]
    }


async def test_answer_callback_query_is_recorded(api: LocalBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(USER_ID, "Ar?", reply_markup=keyboard(Taip="yes"))
    await api.press_button(USER_ID, sent.message_id, "yes")
    (update,) = await bot.get_updates()
    assert update.callback_query is not None

    await bot.answer_callback_query(update.callback_query.id, text="Ačiū!", show_alert=True)

    assert api.callback_answers[-1]["callback_query_id"] == update.callback_query.id
    assert (api.callback_answers[-1]["text"], api.callback_answers[-1]["show_alert"]) == (
        "Ačiū!",
        True,
    )


async def test_answer_callback_query_text_over_200_characters_is_rejected(
    api: LocalBotAPI, bot: Bot
) -> None:
    sent = await bot.send_message(USER_ID, "Ar?", reply_markup=keyboard(Taip="yes"))
    await api.press_button(USER_ID, sent.message_id, "yes")
    (update,) = await bot.get_updates()
    assert update.callback_query is not None

    with pytest.raises(TelegramBadRequest) as excinfo:
        await bot.answer_callback_query(update.callback_query.id, text="ž" * 201)

    assert excinfo.value.message == "Bad Request: MESSAGE_TOO_LONG"
    assert api.callback_answers == []


# --------------------------------------------------------------------------------------------
# editing and deleting
# --------------------------------------------------------------------------------------------


async def test_edit_message_text_updates_stored_message(api: LocalBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(USER_ID, "Klausimas", reply_markup=keyboard(Taip="yes"))

    edited = await bot.edit_message_text(
        "<i>Atsakyta</i>", chat_id=USER_ID, message_id=sent.message_id
    )

    stored = api.message(USER_ID, sent.message_id)
    assert (stored.text, stored.html, stored.edited) == ("Atsakyta", "<i>Atsakyta</i>", True)
    assert stored.reply_markup is None
    assert isinstance(edited, Message)
    assert edited.edit_date is not None


async def test_edit_with_identical_content_is_not_modified(api: LocalBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(USER_ID, "<b>Tas pats</b>", reply_markup=keyboard(A="a"))

    with pytest.raises(TelegramBadRequest) as excinfo:
        await bot.edit_message_text(
            "<strong>Tas pats</strong>",
            chat_id=USER_ID,
            message_id=sent.message_id,
            reply_markup=keyboard(A="a"),
        )

    assert excinfo.value.message == NOT_MODIFIED
    assert api.message(USER_ID, sent.message_id).edited is False


async def test_editing_an_unknown_message_is_not_found(api: LocalBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest) as excinfo:
        await bot.edit_message_text("Naujas", chat_id=USER_ID, message_id=77)

    assert excinfo.value.message == "Bad Request: message to edit not found"


async def test_delete_message_flags_it_deleted(api: LocalBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(USER_ID, "Laikina")

    assert await bot.delete_message(USER_ID, sent.message_id) is True

    assert api.message(USER_ID, sent.message_id).deleted is True
    assert api.bot_messages(USER_ID, include_deleted=False) == []


# --------------------------------------------------------------------------------------------
# polling
# --------------------------------------------------------------------------------------------


async def test_user_messages_get_increasing_update_ids_from_one(api: LocalBotAPI, bot: Bot) -> None:
    first = await api.send_text(USER_ID, "/start")
    second = await api.send_sticker(USER_ID)

    updates = await bot.get_updates()

    assert (first, second) == (1, 2)
    assert [u.update_id for u in updates] == [1, 2]
    message = updates[0].message
    assert message is not None
    assert message.entities is not None
    assert (message.entities[0].type, message.entities[0].length) == ("bot_command", 6)


async def test_group_command_entity_covers_the_bot_username(api: LocalBotAPI, bot: Bot) -> None:
    api.add_group(GROUP_ID, "Vilniaus bendruomenė")

    await api.send_text(USER_ID, "/balsuoti@dalyvauk_test_bot 3", chat_id=GROUP_ID)
    (update,) = await bot.get_updates()

    assert update.message is not None
    assert update.message.entities is not None
    assert update.message.chat.type == "supergroup"
    assert update.message.entities[0].length == len("/balsuoti@dalyvauk_test_bot")


async def test_forum_topics_carry_their_messages(api: LocalBotAPI, bot: Bot) -> None:
    api.add_group(GROUP_ID, "Moderatoriai", is_forum=True)
    assert (await bot.get_chat(GROUP_ID)).is_forum

    topic = await bot.create_forum_topic(GROUP_ID, name="PAG-2026-0042")
    assert topic.name == "PAG-2026-0042"
    assert api.forum_topics(GROUP_ID) == {topic.message_thread_id: "PAG-2026-0042"}
    card = await bot.send_message(GROUP_ID, "kortelė", message_thread_id=topic.message_thread_id)
    assert card.message_thread_id == topic.message_thread_id and card.is_topic_message
    # A user's message in the topic replies to the topic's service message unless it
    # replies to another one.
    await api.send_text(
        USER_ID, "klausimas", chat_id=GROUP_ID, message_thread_id=topic.message_thread_id
    )
    await api.send_text(
        USER_ID,
        "atsakymas",
        chat_id=GROUP_ID,
        message_thread_id=topic.message_thread_id,
        reply_to_message_id=card.message_id,
    )
    first, second = [u.message for u in await bot.get_updates()]
    assert first is not None and second is not None
    assert first.is_topic_message and first.message_thread_id == topic.message_thread_id
    assert first.reply_to_message is not None
    assert first.reply_to_message.message_id == topic.message_thread_id
    assert first.reply_to_message.forum_topic_created is not None
    assert second.reply_to_message is not None
    assert second.reply_to_message.message_id == card.message_id

    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(GROUP_ID, "niekur", message_thread_id=9999)
    with pytest.raises(TelegramBadRequest, match="TOPIC_TITLE_INVALID"):
        await bot.create_forum_topic(GROUP_ID, name="x" * 129)


async def test_forum_topics_only_in_forums(api: LocalBotAPI, bot: Bot) -> None:
    api.add_group(GROUP_ID, "Vilniaus bendruomenė")
    assert not (await bot.get_chat(GROUP_ID)).is_forum
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(GROUP_ID, name="PAG-2026-0042")
    assert api.forum_topics(GROUP_ID) == {}


async def test_offset_confirms_and_drops_earlier_updates(api: LocalBotAPI, bot: Bot) -> None:
    for text in ("vienas", "du", "trys"):
        await api.send_text(USER_ID, text)

    await bot.get_updates(offset=3)
    remaining = await bot.get_updates()

    assert [u.update_id for u in remaining] == [3]
    assert [u["update_id"] for u in api.pending_updates] == [3]


async def test_limit_caps_the_batch(api: LocalBotAPI, bot: Bot) -> None:
    for text in ("vienas", "du", "trys"):
        await api.send_text(USER_ID, text)

    updates = await bot.get_updates(limit=2)

    assert [u.update_id for u in updates] == [1, 2]


async def test_long_poll_wakes_up_when_an_update_arrives(api: LocalBotAPI, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    assert not poll.done()

    await api.send_text(USER_ID, "Labas")
    updates = await asyncio.wait_for(poll, timeout=2)

    assert [u.message.text for u in updates if u.message] == ["Labas"]
    assert loop.time() - started < 2


async def test_allowed_updates_filters_out_other_types(api: LocalBotAPI, bot: Bot) -> None:
    await bot.get_updates(allowed_updates=["callback_query"])
    sent = await bot.send_message(USER_ID, "Ar?", reply_markup=keyboard(Taip="yes"))

    await api.send_text(USER_ID, "ignoruojama")
    await api.press_button(USER_ID, sent.message_id, "yes")
    updates = await bot.get_updates()

    assert [u.event_type for u in updates] == ["callback_query"]


async def test_wait_until_delivered_returns_once_offset_confirms(
    api: LocalBotAPI, bot: Bot
) -> None:
    update_id = await api.send_text(USER_ID, "Labas")
    await bot.get_updates()

    waiting = asyncio.create_task(api.wait_until_delivered(update_id, timeout=2))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await bot.get_updates(offset=update_id + 1)

    await asyncio.wait_for(waiting, timeout=2)


async def test_wait_until_delivered_times_out_without_a_poller(api: LocalBotAPI) -> None:
    update_id = await api.send_text(USER_ID, "Labas")

    with pytest.raises(TimeoutError, match="is the bot polling"):
        await api.wait_until_delivered(update_id, timeout=0.1)


async def test_redelivered_update_reaches_a_polling_bot_again(api: LocalBotAPI, bot: Bot) -> None:
    update_id = await api.send_text(USER_ID, "Labas")
    original = api.pending_updates[0]
    await bot.get_updates(offset=update_id + 1)

    assert await api.deliver_raw(original) == update_id
    again = await bot.get_updates(offset=update_id + 1)
    after = await bot.get_updates(offset=update_id + 1)

    assert [u.update_id for u in again] == [update_id]
    assert after == []


async def test_get_file_serves_a_user_photo(api: LocalBotAPI, bot: Bot) -> None:
    await api.send_photo(USER_ID, caption="Duobė kieme")
    (update,) = await bot.get_updates()
    assert update.message is not None
    assert update.message.photo is not None

    file = await bot.get_file(update.message.photo[-1].file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)

    stored = api.messages(USER_ID)[-1]
    assert downloaded is not None
    assert downloaded.read() == stored.photo_bytes
    assert update.message.caption == "Duobė kieme"


async def test_dispatcher_polling_answers_start(api: LocalBotAPI, bot: Bot) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("<b>Sveiki!</b>")

    polling = asyncio.create_task(
        dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False)
    )
    try:
        update_id = await api.send_text(USER_ID, "/start")
        reply = await api.wait_for_bot_message(USER_ID, after_message_id=1)
        await api.wait_until_delivered(update_id)
    finally:
        await dispatcher.stop_polling()
        await asyncio.wait_for(polling, timeout=5)

    assert (reply.text, reply.entities[0]["type"]) == ("Sveiki!", "bold")


# --------------------------------------------------------------------------------------------
# fault injection and limits
# --------------------------------------------------------------------------------------------


async def test_injected_429_raises_retry_after(api: LocalBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", 429, retry_after=7)

    with pytest.raises(TelegramRetryAfter) as excinfo:
        await bot.send_message(USER_ID, "Labas")

    assert excinfo.value.retry_after == 7
    assert "Too Many Requests: retry after 7" in excinfo.value.message


async def test_injected_failure_creates_no_message(api: LocalBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", 502, times=2)

    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(USER_ID, "Labas")
    sent = await bot.send_message(USER_ID, "Pagaliau")

    assert [m.text for m in api.bot_messages(USER_ID)] == ["Pagaliau"]
    assert sent.message_id == 1


async def test_injected_500_raises_server_error(api: LocalBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", 500)

    with pytest.raises(TelegramServerError) as excinfo:
        await bot.send_message(USER_ID, "Labas")

    assert excinfo.value.message == "Internal Server Error"


async def test_blocked_chat_is_forbidden(api: LocalBotAPI, bot: Bot) -> None:
    api.block_chat(USER_ID)

    with pytest.raises(TelegramForbiddenError) as excinfo:
        await bot.send_message(USER_ID, "Labas")

    assert excinfo.value.message == "Forbidden: bot was blocked by the user"
    assert api.stats.rejected_403 == 1


async def test_rate_limit_rejects_sends_above_the_rate(api: LocalBotAPI, bot: Bot) -> None:
    api.set_rate_limit(3, per_chat_per_second=None, per_group_per_minute=None)
    retry_afters: list[int] = []

    for number in range(5):
        try:
            await bot.send_message(USER_ID, f"Žinutė {number}")
        except TelegramRetryAfter as exc:
            retry_afters.append(exc.retry_after)

    assert len(api.bot_messages(USER_ID)) == 3
    assert len(retry_afters) == 2
    assert all(seconds >= 1 for seconds in retry_afters)
    assert (api.stats.sent_ok, api.stats.rejected_429) == (3, 2)


async def test_per_chat_rate_limit_applies_to_one_chat(api: LocalBotAPI, bot: Bot) -> None:
    api.add_user(2002, "Rasa")
    api.set_rate_limit(30, per_chat_per_second=1)
    await bot.send_message(USER_ID, "Pirma")

    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(USER_ID, "Antra")
    await bot.send_message(2002, "Kitam pokalbiui")

    assert [len(api.bot_messages(chat)) for chat in (USER_ID, 2002)] == [1, 1]


async def test_set_my_commands_is_stored_per_language(api: LocalBotAPI, bot: Bot) -> None:
    commands = [BotCommand(command="start", description="Pradėti")]

    await bot.set_my_commands(commands, language_code="lt")

    assert api.commands == {"default": {"lt": [{"command": "start", "description": "Pradėti"}]}}
    fetched = await bot.get_my_commands(language_code="lt")
    assert [(c.command, c.description) for c in fetched] == [("start", "Pradėti")]
    assert await bot.get_my_commands() == []


async def test_commands_of_one_chat_are_kept_per_scope_and_language(
    api: LocalBotAPI, bot: Bot
) -> None:
    everyone = [BotCommand(command="start", description="Pradėti")]
    organizer = [*everyone, BotCommand(command="newpoll", description="Sukurti apklausą")]
    chat = BotCommandScopeChat(chat_id=USER_ID)

    await bot.set_my_commands(everyone)
    await bot.set_my_commands(organizer, scope=chat)
    await bot.set_my_commands(organizer, scope=chat, language_code="en")

    assert set(api.commands) == {"default", f"chat:{USER_ID}"}
    assert set(api.commands[f"chat:{USER_ID}"]) == {"", "en"}
    fetched = await bot.get_my_commands(scope=chat, language_code="en")
    assert [c.command for c in fetched] == ["start", "newpoll"]
    assert [c.command for c in await bot.get_my_commands()] == ["start"]

    # Deleting one language keeps the other; deleting the last removes the scope.
    assert await bot.delete_my_commands(scope=chat, language_code="en")
    assert set(api.commands[f"chat:{USER_ID}"]) == {""}
    assert await bot.delete_my_commands(scope=chat)
    assert await bot.get_my_commands(scope=chat) == []
    assert set(api.commands) == {"default"}
    assert await bot.delete_my_commands(scope=chat)  # nothing left: still fine

    # Telegram refuses the scope of a chat it does not know (nobody wrote to the bot there).
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.set_my_commands(organizer, scope=BotCommandScopeChat(chat_id=777))
    assert set(api.commands) == {"default"}


# --------------------------------------------------------------------------------------------
# webhook
# --------------------------------------------------------------------------------------------


async def test_webhook_delivers_updates_with_the_secret_header(
    api: LocalBotAPI, bot: Bot, receiver: WebhookReceiver
) -> None:
    await bot.set_webhook(receiver.url, secret_token=SECRET)

    update_id = await api.send_text(USER_ID, "Labas")
    await api.wait_until_delivered(update_id)

    ((secret, body),) = receiver.received
    assert secret == SECRET
    assert (body["update_id"], body["message"]["text"]) == (update_id, "Labas")
    assert api.webhook_attempts == [(update_id, 200)]


async def test_webhook_retries_after_a_server_error(
    api: LocalBotAPI, bot: Bot, receiver: WebhookReceiver
) -> None:
    receiver.statuses = [500]
    await bot.set_webhook(receiver.url, secret_token=SECRET)

    update_id = await api.send_text(USER_ID, "Labas")
    await api.wait_until_delivered(update_id)

    assert api.webhook_attempts == [(update_id, 500), (update_id, 200)]
    assert [body["update_id"] for _, body in receiver.received] == [update_id, update_id]


async def test_webhook_reply_with_a_method_is_executed(
    api: LocalBotAPI, bot: Bot, receiver: WebhookReceiver
) -> None:
    receiver.reply = {"method": "sendMessage", "chat_id": USER_ID, "text": "<b>Gavau</b>"}
    receiver.reply["parse_mode"] = "HTML"
    await bot.set_webhook(receiver.url)

    await api.send_text(USER_ID, "Labas")
    reply = await api.wait_for_bot_message(USER_ID)

    assert reply.text == "Gavau"
    assert api.calls_for("sendMessage")[-1].source == "webhook_reply"


async def test_post_webhook_raw_reports_the_status_for_a_wrong_secret(
    api: LocalBotAPI, bot: Bot, receiver: WebhookReceiver
) -> None:
    receiver.required_secret = SECRET
    await bot.set_webhook(receiver.url, secret_token=SECRET)
    update = {"update_id": 99, "message": {"message_id": 1, "date": 0, "chat": {"id": 1}}}

    wrong = await api.post_webhook_raw(update, secret="not-the-secret")
    missing = await api.post_webhook_raw(update, secret=None)
    right = await api.post_webhook_raw(update, secret=SECRET)

    assert (wrong, missing, right) == (401, 401, 200)
    assert api.webhook_attempts == []


async def test_get_updates_while_a_webhook_is_set_conflicts(
    api: LocalBotAPI, bot: Bot, receiver: WebhookReceiver
) -> None:
    await bot.set_webhook(receiver.url)

    with pytest.raises(TelegramConflictError) as excinfo:
        await bot.get_updates()

    assert excinfo.value.message == (
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
        "delete the webhook first"
    )


async def test_webhook_info_reports_the_configuration(
    api: LocalBotAPI, bot: Bot, receiver: WebhookReceiver
) -> None:
    await bot.set_webhook(receiver.url, secret_token=SECRET, allowed_updates=["message"])

    info = await bot.get_webhook_info()

    assert (info.url, info.allowed_updates, info.pending_update_count) == (
        receiver.url,
        ["message"],
        0,
    )
    assert api.webhook is not None
    assert api.webhook.secret_token == SECRET
