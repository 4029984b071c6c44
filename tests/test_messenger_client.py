"""Messenger's outgoing side: message splitting and limits, the Graph client against the local
Graph API (limits, retries, typed errors, the 24-hour window), webhook signatures."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from bot.channels.messenger import signature
from bot.channels.messenger.client import (
    CONFIRMED_EVENT_UPDATE,
    GraphClient,
    MessagingType,
    MessengerError,
    OutsideWindow,
    RateLimited,
    RecipientUnreachable,
)
from bot.channels.messenger.messages import (
    MAX_BUTTON_TEXT,
    MAX_TEXT,
    Button,
    OutMessage,
    QuickReply,
    html_to_text,
    quick_reply_page,
    short_title,
    split_text,
)
from bot.localgraph import LocalGraphAPI

SECRET = "app-secret"
TOKEN = "page-token"
PSID = "2460001"

LITHUANIAN = (
    "Kviečiame gyventojus dalyvauti viešoje konsultacijoje dėl Nepriklausomybės aikštės "
    "sutvarkymo. Susitikimas vyks savivaldybės posėdžių salėje! Ar galėsite atvykti? "
    "Nebūtina registruotis iš anksto… Klausimus galite užduoti ir elektroniniu paštu.\n"
    "Tebūnie tai nebeprisikiškiakopūsteliaujantiesiems skirtas sakinys. "
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _assert_split(text: str, limit: int) -> list[str]:
    chunks = split_text(text, limit)
    assert all(0 < len(chunk) <= limit for chunk in chunks)
    assert all(chunk.strip() == chunk for chunk in chunks)
    assert _squash("".join(chunks)) == _squash(text)
    return chunks


# --- messages.py -----------------------------------------------------------------------------


def test_short_text_is_one_chunk() -> None:
    assert split_text("Labas!") == ["Labas!"]
    assert split_text("   ") == []
    assert split_text("") == []


def test_exactly_the_limit_is_one_chunk() -> None:
    text = ("Žodis " * 400)[:MAX_TEXT]
    assert len(text) == MAX_TEXT
    assert split_text(text) == [text.strip()]
    assert len(split_text("ą" * MAX_TEXT)) == 1
    assert [len(c) for c in split_text("ą" * (MAX_TEXT + 1))] == [MAX_TEXT, 1]


def test_split_at_sentence_boundaries() -> None:
    text = "Pirmas sakinys. Antras sakinys! Trečias sakinys? Ketvirtas… Penktas."
    chunks = _assert_split(text, 40)
    assert chunks == ["Pirmas sakinys. Antras sakinys!", "Trečias sakinys? Ketvirtas… Penktas."]
    assert _assert_split(text, 30) == [
        "Pirmas sakinys.",
        "Antras sakinys!",
        "Trečias sakinys? Ketvirtas…",
        "Penktas.",
    ]


def test_split_at_line_breaks_before_words() -> None:
    text = "pirma eilutė be taško\nantra eilutė be taško ir dar ilgesnė"
    assert _assert_split(text, 30) == [
        "pirma eilutė be taško",
        "antra eilutė be taško ir dar",
        "ilgesnė",
    ]


def test_split_at_words_without_sentences() -> None:
    text = " ".join(["savivaldybė"] * 50)
    chunks = _assert_split(text, 100)
    assert all(set(chunk.split()) == {"savivaldybė"} for chunk in chunks)


def test_long_word_is_cut_only_when_it_alone_is_too_long() -> None:
    word = "nebeprisikiškiakopūsteliaujantiesiems"  # 37 characters
    chunks = _assert_split(f"Trumpas. {word} pabaiga", 20)
    assert chunks[0] == "Trumpas."
    assert "".join(chunks[1:3]) == word
    assert all(len(c) <= 20 for c in chunks)


def test_long_lithuanian_text() -> None:
    text = LITHUANIAN * 30
    chunks = _assert_split(text, MAX_TEXT)
    assert len(chunks) >= 3
    # every chunk ends a sentence: the text is made of sentences, each far below the limit
    assert all(chunk.endswith((".", "!", "?", "…")) for chunk in chunks)
    _assert_split(text, MAX_BUTTON_TEXT)


def test_short_title() -> None:
    assert short_title("Renginiai") == "Renginiai"
    title = short_title("Nepriklausomybės aikštės sutvarkymas")
    assert len(title) == 20 and title.endswith("…")


def test_html_to_text() -> None:
    html = (
        "<b>Konsultacija</b> &amp; <i>susitikimas</i><br>"
        'Daugiau: <a href="https://vilnius.lt/a?x=1&amp;y=2">svetainėje</a>, '
        '<a href="https://vilnius.lt">https://vilnius.lt</a> &lt;3 <code>kodas</code>'
    )
    assert html_to_text(html) == (
        "Konsultacija & susitikimas\n"
        "Daugiau: svetainėje (https://vilnius.lt/a?x=1&y=2), https://vilnius.lt <3 kodas"
    )
    assert html_to_text("Be žymų") == "Be žymų"


def test_quick_reply_pages() -> None:
    items = [QuickReply(f"Nr. {i}", f"poll:{i}") for i in range(30)]
    first = quick_reply_page(items, 0, "polls:page", "Daugiau")
    assert len(first) == 13
    assert first[:12] == tuple(items[:12])
    assert first[-1] == QuickReply("Daugiau", "polls:page:1")
    second = quick_reply_page(items, 1, "polls:page", "Daugiau")
    assert second[:12] == tuple(items[12:24]) and second[-1].payload == "polls:page:2"
    assert quick_reply_page(items, 2, "polls:page", "Daugiau") == tuple(items[24:])
    assert quick_reply_page(items, 3, "polls:page", "Daugiau") == ()
    # up to 13 fit on the last page, no "more" needed
    assert quick_reply_page(items[:13], 0, "p", "Daugiau") == tuple(items[:13])
    fourteen = quick_reply_page(items[:14], 0, "p", "Daugiau")
    assert len(fourteen) == 13 and fourteen[-1].payload == "p:1"
    assert quick_reply_page(items[:14], 1, "p", "Daugiau") == tuple(items[12:14])


# --- signature.py ----------------------------------------------------------------------------


def test_signature_sign_and_verify() -> None:
    body = json.dumps({"object": "page", "entry": []}).encode()
    header = signature.sign(SECRET, body)
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", header)
    assert signature.verify(SECRET, body, header)
    assert signature.verify(SECRET, body, header.upper().replace("SHA256=", "sha256="))
    assert not signature.verify("other-secret", body, header)
    assert not signature.verify(SECRET, body + b" ", header)
    assert not signature.verify(SECRET, body, None)
    assert not signature.verify(SECRET, body, "")
    assert not signature.verify(SECRET, body, header.removeprefix("sha256="))
    assert not signature.verify(SECRET, body, "sha1=" + header.removeprefix("sha256="))
    assert not signature.verify(SECRET, body, "sha256=zz")
    assert not signature.verify(SECRET, body, header[:-1])


# --- the client against the local Graph API --------------------------------------------------


@pytest.fixture
async def graph() -> AsyncIterator[LocalGraphAPI]:
    api = LocalGraphAPI(SECRET, TOKEN)
    await api.start()
    api.set_last_inbound(PSID, datetime.now(UTC))
    try:
        yield api
    finally:
        await api.close()


@pytest.fixture
async def client(graph: LocalGraphAPI) -> AsyncIterator[GraphClient]:
    graph_client = GraphClient(graph.base_url, TOKEN, max_attempts=3, backoff=0.01)
    try:
        yield graph_client
    finally:
        await graph_client.close()


async def test_plain_text(graph: LocalGraphAPI, client: GraphClient) -> None:
    mids = await client.send(PSID, OutMessage("Sveiki! Ačiū, kad dalyvaujate."))
    [message] = graph.messages_for(PSID)
    assert message.text == "Sveiki! Ačiū, kad dalyvaujate."
    assert message.messaging_type == "RESPONSE" and message.tag is None
    assert mids == [message.mid] and message.mid.startswith("m_")
    assert graph.violations == 0


async def test_long_text_is_split_and_quick_replies_go_on_the_last(
    graph: LocalGraphAPI, client: GraphClient
) -> None:
    text = LITHUANIAN * 30
    replies = (QuickReply("Taip", "answer:yes"), QuickReply("Ne", "answer:no"))
    mids = await client.send(PSID, OutMessage(text, quick_replies=replies))
    messages = graph.messages_for(PSID)
    assert len(messages) == len(mids) >= 3
    assert all(m.text is not None and len(m.text) <= MAX_TEXT for m in messages)
    assert _squash("".join(m.text or "" for m in messages)) == _squash(text)
    assert [m.quick_replies for m in messages[:-1]] == [[]] * (len(messages) - 1)
    assert messages[-1].quick_replies == [("Taip", "answer:yes"), ("Ne", "answer:no")]
    assert graph.violations == 0


async def test_limits_are_checked_before_sending(graph: LocalGraphAPI, client: GraphClient) -> None:
    many = tuple(QuickReply(str(i), f"p:{i}") for i in range(14))
    with pytest.raises(ValueError, match="quick replies"):
        await client.send(PSID, OutMessage("Pasirinkite", quick_replies=many))
    with pytest.raises(ValueError, match="title"):
        await client.send(PSID, OutMessage("x", quick_replies=(QuickReply("x" * 21, "p"),)))
    buttons = tuple(Button(str(i), payload=f"b:{i}") for i in range(4))
    with pytest.raises(ValueError, match="buttons"):
        await client.send(PSID, OutMessage("Pasirinkite", buttons=buttons))
    with pytest.raises(ValueError, match="payload"):
        await client.send(PSID, OutMessage("x", quick_replies=(QuickReply("x", "p" * 1001),)))
    with pytest.raises(ValueError, match="empty"):
        await client.send(PSID, OutMessage(""))
    assert graph.messages_for(PSID) == [] and graph.calls == []
    # thirteen are fine
    await client.send(PSID, OutMessage("Pasirinkite", quick_replies=many[:13]))
    assert len(graph.last_message(PSID).quick_replies) == 13
    assert graph.violations == 0


async def test_button_template(graph: LocalGraphAPI, client: GraphClient) -> None:
    buttons = (
        Button("Registruotis", payload="ev:reg:7"),
        Button("Svetainė", url="https://vilnius.lt/renginiai/7"),
    )
    await client.send(PSID, OutMessage("Renginys: gyventojų susitikimas.", buttons=buttons))
    [message] = graph.messages_for(PSID)
    assert message.kind == "template"
    assert message.text == "Renginys: gyventojų susitikimas."
    assert message.buttons == [
        ("Registruotis", "ev:reg:7"),
        ("Svetainė", "https://vilnius.lt/renginiai/7"),
    ]
    assert message.raw["attachment"]["payload"]["buttons"][0] == {
        "type": "postback",
        "title": "Registruotis",
        "payload": "ev:reg:7",
    }
    assert graph.violations == 0


async def test_long_button_text_goes_before_the_template(
    graph: LocalGraphAPI, client: GraphClient
) -> None:
    text = LITHUANIAN * 4  # over 640, under 2000
    assert MAX_BUTTON_TEXT < len(text) < MAX_TEXT
    await client.send(PSID, OutMessage(text, buttons=(Button("Gerai", payload="ok"),)))
    messages = graph.messages_for(PSID)
    assert len(messages) >= 2
    assert [m.kind for m in messages] == ["text"] * (len(messages) - 1) + ["template"]
    assert len(messages[-1].text or "") <= MAX_BUTTON_TEXT
    assert messages[-1].buttons == [("Gerai", "ok")]
    assert _squash("".join(m.text or "" for m in messages)) == _squash(text)
    assert graph.violations == 0


async def test_image_is_uploaded_then_sent(graph: LocalGraphAPI, client: GraphClient) -> None:
    await client.send(
        PSID,
        OutMessage("Rezultatai", image=PNG, quick_replies=(QuickReply("Meniu", "menu"),)),
    )
    image, text = graph.messages_for(PSID)
    assert image.kind == "image" and image.image == PNG
    assert image.attachment_id in graph.uploads
    assert graph.uploads[image.attachment_id].content_type == "image/png"
    assert text.text == "Rezultatai" and text.quick_replies == [("Meniu", "menu")]
    # an uploaded image is reusable by its id
    await client.send(PSID, OutMessage(image_attachment_id=image.attachment_id))
    assert graph.last_message(PSID).image == PNG
    assert len(graph.uploads) == 1
    assert graph.violations == 0


async def test_rate_limit_is_retried(graph: LocalGraphAPI, client: GraphClient) -> None:
    graph.fail_next(PSID, 613)
    await client.send(PSID, OutMessage("Labas"))
    assert [c.error_code for c in graph.calls_for(PSID)] == [613, None]
    assert [m.text for m in graph.messages_for(PSID)] == ["Labas"]


async def test_server_errors_are_retried(graph: LocalGraphAPI, client: GraphClient) -> None:
    graph.fail_next(PSID, 2, times=2, status=500)
    await client.send(PSID, OutMessage("Labas"))
    assert [c.status for c in graph.calls_for(PSID)] == [500, 500, 200]
    assert len(graph.messages_for(PSID)) == 1


async def test_retries_are_bounded(graph: LocalGraphAPI, client: GraphClient) -> None:
    graph.fail_next(PSID, 4, times=100)
    with pytest.raises(RateLimited) as caught:
        await client.send(PSID, OutMessage("Labas"))
    assert caught.value.code == 4
    assert len(graph.calls_for(PSID)) == 3  # max_attempts
    assert graph.messages_for(PSID) == []


@pytest.mark.parametrize(("code", "subcode"), [(551, None), (100, 2018001)])
async def test_unreachable(
    graph: LocalGraphAPI, client: GraphClient, code: int, subcode: int | None
) -> None:
    graph.fail_next(PSID, code, subcode)
    with pytest.raises(RecipientUnreachable) as caught:
        await client.send(PSID, OutMessage("Labas"))
    assert (caught.value.code, caught.value.subcode) == (code, subcode)
    assert len(graph.calls_for(PSID)) == 1
    assert graph.messages_for(PSID) == []


async def test_make_unreachable(graph: LocalGraphAPI, client: GraphClient) -> None:
    graph.make_unreachable(PSID)
    with pytest.raises(RecipientUnreachable) as caught:
        await client.send(PSID, OutMessage("Labas"))
    assert caught.value.code == 551
    assert "isn't available" in caught.value.message
    assert graph.messages_for(PSID) == []


async def test_outside_window_is_not_retried(graph: LocalGraphAPI, client: GraphClient) -> None:
    graph.set_last_inbound(PSID, datetime.now(UTC) - timedelta(hours=25))
    with pytest.raises(OutsideWindow) as caught:
        await client.send(PSID, OutMessage("Nauja apklausa"), messaging_type=MessagingType.UPDATE)
    assert (caught.value.code, caught.value.subcode) == (10, 2018278)
    assert len(graph.calls_for(PSID)) == 1
    # an injected 10/2018278 is the same
    graph.set_last_inbound(PSID, datetime.now(UTC))
    graph.fail_next(PSID, 10, 2018278)
    with pytest.raises(OutsideWindow):
        await client.send(PSID, OutMessage("Nauja apklausa"))
    assert len(graph.calls_for(PSID)) == 2
    assert graph.messages_for(PSID) == []
    # someone who never wrote is outside the window too
    with pytest.raises(OutsideWindow):
        await client.send("999", OutMessage("Labas"))


async def test_confirmed_event_update_outside_window(
    graph: LocalGraphAPI, client: GraphClient
) -> None:
    graph.set_last_inbound(PSID, datetime.now(UTC) - timedelta(days=3))
    await client.send(
        PSID,
        OutMessage("Primename: rytoj 18:00 susitikimas."),
        messaging_type=MessagingType.MESSAGE_TAG,
        tag=CONFIRMED_EVENT_UPDATE,
    )
    [message] = graph.messages_for(PSID)
    assert (message.messaging_type, message.tag) == ("MESSAGE_TAG", "CONFIRMED_EVENT_UPDATE")
    with pytest.raises(ValueError, match="tag"):
        await client.send(PSID, OutMessage("x"), messaging_type=MessagingType.MESSAGE_TAG)
    with pytest.raises(ValueError, match="tag"):
        await client.send(PSID, OutMessage("x"), tag=CONFIRMED_EVENT_UPDATE)
    assert graph.violations == 0


async def test_bad_token(graph: LocalGraphAPI) -> None:
    bad = GraphClient(graph.base_url, "wrong-token", max_attempts=3, backoff=0.01)
    try:
        with pytest.raises(MessengerError) as caught:
            await bad.send(PSID, OutMessage("Labas"))
    finally:
        await bad.close()
    assert caught.value.code == 190
    assert not isinstance(caught.value, RecipientUnreachable | OutsideWindow | RateLimited)
    assert TOKEN not in str(caught.value) and "wrong-token" not in str(caught.value)
    assert len(graph.calls) == 1  # not retried
    assert graph.messages_for(PSID) == []


async def test_fixture_refuses_what_breaks_the_limits(graph: LocalGraphAPI) -> None:
    """Bugs that bypass the client's checks still fail, as on Meta's side, and are counted."""
    url = f"{graph.base_url}/me/messages?access_token={TOKEN}"
    bodies: list[dict[str, Any]] = [
        {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": "x" * 2001}},
        {"recipient": {"id": PSID}, "message": {"text": "no messaging_type"}},
        {
            "recipient": {"id": PSID},
            "messaging_type": "RESPONSE",
            "tag": "CONFIRMED_EVENT_UPDATE",
            "message": {"text": "tag without MESSAGE_TAG"},
        },
        {
            "recipient": {"id": PSID},
            "messaging_type": "RESPONSE",
            "message": {
                "text": "x",
                "quick_replies": [{"content_type": "text", "title": "t" * 21, "payload": "p"}],
            },
        },
    ]
    async with graph._client.post(url, json=bodies[0]) as response:  # type: ignore[union-attr]
        assert response.status == 400
        error = (await response.json())["error"]
        assert error["code"] == 100 and "fbtrace_id" in error
    for body in bodies[1:]:
        async with graph._client.post(url, json=body) as response:  # type: ignore[union-attr]
            assert response.status == 400
    assert graph.violations == len(bodies)
    assert graph.messages_for(PSID) == []


async def test_profile(graph: LocalGraphAPI, client: GraphClient) -> None:
    profile = {
        "get_started": {"payload": "start"},
        "greeting": [
            {"locale": "default", "text": "Sveiki! Čia jūsų savivaldybės pokalbių robotas."}
        ],
        "persistent_menu": [
            {
                "locale": "default",
                "composer_input_disabled": False,
                "call_to_actions": [
                    {"type": "postback", "title": "Meniu", "payload": "menu"},
                    {"type": "web_url", "title": "Svetainė", "url": "https://vilnius.lt"},
                ],
            }
        ],
    }
    await client.set_profile(profile)
    assert graph.profile == profile
    with pytest.raises(MessengerError) as caught:
        await client.set_profile({"persistent_menu": [{"locale": "lt_LT", "call_to_actions": []}]})
    assert caught.value.code == 100
    assert graph.violations == 1


async def test_download(graph: LocalGraphAPI, client: GraphClient) -> None:
    url = graph.image_url("photo.png", PNG)
    assert await client.download(url) == PNG
    with pytest.raises(MessengerError):
        await client.download(f"{graph.root_url}/files/missing.png")


# --- the webhook side of the fixture ---------------------------------------------------------


async def test_deliver_posts_signed_meta_shaped_bodies(graph: LocalGraphAPI) -> None:
    received: list[tuple[bool, dict[str, Any]]] = []

    async def webhook(request: web.Request) -> web.Response:
        raw = await request.read()
        ok = signature.verify(SECRET, raw, request.headers.get(signature.HEADER))
        received.append((ok, json.loads(raw)))
        return web.Response(status=200 if ok else 403)

    app = web.Application()
    app.router.add_post("/messenger/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    url = f"http://127.0.0.1:{port}/messenger/webhook"
    try:
        graph.set_last_inbound("777", None)
        status, mid = await graph.deliver(url, "777", text="Labas")
        assert status == 200 and mid.startswith("m_")
        assert graph.in_window("777")
        ok, body = received[-1]
        assert ok
        assert body["object"] == "page"
        [entry] = body["entry"]
        assert entry["id"] == graph.page_id
        [event] = entry["messaging"]
        assert event["sender"] == {"id": "777"}
        assert event["recipient"] == {"id": graph.page_id}
        assert event["message"] == {"mid": mid, "text": "Labas"}

        # a quick reply carries the chip's title as text
        client = GraphClient(graph.base_url, TOKEN, backoff=0.01)
        try:
            await client.send(
                "777",
                OutMessage("Ar dalyvausite?", quick_replies=(QuickReply("Taip", "rsvp:yes"),)),
            )
        finally:
            await client.close()
        status, _ = await graph.deliver(url, "777", quick_reply="rsvp:yes")
        message = received[-1][1]["entry"][0]["messaging"][0]["message"]
        assert message["text"] == "Taip" and message["quick_reply"] == {"payload": "rsvp:yes"}

        status, mid = await graph.deliver(url, "777", postback="menu")
        assert received[-1][1]["entry"][0]["messaging"][0]["postback"] == {
            "title": "menu",
            "payload": "menu",
            "mid": mid,
        }

        image = graph.image_attachment("a.png", PNG)
        await graph.deliver(url, "777", attachments=[image])
        attachment = received[-1][1]["entry"][0]["messaging"][0]["message"]["attachments"][0]
        assert attachment["type"] == "image"

        # two entries in one POST, and a batch of events
        await graph.deliver(url, "777", text="Du kartus", entries=2)
        assert len(received[-1][1]["entry"]) == 2
        events = [graph.event("777", text="a"), graph.event("778", text="b")]
        assert await graph.deliver_batch(url, events, per_entry=2) == 200
        assert [len(e["messaging"]) for e in received[-1][1]["entry"]] == [2]

        # unsigned and wrongly signed bodies are refused by our tiny webhook
        status, _ = await graph.deliver(url, "777", text="x", sign=False)
        assert status == 403 and received[-1][0] is False
        status, _ = await graph.deliver(url, "777", text="x", signature="sha256=" + "0" * 64)
        assert status == 403
    finally:
        await runner.cleanup()
