"""Polls and surveys, service layer: rules, one answer per resident, tallies, exports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import create_engine, create_session_factory
from bot.services import polls, residents
from bot.services.audiences import Audience
from bot.services.polls import (
    AnswerOutcome,
    Eligibility,
    PollError,
    PollProblem,
    QuestionSpec,
    Refusal,
    SkipIf,
)
from models import (
    AgeGroup,
    Channel,
    Municipality,
    Poll,
    PollAnswer,
    PollProgress,
    PollStatus,
    QuestionKind,
    Resident,
    utcnow,
)
from tests.support.residents import add_residents

SECRET = "research-secret"
COLOURS = QuestionSpec("Kokia spalva?", QuestionKind.SINGLE, ("Raudona", "Žalia", "Mėlyna"))


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def people(
    sessions: async_sessionmaker[AsyncSession], count: int, **kwargs: object
) -> list[Resident]:
    chat_ids = await add_residents(sessions, None, count, **kwargs)  # type: ignore[arg-type]
    async with sessions() as session:
        return list(
            await session.scalars(
                select(Resident)
                .where(Resident.external_id.in_([str(c) for c in chat_ids]))
                .order_by(Resident.id)
            )
        )


async def make_poll(
    sessions: async_sessionmaker[AsyncSession],
    *questions: QuestionSpec,
    audience: Audience | None = None,
    **kwargs: object,
) -> Poll:
    async with sessions() as session, session.begin():
        return await polls.create_poll(
            session,
            created_by=42,
            questions=list(questions) or [COLOURS],
            audience=audience or Audience(),
            **kwargs,  # type: ignore[arg-type]
        )


def option_ids(poll: Poll, position: int = 1) -> list[int]:
    return [o.id for o in poll.questions[position - 1].options]


@dataclass
class Run:
    sessions: async_sessionmaker[AsyncSession]

    async def single(
        self, question_id: int, resident: Resident, option_id: int
    ) -> polls.AnswerResult:
        async with self.sessions() as session, session.begin():
            return await polls.answer_single(session, question_id, resident, option_id)


# --- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (QuestionSpec("x" * 301, QuestionKind.SINGLE, ("a", "b")), PollProblem.QUESTION_TOO_LONG),
        (QuestionSpec("  ", QuestionKind.SINGLE, ("a", "b")), PollProblem.QUESTION_EMPTY),
        (QuestionSpec("Q?", QuestionKind.SINGLE, ("a", "b" * 101)), PollProblem.OPTION_TOO_LONG),
        (QuestionSpec("Q?", QuestionKind.SINGLE, ("a",)), PollProblem.TOO_FEW_OPTIONS),
        (
            QuestionSpec("Q?", QuestionKind.MULTIPLE, tuple(str(i) for i in range(13))),
            PollProblem.TOO_MANY_OPTIONS,
        ),
        (QuestionSpec("Q?", QuestionKind.SINGLE, ("Taip", "taip")), PollProblem.DUPLICATE_OPTION),
        (QuestionSpec("Q?", QuestionKind.SCALE, ("a", "b")), PollProblem.OPTIONS_NOT_ALLOWED),
        (
            QuestionSpec("Q?", QuestionKind.TEXT, skip_if=SkipIf(1, frozenset({1}))),
            PollProblem.BAD_SKIP_IF,
        ),
    ],
)
def test_question_validation(spec: QuestionSpec, problem: PollProblem) -> None:
    now = utcnow()
    with pytest.raises(PollError) as caught:
        polls.validate(
            title="Apklausa",
            questions=[spec],
            opens_at=now,
            closes_at=now + timedelta(days=1),
            now=now,
        )
    assert caught.value.problem is problem
    assert caught.value.question == 1


def test_twelve_options_of_100_characters_are_fine() -> None:
    now = utcnow()
    spec = QuestionSpec(
        "Q?", QuestionKind.MULTIPLE, tuple(f"{i:02d}" + "ą" * 98 for i in range(12))
    )
    polls.validate(
        title=None, questions=[spec], opens_at=now, closes_at=now + timedelta(1), now=now
    )


def test_poll_level_validation() -> None:
    now = utcnow()
    cases = [
        ({"questions": []}, PollProblem.NO_QUESTIONS),
        ({"closes_at": now - timedelta(hours=1)}, PollProblem.CLOSE_BEFORE_OPEN),
        ({"title": "t" * 301}, PollProblem.TITLE_TOO_LONG),
        ({"intro": {"en": "Hello"}}, PollProblem.TEXT_NOT_LITHUANIAN),
        ({"thanks": {"lt": "Ačiū" * 1000}}, PollProblem.TEXT_TOO_LONG),
    ]
    for overrides, problem in cases:
        arguments: dict[str, object] = {
            "title": "Apklausa",
            "questions": [COLOURS],
            "opens_at": now,
            "closes_at": now + timedelta(days=1),
            "now": now,
            **overrides,
        }
        with pytest.raises(PollError) as caught:
            polls.validate(**arguments)  # type: ignore[arg-type]
        assert caught.value.problem is problem, overrides


async def test_create_defaults_and_invalid_poll_writes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    poll = await make_poll(sessions, intro={"lt": "Sveiki", "en": "Hello"})
    assert poll.status is PollStatus.OPEN
    assert poll.title == "Kokia spalva?"
    assert poll.closes_at - poll.opens_at == timedelta(weeks=1)
    assert poll.intro == {"lt": "Sveiki", "en": "Hello"}
    assert [o.position for o in poll.questions[0].options] == [1, 2, 3]
    with pytest.raises(PollError):
        await make_poll(sessions, QuestionSpec("Q?", QuestionKind.SINGLE, ("a",)))
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Poll)) == 1


# --- answering --------------------------------------------------------------------------


async def test_one_answer_per_resident_per_question_is_enforced_by_the_database(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    poll = await make_poll(sessions)
    (resident,) = await people(sessions, 1)
    question = poll.questions[0]
    row = {
        "poll_id": poll.id,
        "question_id": question.id,
        "resident_id": resident.id,
        "option_id": option_ids(poll)[0],
        "answered_at": utcnow(),
        "updated_at": utcnow(),
    }
    async with sessions() as session:
        await session.execute(insert(PollAnswer), [row])
        with pytest.raises(IntegrityError):
            await session.execute(insert(PollAnswer), [row])


async def test_answer_change_and_identical_repeat(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    poll = await make_poll(sessions)
    (resident,) = await people(sessions, 1)
    run = Run(sessions)
    red, green, _ = option_ids(poll)
    question_id = poll.questions[0].id
    assert (await run.single(question_id, resident, red)).outcome is AnswerOutcome.RECORDED
    assert (await run.single(question_id, resident, red)).outcome is AnswerOutcome.UNCHANGED
    assert (await run.single(question_id, resident, green)).outcome is AnswerOutcome.CHANGED
    async with sessions() as session:
        answers = list(await session.scalars(select(PollAnswer)))
        assert [a.option_id for a in answers] == [green]
        assert await polls.respondent_count(session, poll.id) == 1


async def test_a_double_tap_in_two_sessions_records_one_answer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The second session inserts after the first has written: the UNIQUE key catches it."""
    poll = await make_poll(sessions)
    (resident,) = await people(sessions, 1)
    question_id, red = poll.questions[0].id, option_ids(poll)[0]
    async with sessions() as first:
        async with first.begin():
            assert (await polls.answer_single(first, question_id, resident, red)).ok
        async with sessions() as second, second.begin():
            # As if the second update had looked before the first one committed.
            original = polls._existing

            async def nothing_yet(*args: object) -> None:
                polls._existing = original  # type: ignore[assignment]

            polls._existing = nothing_yet  # type: ignore[assignment]
            try:
                result = await polls.answer_single(second, question_id, resident, red)
            finally:
                polls._existing = original  # type: ignore[assignment]
            assert result.outcome is AnswerOutcome.UNCHANGED
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PollAnswer)) == 1


async def test_bad_answers_are_refused_and_change_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    survey = await make_poll(
        sessions,
        COLOURS,
        QuestionSpec("Kiek?", QuestionKind.SCALE),
        QuestionSpec("Kodėl?", QuestionKind.TEXT),
    )
    other = await make_poll(sessions)
    (resident,) = await people(sessions, 1)
    colours, scale, text = survey.questions
    async with sessions() as session, session.begin():
        refusals = [
            await polls.answer_single(session, colours.id, resident, option_ids(other)[0]),
            await polls.answer_single(session, 999_999, resident, option_ids(survey)[0]),
            await polls.answer_scale(session, colours.id, resident, 3),
            await polls.answer_scale(session, scale.id, resident, 0),
            await polls.answer_scale(session, scale.id, resident, 6),
            await polls.answer_text(session, text.id, resident, "ą" * 1001),
            await polls.answer_text(session, text.id, resident, "   "),
        ]
    assert [r.refusal for r in refusals] == [
        Refusal.WRONG_OPTION,
        Refusal.NOT_FOUND,
        Refusal.WRONG_KIND,
        Refusal.OUT_OF_RANGE,
        Refusal.OUT_OF_RANGE,
        Refusal.TOO_LONG,
        Refusal.EMPTY,
    ]
    assert all(r.outcome is AnswerOutcome.REFUSED for r in refusals)
    async with sessions() as session, session.begin():
        assert (await polls.answer_scale(session, scale.id, resident, 5)).ok
        assert (await polls.answer_scale(session, scale.id, resident, 1)).ok
        assert (await polls.answer_text(session, text.id, resident, " " + "ą" * 1000)).ok
    async with sessions() as session:
        answers = list(await session.scalars(select(PollAnswer).order_by(PollAnswer.id)))
        assert [(a.scale_value, a.text) for a in answers] == [(1, None), (None, "ą" * 1000)]
        assert await session.scalar(select(func.count()).select_from(PollProgress)) == 1


async def test_multiple_choice_toggles_then_submit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    poll = await make_poll(
        sessions,
        QuestionSpec("Ką lankote?", QuestionKind.MULTIPLE, ("Biblioteka", "Parkas", "Turgus")),
    )
    (resident,) = await people(sessions, 1)
    question_id = poll.questions[0].id
    library, park, market = option_ids(poll)
    async with sessions() as session, session.begin():
        assert (
            await polls.submit_multiple(session, question_id, resident)
        ).refusal is Refusal.EMPTY
        await polls.toggle_choice(session, question_id, resident, library)
        await polls.toggle_choice(session, question_id, resident, park)
        await polls.toggle_choice(session, question_id, resident, library)
        # A button carrying the state it sets: a double tap leaves it selected.
        await polls.toggle_choice(session, question_id, resident, market, selected=True)
        result = await polls.toggle_choice(session, question_id, resident, market, selected=True)
        assert result.selected == {park, market}
        assert (await polls.tally(session, poll.id)).questions[0].respondents == 0  # type: ignore[union-attr]
    async with sessions() as session, session.begin():  # the draft survives a new session
        assert await polls.selected_options(session, question_id, resident) == {park, market}
        submitted = await polls.submit_multiple(session, question_id, resident)
        assert submitted.outcome is AnswerOutcome.RECORDED
    async with sessions() as session, session.begin():
        assert (await polls.submit_multiple(session, question_id, resident)).outcome is (
            AnswerOutcome.UNCHANGED
        )
        # Changing it: the draft starts from the submitted choices.
        assert (await polls.toggle_choice(session, question_id, resident, park)).selected == {
            market
        }
        assert (await polls.submit_multiple(session, question_id, resident)).outcome is (
            AnswerOutcome.CHANGED
        )
        refused = await polls.toggle_choice(session, question_id, resident, 999_999)
        assert refused.refusal is Refusal.WRONG_OPTION
    async with sessions() as session:
        result_tally = await polls.tally(session, poll.id)
        assert result_tally is not None
        counts = {o.text: o.count for o in result_tally.questions[0].options}
        assert counts == {"Biblioteka": 0, "Parkas": 0, "Turgus": 1}
        assert result_tally.respondents == 1


async def test_closed_outside_audience_and_not_onboarded_are_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        pag = await session.scalar(select(Municipality.id).where(Municipality.code == "PAG"))
    assert pag is not None
    seniors = await make_poll(
        sessions, audience=Audience(age_groups=frozenset({AgeGroup.AGE_65_PLUS}))
    )
    local = await make_poll(sessions, audience=Audience(municipality_ids=frozenset({pag})))
    later = await make_poll(sessions, opens_at=utcnow() + timedelta(days=1))
    closed = await make_poll(sessions)
    async with sessions() as session, session.begin():
        assert await polls.close_early(session, closed.id, by=42)
        assert not await polls.close_early(session, closed.id, by=42)  # a double tap
    (young,) = await people(sessions, 1, municipality="VLN", age_group=AgeGroup.AGE_18_29)
    (newcomer,) = await people(sessions, 1, first_chat_id=5, onboarded_at=None)
    (pag_resident,) = await people(sessions, 1, first_chat_id=7)
    run = Run(sessions)
    assert (await run.single(seniors.questions[0].id, young, option_ids(seniors)[0])).refusal is (
        Refusal.OUTSIDE_AUDIENCE
    )
    assert (await run.single(local.questions[0].id, young, option_ids(local)[0])).refusal is (
        Refusal.OUTSIDE_AUDIENCE
    )
    assert (await run.single(later.questions[0].id, young, option_ids(later)[0])).refusal is (
        Refusal.NOT_OPEN_YET
    )
    assert (await run.single(closed.questions[0].id, young, option_ids(closed)[0])).refusal is (
        Refusal.CLOSED
    )
    async with sessions() as session:
        poll = await polls.get_poll(session, local.id)
        assert poll is not None
        assert await polls.can_answer(session, poll, newcomer) is Eligibility.NOT_ONBOARDED
        assert await polls.can_answer(session, poll, pag_resident) is Eligibility.OK
        # Not wanting poll messages does not stop a resident from answering.
        pag_resident.wants_polls = False
        assert await polls.can_answer(session, poll, pag_resident) is Eligibility.OK
        listed = await polls.list_open_for(session, pag_resident)
        assert [o.poll.id for o in listed] == [local.id]  # seniors: wrong age; closed; later
        assert await session.scalar(select(func.count()).select_from(PollAnswer)) == 0


async def test_organizer_actions(sessions: async_sessionmaker[AsyncSession]) -> None:
    later = await make_poll(sessions, opens_at=utcnow() + timedelta(days=1))
    open_poll = await make_poll(sessions)
    async with sessions() as session, session.begin():
        with pytest.raises(PollError) as caught:
            await polls.cancel(session, later.id, by=7)
        assert caught.value.problem is PollProblem.NOT_OWNER
        with pytest.raises(PollError) as caught:
            await polls.cancel(session, open_poll.id, by=42)
        assert caught.value.problem is PollProblem.NOT_SCHEDULED
        with pytest.raises(PollError) as caught:
            await polls.close_early(session, later.id, by=42)
        assert caught.value.problem is PollProblem.NOT_OPEN
        assert await polls.cancel(session, later.id, by=42)
        assert not await polls.cancel(session, later.id, by=42)
        summaries = await polls.list_for_organizer(session, 42)
        assert [(s.poll.id, s.poll.status) for s in summaries] == [
            (open_poll.id, PollStatus.OPEN),
            (later.id, PollStatus.CANCELLED),
        ]
        assert await polls.list_for_organizer(session, 7) == []


# --- opening and closing ----------------------------------------------------------------


async def test_open_and_close_due_happen_once_and_survive_a_restart(database_url: str) -> None:
    start = utcnow() + timedelta(hours=1)
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    poll = await make_poll(sessions, opens_at=start, closes_at=start + timedelta(days=2))
    async with sessions() as session, session.begin():
        assert poll.status is PollStatus.SCHEDULED
        assert await polls.open_due(session, utcnow()) == []
        assert await polls.open_due(session, start) == [poll.id]
        assert await polls.open_due(session, start) == []
    async with sessions() as session, session.begin():
        assert await polls.close_due(session, start + timedelta(days=1)) == []
    await engine.dispose()

    engine = create_engine(database_url)  # a restart
    sessions = create_session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            assert await polls.close_due(session, start + timedelta(days=2)) == [poll.id]
        async with sessions() as session, session.begin():
            assert await polls.close_due(session, start + timedelta(days=3)) == []
            closed = await session.get(Poll, poll.id)
            assert closed is not None
            assert closed.status is PollStatus.CLOSED
            assert closed.closed_at == start + timedelta(days=2)
    finally:
        await engine.dispose()


# --- results ----------------------------------------------------------------------------


async def test_tally_counts_percentages_and_municipalities(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    poll = await make_poll(sessions, COLOURS, QuestionSpec("Kaip vertinate?", QuestionKind.SCALE))
    pag = await people(sessions, 3)
    vln = await people(sessions, 1, municipality="VLN", first_chat_id=10)
    red, green, blue = option_ids(poll)
    colours, scale = poll.questions
    async with sessions() as session, session.begin():
        for resident, option, value in zip(
            pag + vln, [red, red, green, red], [5, 4, 4, 1], strict=True
        ):
            await polls.answer_single(session, colours.id, resident, option)
            await polls.answer_scale(session, scale.id, resident, value)
    async with sessions() as session:
        result = await polls.tally(session, poll.id)
        assert result is not None
        assert result.respondents == 4
        first, second = result.questions
        assert first.respondents == 4
        assert [(o.text, o.count, o.percent) for o in first.options] == [
            ("Raudona", 3, 75.0),
            ("Žalia", 1, 25.0),
            ("Mėlyna", 0, 0.0),
        ]
        assert [(s.value, s.count) for s in second.scale] == [
            (1, 1),
            (2, 0),
            (3, 0),
            (4, 2),
            (5, 1),
        ]
        assert second.mean == 3.5
        by_place = await polls.tally_by_municipality(session, poll.id)
        assert [(m.code, m.respondents) for m in by_place] == [("PAG", 3), ("VLN", 1)]
        assert [o.count for o in by_place[1].questions[0].options] == [1, 0, 0]
        assert blue  # unused option is still listed


async def test_tally_of_a_thousand_answers(sessions: async_sessionmaker[AsyncSession]) -> None:
    poll = await make_poll(sessions)
    await add_residents(sessions, None, 1000)
    options = option_ids(poll)
    async with sessions() as session, session.begin():
        ids = list(await session.scalars(select(Resident.id).order_by(Resident.id)))
        now = utcnow()
        await session.execute(
            insert(PollAnswer),
            [
                {
                    "poll_id": poll.id,
                    "question_id": poll.questions[0].id,
                    "resident_id": resident_id,
                    "option_id": options[i % 3],
                    "answered_at": now,
                    "updated_at": now,
                }
                for i, resident_id in enumerate(ids)
            ],
        )
    async with sessions() as session:
        result = await polls.tally(session, poll.id)
        assert result is not None
        question = result.questions[0]
        assert question.respondents == 1000
        assert [o.count for o in question.options] == [334, 333, 333]
        assert round(sum(o.percent for o in question.options), 6) == 100.0


async def test_erasing_a_resident_keeps_the_counts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    poll = await make_poll(sessions, COLOURS, QuestionSpec("Kodėl?", QuestionKind.TEXT))
    pair = await people(sessions, 2)
    colours, why = poll.questions
    async with sessions() as session, session.begin():
        for resident in pair:
            await polls.answer_single(session, colours.id, resident, option_ids(poll)[0])
            await polls.answer_text(session, why.id, resident, "Mano vardas Jonas")
    async with sessions() as session, session.begin():
        resident = await residents.find(session, Channel.TELEGRAM, pair[0].external_id)
        assert resident is not None
        await residents.erase(session, resident)  # blanks the free text, then deletes
    async with sessions() as session:
        result = await polls.tally(session, poll.id)
        assert result is not None
        assert result.respondents == 2
        assert result.questions[0].options[0].count == 2
        assert result.questions[1].respondents == 2
        orphans = list(
            await session.scalars(select(PollAnswer).where(PollAnswer.resident_id.is_(None)))
        )
        assert len(orphans) == 2
        assert {a.text for a in orphans} == {None}
        rows = [row async for row in polls.export_rows(session, poll.id, SECRET)]
        assert [r.pseudonym for r in rows][-2:] == [None, None]
        assert [r.municipality for r in rows] == ["PAG"] * 4


# --- surveys ----------------------------------------------------------------------------


async def test_survey_skip_if_and_resume(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    survey = await make_poll(
        sessions,
        QuestionSpec("Ar turite vaikų?", QuestionKind.SINGLE, ("Taip", "Ne")),
        QuestionSpec("Kiek vaikų?", QuestionKind.SCALE, skip_if=SkipIf(1, frozenset({2}))),
        QuestionSpec("Ko trūksta?", QuestionKind.MULTIPLE, ("Parkų", "Mokyklų", "Nieko")),
        QuestionSpec("Kodėl?", QuestionKind.TEXT, skip_if=SkipIf(3, frozenset({3}))),
        QuestionSpec("Ar dalyvausite?", QuestionKind.SINGLE, ("Taip", "Ne")),
        title="Gyventojų apklausa",
    )
    with_kids, without_kids = await people(sessions, 2)
    yes, no = option_ids(survey, 1)
    parks, _, nothing = option_ids(survey, 3)
    async with sessions() as session, session.begin():
        poll = await polls.get_poll(session, survey.id)
        assert poll is not None
        first = await polls.next_question(session, poll, without_kids)
        assert first is not None
        assert polls.question_number(poll, first) == (1, 5)
        await polls.answer_single(session, first.id, without_kids, no)
        following = await polls.next_question(session, poll, without_kids)
        assert following is not None
        assert following.position == 3  # "how many children" skipped
        await polls.submit_multiple(session, following.id, without_kids, [nothing])
        await polls.answer_single(session, poll.questions[0].id, with_kids, yes)
    await engine.dispose()

    engine = create_engine(database_url)  # a restart: resume from the database
    sessions = create_session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            poll = await polls.get_poll(session, survey.id)
            assert poll is not None
            question = await polls.next_question(session, poll, without_kids)
            assert question is not None
            assert question.position == 5  # "why" skipped: nothing is missing
            progress = await polls.progress_of(session, poll.id, without_kids)
            assert progress is not None
            assert (progress.position, progress.completed_at) == (5, None)
            stale = await polls.answer_single(session, question.id, without_kids, no)
            assert stale.refusal is Refusal.WRONG_OPTION  # an option of question 1
            result = await polls.answer_single(
                session, question.id, without_kids, option_ids(poll, 5)[0]
            )
            assert result.outcome is AnswerOutcome.RECORDED
            assert await polls.next_question(session, poll, without_kids) is None
            progress = await polls.progress_of(session, poll.id, without_kids)
            assert progress is not None
            assert progress.completed_at is not None
            assert progress.position is None

            question = await polls.next_question(session, poll, with_kids)
            assert question is not None
            assert question.position == 2
            await polls.answer_scale(session, question.id, with_kids, 2)
            question = await polls.next_question(session, poll, with_kids)
            assert question is not None
            await polls.submit_multiple(session, question.id, with_kids, [parks])
            question = await polls.next_question(session, poll, with_kids)
            assert question is not None
            assert question.position == 4
    finally:
        await engine.dispose()


# --- exports ----------------------------------------------------------------------------


def test_pseudonyms_are_stable_short_and_keyed() -> None:
    first = polls.pseudonym(1, SECRET)
    assert first == polls.pseudonym(1, SECRET.encode())
    assert len(first) == 16
    assert first != polls.pseudonym(2, SECRET)
    assert first != polls.pseudonym(1, "another secret")
    with pytest.raises(ValueError, match="secret"):
        polls.pseudonym(1, "")


async def test_export_rows_carry_pseudonyms_not_chat_ids(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    survey = await make_poll(
        sessions,
        COLOURS,
        QuestionSpec("Ką lankote?", QuestionKind.MULTIPLE, ("Biblioteka", "Parkas", "Turgus")),
        QuestionSpec("Kaip vertinate?", QuestionKind.SCALE),
        QuestionSpec("Pasiūlymai?", QuestionKind.TEXT),
    )
    pair = await people(sessions, 2, age_group=AgeGroup.AGE_65_PLUS)
    colours, visits, rating, ideas = survey.questions
    async with sessions() as session, session.begin():
        for resident in pair:
            await polls.answer_single(session, colours.id, resident, option_ids(survey)[1])
            await polls.submit_multiple(session, visits.id, resident, option_ids(survey, 2)[::2])
            await polls.answer_scale(session, rating.id, resident, 4)
            await polls.answer_text(session, ideas.id, resident, "Daugiau suoliukų")
    async with sessions() as session:
        rows = [row async for row in polls.export_rows(session, survey.id, SECRET, batch=3)]
        again = [row async for row in polls.export_rows(session, survey.id, SECRET)]
    assert rows == again
    assert len(rows) == 8
    chat_ids = {r.external_id for r in pair}
    assert {r.pseudonym for r in rows} == {polls.pseudonym(r.id, SECRET) for r in pair}
    assert not chat_ids & {r.pseudonym for r in rows}
    first = rows[:4]
    assert [(r.question_position, r.answer, r.option_positions) for r in first] == [
        (1, "Žalia", (2,)),
        (2, "Biblioteka; Turgus", (1, 3)),
        (3, "4", ()),
        (4, "Daugiau suoliukų", ()),
    ]
    assert {(r.municipality, r.age_group) for r in rows} == {("PAG", "65_plus")}
