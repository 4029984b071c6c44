"""In-process emulator of the Graph API's Messenger side, for tests and the sandbox.

:class:`LocalGraphAPI` serves, on ``127.0.0.1``:

* ``POST /{version}/me/messages`` (or ``/{page_id}/messages``): the Send API, checked against
  Messenger's limits (refusals are Graph-shaped code 100 errors, counted in :attr:`violations`),
  with the 24-hour window enforced from each person's last inbound message, and optionally
  Meta's per-page rate (``rate_limit_per_second``: code 613 above it);
* ``POST /{version}/me/message_attachments``: attachment upload (multipart ``filedata``);
* ``POST|GET|DELETE /{version}/me/messenger_profile``;
* ``GET /files/<name>``: inbound attachments' files (:meth:`image_url`).

The webhook side builds Meta-shaped, HMAC-signed POST bodies: :meth:`deliver` and
:meth:`deliver_batch`. Errors are scripted with :meth:`fail_next` and :meth:`make_unreachable`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import BodyPartReader, ClientError, ClientSession, ClientTimeout, web

from bot.channels.messenger.signature import HEADER as SIGNATURE_HEADER
from bot.channels.messenger.signature import sign as sign_body
from bot.localapi.updates import Signal
from bot.localgraph.models import Fault, GraphCall, SentMessage, Upload
from bot.localgraph.validation import (
    GraphError,
    check_buttons,
    check_profile,
    check_quick_replies,
    check_send,
    invalid,
)

__all__ = ["WINDOW", "LocalGraphAPI"]

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]

#: Messenger's standard messaging window.
WINDOW = timedelta(hours=24)
#: Tags allowed outside the window (the only one the project uses).
OUTSIDE_WINDOW_TAGS = frozenset({"CONFIRMED_EVENT_UPDATE"})
MAX_UPLOAD_BYTES = 25 * 1024 * 1024


def _new_mid() -> str:
    return f"m_{uuid.uuid4().hex}"


def _now() -> datetime:
    return datetime.now(UTC)


def _content_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    return "application/octet-stream"


class LocalGraphAPI:
    """A Graph API (Messenger Platform) emulator running inside the current event loop.

    Typical use::

        graph = LocalGraphAPI(app_secret="s", page_access_token="t")
        await graph.start()
        client = GraphClient(graph.base_url, "t")
        status, mid = await graph.deliver(webhook_url, "1001", text="Labas")
        [reply] = await graph.wait_messages("1001", 1)
        await graph.close()
    """

    def __init__(
        self,
        app_secret: str,
        page_access_token: str,
        page_id: str = "100200300",
        *,
        version: str = "v21.0",
        host: str = "127.0.0.1",
        port: int = 0,
        enforce_window: bool = True,
        rate_limit_per_second: float | None = None,
    ) -> None:
        """``rate_limit_per_second``: answer a Send API call with Graph error 613 (and do not
        send it) when that many calls were accepted in the last second, as Meta limits a
        page's sends; ``None`` (the default): no limit."""
        if rate_limit_per_second is not None and rate_limit_per_second < 1:
            raise ValueError("rate_limit_per_second must be at least 1")
        self.app_secret = app_secret
        self.page_access_token = page_access_token
        self.page_id = page_id
        self.version = version
        self.enforce_window = enforce_window
        self._host = host
        self._port = port
        self._bound_port: int | None = None
        self._runner: web.AppRunner | None = None
        self._client: ClientSession | None = None
        self._signal = Signal()
        self._messages: dict[str, list[SentMessage]] = {}
        self._last_inbound: dict[str, datetime] = {}
        self._unreachable: set[str] = set()
        self._faults: list[Fault] = []
        self._files: dict[str, bytes] = {}
        self.rate_limit_per_second = rate_limit_per_second
        # when the last accepted Send API calls were answered (monotonic), for the rate limit
        self._recent_sends: deque[float] = deque(maxlen=int(rate_limit_per_second or 1))
        #: Send API calls answered with 613 because of ``rate_limit_per_second``
        self.rate_limited = 0
        #: every accepted message, in order
        self.sent: list[SentMessage] = []
        #: every Graph request (accepted or refused), in order
        self.calls: list[GraphCall] = []
        #: refused requests that broke Messenger's limits or shapes (code 100): tests keep it 0
        self.violations = 0
        self.violation_messages: list[str] = []
        #: uploaded attachments by attachment id
        self.uploads: dict[str, Upload] = {}
        #: the current messenger_profile fields
        self.profile: JSONDict = {}
        #: (status, body) of every webhook POST made by deliver / deliver_batch
        self.webhook_posts: list[tuple[int, JSONDict]] = []

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server."""
        if self._bound_port is None:
            raise RuntimeError("LocalGraphAPI is not running; call start() first")
        return f"http://{self._host}:{self._bound_port}"

    @property
    def base_url(self) -> str:
        """The Graph API base for :class:`GraphClient`, e.g. ``http://127.0.0.1:PORT/v21.0``."""
        return f"{self.root_url}/{self.version}"

    async def start(self) -> None:
        """Start listening. Idempotent while running."""
        if self._runner is not None:
            return
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_post("/{version}/{node}/messages", self._handle_messages)
        app.router.add_post("/{version}/{node}/message_attachments", self._handle_upload)
        app.router.add_route("*", "/{version}/{node}/messenger_profile", self._handle_profile)
        app.router.add_get("/files/{name}", self._handle_file)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        addresses = runner.addresses
        self._bound_port = int(addresses[0][1]) if addresses else self._port
        self._runner = runner
        self._client = ClientSession(timeout=ClientTimeout(total=30))
        log.debug("local Graph API listening on %s", self.root_url)

    async def close(self) -> None:
        """Stop the server. Idempotent."""
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LocalGraphAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- scripting and inspection ------------------------------------------------------------

    def set_last_inbound(self, psid: str, when: datetime | None) -> None:
        """Pretend ``psid`` last wrote at ``when`` (``None``: never)."""
        if when is None:
            self._last_inbound.pop(psid, None)
        else:
            self._last_inbound[psid] = when
        self._signal.notify()

    def last_inbound(self, psid: str) -> datetime | None:
        return self._last_inbound.get(psid)

    def in_window(self, psid: str, now: datetime | None = None) -> bool:
        last = self._last_inbound.get(psid)
        return last is not None and (now or _now()) - last < WINDOW

    def fail_next(
        self,
        psid: str | None,
        code: int,
        subcode: int | None = None,
        times: int = 1,
        status: int = 400,
        message: str | None = None,
    ) -> None:
        """Answer the next ``times`` Send API calls to ``psid`` (``None``: any call, uploads and
        profile too) with Graph error ``code``/``subcode`` and HTTP ``status``."""
        error = GraphError(code, message, subcode=subcode, status=status)
        self._faults.append(Fault(psid, code, subcode, status, times, error.message))

    def make_unreachable(self, psid: str, unreachable: bool = True) -> None:
        """Answer every Send API call to ``psid`` with 551 "This person isn't available"."""
        if unreachable:
            self._unreachable.add(psid)
        else:
            self._unreachable.discard(psid)

    def send_times(self) -> list[float]:
        """When each accepted Send API call was answered (``time.time()``), in order."""
        return [c.at for c in self.calls if c.endpoint == "messages" and c.status == 200]

    def messages_for(self, psid: str) -> list[SentMessage]:
        """The messages accepted for ``psid``, in order."""
        return list(self._messages.get(psid, ()))

    def last_message(self, psid: str) -> SentMessage:
        messages = self._messages.get(psid)
        if not messages:
            raise LookupError(f"no messages for {psid}")
        return messages[-1]

    def calls_for(self, psid: str, endpoint: str = "messages") -> list[GraphCall]:
        """The Send API calls (accepted or refused) to ``psid``."""
        return [c for c in self.calls if c.psid == psid and c.endpoint == endpoint]

    def clear(self, psid: str | None = None) -> None:
        """Forget the recorded messages (of ``psid``, or all)."""
        if psid is None:
            self._messages.clear()
            self.sent.clear()
        else:
            self._messages.pop(psid, None)
            self.sent = [m for m in self.sent if m.psid != psid]

    def image_url(self, name: str, data: bytes) -> str:
        """Serve ``data`` at ``{root}/files/<name>`` (an inbound attachment's URL)."""
        self._files[name] = data
        return f"{self.root_url}/files/{name}"

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,
        *,
        description: str = "condition",
    ) -> None:
        """Wait until ``predicate()`` is true; re-checked after every request."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{description} not met within {timeout:g}s")
            await self._signal.wait(min(remaining, 0.1))

    async def wait_messages(self, psid: str, count: int, timeout: float = 10) -> list[SentMessage]:
        """Wait until ``psid`` has at least ``count`` messages; all of them."""
        await self.wait_for(
            lambda: len(self._messages.get(psid, ())) >= count,
            timeout,
            description=f"{count} messages for {psid}",
        )
        return self.messages_for(psid)

    # --- webhook side ------------------------------------------------------------------------

    def event(
        self,
        psid: str,
        *,
        text: str | None = None,
        quick_reply: str | None = None,
        postback: str | None = None,
        attachments: Sequence[Mapping[str, Any]] | None = None,
        mid: str | None = None,
        timestamp: int | None = None,
        title: str | None = None,
        referral: str | None = None,
    ) -> JSONDict:
        """A Meta-shaped ``messaging`` event from ``psid``; notes their last inbound time.

        ``referral``: the person opened an m.me link with ``?ref=`` (or its QR code). In their
        existing conversation that is a ``messaging_referrals`` event (it opens the 24-hour
        window too); with ``postback`` (a new conversation's Get Started) Meta puts it inside
        the postback instead.

        ``quick_reply`` / ``postback`` are payloads; the text shown (a quick reply's text, a
        postback's title) is ``text``/``title``, else the title of the last quick reply or button
        sent to ``psid`` with that payload, else the payload.
        """
        mid = mid or _new_mid()
        when = _now()
        timestamp = timestamp if timestamp is not None else int(when.timestamp() * 1000)
        event: JSONDict = {
            "sender": {"id": psid},
            "recipient": {"id": self.page_id},
            "timestamp": timestamp,
        }
        referred = (
            {"ref": referral, "source": "SHORTLINK", "type": "OPEN_THREAD"}
            if referral is not None
            else None
        )
        if postback is not None:
            shown = title or text or self._title_of(psid, postback, buttons=True) or postback
            event["postback"] = {"title": shown, "payload": postback, "mid": mid}
            if referred is not None:
                event["postback"]["referral"] = referred
        elif referred is not None:
            event["referral"] = referred
        else:
            message: JSONDict = {"mid": mid}
            if quick_reply is not None:
                shown = text or self._title_of(psid, quick_reply, buttons=False) or quick_reply
                message["text"] = shown
                message["quick_reply"] = {"payload": quick_reply}
            elif text is not None:
                message["text"] = text
            if attachments:
                message["attachments"] = [dict(a) for a in attachments]
            if "text" not in message and "attachments" not in message:
                raise ValueError("an event needs text, quick_reply, postback or attachments")
            event["message"] = message
        self._last_inbound[psid] = when
        self._signal.notify()
        return event

    def _title_of(self, psid: str, payload: str, *, buttons: bool) -> str | None:
        for sent in reversed(self._messages.get(psid, ())):
            for title, value in sent.buttons if buttons else sent.quick_replies:
                if value == payload:
                    return title
        if buttons:
            for menu in self.profile.get("persistent_menu", ()):
                for item in menu.get("call_to_actions", ()):
                    if item.get("payload") == payload:
                        return str(item.get("title"))
        return None

    def image_attachment(self, name: str, data: bytes) -> JSONDict:
        """An inbound image attachment served by this server."""
        return {"type": "image", "payload": {"url": self.image_url(name, data)}}

    async def deliver(
        self,
        webhook_url: str,
        psid: str,
        *,
        text: str | None = None,
        quick_reply: str | None = None,
        postback: str | None = None,
        attachments: Sequence[Mapping[str, Any]] | None = None,
        mid: str | None = None,
        timestamp: int | None = None,
        referral: str | None = None,
        entries: int = 1,
        sign: bool = True,
        signature: str | None = None,
    ) -> tuple[int, str]:
        """POST one event from ``psid`` to the webhook; (HTTP status, the event's mid).

        ``entries`` > 1 repeats the same event in that many entries of one POST (a redelivery,
        as Meta may do). ``sign=False`` omits the signature header; ``signature`` overrides it.
        """
        event = self.event(
            psid,
            text=text,
            quick_reply=quick_reply,
            postback=postback,
            attachments=attachments,
            mid=mid,
            timestamp=timestamp,
            referral=referral,
        )
        status = await self.deliver_batch(
            webhook_url, [event] * entries, sign=sign, signature=signature
        )
        body = event.get("message") or event.get("postback") or {"mid": mid or ""}
        return status, str(body["mid"])

    async def deliver_batch(
        self,
        webhook_url: str,
        events: Iterable[JSONDict],
        *,
        per_entry: int = 1,
        sign: bool = True,
        signature: str | None = None,
    ) -> int:
        """POST several events (from :meth:`event`) in one body, ``per_entry`` per entry;
        the HTTP status (0 when the connection failed)."""
        events = list(events)
        time_ms = int(time.time() * 1000)
        entry_list = [
            {"id": self.page_id, "time": time_ms, "messaging": events[i : i + per_entry]}
            for i in range(0, len(events), max(per_entry, 1))
        ]
        payload: JSONDict = {"object": "page", "entry": entry_list}
        return await self.post_raw(
            webhook_url, json.dumps(payload).encode(), sign=sign, signature=signature
        )

    async def post_raw(
        self,
        webhook_url: str,
        body: bytes,
        *,
        sign: bool = True,
        signature: str | None = None,
    ) -> int:
        """POST ``body`` as Meta would; the HTTP status (0 when the connection failed)."""
        if self._client is None:
            raise RuntimeError("LocalGraphAPI is not running; call start() first")
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers[SIGNATURE_HEADER] = signature
        elif sign:
            headers[SIGNATURE_HEADER] = sign_body(self.app_secret, body)
        try:
            async with self._client.post(webhook_url, data=body, headers=headers) as response:
                await response.read()
                status = response.status
        except (ClientError, TimeoutError) as exc:
            log.debug("webhook POST failed: %s", type(exc).__name__)
            status = 0
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = {}
        self.webhook_posts.append((status, parsed if isinstance(parsed, dict) else {}))
        self._signal.notify()
        return status

    # --- Graph side --------------------------------------------------------------------------

    def _record_call(self, endpoint: str, method: str, psid: str | None, error: Any) -> None:
        if isinstance(error, GraphError):
            call = GraphCall(
                endpoint, method, psid, error.status, error.code, error.subcode, at=time.time()
            )
        else:
            call = GraphCall(endpoint, method, psid, 200, at=time.time())
        self.calls.append(call)
        self._signal.notify()

    def _check_node(self, request: web.Request) -> None:
        if request.match_info["version"] != self.version:
            raise GraphError(2500, f"Unknown path components: /{request.match_info['version']}")
        if request.match_info["node"] not in ("me", self.page_id):
            raise GraphError(
                100, "(#100) Unsupported post request", error_type="GraphMethodException"
            )

    def _check_token(self, token: Any) -> None:
        if not token:
            raise GraphError(
                2500,
                "An active access token must be used to query information about the current user.",
            )
        if token != self.page_access_token:
            raise GraphError(190, status=400)

    def _take_fault(self, psid: str | None) -> None:
        for fault in self._faults:
            if fault.psid is None or fault.psid == psid:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                raise GraphError(
                    fault.code, fault.message, subcode=fault.subcode, status=fault.status
                )

    def _check_rate(self) -> None:
        """613 when ``rate_limit_per_second`` calls were accepted in the last second; else
        this call takes a place in the window."""
        if self.rate_limit_per_second is None:
            return
        now = time.monotonic()
        recent = self._recent_sends
        if len(recent) == recent.maxlen and now - recent[0] < 1.0:
            self.rate_limited += 1
            raise GraphError(613)
        recent.append(now)

    def _violation(self, error: GraphError) -> None:
        if error.code == 100 and error.subcode is None:
            self.violations += 1
            self.violation_messages.append(error.message)
            log.warning("local Graph API refused a request: %s", error.message)

    async def _json_body(self, request: web.Request) -> Any:
        if request.content_type == "application/json":
            try:
                return await request.json()
            except ValueError:
                raise invalid("the request body is not valid JSON") from None
        form = await request.post()
        body: JSONDict = {}
        for key, value in form.items():
            if not isinstance(value, str):
                continue
            try:
                body[key] = json.loads(value) if value[:1] in "{[" else value
            except ValueError:
                body[key] = value
        return body

    async def _handle_messages(self, request: web.Request) -> web.Response:
        psid: str | None = None
        try:
            self._check_node(request)
            body = await self._json_body(request)
            token = request.query.get("access_token") or (
                body.get("access_token") if isinstance(body, dict) else None
            )
            self._check_token(token)
            try:
                psid, messaging_type, tag, message = check_send(body)
            except GraphError as error:
                self._violation(error)
                raise
            self._take_fault(psid)
            if psid in self._unreachable:
                raise GraphError(551, error_type="OAuthException")
            if (
                self.enforce_window
                and not self.in_window(psid)
                and not (messaging_type == "MESSAGE_TAG" and tag in OUTSIDE_WINDOW_TAGS)
            ):
                raise GraphError(10, subcode=2018278)
            self._check_rate()
            sent = self._record_message(psid, messaging_type, tag, message)
        except GraphError as error:
            self._record_call("messages", request.method, psid, error)
            return error.response()
        self._record_call("messages", request.method, psid, None)
        return web.json_response({"recipient_id": psid, "message_id": sent.mid})

    def _record_message(
        self, psid: str, messaging_type: str, tag: str | None, message: JSONDict
    ) -> SentMessage:
        quick_replies = (
            check_quick_replies(message["quick_replies"]) if "quick_replies" in message else []
        )
        text: str | None = message.get("text")
        buttons: list[tuple[str, str]] = []
        attachment_id: str | None = None
        image: bytes | None = None
        kind = "text"
        attachment = message.get("attachment")
        if isinstance(attachment, dict):
            payload = attachment["payload"]
            if attachment["type"] == "template":
                kind = "template"
                text = payload["text"]
                buttons = check_buttons(payload["buttons"])
            else:
                kind = str(attachment["type"])
                attachment_id = payload.get("attachment_id")
                if attachment_id is not None:
                    upload = self.uploads.get(attachment_id)
                    if upload is None:
                        error = invalid(f"attachment {attachment_id} not found")
                        self._violation(error)
                        raise error
                    image = upload.data
        sent = SentMessage(
            psid=psid,
            mid=_new_mid(),
            messaging_type=messaging_type,
            tag=tag,
            text=text,
            quick_replies=quick_replies,
            buttons=buttons,
            attachment_id=attachment_id,
            image=image,
            kind=kind,
            sent_at=_now(),
            raw=message,
        )
        self._messages.setdefault(psid, []).append(sent)
        self.sent.append(sent)
        return sent

    async def _handle_upload(self, request: web.Request) -> web.Response:
        try:
            self._check_node(request)
            self._check_token(request.query.get("access_token"))
            self._take_fault(None)
            if not request.content_type.startswith("multipart/"):
                raise invalid("upload a file as multipart/form-data (filedata)")
            message: Any = None
            data: bytes | None = None
            filename: str | None = None
            content_type = "application/octet-stream"
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "message":
                    try:
                        message = json.loads(await part.text())
                    except ValueError:
                        raise invalid("param message is not valid JSON") from None
                elif part.name == "filedata":
                    data = await part.read()
                    filename = part.filename
                    content_type = part.headers.get("Content-Type", content_type)
            attachment = message.get("attachment") if isinstance(message, dict) else None
            if not isinstance(attachment, dict) or attachment.get("type") not in (
                "image",
                "file",
                "audio",
                "video",
            ):
                raise invalid("param message[attachment][type] is required")
            payload = attachment.get("payload")
            if not isinstance(payload, dict) or payload.get("is_reusable") is not True:
                raise invalid("param message[attachment][payload][is_reusable] must be true")
            if not data:
                raise invalid("param filedata is required")
            if attachment["type"] == "image" and _content_type(data) == "application/octet-stream":
                raise invalid("filedata is not an image")
        except GraphError as error:
            self._violation(error)
            self._record_call("message_attachments", request.method, None, error)
            return error.response()
        attachment_id = str(uuid.uuid4().int)[:16]
        self.uploads[attachment_id] = Upload(
            attachment_id, data, content_type, filename, str(attachment["type"])
        )
        self._record_call("message_attachments", request.method, None, None)
        return web.json_response({"attachment_id": attachment_id})

    async def _handle_profile(self, request: web.Request) -> web.Response:
        try:
            self._check_node(request)
            token = request.query.get("access_token")
            if request.method == "GET":
                self._check_token(token)
                wanted = [f for f in request.query.get("fields", "").split(",") if f]
                data = {k: v for k, v in self.profile.items() if not wanted or k in wanted}
                return web.json_response({"data": [data] if data else []})
            body = await self._json_body(request)
            if isinstance(body, dict) and token is None:
                token = body.get("access_token")
            self._check_token(token)
            self._take_fault(None)
            if request.method == "DELETE":
                fields = body.get("fields") if isinstance(body, dict) else None
                if not isinstance(fields, list) or not fields:
                    raise invalid("param fields must be a non-empty array")
                for name in fields:
                    self.profile.pop(str(name), None)
            elif request.method == "POST":
                update = check_profile(body)
                if "persistent_menu" in update and "get_started" not in {
                    **self.profile,
                    **update,
                }:
                    raise invalid("a persistent menu needs the get_started button")
                self.profile.update(update)
            else:
                raise GraphError(100, "(#100) Unsupported request method")
        except GraphError as error:
            self._violation(error)
            self._record_call("messenger_profile", request.method, None, error)
            return error.response()
        self._record_call("messenger_profile", request.method, None, None)
        return web.json_response({"result": "success"})

    async def _handle_file(self, request: web.Request) -> web.Response:
        data = self._files.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=data, content_type=_content_type(data))
