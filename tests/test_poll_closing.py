"""What happens when a poll closes: the organizer gets the results text and bar charts, and
residents who answered get the results through the delivery engine when the poll allows it,
once (also across restarts and a crash in between). Plus the audience of those residents,
as SQL on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.telegram import after_commit
from bot.channels.telegram.poll_admin import PollManageCb
from bot.channels.telegram.poll_jobs import RECOVERY_AFTER
from bot.localapi.server import LocalBotAPI, StoredMessage
from bot.services import audiences, broadcasts, polls, residents
from bot.services.audiences import Audience
from bot.services.polls import QuestionSpec
from models import (
    AgeGroup,
    Broadcast,
    BroadcastStatus,
    MessageCategory,
    Municipality,
    OutboxMessage,
    OutboxStatus,
    Poll,
    PollStatus,
    QuestionKind,
    Resident,
    ResultsVisibility,
    utcnow,
)
from tests.support.db import Database
from tests.support.harness import BotHarness, Chat, Mode, harness_settings
from tests.support.residents import add_residents
from tests.test_announcements import FAST, NO_QUIET_HOURS, organizer
from tests.test_poll_admin import jobs, wait_delivered
from tests.test_poll_results import png_size

ORGANIZER_ID = 5001  # tests.test_announcements.organizer() grants this user the role
NBSP = "\xa0"
BENCH = QuestionSpec(
    "Kur pastatyti naują suoliuką?", QuestionKind.SINGLE, ("Parke", "Aikštėje", "Prie mokyklos")
)
WISHES = QuestionSpec("Ko pageidaujate?", QuestionKind.MULTIPLE, ("Suoliukų", "Šviestuvų"))


async def make_poll(db: Database, *questions: QuestionSpec, **kwargs: object) -> Poll:
    kwargs.setdefault("audience", Audience())
    async with db.sessions() as session, session.begin():
        return await polls.create_poll(
            session,
            created_by=ORGANIZER_ID,
            questions=list(questions) or [BENCH],
            **kwargs,  # type: ignore[arg-type]
        )


async def people(session: AsyncSession, chat_ids: list[int]) -> list[Resident]:
    found = await session.scalars(
        select(Resident)
        .where(Resident.external_id.in_([str(c) for c in chat_ids]))
        .order_by(Resident.id)
    )
    return list(found)


async def vote(db: Database, poll_id: int, chat_ids: list[int], positions: list[int]) -> None:
    """Each resident answers the first question with the option at that position."""
    async with db.sessions() as session, session.begin():
        poll = await polls.get_poll(session, poll_id)
        assert poll is not None
        question = poll.questions[0]
        for person, position in zip(await people(session, chat_ids), positions, strict=True):
            option = question.options[position - 1]
            result = await polls.answer_single(session, question.id, person, option.id)
            assert result.ok, result


# -- the audience: residents who answered a poll ---------------------------------------------


async def test_answered_poll_audience_is_sql_on_both_databases(db: Database) -> None:
    answered = await add_residents(db.sessions, None, 3, first_chat_id=100_000)
    other_poll_only = await add_residents(db.sessions, None, 1, first_chat_id=100_010)
    only_toggled = await add_residents(db.sessions, None, 1, first_chat_id=100_020)
    no_polls = await add_residents(db.sessions, None, 1, first_chat_id=100_030, wants_polls=False)
    muted = await add_residents(db.sessions, None, 1, first_chat_id=100_040, muted=True)
    in_birzai = await add_residents(db.sessions, None, 1, municipality="BRZ", first_chat_id=100_050)
    erased = await add_residents(db.sessions, None, 1, first_chat_id=100_060)
    await add_residents(db.sessions, None, 2, first_chat_id=100_070)  # never answered

    poll = await make_poll(db)
    other = await make_poll(db)
    survey = await make_poll(db, WISHES, BENCH)
    await vote(db, poll.id, answered + no_polls + muted + in_birzai + erased, [1, 2, 3, 1, 1, 2, 3])
    await vote(db, other.id, other_poll_only, [1])
    async with db.sessions() as session, session.begin():
        [person] = await people(session, only_toggled)
        loaded = await polls.get_poll(session, survey.id)
        assert loaded is not None
        question = loaded.questions[0]
        toggled = await polls.toggle_choice(session, question.id, person, question.options[0].id)
        assert toggled.refusal is None, toggled  # a draft: progress without an answer
        [gone] = await people(session, erased)
        await residents.erase(session, gone)

    audience = Audience(answered_poll_id=poll.id)
    async with db.sessions() as session:
        assert await audiences.count(session, audience, MessageCategory.POLL) == 4
        chosen = await session.execute(audiences.recipients(audience, MessageCategory.POLL))
        assert [int(chat_id) for _id, _channel, chat_id in chosen] == [*answered, *in_birzai]
        assert (
            await audiences.count(
                session, Audience(answered_poll_id=survey.id), MessageCategory.POLL
            )
            == 0
        )
        pag = await session.scalar(select(Municipality.id).where(Municipality.code == "PAG"))
        assert pag is not None
        in_pagegiai = Audience(municipality_ids=frozenset({pag}), answered_poll_id=poll.id)
        assert await audiences.count(session, in_pagegiai, MessageCategory.POLL) == 3

    # Stored with the broadcast and read back; audiences stored before the field read the same.
    assert audience.to_json() == {
        "municipality_ids": [],
        "age_groups": [],
        "answered_poll_id": poll.id,
    }
    assert Audience.from_json(audience.to_json()) == audience
    assert Audience().to_json() == {"municipality_ids": [], "age_groups": []}
    old = {"municipality_ids": [pag], "age_groups": [AgeGroup.AGE_65_PLUS.value]}
    assert Audience.from_json(old) == Audience(
        municipality_ids=frozenset({pag}), age_groups=frozenset({AgeGroup.AGE_65_PLUS})
    )
    assert not audience.is_everyone and Audience().is_everyone

    # The delivery engine's INSERT … SELECT writes exactly these recipients.
    async with db.sessions() as session, session.begin():
        broadcast = await broadcasts.create(
            session,
            created_by=ORGANIZER_ID,
            text="Rezultatai",
            audience=audience,
            category=MessageCategory.POLL,
        )
        assert await broadcasts.start(session, broadcast.id) == 4
    rows = await db.all(OutboxMessage)
    assert sorted(int(row.chat_id) for row in rows) == sorted([*answered, *in_birzai])
    async with db.sessions() as session:
        expected = {p.id for p in await people(session, [*answered, *in_birzai])}
    assert {row.resident_id for row in rows} == expected


# -- work after the update's commit ----------------------------------------------------------


async def test_work_after_commit_runs_after_a_commit_only(db: Database) -> None:
    done: list[str] = []

    async def note(name: str) -> None:
        done.append(name)

    with after_commit.collecting() as pending:
        async with db.sessions() as session, session.begin():
            after_commit.after_commit(session, lambda: note("committed"))
            assert pending == []  # not before the commit
        async with db.sessions() as session:
            await session.begin()
            after_commit.after_commit(session, lambda: note("rolled back"))
            await session.rollback()
        await after_commit.run(pending, update_id=1)
    assert done == ["committed"]
    assert pending == []

    async with db.sessions() as session:
        with pytest.raises(RuntimeError):
            after_commit.after_commit(session, lambda: note("outside an update"))


# -- closing: the organizer's results and charts, the residents' broadcast -------------------

TITLE = "Suoliukai ir parkas"
SURVEY = (
    QuestionSpec("Ką norėtumėte pakeisti parke?", QuestionKind.TEXT),
    BENCH,
    QuestionSpec("Kaip vertinate parką?", QuestionKind.SCALE),
)
CAPTION = (
    "📊 Apklausa „Suoliukai ir parkas“ baigėsi.\n"
    "Atsakė 4 gyventojai. Ačiū, kad dalyvavote!\n"
    "\n"
    "2. Kur pastatyti naują suoliuką?\n"
    f"Parke – 2 balsai (50{NBSP}%)\n"
    f"Aikštėje – 1 balsas (25{NBSP}%)\n"
    f"Prie mokyklos – 1 balsas (25{NBSP}%)"
)


@pytest.fixture
async def harness(
    database_url: str, local_api: LocalBotAPI, mode: Mode
) -> AsyncIterator[BotHarness]:
    """The bot with quiet hours off (tests run at any hour) and fast delivery."""
    settings = harness_settings(database_url, local_api, mode, delivery=FAST, **NO_QUIET_HOURS)
    bot_harness = BotHarness(
        local_api, settings, mode=mode, webhook_port=settings.webhook.listen_port
    )
    await bot_harness.start()
    yield bot_harness
    await bot_harness.stop()


async def organizer_chat(harness: BotHarness) -> Chat:
    """The organizer has written to the bot before (Telegram sends only to known chats)."""
    harness.api.add_user(ORGANIZER_ID, "Tomas")
    return await organizer(harness)


async def answer_survey(db: Database, poll_id: int, chat_ids: list[int]) -> None:
    """Residents answer every question: a text, options 1, 1, 2, 3…, and a scale 5, 4, …"""
    async with db.sessions() as session, session.begin():
        poll = await polls.get_poll(session, poll_id)
        assert poll is not None
        written, choice, scale = poll.questions
        for number, person in enumerate(await people(session, chat_ids)):
            results = [
                await polls.answer_text(session, written.id, person, "Daugiau medžių"),
                await polls.answer_single(
                    session, choice.id, person, choice.options[max(number - 1, 0)].id
                ),
                await polls.answer_scale(session, scale.id, person, 5 - number),
            ]
            assert all(result.ok for result in results), results


async def close_survey(
    harness: BotHarness,
    db: Database,
    visibility: ResultsVisibility = ResultsVisibility.AFTER_CLOSE,
    *,
    questions: tuple[QuestionSpec, ...] = SURVEY,
) -> tuple[Poll, dict[str, list[int]]]:
    """A survey answered by four residents (one of whom wants no poll messages) and not
    answered by two others, closed by the scheduler's job a week later."""
    answered = await add_residents(db.sessions, harness.api, 3, first_chat_id=100_000)
    unwilling = await add_residents(
        db.sessions, harness.api, 1, first_chat_id=100_010, wants_polls=False
    )
    silent = await add_residents(db.sessions, harness.api, 2, first_chat_id=100_020)
    poll = await make_poll(db, *questions, title=TITLE, visibility=visibility)
    if questions == SURVEY:
        await answer_survey(db, poll.id, answered + unwilling)
    else:
        async with db.sessions() as session, session.begin():
            loaded = await polls.get_poll(session, poll.id)
            assert loaded is not None
            for person in await people(session, answered + unwilling):
                result = await polls.answer_text(session, loaded.questions[0].id, person, "Taip")
                assert result.ok, result
    closing = poll.closes_at + timedelta(seconds=1)
    assert await jobs(harness).run(now=closing) == ([poll.id], [])
    return poll, {"answered": answered, "unwilling": unwilling, "silent": silent}


def received(harness: BotHarness, chat_ids: list[int]) -> dict[int, list[StoredMessage]]:
    return {chat_id: harness.api.bot_messages(chat_id) for chat_id in chat_ids}


async def results_broadcasts(db: Database) -> list[Broadcast]:
    rows = await db.all(Broadcast, Broadcast.category == MessageCategory.POLL)
    return [b for b in rows if b.audience.get("answered_poll_id") is not None]


@pytest.mark.parametrize("mode", ["polling", "webhook"], indirect=True)
async def test_closing_sends_the_organizer_text_and_charts_and_the_residents_the_chart(
    harness: BotHarness, db: Database
) -> None:
    chat = await organizer_chat(harness)
    before = len(chat.messages)
    poll, who = await close_survey(harness, db)

    # The organizer: the results text, then one chart per choice or scale question.
    text, *charts = chat.messages[before:]
    assert text.kind == "text"
    assert text.text.startswith("Apklausos rezultatai\n„Suoliukai ir parkas“\nBaigta 20")
    assert [(m.kind, m.text) for m in charts] == [
        ("photo", "2. Kur pastatyti naują suoliuką?"),
        ("photo", "3. Kaip vertinate parką?"),
    ]
    assert all(png_size(m.photo_bytes or b"")[0] == 1080 for m in charts)

    # Residents who answered: the first chart, sent again by its file id, with the summary.
    await wait_delivered(db)
    [broadcast] = await results_broadcasts(db)
    assert broadcast.photo_file_id == charts[0].file_id
    assert broadcast.created_by == ORGANIZER_ID
    assert broadcast.audience == {
        "municipality_ids": [],
        "age_groups": [],
        "answered_poll_id": poll.id,
    }
    assert (broadcast.status, broadcast.total, broadcast.urgent) == (BroadcastStatus.DONE, 3, False)
    for chat_id, messages in received(harness, who["answered"]).items():
        [message] = messages
        assert (message.kind, message.text) == ("photo", CAPTION), chat_id
        assert message.file_id == charts[0].file_id
        assert message.photo_bytes == charts[0].photo_bytes
        assert message.html is not None and message.html.startswith(
            "📊 <b>Apklausa „Suoliukai ir parkas“ baigėsi.</b>"
        )
    # Who did not answer, and who wants no poll messages, get nothing.
    assert received(harness, who["silent"] + who["unwilling"]) == {
        chat_id: [] for chat_id in who["silent"] + who["unwilling"]
    }
    outbox = await db.all(OutboxMessage, OutboxMessage.broadcast_id == broadcast.id)
    assert sorted(int(row.chat_id) for row in outbox) == who["answered"]
    assert {row.status for row in outbox} == {OutboxStatus.SENT}
    [closed] = await db.all(Poll, Poll.id == poll.id)
    assert closed.status is PollStatus.CLOSED
    assert closed.results_announced_at is not None

    # A restart, and the job running again later: nothing is sent twice.
    sent = len(chat.messages)
    await harness.restart()
    later = poll.closes_at + RECOVERY_AFTER * 3
    assert await jobs(harness).run(now=later) == ([], [])
    assert len(await results_broadcasts(db)) == 1
    assert len(chat.messages) == sent
    assert all(len(m) == 1 for m in received(harness, who["answered"]).values())


async def test_results_after_answering_also_reach_residents_at_closing(
    harness: BotHarness, db: Database
) -> None:
    await organizer_chat(harness)
    _poll, who = await close_survey(harness, db, ResultsVisibility.AFTER_ANSWER)
    await wait_delivered(db)
    [broadcast] = await results_broadcasts(db)
    assert broadcast.photo_file_id is not None
    for messages in received(harness, who["answered"]).values():
        assert [(m.kind, m.text) for m in messages] == [("photo", CAPTION)]


async def test_results_never_shown_to_residents_are_not_sent_to_them(
    harness: BotHarness, db: Database
) -> None:
    chat = await organizer_chat(harness)
    before = len(chat.messages)
    poll, who = await close_survey(harness, db, ResultsVisibility.NEVER)

    assert [m.kind for m in chat.messages[before:]] == ["text", "photo", "photo"]
    await wait_delivered(db)
    assert await results_broadcasts(db) == []
    everyone = who["answered"] + who["unwilling"] + who["silent"]
    assert received(harness, everyone) == {chat_id: [] for chat_id in everyone}
    [closed] = await db.all(Poll, Poll.id == poll.id)
    assert closed.results_announced_at is not None  # handed out: to the organizer only


async def test_without_the_organizers_chart_residents_get_the_text(
    harness: BotHarness, db: Database
) -> None:
    chat = await organizer_chat(harness)
    harness.api.block_chat(ORGANIZER_ID)  # the organizer's results cannot be delivered
    before = len(chat.messages)
    _poll, who = await close_survey(harness, db)

    assert chat.messages[before:] == []
    await wait_delivered(db)
    [broadcast] = await results_broadcasts(db)
    assert broadcast.photo_file_id is None
    for messages in received(harness, who["answered"]).values():
        assert [(m.kind, m.text) for m in messages] == [("text", CAPTION)]


async def test_written_answers_only_give_a_text_without_a_chart(
    harness: BotHarness, db: Database
) -> None:
    chat = await organizer_chat(harness)
    before = len(chat.messages)
    questions = (QuestionSpec("Ką norėtumėte pakeisti parke?", QuestionKind.TEXT),)
    _poll, who = await close_survey(harness, db, questions=questions)

    assert [m.kind for m in chat.messages[before:]] == ["text"]
    await wait_delivered(db)
    [broadcast] = await results_broadcasts(db)
    assert broadcast.photo_file_id is None
    expected = (
        "📊 Apklausa „Suoliukai ir parkas“ baigėsi.\nAtsakė 4 gyventojai. Ačiū, kad dalyvavote!"
    )
    for messages in received(harness, who["answered"]).values():
        assert [(m.kind, m.text) for m in messages] == [("text", expected)]


async def test_results_left_by_a_stopped_process_are_handed_out_once_later(
    harness: BotHarness, db: Database
) -> None:
    chat = await organizer_chat(harness)
    answered = await add_residents(db.sessions, harness.api, 4, first_chat_id=100_000)
    poll = await make_poll(db, *SURVEY, title=TITLE)
    await answer_survey(db, poll.id, answered)
    closing = poll.closes_at + timedelta(seconds=1)
    # The process closes the poll and stops before handing out the results.
    async with db.sessions() as session, session.begin():
        assert await polls.close_due(session, closing) == [poll.id]
    await harness.restart()
    before = len(chat.messages)

    # Not while the closing process may still be at it.
    assert await jobs(harness).recover(closing + RECOVERY_AFTER / 2) == []
    assert chat.messages[before:] == []
    # Later: the organizer's results and charts, and the residents' results as text (the
    # organizer's upload is gone), once however often the job runs.
    assert await jobs(harness).recover(closing + RECOVERY_AFTER) == [poll.id]
    assert [m.kind for m in chat.messages[before:]] == ["text", "photo", "photo"]
    assert await jobs(harness).run(now=closing + RECOVERY_AFTER * 2) == ([], [])
    await wait_delivered(db)  # (a stop while sending may repeat a message: the engine's rule)
    await harness.restart()
    assert await jobs(harness).recover(closing + RECOVERY_AFTER * 3) == []
    assert len(chat.messages) == before + 3
    [broadcast] = await results_broadcasts(db)
    assert broadcast.photo_file_id is None
    for messages in received(harness, answered).values():
        assert [(m.kind, m.text) for m in messages] == [("text", CAPTION)]


async def test_closing_early_hands_out_the_results_like_closing_on_time(
    harness: BotHarness, db: Database
) -> None:
    chat = await organizer_chat(harness)
    answered = await add_residents(db.sessions, harness.api, 2, first_chat_id=100_000)
    silent = await add_residents(db.sessions, harness.api, 1, first_chat_id=100_010)
    poll = await make_poll(db, BENCH)
    await vote(db, poll.id, answered, [1, 2])

    await chat.send("/polls")
    await chat.press(chat.last.message_id, PollManageCb(poll=poll.id, action="close").pack())
    listing = chat.messages[-3]  # edited in place
    assert "1. Kur pastatyti naują suoliuką?\nbaigta 20" in listing.text
    text, chart = chat.replies
    assert text.text.startswith("Apklausos rezultatai\n„Kur pastatyti naują suoliuką?“\nBaigta")
    assert (chart.kind, chart.text) == ("photo", "1. Kur pastatyti naują suoliuką?")

    await wait_delivered(db)
    [broadcast] = await results_broadcasts(db)
    assert broadcast.photo_file_id == chart.file_id
    for messages in received(harness, answered).values():
        [message] = messages
        assert message.kind == "photo" and message.file_id == chart.file_id
        assert message.text.startswith(
            "📊 Apklausa „Kur pastatyti naują suoliuką?“ baigėsi.\n"
            "Atsakė 2 gyventojai. Ačiū, kad dalyvavote!\n\n1. Kur pastatyti naują suoliuką?\n"
            f"Parke – 1 balsas (50{NBSP}%)\nAikštėje – 1 balsas (50{NBSP}%)\n"
            f"Prie mokyklos – 0 balsų (0{NBSP}%)"
        )
    assert received(harness, silent) == {silent[0]: []}
    # The job does not hand them out again.
    assert await jobs(harness).run(now=utcnow() + RECOVERY_AFTER * 2) == ([], [])
    assert len(await results_broadcasts(db)) == 1


async def test_an_organizer_reading_english_gets_english_charts_and_residents_the_text(
    harness: BotHarness, db: Database
) -> None:
    """The chart's labels are in the organizer's language, so it cannot go to residents
    with a Lithuanian caption: they get the Lithuanian text alone."""
    chat = await organizer_chat(harness)
    await add_residents(db.sessions, None, 1, first_chat_id=ORGANIZER_ID, language="en")
    before = len(chat.messages)
    _poll, who = await close_survey(harness, db)

    text, *charts = chat.messages[before:]
    assert text.text.startswith("Poll results\n“Suoliukai ir parkas”\nClosed")
    assert [m.kind for m in charts] == ["photo", "photo"]
    await wait_delivered(db)
    [broadcast] = await results_broadcasts(db)
    assert broadcast.photo_file_id is None
    for messages in received(harness, who["answered"]).values():
        assert [(m.kind, m.text) for m in messages] == [("text", CAPTION)]
