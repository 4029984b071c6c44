"""What happens when a poll closes: the organizer gets the results text and bar charts, and
residents who answered get the results through the delivery engine when the poll allows it,
once (also across restarts and a crash in between). Plus the audience of those residents,
as SQL on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.telegram import after_commit
from bot.services import audiences, broadcasts, polls, residents
from bot.services.audiences import Audience
from bot.services.polls import QuestionSpec
from models import (
    AgeGroup,
    MessageCategory,
    Municipality,
    OutboxMessage,
    Poll,
    QuestionKind,
    Resident,
)
from tests.support.db import Database
from tests.support.residents import add_residents

ORGANIZER_ID = 5001
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
        assert [int(chat_id) for _id, chat_id in chosen] == [*answered, *in_birzai]
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
