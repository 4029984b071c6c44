"""The moderators' morning digest of proposals waiting too long: one message per bound
moderators' chat (reference, category, status, days waiting in Lithuanian plurals, a short
preview; at most 15 lines, then how many more), one summary for the admins of the
municipalities without a chat, nothing when nothing waits, and once per day across runs
and a restart. The tests drive the job with explicit times; the scheduler's own run is
paused. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.channels.telegram.proposal_jobs import ProposalJobs
from bot.localapi.server import LocalBotAPI
from bot.services import proposals, roles
from bot.services.proposals import ProposalSpec
from models import DailyRun, Municipality, Resident
from tests.support.db import Database
from tests.support.harness import ADMIN_ID, BotHarness, Mode
from tests.support.residents import add_residents
from tests.test_event_jobs import start_harness

GROUP = -100_4242
TEXT = (
    "Įrengti suoliukus prie bibliotekos, kad senjorai galėtų pailsėti ilgesnių "
    "pasivaikščiojimų metu."
)
# 08:00 in Vilnius on 2035-03-10 is 06:00 UTC (winter time).
MORNING = datetime(2035, 3, 10, 6, 0, tzinfo=UTC)
_chat_ids = itertools.count(700_000, 1_000)


async def start(database_url: str, api: LocalBotAPI, mode: Mode, **extra: Any) -> BotHarness:
    harness = await start_harness(database_url, api, mode, **extra)
    pause(harness)
    return harness


def pause(harness: BotHarness) -> None:
    assert harness.app is not None
    job = harness.app.scheduler.get_job("proposal_jobs")
    assert job is not None
    job.pause()


@pytest.fixture
async def harness(
    database_url: str, local_api: LocalBotAPI, mode: Mode
) -> AsyncIterator[BotHarness]:
    bot_harness = await start(database_url, local_api, mode)
    yield bot_harness
    await bot_harness.stop()


def jobs(harness: BotHarness) -> ProposalJobs:
    app = harness.app
    assert app is not None
    return ProposalJobs(app.session_factory, app.bot, app.i18n, app.settings)


async def municipality(db: Database, code: str) -> Municipality:
    async with db.sessions() as session:
        found = await session.scalar(select(Municipality).where(Municipality.code == code))
    assert found is not None
    return found


async def bind(db: Database, harness: BotHarness, code: str, chat_id: int) -> None:
    harness.group(chat_id, f"Moderatoriai {code}", ADMIN_ID)
    place = await municipality(db, code)
    async with db.sessions() as session, session.begin():
        await roles.bind_moderator_chat(session, ADMIN_ID, place, chat_id)


async def submit_many(
    db: Database, code: str, submitted: list[datetime], **overrides: Any
) -> list[str]:
    """One proposal per time, each by its own resident; returns their references."""
    place = await municipality(db, code)
    chat_ids = await add_residents(
        db.sessions, None, len(submitted), municipality=code, first_chat_id=next(_chat_ids)
    )
    references = []
    for chat_id, at in zip(chat_ids, submitted, strict=True):
        async with db.sessions() as session, session.begin():
            resident = await session.scalar(
                select(Resident).where(Resident.external_id == str(chat_id))
            )
            assert resident is not None
            values: dict[str, Any] = {
                "municipality_id": place.id,
                "category": "infrastructure",
                "text": TEXT,
            }
            values.update(overrides)
            result = await proposals.submit(session, resident, ProposalSpec(**values), now=at)
            assert result.proposal is not None
            references.append(result.proposal.reference)
    return references


def texts(harness: BotHarness, chat_id: int) -> list[str]:
    return [m.text for m in harness.api.bot_messages(chat_id)]


async def test_digest_lists_waiting_proposals_with_days_in_lithuanian(
    harness: BotHarness, db: Database
) -> None:
    await bind(db, harness, "PAG", GROUP)
    days_ago = [10, 3, 1]
    refs = await submit_many(db, "PAG", [MORNING - timedelta(days=d, minutes=5) for d in days_ago])
    sent = await jobs(harness).digest(MORNING - timedelta(minutes=1))  # 07:59: not yet
    assert sent == []
    sent = await jobs(harness).digest(MORNING)
    assert [m.chat_id for m in sent] == [GROUP]
    # PROPOSAL_DIGEST_DAYS=3 by default: waiting *more* than 3 days (3 days 5 min counts).
    (text,) = texts(harness, GROUP)
    preview = "Įrengti suoliukus prie bibliotekos, kad senjorai galėtų…"
    assert text == "\n".join(
        [
            "🕗 2 pasiūlymai laukia ilgiau nei 3 dienas:",
            "",
            f"• {refs[0]} · Infrastruktūra · naujas · 10 dienų",
            f"  „{preview}“",
            f"• {refs[1]} · Infrastruktūra · naujas · 3 dienos",
            f"  „{preview}“",
        ]
    )
    assert refs[2] not in text
    assert texts(harness, ADMIN_ID) == []


async def test_one_day_and_more_than_fifteen_are_shortened(
    database_url: str, local_api: LocalBotAPI, mode: Mode, db: Database
) -> None:
    harness = await start(
        database_url, local_api, mode, proposal={"digest_days": 1, "digest_time": time(7, 30)}
    )
    try:
        await bind(db, harness, "PAG", GROUP)
        refs = await submit_many(db, "PAG", [MORNING - timedelta(days=1, hours=1)] * 17)
        await jobs(harness).digest(MORNING - timedelta(minutes=30))  # 07:30 in Vilnius
        (text,) = texts(harness, GROUP)
        lines = text.split("\n")
        assert lines[0] == "🕗 17 pasiūlymų laukia ilgiau nei 1 dieną:"
        assert lines[2] == f"• {refs[0]} · Infrastruktūra · naujas · 1 diena"
        assert sum(line.startswith("• ") for line in lines) == 15
        assert lines[-1] == "…ir dar 2"
    finally:
        await harness.stop()


async def test_once_a_day_across_runs_and_a_restart(harness: BotHarness, db: Database) -> None:
    await bind(db, harness, "PAG", GROUP)
    await submit_many(db, "PAG", [MORNING - timedelta(days=5)])
    assert len(await jobs(harness).digest(MORNING)) == 1
    assert await jobs(harness).digest(MORNING + timedelta(hours=2)) == []
    await harness.restart()
    pause(harness)
    assert await jobs(harness).digest(MORNING + timedelta(hours=3)) == []
    assert len(texts(harness, GROUP)) == 1
    # The next morning it comes again (the proposal still waits: 6 days).
    assert len(await jobs(harness).digest(MORNING + timedelta(days=1))) == 1
    assert texts(harness, GROUP)[-1].endswith(
        "6 dienos\n  „Įrengti suoliukus prie bibliotekos, kad senjorai galėtų…“"
    )
    async with db.sessions() as session:
        days = list(await session.scalars(select(DailyRun.day).order_by(DailyRun.day)))
    assert [str(day) for day in days] == ["2035-03-10", "2035-03-11"]


async def test_nothing_waiting_sends_nothing(harness: BotHarness, db: Database) -> None:
    await bind(db, harness, "PAG", GROUP)
    await submit_many(db, "PAG", [MORNING - timedelta(days=2)])
    assert await jobs(harness).digest(MORNING) == []
    assert texts(harness, GROUP) == []
    assert texts(harness, ADMIN_ID) == []


async def test_municipalities_without_a_chat_go_to_the_admins(
    harness: BotHarness, db: Database
) -> None:
    await bind(db, harness, "PAG", GROUP)
    await submit_many(db, "PAG", [MORNING - timedelta(days=4)])
    await submit_many(db, "VLN", [MORNING - timedelta(days=4)] * 2)
    sent = await jobs(harness).digest(MORNING)
    assert sorted(m.chat_id for m in sent) == sorted([GROUP, ADMIN_ID])
    (admin_text,) = texts(harness, ADMIN_ID)
    vilnius = await municipality(db, "VLN")
    assert admin_text.split("\n")[2:] == [
        f"• {vilnius.name_lt}: 2 pasiūlymai laukia ilgiau nei 3 dienas"
    ]
    assert "VLN" not in texts(harness, GROUP)[0]
