"""The sandbox (``dalyvauk demo``): its JSON API drives the real bot; messages render safely."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.sandbox.render import to_html
from bot.sandbox.runner import RunningSandbox, running_sandbox
from bot.sandbox.world import MODERATORS_CHAT_ID, ORGANIZER, partner_municipality_codes
from models import Moderator, ModeratorChat, Municipality, Organizer, Resident
from tests.support.harness import free_port


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(port=0, database=tmp_path / "sandbox.sqlite3") as running:
        yield running


@pytest.fixture
async def http(sandbox: RunningSandbox) -> AsyncIterator[Page]:
    async with aiohttp.ClientSession(base_url=sandbox.url) as session:
        yield Page(session)


class Page:
    """What the sandbox page's script does, without the browser."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        async with self.session.post(path, json=body) as response:
            return response.status, await response.json()

    async def state(self, resident: int = 7001, since: int = -1) -> dict[str, Any]:
        async with self.session.get(f"/api/state?since={since}&resident={resident}") as response:
            assert response.status == 200
            return await response.json()  # type: ignore[no-any-return]

    async def chat(self, key: str, resident: int = 7001) -> dict[str, Any]:
        return (await self.state(resident))["chats"][key]  # type: ignore[no-any-return]

    async def press(self, key: str, label: str, resident: int = 7001) -> dict[str, Any]:
        chat = await self.chat(key, resident)
        for message in reversed(chat["messages"]):
            for row in message["buttons"]:
                for button in row:
                    if button["text"] == label:
                        status, body = await self.post(
                            "/api/press",
                            {
                                "chat": key,
                                "resident": resident,
                                "message_id": message["message_id"],
                                "data": button["data"],
                            },
                        )
                        assert status == 200, body
                        return body
        raise AssertionError(f"no button {label!r}")


async def test_demo_data_is_seeded(sandbox: RunningSandbox) -> None:
    async with sandbox.app.session_factory() as session:
        active = set(
            await session.scalars(select(Municipality.code).where(Municipality.is_active.is_(True)))
        )
        assert active == set(partner_municipality_codes())
        assert len(active) == 8
        assert [o.telegram_user_id for o in await session.scalars(select(Organizer))] == [
            ORGANIZER.user_id
        ]
        assert len(list(await session.scalars(select(Moderator)))) == 1
        chats = list(await session.scalars(select(ModeratorChat)))
        assert [c.chat_id for c in chats] == [MODERATORS_CHAT_ID]
        onboarded = list(
            await session.scalars(
                select(Resident.external_id).where(Resident.onboarded_at.is_not(None))
            )
        )
        assert sorted(onboarded) == ["7003", "7004"]


async def test_resident_onboards_through_the_api(sandbox: RunningSandbox, http: Page) -> None:
    status, body = await http.post(
        "/api/send", {"chat": "resident", "resident": 7002, "text": "/start"}
    )
    assert (status, body) == (200, {"ok": True})
    chat = await http.chat("resident", 7002)
    assert chat["title"] == "Jonas"
    assert chat["messages"][1]["html"].startswith("Sveiki, Jonas!")
    await http.press("resident", "Sutinku", 7002)
    chat = await http.chat("resident", 7002)
    assert chat["toasts"][-1]["text"] == "Ačiū!"
    names = [b["text"] for row in chat["messages"][-1]["buttons"] for b in row]
    assert names[0] == "Biržų r." and "Pagėgių sav." in names
    await http.press("resident", "Pagėgių sav.", 7002)
    await http.press("resident", "Nenoriu nurodyti", 7002)
    chat = await http.chat("resident", 7002)
    assert chat["reply_keyboard"][0][0] == {"text": "Apklausos", "request_location": False}
    async with sandbox.app.session_factory() as session:
        resident = await session.scalar(select(Resident).where(Resident.external_id == "7002"))
        assert resident is not None and resident.is_onboarded


async def test_residents_have_separate_chats(http: Page) -> None:
    await http.post("/api/send", {"chat": "resident", "resident": 7003, "text": "/start"})
    aldona = (await http.chat("resident", 7003))["messages"]
    assert aldona[-1]["html"].startswith("Sveiki sugrįžę, Aldona!")  # already onboarded
    assert (await http.chat("resident", 7004))["messages"] == []


async def test_organizer_and_moderators_chats(http: Page) -> None:
    await http.post("/api/send", {"chat": "organizer", "text": "/roles"})
    organizer = await http.chat("organizer")
    assert organizer["messages"][-1]["html"].startswith("<b>1 organizatorius</b>")
    await http.post("/api/send", {"chat": "moderators", "text": "/bind PAG"})
    moderators = await http.chat("moderators")
    assert moderators["title"] == "Pagėgių sav. moderatoriai"
    assert moderators["messages"][0]["sender"] == "Rasa"
    assert moderators["messages"][-1]["sender"] == "Dalyvauk"


async def test_mydata_document_can_be_downloaded(sandbox: RunningSandbox, http: Page) -> None:
    await http.post("/api/send", {"chat": "resident", "resident": 7001, "text": "/start"})
    await http.press("resident", "Sutinku")
    await http.post("/api/send", {"chat": "resident", "resident": 7001, "text": "/mydata"})
    document = (await http.chat("resident"))["messages"][-1]["document"]
    assert document["name"] == "dalyvauk-mano-duomenys.json"
    async with http.session.get(document["url"]) as response:
        assert response.status == 200
        assert "attachment" in response.headers["Content-Disposition"]
        data = json.loads(await response.read())
    assert data["resident"]["chat_id"] == "7001"


async def test_photo_and_location_reach_the_bot(http: Page) -> None:
    form = aiohttp.FormData()
    form.add_field("chat", "resident")
    form.add_field("resident", "7001")
    form.add_field(
        "file", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, filename="a.png", content_type="image/png"
    )
    async with http.session.post("/api/photo", data=form) as response:
        assert response.status == 200
    chat = await http.chat("resident")
    assert chat["messages"][0]["kind"] == "photo"
    assert chat["messages"][0]["photo_url"].startswith("/files/")
    status, _ = await http.post(
        "/api/location",
        {"chat": "resident", "resident": 7001, "latitude": 55.1372, "longitude": 21.9106},
    )
    assert status == 200
    kinds = [m["kind"] for m in (await http.chat("resident"))["messages"]]
    assert "location" in kinds
    # the bot answered both politely (it expects buttons before consent)
    assert any(
        m["from_bot"] and "Tokios žinutės" in m["html"]
        for m in (await http.chat("resident"))["messages"]
    )


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        ("/api/send", {"chat": "nowhere", "text": "x"}, "unknown chat"),
        ("/api/send", {"chat": "resident", "text": "  "}, "Žinutė tuščia."),
        ("/api/send", {"chat": "resident", "text": "a" * 4097}, "Žinutė per ilga"),
        (
            "/api/press",
            {"chat": "resident", "message_id": 999, "data": "x"},
            "Šios žinutės nebėra.",
        ),
        ("/api/press", {"chat": "resident"}, "Netinkamas mygtukas."),
        (
            "/api/location",
            {"chat": "resident", "latitude": 123, "longitude": 0},
            "Netinkamos koordinatės.",
        ),
    ],
)
async def test_bad_requests_get_a_clear_error(
    http: Page, path: str, body: dict[str, Any], error: str
) -> None:
    status, answer = await http.post(path, body)
    assert status == 400
    assert answer["ok"] is False
    assert error in answer["error"]


async def test_state_long_poll_returns_when_something_changes(http: Page) -> None:
    version = (await http.state())["version"]
    waiting = asyncio.create_task(http.state(since=version))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await http.post("/api/send", {"chat": "organizer", "text": "/help"})
    state = await asyncio.wait_for(waiting, 5)
    assert state["version"] > version


async def test_page_and_its_files_are_served(http: Page) -> None:
    async with http.session.get("/") as response:
        assert response.status == 200
        page = await response.text()
    assert 'lang="lt"' in page
    for name in ("app.js", "style.css"):
        async with http.session.get(f"/static/{name}") as response:
            assert response.status == 200
    async with http.session.get("/static/../../config.py") as response:
        assert response.status == 404


def test_entities_become_nested_safe_html() -> None:
    text = "Sveiki, <Ona>! 👋 Daugiau"
    entities = [
        {"type": "bold", "offset": 0, "length": 14},
        {"type": "italic", "offset": 8, "length": 5},
        {"type": "text_link", "offset": 18, "length": 7, "url": "https://dalyvauk.lt/"},
    ]
    assert to_html(text, entities) == (
        '<b>Sveiki, <i>&lt;Ona&gt;</i>!</b> 👋 <a href="https://dalyvauk.lt/" target="_blank" '
        'rel="noopener">Daugiau</a>'
    )


def test_unsafe_links_are_dropped_and_newlines_kept() -> None:
    entities = [{"type": "text_link", "offset": 0, "length": 4, "url": "javascript:alert(1)"}]
    assert to_html("spausk\nčia", entities) == "spausk<br>čia"


async def test_dalyvauk_demo_prints_its_address_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.cli import main; main()",
        "demo",
        "--port",
        str(port),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert f"http://127.0.0.1:{port}/" in line.decode()
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/") as response,
        ):
            assert response.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert "Sandbox stopped." in stdout.decode()
    assert os.listdir(tmp_path) == []  # the sandbox database lives in a temporary folder
