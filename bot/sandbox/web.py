"""The sandbox page and its small JSON API (aiohttp).

The page long-polls ``/api/state`` and posts what the person types or presses; each post
becomes a real Telegram update for the bot and returns once the bot has handled it.
"""

from __future__ import annotations

import json
import logging
import mimetypes
from importlib import resources
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import BodyPartReader, web

from bot.localapi.bot_runner import PollingBot
from bot.localapi.server import LocalBotAPI
from bot.sandbox.render import message_json, reply_keyboard_json
from bot.sandbox.world import (
    MODERATOR,
    MODERATORS_CHAT_ID,
    MODERATORS_CHAT_TITLE,
    ORGANIZER,
    PERSONAS,
    RESIDENTS,
    Persona,
)

logger = logging.getLogger(__name__)

STATIC = resources.files("bot.sandbox") / "static"
MAX_TEXT = 4096
MAX_PHOTO_BYTES = 10 * 1024 * 1024
LONG_POLL_SECONDS = 25.0
RECENT_TOASTS = 20
BOT_NAME = "Dalyvauk"


class SandboxError(Exception):
    """Something the page sent that the sandbox cannot do; shown to the person."""


class Sandbox:
    def __init__(self, api: LocalBotAPI, bot: PollingBot, tz: ZoneInfo) -> None:
        self.api = api
        self.bot = bot
        self.tz = tz
        self.names = {p.user_id: p.name for p in PERSONAS}

    # -- who is where -------------------------------------------------------------------
    def resident(self, value: Any) -> Persona:
        try:
            user_id = int(value)
        except (TypeError, ValueError):
            return RESIDENTS[0]
        return next((p for p in RESIDENTS if p.user_id == user_id), RESIDENTS[0])

    def chat_of(self, key: Any, resident: Persona) -> tuple[int, int]:
        """(chat id, user id) of the person typing in the chat column ``key``."""
        if key == "resident":
            return resident.user_id, resident.user_id
        if key == "moderators":
            return MODERATORS_CHAT_ID, MODERATOR.user_id
        if key == "organizer":
            return ORGANIZER.user_id, ORGANIZER.user_id
        raise SandboxError(f"unknown chat {key!r}")

    # -- state --------------------------------------------------------------------------
    def chat_state(self, key: str, title: str, chat_id: int, user_id: int) -> dict[str, Any]:
        messages = [
            message_json(
                m, BOT_NAME if m.from_bot else self.names.get(m.from_user_id, "?"), self.tz
            )
            for m in self.api.messages(chat_id)
            if not m.deleted
        ]
        toasts = [
            {"id": index, "text": answer.get("text") or "", "show_alert": answer["show_alert"]}
            for index, answer in enumerate(self.api.callback_answers)
            if answer.get("chat_id") == chat_id and answer.get("text")
        ][-RECENT_TOASTS:]
        return {
            "key": key,
            "title": title,
            "chat_id": chat_id,
            "user_id": user_id,
            "messages": messages,
            "reply_keyboard": reply_keyboard_json(self.api.reply_keyboard_markup(chat_id)),
            "toasts": toasts,
        }

    def state(self, resident: Persona) -> dict[str, Any]:
        return {
            "version": self.api.version,
            "personas": [
                {"user_id": p.user_id, "name": p.name, "label": p.label, "role": p.role}
                for p in PERSONAS
            ],
            "chats": {
                "resident": self.chat_state(
                    "resident", resident.name, resident.user_id, resident.user_id
                ),
                "moderators": self.chat_state(
                    "moderators", MODERATORS_CHAT_TITLE, MODERATORS_CHAT_ID, MODERATOR.user_id
                ),
                "organizer": self.chat_state(
                    "organizer", ORGANIZER.name, ORGANIZER.user_id, ORGANIZER.user_id
                ),
            },
        }

    # -- actions ------------------------------------------------------------------------
    async def send_text(self, body: dict[str, Any]) -> None:
        chat_id, user_id = self.chat_of(body.get("chat"), self.resident(body.get("resident")))
        text = str(body.get("text") or "").strip()
        if not text:
            raise SandboxError("Žinutė tuščia.")
        if len(text) > MAX_TEXT:
            raise SandboxError(f"Žinutė per ilga: daugiausia {MAX_TEXT} simbolių.")
        await self.bot.handled(await self.api.send_text(user_id, text, chat_id=chat_id))

    async def press(self, body: dict[str, Any]) -> None:
        chat_id, user_id = self.chat_of(body.get("chat"), self.resident(body.get("resident")))
        try:
            message_id = int(body["message_id"])
            data = str(body["data"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SandboxError("Netinkamas mygtukas.") from exc
        try:
            update_id = await self.api.press_button(user_id, message_id, data, chat_id=chat_id)
        except LookupError as exc:
            raise SandboxError("Šios žinutės nebėra.") from exc
        await self.bot.handled(update_id)

    async def location(self, body: dict[str, Any]) -> None:
        chat_id, user_id = self.chat_of(body.get("chat"), self.resident(body.get("resident")))
        try:
            latitude, longitude = float(body["latitude"]), float(body["longitude"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SandboxError("Netinkamos koordinatės.") from exc
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise SandboxError("Netinkamos koordinatės.")
        await self.bot.handled(
            await self.api.send_location(user_id, latitude, longitude, chat_id=chat_id)
        )

    async def photo(self, fields: dict[str, Any], content: bytes) -> None:
        chat_id, user_id = self.chat_of(fields.get("chat"), self.resident(fields.get("resident")))
        if not content:
            raise SandboxError("Nuotrauka tuščia.")
        caption = str(fields.get("caption") or "") or None
        await self.bot.handled(
            await self.api.send_photo(user_id, chat_id=chat_id, caption=caption, content=content)
        )


def _error(message: str, status: int = 400) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status)


def create_sandbox_app(sandbox: Sandbox) -> web.Application:
    async def index(_request: web.Request) -> web.Response:
        return web.Response(
            text=(STATIC / "index.html").read_text("utf-8"), content_type="text/html"
        )

    async def static(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in {"app.js", "style.css"}:
            raise web.HTTPNotFound
        content_type = "text/javascript" if name.endswith(".js") else "text/css"
        return web.Response(
            text=(STATIC / name).read_text("utf-8"), content_type=content_type, charset="utf-8"
        )

    async def state(request: web.Request) -> web.Response:
        try:
            since = int(request.query.get("since", "-1"))
        except ValueError:
            since = -1
        if since >= 0:
            await sandbox.api.wait_changed(since, LONG_POLL_SECONDS)
        return web.json_response(sandbox.state(sandbox.resident(request.query.get("resident"))))

    async def file(request: web.Request) -> web.Response:
        try:
            stored = sandbox.api.file(request.match_info["file_id"])
        except LookupError as exc:
            raise web.HTTPNotFound from exc
        name = stored.filename or stored.file_path.rsplit("/", 1)[-1]
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        disposition = "inline" if content_type.startswith("image/") else "attachment"
        return web.Response(
            body=stored.content,
            content_type=content_type,
            headers={"Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name)}"},
        )

    def action(handler: Any) -> Any:
        async def run(request: web.Request) -> web.Response:
            try:
                if request.content_type.startswith("multipart/"):
                    fields: dict[str, Any] = {}
                    content = b""
                    async for part in await request.multipart():
                        if not isinstance(part, BodyPartReader):
                            continue
                        if part.name == "file":
                            content = await part.read()
                            if len(content) > MAX_PHOTO_BYTES:
                                raise SandboxError("Nuotrauka per didelė (daugiausia 10 MB).")
                        elif part.name:
                            fields[part.name] = await part.text()
                    await handler(fields, content)
                else:
                    try:
                        body = await request.json()
                    except json.JSONDecodeError as exc:
                        raise SandboxError("Netinkama užklausa.") from exc
                    if not isinstance(body, dict):
                        raise SandboxError("Netinkama užklausa.")
                    await handler(body)
            except SandboxError as exc:
                return _error(str(exc))
            except TimeoutError:
                logger.warning("the bot did not answer in time")
                return _error("Pokalbių robotas neatsakė laiku. Pabandykite dar kartą.", 504)
            return web.json_response({"ok": True})

        return run

    app = web.Application(client_max_size=MAX_PHOTO_BYTES + 1024 * 1024)
    app.router.add_get("/", index)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/api/state", state)
    app.router.add_get("/files/{file_id}", file)
    app.router.add_post("/api/send", action(sandbox.send_text))
    app.router.add_post("/api/press", action(sandbox.press))
    app.router.add_post("/api/location", action(sandbox.location))
    app.router.add_post("/api/photo", action(sandbox.photo))
    return app
