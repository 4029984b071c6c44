# ruff: noqa: E402  (the imports follow the sys.path set-up, so the script runs from the repo)
"""Poll benchmark (issue 5): answering through the real dispatcher, and tallying.

Run from the repository root::

    .venv/bin/python bench/polls.py            # the acceptance run (a few minutes)
    .venv/bin/python bench/polls.py --quick    # 1,000 residents, 10,000 tally answers

Everything runs in this process, on PostgreSQL, with all traffic on 127.0.0.1:

1. Set-up: a new database (migrated by ``create_application``), ``--residents`` onboarded
   residents, one open single-choice poll with 4 options; the bot sends each resident the
   poll's question (a real message in the local Bot API server, with its keyboard).
2. Bare aiogram: a plain ``Bot`` and a Dispatcher whose only handler is
   ``await query.answer()``, behind the same webhook server (``create_webhook_app``), fed
   one ``callback_query`` per resident: the press of an answer button.
3. Middlewares only (information, no target): the bot's own dispatcher with all its
   middlewares (the update's transaction with its de-duplication, conversation state,
   resident, language, flood control) and one handler that only answers the query; it
   shows how much of the answer path is the per-update floor rather than poll work.
4. Answer path: the real application's dispatcher behind the webhook server, the same kind
   of updates (other query ids): each records the answer, answers the query, marks the
   chosen option (editMessageReplyMarkup) and sends the thank-you.
   The updates are POSTed straight to the webhook URL (not through the local Bot API's
   webhook delivery), ``--concurrency`` at a time. The webhook answers 200 at once and
   handles the update in the background, so the latency of one update is from the POST to
   the end of its handling (``dispatcher.inflight``: after the transaction committed).
   Throughput = updates ÷ wall time from the first POST until all are handled.
   Target: answer path ≥ 0.5 × bare aiogram.
5. Tally: ``--tally-answers`` answers (and respondents) of another poll, bulk inserted for
   as many synthetic residents, then ``polls.tally`` timed 5 times (each in a new session).
   Target: best < 100 ms.

PostgreSQL comes from ``DALYVAUK_TEST_POSTGRES_URL`` or a throwaway cluster (as in the
tests); the database is dropped at the end. Exits 1 if a target is missed, 2 if it cannot
run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import time as clock
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiogram import Bot, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery
from aiohttp import ClientSession, ClientTimeout, TCPConnector, web
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import common
from bench.common import PhaseError, Row, elapsed, say
from bot.app import Application, create_application
from bot.channels.telegram import poll_answering as view
from bot.channels.telegram.dispatcher import DalyvaukDispatcher, create_dispatcher
from bot.channels.telegram.inflight import InFlightUpdates
from bot.channels.telegram.middlewares import UnreachableResidents
from bot.channels.telegram.poll_callbacks import PollChoiceCb
from bot.channels.telegram.webhook import create_webhook_app
from bot.config import Settings, WebhookSettings, explicit_settings
from bot.localapi.server import LocalBotAPI
from bot.services import polls
from bot.services.audiences import Audience
from models import PollAnswer, PollProgress, Resident, utcnow
from tests.support.residents import add_residents

RATIO_TARGET = 0.5
TALLY_TARGET_MS = 100.0
TALLY_RUNS = 5
ADMIN_ID = 900_000_001
SECRET = "bench-webhook-secret_5"  # noqa: S105 - a local webhook on 127.0.0.1
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
OPTIONS = ("Taip", "Ne", "Dar nežinau", "Man nesvarbu")
TALLY_WEIGHTS = (4, 3, 2, 1)  # how the tally answers spread over the 4 options
TALLY_FIRST_CHAT_ID = 50_000_000
RESIDENT_BATCH = 20_000
INSERT_BATCH = 10_000
SEND_CONCURRENCY = 100  # setting up: the poll message sent to each resident


# -- options ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    residents: int
    tally_answers: int
    concurrency: int
    json_path: Path | None


def parse_args(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="bench/polls.py",
        description="Poll answering through the real dispatcher (webhook) and tallying.",
    )
    parser.add_argument("--quick", action="store_true", help="1,000 residents, 10,000 answers")
    parser.add_argument("--residents", type=int, help="residents answering (default 10000)")
    parser.add_argument(
        "--tally-answers", type=int, help="answers of the tallied poll (default 100000)"
    )
    parser.add_argument("--concurrency", type=int, default=50, help="updates in flight")
    parser.add_argument("--json", type=Path, dest="json_path", help="write the figures here")
    args = parser.parse_args(argv)
    residents, answers = (1_000, 10_000) if args.quick else (10_000, 100_000)
    options = Options(
        residents=args.residents or residents,
        tally_answers=args.tally_answers or answers,
        concurrency=args.concurrency,
        json_path=args.json_path,
    )
    if options.residents < 1 or options.tally_answers < 1 or options.concurrency < 1:
        parser.error("--residents, --tally-answers and --concurrency must be positive")
    return options


# -- timing the updates ----------------------------------------------------------------


class TimedInFlight(InFlightUpdates):
    """``dispatcher.inflight`` that also resolves a future per update when it is handled
    (after the update's transaction) and keeps the handling time (dispatcher in → out)."""

    def __init__(self) -> None:
        super().__init__()
        self._waiters: dict[int, asyncio.Future[None]] = {}
        self._began: dict[int, float] = {}
        self.handling: list[float] = []

    def expect(self, update_id: int) -> asyncio.Future[None]:
        future = asyncio.get_running_loop().create_future()
        self._waiters[update_id] = future
        return future

    def started(self, update_id: int) -> None:
        self._began[update_id] = time.perf_counter()
        super().started(update_id)

    async def finished(self, update_id: int) -> None:
        began = self._began.pop(update_id, None)
        if began is not None:
            self.handling.append(time.perf_counter() - began)
        future = self._waiters.pop(update_id, None)
        if future is not None and not future.done():
            future.set_result(None)
        await super().finished(update_id)


@dataclass
class PathFigures:
    name: str
    updates: int
    concurrency: int
    wall_seconds: float
    per_second: float
    p50_ms: float  # POST → handled
    p99_ms: float
    max_ms: float
    handling_p50_ms: float  # dispatcher in → out (excludes the HTTP POST and the wait)
    handling_p99_ms: float
    cpu_ms_per_update: float  # this process's CPU time (bot, webhook server, Bot API, client)
    api_calls: dict[str, int]  # Bot API calls made while the updates were handled
    bad_requests: int
    sql_per_update: float  # statements sent to the database per update (cursor executes)


class StatementCounter:
    """Counts the SQL statements an engine sends (0 for the bare path, which has none)."""

    def __init__(self, engine: AsyncEngine | None = None) -> None:
        self.count = 0
        if engine is not None:
            event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def count_calls(api: LocalBotAPI, since: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in api.calls[since:]:
        counts[call.method] = counts.get(call.method, 0) + 1
    return dict(sorted(counts.items()))


async def serve(
    dispatcher: DalyvaukDispatcher, bot: Bot, settings: WebhookSettings
) -> web.AppRunner:
    """The webhook server, as ``run_webhook`` starts it (registers the webhook at start-up)."""
    runner = web.AppRunner(create_webhook_app(dispatcher, bot, settings))
    await runner.setup()
    await web.TCPSite(runner, settings.listen_host, settings.listen_port).start()
    return runner


async def drive(
    name: str,
    api: LocalBotAPI,
    dispatcher: DalyvaukDispatcher,
    bot: Bot,
    settings: WebhookSettings,
    updates: list[dict[str, Any]],
    concurrency: int,
    statements: StatementCounter,
) -> PathFigures:
    """POST the updates to the webhook, ``concurrency`` at a time, each waiting until handled."""
    inflight = dispatcher.inflight
    assert isinstance(inflight, TimedInFlight)
    bodies = [(u["update_id"], json.dumps(u).encode()) for u in updates]
    assert settings.url is not None and settings.secret is not None
    url = settings.url.rstrip("/") + settings.path
    headers = {
        "Content-Type": "application/json",
        SECRET_HEADER: settings.secret.get_secret_value(),
    }
    runner = await serve(dispatcher, bot, settings)
    latencies: list[float] = []
    calls_before, bad_before = len(api.calls), api.stats.bad_requests
    try:
        await api.wait_for(lambda: api.webhook is not None, 10, description="setWebhook")
        calls_before, bad_before = len(api.calls), api.stats.bad_requests
        pending = iter(bodies)
        connector = TCPConnector(limit=concurrency)
        async with ClientSession(connector=connector, timeout=ClientTimeout(total=30)) as client:

            async def worker() -> None:
                for update_id, body in pending:  # one iterator shared by the workers
                    handled = inflight.expect(update_id)
                    started = time.perf_counter()
                    async with client.post(url, data=body, headers=headers) as response:
                        await response.read()
                        if response.status != 200:
                            raise PhaseError(f"update {update_id}: HTTP {response.status}")
                    await asyncio.wait_for(handled, 30)
                    latencies.append(time.perf_counter() - started)

            started, cpu = time.perf_counter(), time.process_time()
            statements_before = statements.count
            async with asyncio.timeout(60 + len(bodies) / 20):
                await asyncio.gather(*(worker() for _ in range(concurrency)))
            wall = elapsed(started)
            cpu = time.process_time() - cpu
            await inflight.wait_idle(timeout=30)
            sql = statements.count - statements_before
    finally:
        await runner.cleanup()
    handling = inflight.handling[-len(bodies) :]
    return PathFigures(
        name=name,
        updates=len(bodies),
        concurrency=concurrency,
        wall_seconds=wall,
        per_second=len(bodies) / wall,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        max_ms=max(latencies) * 1000,
        handling_p50_ms=percentile(handling, 0.50) * 1000,
        handling_p99_ms=percentile(handling, 0.99) * 1000,
        cpu_ms_per_update=cpu / len(bodies) * 1000,
        api_calls=count_calls(api, calls_before),
        bad_requests=api.stats.bad_requests - bad_before,
        sql_per_update=sql / len(bodies),
    )


# -- set-up ----------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def webhook_settings() -> dict[str, Any]:
    port = free_port()
    return {
        "url": f"http://127.0.0.1:{port}",
        "secret": SECRET,
        "listen_host": "127.0.0.1",
        "listen_port": port,
    }


def bench_settings(database_url: str, api: LocalBotAPI) -> Settings:
    return explicit_settings(
        database={"url": database_url},
        telegram={"api_base": api.base_url, "admin_ids": [ADMIN_ID]},
        webhook=webhook_settings(),
        throttle_rate=1e6,  # no flood control: one process plays 10,000 residents
        throttle_burst=10**6,
        quiet_hours_start=clock(0, 0),
        quiet_hours_end=clock(0, 0),
        log_level="WARNING",
    )


@dataclass
class World:
    api: LocalBotAPI
    app: Application
    chats: list[int]
    poll_id: int
    question_id: int
    option_ids: list[int]
    messages: dict[int, int]  # chat → the poll message's id


async def create_world(app: Application, api: LocalBotAPI, residents: int) -> World:
    chats = await add_residents(app.session_factory, api, residents)
    async with app.session_factory() as session, session.begin():
        poll = await polls.create_poll(
            session,
            created_by=ADMIN_ID,
            title="Ar pritariate naujam dviračių takui?",
            questions=[polls.QuestionSpec("Ar pritariate naujam dviračių takui?", options=OPTIONS)],
            audience=Audience(),
        )
        question = poll.questions[0]
        with app.i18n.context(), app.i18n.use_locale("lt"):
            body = view.question_text(poll, question, "lt")
            markup = view.question_keyboard(question)
        world = World(api, app, chats, poll.id, question.id, [o.id for o in question.options], {})
    limit = asyncio.Semaphore(SEND_CONCURRENCY)

    async def send(chat: int) -> None:
        async with limit:
            message = await app.bot.send_message(chat, body, reply_markup=markup)
            world.messages[chat] = message.message_id

    await asyncio.gather(*(send(chat) for chat in chats))
    return world


async def presses(world: World) -> list[dict[str, Any]]:
    """One press per resident (option by turns), as Telegram would post them.

    The local Bot API makes each update (so its answerCallbackQuery knows the query id); they
    are taken off its queue here and POSTed to the webhook by :func:`drive`.
    """
    api = world.api
    # No webhook while pressing: the updates stay queued instead of being delivered.
    await world.app.bot.delete_webhook(drop_pending_updates=True)
    first = api.next_update_id()
    for index, chat in enumerate(world.chats):
        option = world.option_ids[index % len(world.option_ids)]
        data = PollChoiceCb(question=world.question_id, option=option).pack()
        await api.press_button(chat, world.messages[chat], data)
    updates = [u for u in api.pending_updates if u["update_id"] >= first]
    await world.app.bot.delete_webhook(drop_pending_updates=True)  # nobody else delivers them
    if len(updates) != len(world.chats):
        raise PhaseError(f"made {len(updates)} updates for {len(world.chats)} residents")
    return updates


# -- the two paths ---------------------------------------------------------------------


async def bare_path(world: World, concurrency: int) -> PathFigures:
    """aiogram's own cost: a handler that only answers the query, plain Bot and session."""
    api = world.api
    updates = await presses(world)
    bot = Bot(api.token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    dispatcher = DalyvaukDispatcher(inflight=TimedInFlight())

    async def answered(query: CallbackQuery) -> None:
        await query.answer()

    dispatcher.callback_query.register(answered)
    try:
        figures = await drive(
            "bare aiogram",
            api,
            dispatcher,
            bot,
            WebhookSettings(**webhook_settings()),
            updates,
            concurrency,
            StatementCounter(),
        )
    finally:
        await bot.session.close()
    answers = figures.api_calls.get("answerCallbackQuery", 0)
    if answers != len(updates) or figures.bad_requests:
        raise PhaseError(
            f"bare aiogram: {answers} answerCallbackQuery for {len(updates)} updates, "
            f"{figures.bad_requests} bad requests"
        )
    return figures


async def middleware_path(world: World, concurrency: int) -> PathFigures:
    """The bot's own dispatcher (every middleware: the update's transaction and its
    de-duplication, the conversation state, the resident, language, flood control) with one
    handler that only answers the query: what the bot costs before any poll work."""
    app = world.app
    updates = await presses(world)
    router = Router(name="bench_empty")

    async def answered(query: CallbackQuery) -> None:
        await query.answer()

    router.callback_query.register(answered)
    dispatcher = create_dispatcher(
        app.settings,
        app.session_factory,
        app.i18n,
        UnreachableResidents(app.session_factory),
        app.delivery,
        routers=[router],
    )
    dispatcher.inflight = TimedInFlight()
    return await drive(
        "middlewares only",
        world.api,
        dispatcher,
        app.bot,
        WebhookSettings(**webhook_settings()),
        updates,
        concurrency,
        StatementCounter(app.engine),
    )


@dataclass
class Recorded:
    answers: int
    residents: int
    per_option: list[int]


async def recorded(world: World) -> Recorded:
    async with world.app.session_factory() as session:
        answers, residents = (
            await session.execute(
                select(func.count(), func.count(PollAnswer.resident_id.distinct())).where(
                    PollAnswer.poll_id == world.poll_id
                )
            )
        ).one()
        by_option = dict(
            (
                await session.execute(
                    select(PollAnswer.option_id, func.count())
                    .where(PollAnswer.poll_id == world.poll_id)
                    .group_by(PollAnswer.option_id)
                )
            ).all()
        )
    return Recorded(int(answers), int(residents), [by_option.get(o, 0) for o in world.option_ids])


async def answer_path(world: World, concurrency: int) -> tuple[PathFigures, Recorded]:
    updates = await presses(world)
    app = world.app
    app.dispatcher.inflight = TimedInFlight()
    figures = await drive(
        "answer path",
        world.api,
        app.dispatcher,
        app.bot,
        app.settings.webhook,
        updates,
        concurrency,
        StatementCounter(app.engine),
    )
    return figures, await recorded(world)


# -- tally -----------------------------------------------------------------------------


@dataclass
class TallyFigures:
    answers: int
    insert_seconds: float
    first_ms: float  # the first call after ANALYZE (not counted)
    runs_ms: list[float]
    best_ms: float
    median_ms: float
    total_counted: int
    respondents: int


async def tally_phase(app: Application, answers: int) -> TallyFigures:
    sessions = app.session_factory
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        poll = await polls.create_poll(
            session,
            created_by=ADMIN_ID,
            questions=[
                polls.QuestionSpec(
                    "Kuris parko projektas jums labiausiai patinka?", options=OPTIONS
                )
            ],
            audience=Audience(),
        )
        poll_id, question_id = poll.id, poll.questions[0].id
        option_ids = [o.id for o in poll.questions[0].options]
    async with sessions() as session:
        last_id = await session.scalar(select(func.max(Resident.id))) or 0
    for start in range(0, answers, RESIDENT_BATCH):
        count = min(RESIDENT_BATCH, answers - start)
        await add_residents(sessions, None, count, first_chat_id=TALLY_FIRST_CHAT_ID + start)
    async with sessions() as session:
        people = (
            await session.execute(
                select(Resident.id, Resident.municipality_id)
                .where(Resident.id > last_id)
                .order_by(Resident.id)
            )
        ).all()
    if len(people) != answers:
        raise PhaseError(f"{len(people)} synthetic residents for {answers} answers")
    spread = [o for o, weight in zip(option_ids, TALLY_WEIGHTS, strict=True) for _ in range(weight)]
    now = utcnow()
    async with sessions() as session, session.begin():
        for first in range(0, answers, INSERT_BATCH):
            batch = people[first : first + INSERT_BATCH]
            await session.execute(
                insert(PollAnswer),
                [
                    {
                        "poll_id": poll_id,
                        "question_id": question_id,
                        "resident_id": resident_id,
                        "municipality_id": municipality_id,
                        "option_id": spread[(first + i) % len(spread)],
                        "answered_at": now,
                        "updated_at": now,
                    }
                    for i, (resident_id, municipality_id) in enumerate(batch)
                ],
            )
            await session.execute(
                insert(PollProgress),
                [
                    {
                        "poll_id": poll_id,
                        "resident_id": resident_id,
                        "municipality_id": municipality_id,
                        "position": None,
                        "started_at": now,
                        "first_answer_at": now,
                        "updated_at": now,
                        "completed_at": now,
                    }
                    for resident_id, municipality_id in batch
                ],
            )
    async with app.engine.connect() as conn:  # what autovacuum would do on a real server
        await conn.execute(text("ANALYZE residents, poll_answers, poll_progress"))
        await conn.commit()
    insert_seconds = elapsed(started)

    async def once() -> tuple[float, polls.PollTally]:
        async with sessions() as session:
            began = time.perf_counter()
            result = await polls.tally(session, poll_id)
            took = elapsed(began)
        assert result is not None
        return took * 1000, result

    first_ms, _ = await once()
    runs: list[float] = []
    result = None
    for _ in range(TALLY_RUNS):
        took, result = await once()
        runs.append(took)
    assert result is not None
    counted = sum(option.count for option in result.questions[0].options)
    return TallyFigures(
        answers=answers,
        insert_seconds=insert_seconds,
        first_ms=first_ms,
        runs_ms=runs,
        best_ms=min(runs),
        median_ms=statistics.median(runs),
        total_counted=counted,
        respondents=result.respondents,
    )


# -- the results table -----------------------------------------------------------------


@dataclass
class Results:
    setup_seconds: float | None = None
    bare: PathFigures | None = None
    middlewares: PathFigures | None = None
    answer: PathFigures | None = None
    recorded: Recorded | None = None
    tally: TallyFigures | None = None
    errors: dict[str, str] = field(default_factory=dict)


def path_rows(figures: PathFigures) -> list[Row]:
    calls = ", ".join(f"{method} {n:,}" for method, n in figures.api_calls.items())
    return [
        Row(
            f"{figures.name}: throughput",
            f"{figures.per_second:,.0f} updates/s ({figures.updates:,} in "
            f"{figures.wall_seconds:.1f} s, {figures.concurrency} in flight)",
            "",
            "info",
        ),
        Row(
            f"{figures.name}: latency POST → handled p50 / p99",
            f"{figures.p50_ms:.1f} / {figures.p99_ms:.1f} ms (max {figures.max_ms:.0f} ms)",
            "",
            "info",
        ),
        Row(
            f"{figures.name}: handling (dispatcher) p50 / p99",
            f"{figures.handling_p50_ms:.1f} / {figures.handling_p99_ms:.1f} ms",
            "",
            "info",
        ),
        Row(
            f"{figures.name}: CPU of this process per update",
            f"{figures.cpu_ms_per_update:.2f} ms (bot, webhook server, local Bot API, client)",
            "",
            "info",
        ),
        Row(f"{figures.name}: Bot API calls", calls or "none", "", "info"),
        Row(
            f"{figures.name}: SQL statements per update",
            f"{figures.sql_per_update:.1f}",
            "",
            "info",
        ),
    ]


def build_rows(results: Results, options: Options) -> list[Row]:
    rows: list[Row] = []
    n = options.residents
    if results.bare is not None:
        rows += path_rows(results.bare)
    if results.middlewares is not None:
        rows += path_rows(results.middlewares)
    if results.answer is not None:
        rows += path_rows(results.answer)
    if results.bare is not None and results.middlewares is not None:
        floor = results.middlewares.per_second / results.bare.per_second
        rows.append(Row("middlewares only ÷ bare aiogram (updates/s)", f"{floor:.3f}", "", "info"))
    if results.bare is not None and results.answer is not None:
        ratio = results.answer.per_second / results.bare.per_second
        rows.append(
            Row(
                "answer path ÷ bare aiogram (updates/s)",
                f"{ratio:.3f}",
                f"≥ {RATIO_TARGET}",
                "performance",
                ratio >= RATIO_TARGET,
            )
        )
    if results.recorded is not None:
        rec = results.recorded
        rows.append(
            Row(
                "answers in poll_answers (distinct residents)",
                f"{rec.answers:,} ({rec.residents:,}); by option "
                + " / ".join(f"{c:,}" for c in rec.per_option),
                f"{n:,} ({n:,})",
                "correctness",
                rec.answers == n and rec.residents == n,
            )
        )
    if results.answer is not None:
        calls = results.answer.api_calls
        ok = (
            calls.get("answerCallbackQuery", 0) == n
            and calls.get("sendMessage", 0) == n
            and results.answer.bad_requests == 0
        )
        rows.append(
            Row(
                "answer path: queries answered, thank-yous, bad requests",
                f"{calls.get('answerCallbackQuery', 0):,}, {calls.get('sendMessage', 0):,}, "
                f"{results.answer.bad_requests}",
                f"{n:,}, {n:,}, 0",
                "correctness",
                ok,
            )
        )
    if results.tally is not None:
        t = results.tally
        rows += [
            Row(
                f"tally of {t.answers:,} answers: best of {TALLY_RUNS}",
                f"{t.best_ms:.1f} ms",
                f"< {TALLY_TARGET_MS:g} ms",
                "performance",
                t.best_ms < TALLY_TARGET_MS,
            ),
            Row(
                f"tally of {t.answers:,} answers: median / first call",
                f"{t.median_ms:.1f} ms / {t.first_ms:.1f} ms "
                f"(runs {', '.join(f'{r:.1f}' for r in t.runs_ms)})",
                "",
                "info",
            ),
            Row(
                "tally: answers counted, respondents",
                f"{t.total_counted:,}, {t.respondents:,}",
                f"{t.answers:,}, {t.answers:,}",
                "correctness",
                t.total_counted == t.answers and t.respondents == t.answers,
            ),
            Row(
                "tally: bulk insert + ANALYZE",
                f"{t.insert_seconds:.1f} s (residents, answers, progress)",
                "",
                "info",
            ),
        ]
    return rows + common.error_rows(results.errors)


# -- main ------------------------------------------------------------------------------


async def bench(admin_url: str, options: Options, context: dict[str, Any]) -> int:
    results = Results()
    context["postgresql_version"] = await common.admin_query(admin_url, "SHOW server_version")
    say(f"PostgreSQL {context['postgresql_version']} at {common.redacted(admin_url)}")
    n = options.residents
    name = f"dalyvauk_bench_polls_{uuid.uuid4().hex[:8]}"
    async with common.fresh_database(admin_url, name) as url, LocalBotAPI() as api:
        settings = bench_settings(url, api)
        app = await create_application(settings, api.token)
        try:
            started = time.perf_counter()

            async def setup() -> World:
                async with asyncio.timeout(120 + n / 50):
                    return await create_world(app, api, n)

            world = await common.guarded(
                f"Set-up ({n:,} residents, poll messages)", results.errors, setup()
            )
            results.setup_seconds = elapsed(started)
            if world is not None:
                results.bare = await common.guarded(
                    "Bare aiogram", results.errors, bare_path(world, options.concurrency)
                )
                results.middlewares = await common.guarded(
                    "Middlewares only", results.errors, middleware_path(world, options.concurrency)
                )
                answered = await common.guarded(
                    "Answer path", results.errors, answer_path(world, options.concurrency)
                )
                if answered is not None:
                    results.answer, results.recorded = answered

            async def tally() -> TallyFigures:
                async with asyncio.timeout(300 + options.tally_answers / 500):
                    return await tally_phase(app, options.tally_answers)

            results.tally = await common.guarded(
                f"Tally ({options.tally_answers:,} answers)", results.errors, tally()
            )
        finally:
            await app.close()
    rows = build_rows(results, options)
    ok = common.print_table(rows)
    say(f"Load average (1 min) {os.getloadavg()[0]:.2f} at the end, on {os.cpu_count()} CPUs")
    if options.json_path is not None:
        payload = {
            **context,
            "setup_seconds": results.setup_seconds,
            "bare": common.figures(results.bare),
            "middlewares": common.figures(results.middlewares),
            "answer": common.figures(results.answer),
            "recorded": common.figures(results.recorded),
            "tally": common.figures(results.tally),
            "errors": results.errors,
        }
        common.write_json(options.json_path, payload, rows)
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    command = common.show_command()
    say(
        f"Residents {options.residents:,}; {options.concurrency} updates in flight; "
        f"tally of {options.tally_answers:,} answers"
    )
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    context: dict[str, Any] = {
        "command": command,
        "options": {**asdict(options), "json_path": str(options.json_path)},
    }
    return common.run_on_postgresql(
        lambda admin_url, context: bench(admin_url, options, context), context
    )


if __name__ == "__main__":
    sys.exit(main())
