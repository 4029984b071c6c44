"""Polls and surveys: creating, opening and closing, answering, survey navigation, results.

Rules the interface relies on:

- One answer per resident per question, kept by a UNIQUE key; answering again replaces the
  answer until the poll closes, and the same answer again changes nothing.
- A multiple choice answer is built with ``toggle_choice`` (the selection is a draft kept in
  ``poll_progress``, invisible to results) and counted when ``submit_multiple`` records it.
- Results are GROUP BY queries over indexed columns; answers are never loaded into Python.
- A refused answer (closed poll, outside the audience, forged or stale ids) changes nothing
  and says why in ``AnswerResult.refusal``.
"""

from __future__ import annotations

import base64
import enum
import functools
import hashlib
import hmac
from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeAlias

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload

from bot.db import dialect_of, insert_function
from bot.services.audiences import Audience
from bot.services.collation import lithuanian_sort_key
from models import (
    Municipality,
    Poll,
    PollAnswer,
    PollAnswerChoice,
    PollOption,
    PollProgress,
    PollQuestion,
    PollStatus,
    QuestionKind,
    Resident,
    ResultsVisibility,
    utcnow,
)
from models.polls import (
    OPTION_MAX_LENGTH,
    QUESTION_MAX_LENGTH,
    SCALE_MAX,
    SCALE_MIN,
    TEXT_ANSWER_MAX_LENGTH,
    TITLE_MAX_LENGTH,
)

MIN_OPTIONS = 2
MAX_OPTIONS = 12
MAX_QUESTIONS = 100
LOCALIZED_TEXT_MAX_LENGTH = 2000  # a Messenger text message; Telegram allows 4096
LANGUAGES = ("lt", "en")
DEFAULT_DURATION = timedelta(weeks=1)
CHOICE_KINDS = frozenset({QuestionKind.SINGLE, QuestionKind.MULTIPLE})
SCALE_VALUES = tuple(range(SCALE_MIN, SCALE_MAX + 1))


# --- creating -------------------------------------------------------------------------


class PollProblem(enum.StrEnum):
    TITLE_EMPTY = "title_empty"
    TITLE_TOO_LONG = "title_too_long"
    NO_QUESTIONS = "no_questions"
    TOO_MANY_QUESTIONS = "too_many_questions"
    QUESTION_EMPTY = "question_empty"
    QUESTION_TOO_LONG = "question_too_long"
    OPTION_EMPTY = "option_empty"
    OPTION_TOO_LONG = "option_too_long"
    DUPLICATE_OPTION = "duplicate_option"
    TOO_FEW_OPTIONS = "too_few_options"
    TOO_MANY_OPTIONS = "too_many_options"
    OPTIONS_NOT_ALLOWED = "options_not_allowed"  # scale and text questions have none
    BAD_SKIP_IF = "bad_skip_if"  # not an earlier choice question, or no such option
    TEXT_NOT_LITHUANIAN = "text_not_lithuanian"  # intro/thanks need "lt" (and only lt, en)
    TEXT_TOO_LONG = "text_too_long"
    CLOSE_BEFORE_OPEN = "close_before_open"
    CLOSE_IN_PAST = "close_in_past"
    NOT_FOUND = "not_found"
    NOT_OWNER = "not_owner"
    NOT_OPEN = "not_open"  # close_early on a poll that is not open
    NOT_SCHEDULED = "not_scheduled"  # cancel on a poll that has opened already


class PollError(Exception):
    """Why a poll cannot be created or changed.

    ``question`` and ``option`` are 1-based positions (for messages and, later, for mapping
    to YAML line numbers); ``limit`` is the bound that was broken.
    """

    def __init__(
        self,
        problem: PollProblem,
        *,
        question: int | None = None,
        option: int | None = None,
        limit: int | None = None,
    ) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.question = question
        self.option = option
        self.limit = limit

    def __repr__(self) -> str:
        return (
            f"PollError({self.problem.value}, question={self.question}, "
            f"option={self.option}, limit={self.limit})"
        )


@dataclass(frozen=True, slots=True)
class SkipIf:
    """Skip a question when the answer to the earlier ``question`` (a position) includes
    any of ``options`` (positions)."""

    question: int
    options: frozenset[int]

    def to_json(self) -> dict[str, object]:
        return {"question": self.question, "options": sorted(self.options)}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> SkipIf:
        options = data.get("options", [])
        assert isinstance(options, list)
        question = data["question"]
        assert isinstance(question, int)
        return cls(question=question, options=frozenset(int(o) for o in options))


@dataclass(frozen=True, slots=True)
class QuestionSpec:
    text: str
    kind: QuestionKind = QuestionKind.SINGLE
    options: tuple[str, ...] = ()
    skip_if: SkipIf | None = None


def _check_localized(text: Mapping[str, str] | None) -> dict[str, str] | None:
    if text is None:
        return None
    cleaned = {lang: value.strip() for lang, value in text.items() if value and value.strip()}
    if not cleaned:
        return None
    if "lt" not in cleaned or set(cleaned) - set(LANGUAGES):
        raise PollError(PollProblem.TEXT_NOT_LITHUANIAN)
    if any(len(value) > LOCALIZED_TEXT_MAX_LENGTH for value in cleaned.values()):
        raise PollError(PollProblem.TEXT_TOO_LONG, limit=LOCALIZED_TEXT_MAX_LENGTH)
    return cleaned


def _check_question(number: int, spec: QuestionSpec, earlier: Sequence[QuestionSpec]) -> None:
    text = spec.text.strip()
    if not text:
        raise PollError(PollProblem.QUESTION_EMPTY, question=number)
    if len(text) > QUESTION_MAX_LENGTH:
        raise PollError(PollProblem.QUESTION_TOO_LONG, question=number, limit=QUESTION_MAX_LENGTH)
    if spec.kind in CHOICE_KINDS:
        if len(spec.options) < MIN_OPTIONS:
            raise PollError(PollProblem.TOO_FEW_OPTIONS, question=number, limit=MIN_OPTIONS)
        if len(spec.options) > MAX_OPTIONS:
            raise PollError(PollProblem.TOO_MANY_OPTIONS, question=number, limit=MAX_OPTIONS)
        seen: set[str] = set()
        for index, option in enumerate(spec.options, start=1):
            option = option.strip()
            if not option:
                raise PollError(PollProblem.OPTION_EMPTY, question=number, option=index)
            if len(option) > OPTION_MAX_LENGTH:
                raise PollError(
                    PollProblem.OPTION_TOO_LONG,
                    question=number,
                    option=index,
                    limit=OPTION_MAX_LENGTH,
                )
            if option.casefold() in seen:
                raise PollError(PollProblem.DUPLICATE_OPTION, question=number, option=index)
            seen.add(option.casefold())
    elif spec.options:
        raise PollError(PollProblem.OPTIONS_NOT_ALLOWED, question=number)
    if spec.skip_if is not None:
        target = spec.skip_if.question
        if not 1 <= target < number or not spec.skip_if.options:
            raise PollError(PollProblem.BAD_SKIP_IF, question=number)
        referred = earlier[target - 1]
        if referred.kind not in CHOICE_KINDS or not all(
            1 <= o <= len(referred.options) for o in spec.skip_if.options
        ):
            raise PollError(PollProblem.BAD_SKIP_IF, question=number)


def validate(
    *,
    title: str | None,
    questions: Sequence[QuestionSpec],
    opens_at: datetime,
    closes_at: datetime,
    now: datetime,
    intro: Mapping[str, str] | None = None,
    thanks: Mapping[str, str] | None = None,
) -> tuple[str, dict[str, str] | None, dict[str, str] | None]:
    """Check everything before anything is written; returns (title, intro, thanks) cleaned.

    The title defaults to the first question (a one-question poll needs no other)."""
    if not questions:
        raise PollError(PollProblem.NO_QUESTIONS)
    if len(questions) > MAX_QUESTIONS:
        raise PollError(PollProblem.TOO_MANY_QUESTIONS, limit=MAX_QUESTIONS)
    for number, spec in enumerate(questions, start=1):
        _check_question(number, spec, questions[: number - 1])
    clean_title = (title if title is not None else questions[0].text).strip()
    if not clean_title:
        raise PollError(PollProblem.TITLE_EMPTY)
    if len(clean_title) > TITLE_MAX_LENGTH:
        raise PollError(PollProblem.TITLE_TOO_LONG, limit=TITLE_MAX_LENGTH)
    if closes_at <= opens_at:
        raise PollError(PollProblem.CLOSE_BEFORE_OPEN)
    if closes_at <= now:
        raise PollError(PollProblem.CLOSE_IN_PAST)
    return clean_title, _check_localized(intro), _check_localized(thanks)


async def create_poll(
    session: AsyncSession,
    *,
    created_by: int,
    questions: Sequence[QuestionSpec],
    audience: Audience,
    title: str | None = None,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    visibility: ResultsVisibility = ResultsVisibility.AFTER_CLOSE,
    intro: Mapping[str, str] | None = None,
    thanks: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Poll:
    """A new poll, flushed (it has an id). Raises PollError; nothing is written then.

    Opening now (``opens_at`` None or past) makes it OPEN at once: the caller then sends the
    invitations, as it does for the ids ``open_due`` returns. Otherwise it is SCHEDULED.
    ``closes_at`` defaults to one week after opening.
    """
    now = now or utcnow()
    start = opens_at if opens_at is not None and opens_at > now else now
    end = closes_at if closes_at is not None else start + DEFAULT_DURATION
    clean_title, clean_intro, clean_thanks = validate(
        title=title,
        questions=questions,
        opens_at=start,
        closes_at=end,
        now=now,
        intro=intro,
        thanks=thanks,
    )
    opening_now = start <= now
    poll = Poll(
        title=clean_title,
        intro=clean_intro,
        thanks=clean_thanks,
        created_by=created_by,
        audience=audience.to_json(),
        status=PollStatus.OPEN if opening_now else PollStatus.SCHEDULED,
        results_visibility=visibility,
        opens_at=start,
        closes_at=end,
        opened_at=now if opening_now else None,
        created_at=now,
        questions=[
            PollQuestion(
                position=number,
                text=spec.text.strip(),
                kind=spec.kind,
                skip_if=spec.skip_if.to_json() if spec.skip_if else None,
                options=[
                    PollOption(position=index, text=text.strip())
                    for index, text in enumerate(spec.options, start=1)
                ],
            )
            for number, spec in enumerate(questions, start=1)
        ],
    )
    session.add(poll)
    await session.flush()
    return poll


async def get_poll(session: AsyncSession, poll_id: int) -> Poll | None:
    """The poll with its questions and their options (loaded)."""
    return await session.get(Poll, poll_id)


# --- opening and closing --------------------------------------------------------------


async def open_due(session: AsyncSession, now: datetime | None = None) -> list[int]:
    """Open scheduled polls whose time has come; returns the ids opened by this call.

    A conditional UPDATE: run it twice, or in two processes, and each poll opens once."""
    now = now or utcnow()
    result = await session.execute(
        update(Poll)
        .where(Poll.status == PollStatus.SCHEDULED, Poll.opens_at <= now, Poll.closes_at > now)
        .values(status=PollStatus.OPEN, opened_at=now)
        .returning(Poll.id)
        .execution_options(synchronize_session="fetch")
    )
    return sorted(result.scalars())


async def close_due(session: AsyncSession, now: datetime | None = None) -> list[int]:
    """Close polls whose closing time has passed; returns the ids closed by this call.

    A scheduled poll whose whole period passed (the bot was down) is closed too."""
    now = now or utcnow()
    result = await session.execute(
        update(Poll)
        .where(
            Poll.status.in_([PollStatus.OPEN, PollStatus.SCHEDULED]),
            Poll.closes_at <= now,
        )
        .values(status=PollStatus.CLOSED, closed_at=now)
        .returning(Poll.id)
        .execution_options(synchronize_session="fetch")
    )
    return sorted(result.scalars())


async def _owned(session: AsyncSession, poll_id: int, by: int, admin: bool) -> Poll:
    poll = await session.get(Poll, poll_id)
    if poll is None:
        raise PollError(PollProblem.NOT_FOUND)
    if poll.created_by != by and not admin:
        raise PollError(PollProblem.NOT_OWNER)
    return poll


async def _transition(
    session: AsyncSession, poll: Poll, source: PollStatus, target: PollStatus, now: datetime
) -> bool:
    values: dict[str, object] = {"status": target}
    if target is PollStatus.CLOSED:
        values["closed_at"] = now
    result = await session.execute(
        update(Poll)
        .where(Poll.id == poll.id, Poll.status == source)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def close_early(
    session: AsyncSession,
    poll_id: int,
    by: int,
    *,
    admin: bool = False,
    now: datetime | None = None,
) -> bool:
    """Close an open poll now. False when it was closed already (a double tap)."""
    poll = await _owned(session, poll_id, by, admin)
    if poll.status is PollStatus.CLOSED:
        return False
    if poll.status is not PollStatus.OPEN:
        raise PollError(PollProblem.NOT_OPEN)
    return await _transition(session, poll, PollStatus.OPEN, PollStatus.CLOSED, now or utcnow())


async def cancel(
    session: AsyncSession,
    poll_id: int,
    by: int,
    *,
    admin: bool = False,
    now: datetime | None = None,
) -> bool:
    """Cancel a scheduled poll. False when it was cancelled already (a double tap)."""
    poll = await _owned(session, poll_id, by, admin)
    if poll.status is PollStatus.CANCELLED:
        return False
    if poll.status is not PollStatus.SCHEDULED:
        raise PollError(PollProblem.NOT_SCHEDULED)
    return await _transition(
        session, poll, PollStatus.SCHEDULED, PollStatus.CANCELLED, now or utcnow()
    )


# --- who may answer -------------------------------------------------------------------


class Eligibility(enum.StrEnum):
    OK = "ok"
    CLOSED = "closed"  # closed, cancelled, or past its closing time
    NOT_OPEN_YET = "not_open_yet"
    OUTSIDE_AUDIENCE = "outside_audience"
    NOT_ONBOARDED = "not_onboarded"


def in_audience(audience: Audience, resident: Resident) -> bool:
    """The municipality and age group conditions of ``audiences.conditions`` (message
    preferences, channel and reachability decide who is *sent* a poll, not who may answer)."""
    if audience.municipality_ids and resident.municipality_id not in audience.municipality_ids:
        return False
    return not audience.age_groups or resident.age_group in audience.age_groups


def eligibility(poll: Poll, resident: Resident, now: datetime | None = None) -> Eligibility:
    now = now or utcnow()
    if poll.status in (PollStatus.CLOSED, PollStatus.CANCELLED) or poll.closes_at <= now:
        return Eligibility.CLOSED
    if poll.status is PollStatus.SCHEDULED or poll.opens_at > now:
        return Eligibility.NOT_OPEN_YET
    if resident.onboarded_at is None:
        return Eligibility.NOT_ONBOARDED
    if not in_audience(Audience.from_json(poll.audience), resident):
        return Eligibility.OUTSIDE_AUDIENCE
    return Eligibility.OK


async def can_answer(
    session: AsyncSession, poll: Poll, resident: Resident, *, now: datetime | None = None
) -> Eligibility:
    """Whether the resident may answer this poll now (``eligibility`` needs no database)."""
    return eligibility(poll, resident, now)


def results_visible(poll: Poll, *, answered: bool, now: datetime | None = None) -> bool:
    """Whether a resident may see the results (organizers always may)."""
    if poll.results_visibility is ResultsVisibility.NEVER:
        return False
    closed = poll.status is PollStatus.CLOSED or poll.closes_at <= (now or utcnow())
    if poll.results_visibility is ResultsVisibility.AFTER_CLOSE:
        return closed
    return answered or closed


# --- answering ------------------------------------------------------------------------


class Refusal(enum.StrEnum):
    CLOSED = Eligibility.CLOSED.value
    NOT_OPEN_YET = Eligibility.NOT_OPEN_YET.value
    OUTSIDE_AUDIENCE = Eligibility.OUTSIDE_AUDIENCE.value
    NOT_ONBOARDED = Eligibility.NOT_ONBOARDED.value
    NOT_FOUND = "not_found"  # no such question (stale or forged id)
    WRONG_OPTION = "wrong_option"  # the option belongs to another question
    WRONG_KIND = "wrong_kind"  # e.g. a scale value for a choice question
    OUT_OF_RANGE = "out_of_range"  # scale outside 1–5
    TOO_LONG = "too_long"  # text over 1000 characters: ask to shorten, keep the draft
    EMPTY = "empty"  # empty text, or a multiple choice submitted with nothing chosen


class AnswerOutcome(enum.StrEnum):
    RECORDED = "recorded"  # a first answer
    CHANGED = "changed"  # replaced the earlier answer
    UNCHANGED = "unchanged"  # the same answer again (a double tap, a repeated update)
    REFUSED = "refused"  # nothing was written; see ``refusal``


@dataclass(frozen=True, slots=True)
class AnswerResult:
    outcome: AnswerOutcome
    refusal: Refusal | None = None
    poll_id: int | None = None
    question_id: int | None = None
    next_question_id: int | None = None  # after a first answer: the question to ask next
    # The poll (loaded with its questions), so the caller need not load it again; the
    # session's identity map holds objects weakly and would forget it.
    poll: Poll | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.outcome is not AnswerOutcome.REFUSED


@dataclass(frozen=True, slots=True)
class ToggleResult:
    """The options (ids) selected so far on a multiple choice question, not yet counted."""

    selected: frozenset[int]
    refusal: Refusal | None = None


def _refused(
    refusal: Refusal, poll: Poll | None = None, question_id: int | None = None
) -> AnswerResult:
    return AnswerResult(AnswerOutcome.REFUSED, refusal, poll.id if poll else None, question_id)


async def _question(
    session: AsyncSession, question_id: int, resident: Resident, kind: QuestionKind, now: datetime
) -> tuple[Poll, PollQuestion] | AnswerResult:
    poll = (
        await session.scalars(
            select(Poll)
            .join(PollQuestion, PollQuestion.poll_id == Poll.id)
            .where(PollQuestion.id == question_id)
            # One statement for the poll, its questions and their options (the answer path
            # is the busiest in the bot; the default selectin loading would take three).
            .options(joinedload(Poll.questions).joinedload(PollQuestion.options))
        )
    ).first()
    if poll is None:
        return _refused(Refusal.NOT_FOUND, None, question_id)
    question = next(q for q in poll.questions if q.id == question_id)
    if question.kind is not kind:
        return _refused(Refusal.WRONG_KIND, poll, question_id)
    allowed = eligibility(poll, resident, now)
    if allowed is not Eligibility.OK:
        return _refused(Refusal(allowed.value), poll, question_id)
    return poll, question


async def _existing(session: AsyncSession, question_id: int, resident_id: int) -> PollAnswer | None:
    return await session.scalar(
        select(PollAnswer).where(
            PollAnswer.question_id == question_id, PollAnswer.resident_id == resident_id
        )
    )


async def _chosen(session: AsyncSession, answer_id: int) -> frozenset[int]:
    rows = await session.scalars(
        select(PollAnswerChoice.option_id).where(PollAnswerChoice.answer_id == answer_id)
    )
    return frozenset(rows)


@dataclass(frozen=True, slots=True)
class _Value:
    option_id: int | None = None
    scale_value: int | None = None
    text: str | None = None
    choices: frozenset[int] | None = None  # multiple choice


async def _same(session: AsyncSession, answer: PollAnswer, value: _Value) -> bool:
    if value.choices is not None:
        return await _chosen(session, answer.id) == value.choices
    return (answer.option_id, answer.scale_value, answer.text) == (
        value.option_id,
        value.scale_value,
        value.text,
    )


async def _write_choices(
    session: AsyncSession, answer_id: int, choices: frozenset[int], old: frozenset[int]
) -> None:
    if old - choices:
        await session.execute(
            delete(PollAnswerChoice).where(
                PollAnswerChoice.answer_id == answer_id,
                PollAnswerChoice.option_id.in_(sorted(old - choices)),
            )
        )
    if choices - old:
        await session.execute(
            insert(PollAnswerChoice),
            [{"answer_id": answer_id, "option_id": o} for o in sorted(choices - old)],
        )


async def _record(
    session: AsyncSession,
    poll: Poll,
    question: PollQuestion,
    resident: Resident,
    value: _Value,
    now: datetime,
) -> AnswerResult:
    """Record the answer and move the resident's progress on (when it changed anything)."""
    if value.choices is None:
        outcome = await _upsert_answer(session, poll, question, resident, value, now)
    else:
        outcome = await _record_choices(session, poll, question, resident, value, now)
    following: PollQuestion | None = None
    if outcome is not AnswerOutcome.UNCHANGED:
        following = await _advance(session, poll, resident, now, answered_question=question.id)
    return AnswerResult(
        outcome,
        None,
        poll.id,
        question.id,
        following.id if following is not None else None,
        poll,
    )


@functools.cache
def _upsert_answer_statement(dialect: str) -> Any:
    """INSERT the answer, or replace the existing one when it differs; RETURNING nothing
    when it was the same. Built once per database kind (the busiest write in the bot)."""
    statement = insert_function(dialect)(PollAnswer).values(
        {name: bindparam(name) for name in _ANSWER_COLUMNS}
    )
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[PollAnswer.question_id, PollAnswer.resident_id],
        set_={
            "option_id": new.option_id,
            "scale_value": new.scale_value,
            "text": new.text,
            "municipality_id": new.municipality_id,
            "updated_at": new.updated_at,
        },
        where=or_(
            PollAnswer.option_id.is_distinct_from(new.option_id),
            PollAnswer.scale_value.is_distinct_from(new.scale_value),
            PollAnswer.text.is_distinct_from(new.text),
        ),
    ).returning(PollAnswer.answered_at)


_ANSWER_COLUMNS = (
    "poll_id",
    "question_id",
    "resident_id",
    "municipality_id",
    "option_id",
    "scale_value",
    "text",
    "answered_at",
    "updated_at",
)


async def _upsert_answer(
    session: AsyncSession,
    poll: Poll,
    question: PollQuestion,
    resident: Resident,
    value: _Value,
    now: datetime,
) -> AnswerOutcome:
    """A single choice, scale or text answer in one statement: inserted, or the existing
    one replaced when it differs. The UNIQUE key decides races (a double tap waits for the
    other transaction and then finds the same answer there)."""
    answered_at = (
        await session.execute(
            _upsert_answer_statement(dialect_of(session)),
            {
                "poll_id": poll.id,
                "question_id": question.id,
                "resident_id": resident.id,
                "municipality_id": resident.municipality_id,
                "option_id": value.option_id,
                "scale_value": value.scale_value,
                "text": value.text,
                "answered_at": now,
                "updated_at": now,
            },
        )
    ).scalar_one_or_none()
    if answered_at is None:  # the same answer was there: nothing written
        return AnswerOutcome.UNCHANGED
    return AnswerOutcome.RECORDED if answered_at == now else AnswerOutcome.CHANGED


async def _record_choices(
    session: AsyncSession,
    poll: Poll,
    question: PollQuestion,
    resident: Resident,
    value: _Value,
    now: datetime,
) -> AnswerOutcome:
    """A multiple choice answer: the answer row and one row per chosen option."""
    outcome = AnswerOutcome.RECORDED
    answer = await _existing(session, question.id, resident.id)
    if answer is None:
        new = PollAnswer(
            poll_id=poll.id,
            question_id=question.id,
            resident_id=resident.id,
            municipality_id=resident.municipality_id,
            option_id=value.option_id,
            scale_value=value.scale_value,
            text=value.text,
            answered_at=now,
            updated_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(new)
                await session.flush()
                if value.choices is not None:
                    await _write_choices(session, new.id, value.choices, frozenset())
        except IntegrityError:
            # The same resident's other update (a double tap) recorded an answer a moment ago.
            answer = await _existing(session, question.id, resident.id)
            if answer is None:
                raise
    if answer is not None:
        if await _same(session, answer, value):
            outcome = AnswerOutcome.UNCHANGED
        else:
            if value.choices is not None:
                await _write_choices(
                    session, answer.id, value.choices, await _chosen(session, answer.id)
                )
            answer.option_id = value.option_id
            answer.scale_value = value.scale_value
            answer.text = value.text
            answer.municipality_id = resident.municipality_id
            answer.updated_at = now
            outcome = AnswerOutcome.CHANGED
    return outcome


async def answer_single(
    session: AsyncSession,
    question_id: int,
    resident: Resident,
    option_id: int,
    *,
    now: datetime | None = None,
) -> AnswerResult:
    now = now or utcnow()
    found = await _question(session, question_id, resident, QuestionKind.SINGLE, now)
    if isinstance(found, AnswerResult):
        return found
    poll, question = found
    if option_id not in {o.id for o in question.options}:
        return _refused(Refusal.WRONG_OPTION, poll, question_id)
    return await _record(session, poll, question, resident, _Value(option_id=option_id), now)


async def answer_scale(
    session: AsyncSession,
    question_id: int,
    resident: Resident,
    value: int,
    *,
    now: datetime | None = None,
) -> AnswerResult:
    now = now or utcnow()
    found = await _question(session, question_id, resident, QuestionKind.SCALE, now)
    if isinstance(found, AnswerResult):
        return found
    poll, question = found
    if value not in SCALE_VALUES:
        return _refused(Refusal.OUT_OF_RANGE, poll, question_id)
    return await _record(session, poll, question, resident, _Value(scale_value=value), now)


async def answer_text(
    session: AsyncSession,
    question_id: int,
    resident: Resident,
    text: str,
    *,
    now: datetime | None = None,
) -> AnswerResult:
    """Free text, stripped; over 1000 characters is refused (TOO_LONG) and nothing is kept."""
    now = now or utcnow()
    found = await _question(session, question_id, resident, QuestionKind.TEXT, now)
    if isinstance(found, AnswerResult):
        return found
    poll, question = found
    text = text.strip()
    if not text:
        return _refused(Refusal.EMPTY, poll, question_id)
    if len(text) > TEXT_ANSWER_MAX_LENGTH:
        return _refused(Refusal.TOO_LONG, poll, question_id)
    return await _record(session, poll, question, resident, _Value(text=text), now)


async def _progress(
    session: AsyncSession, poll: Poll, resident: Resident, now: datetime
) -> PollProgress:
    """The resident's progress row for this poll (created on first use), locked for update."""
    query = (
        select(PollProgress)
        .where(PollProgress.poll_id == poll.id, PollProgress.resident_id == resident.id)
        .with_for_update()
    )
    progress = await session.scalar(query)
    if progress is not None:
        return progress
    progress = PollProgress(
        poll_id=poll.id,
        resident_id=resident.id,
        municipality_id=resident.municipality_id,
        position=poll.questions[0].position,
        started_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(progress)
    except IntegrityError:
        existing = await session.scalar(query)
        if existing is None:
            raise
        return existing
    return progress


async def toggle_choice(
    session: AsyncSession,
    question_id: int,
    resident: Resident,
    option_id: int,
    *,
    selected: bool | None = None,
    now: datetime | None = None,
) -> ToggleResult:
    """Select or unselect an option of a multiple choice question (a draft, not counted).

    ``selected`` None flips the option; True/False sets it, so a button that carries the
    state it sets is safe against double taps. The draft starts from the submitted answer
    when there is one, and survives restarts (it is stored in ``poll_progress``)."""
    now = now or utcnow()
    found = await _question(session, question_id, resident, QuestionKind.MULTIPLE, now)
    if isinstance(found, AnswerResult):
        assert found.refusal is not None
        return ToggleResult(frozenset(), found.refusal)
    poll, question = found
    if option_id not in {o.id for o in question.options}:
        return ToggleResult(frozenset(), Refusal.WRONG_OPTION)
    progress = await _progress(session, poll, resident, now)
    current = await _draft(session, progress, question.id, resident.id)
    want = option_id not in current if selected is None else selected
    new = current | {option_id} if want else current - {option_id}
    drafts = dict(progress.draft or {})
    drafts[str(question.id)] = sorted(new)
    progress.draft = drafts
    progress.updated_at = now
    return ToggleResult(frozenset(new))


async def _draft(
    session: AsyncSession, progress: PollProgress, question_id: int, resident_id: int
) -> frozenset[int]:
    drafts = progress.draft or {}
    if str(question_id) in drafts:
        return frozenset(drafts[str(question_id)])
    answer = await _existing(session, question_id, resident_id)
    return await _chosen(session, answer.id) if answer is not None else frozenset()


async def selected_options(
    session: AsyncSession, question_id: int, resident: Resident
) -> frozenset[int]:
    """What to mark ✓ on a multiple choice question: the draft, else the submitted answer."""
    progress = await session.scalar(
        select(PollProgress)
        .join(PollQuestion, PollQuestion.poll_id == PollProgress.poll_id)
        .where(PollQuestion.id == question_id, PollProgress.resident_id == resident.id)
    )
    if progress is not None:
        return await _draft(session, progress, question_id, resident.id)
    answer = await _existing(session, question_id, resident.id)
    return await _chosen(session, answer.id) if answer is not None else frozenset()


async def current_choice(
    session: AsyncSession, question_id: int, resident: Resident
) -> frozenset[int]:
    """What to mark ✓ on a single choice or scale question: the option id or the value."""
    answer = await _existing(session, question_id, resident.id)
    if answer is None:
        return frozenset()
    value = answer.option_id if answer.option_id is not None else answer.scale_value
    return frozenset() if value is None else frozenset({value})


async def submit_multiple(
    session: AsyncSession,
    question_id: int,
    resident: Resident,
    option_ids: Collection[int] | None = None,
    *,
    now: datetime | None = None,
) -> AnswerResult:
    """Record a multiple choice answer: the toggled draft, or ``option_ids`` when given."""
    now = now or utcnow()
    found = await _question(session, question_id, resident, QuestionKind.MULTIPLE, now)
    if isinstance(found, AnswerResult):
        return found
    poll, question = found
    progress: PollProgress | None = None
    if option_ids is None:
        progress = await _progress(session, poll, resident, now)
        choices = await _draft(session, progress, question.id, resident.id)
    else:
        choices = frozenset(option_ids)
    if not choices:
        return _refused(Refusal.EMPTY, poll, question_id)
    if not choices <= {o.id for o in question.options}:
        return _refused(Refusal.WRONG_OPTION, poll, question_id)
    result = await _record(session, poll, question, resident, _Value(choices=choices), now)
    progress = progress or await _progress(session, poll, resident, now)
    if progress.draft and str(question.id) in progress.draft:
        progress.draft = {k: v for k, v in progress.draft.items() if k != str(question.id)}
    return result


# --- survey navigation ----------------------------------------------------------------


async def _answered_positions(
    session: AsyncSession, poll: Poll, resident_id: int
) -> dict[int, frozenset[int]]:
    """question id -> option ids chosen, for every question the resident answered."""
    answers: dict[int, set[int]] = {}
    rows = await session.execute(
        select(PollAnswer.id, PollAnswer.question_id, PollAnswer.option_id).where(
            PollAnswer.poll_id == poll.id, PollAnswer.resident_id == resident_id
        )
    )
    by_answer: dict[int, int] = {}
    for answer_id, question_id, option_id in rows:
        answers[question_id] = {option_id} if option_id is not None else set()
        by_answer[answer_id] = question_id
    multiple = {q.id for q in poll.questions if q.kind is QuestionKind.MULTIPLE}
    if by_answer and multiple & set(answers):
        choices = await session.execute(
            select(PollAnswerChoice.answer_id, PollAnswerChoice.option_id).where(
                PollAnswerChoice.answer_id.in_(
                    sorted(a for a, q in by_answer.items() if q in multiple)
                )
            )
        )
        for answer_id, option_id in choices:
            answers[by_answer[answer_id]].add(option_id)
    return {question: frozenset(options) for question, options in answers.items()}


def _next(poll: Poll, answered: Mapping[int, frozenset[int]]) -> PollQuestion | None:
    """The first question neither answered nor skipped."""
    by_position = {q.position: q for q in poll.questions}
    skipped: set[int] = set()
    for question in poll.questions:
        if question.skip_if:
            rule = SkipIf.from_json(question.skip_if)
            referred = by_position.get(rule.question)
            if referred is not None and referred.position not in skipped:
                positions = {
                    o.position for o in referred.options if o.id in answered.get(referred.id, ())
                }
                if positions & rule.options:
                    skipped.add(question.position)
                    continue
        if question.id not in answered:
            return question
    return None


async def _advance(
    session: AsyncSession,
    poll: Poll,
    resident: Resident,
    now: datetime,
    *,
    answered_question: int,
) -> PollQuestion | None:
    """Update the resident's progress after an answer; returns the question to ask next."""
    if len(poll.questions) == 1 and poll.questions[0].kind is not QuestionKind.MULTIPLE:
        await _complete_in_one_statement(session, poll, resident, now)
        return None
    progress = await _progress(session, poll, resident, now)
    if len(poll.questions) == 1:
        following = None
    else:
        await session.flush()
        following = _next(poll, await _answered_positions(session, poll, resident.id))
    progress.position = following.position if following else None
    if following is None and progress.completed_at is None:
        progress.completed_at = now
    if progress.first_answer_at is None:
        progress.first_answer_at = now
    progress.updated_at = now
    return following


@functools.cache
def _complete_statement(dialect: str) -> Any:
    statement = insert_function(dialect)(PollProgress).values(
        poll_id=bindparam("poll_id"),
        resident_id=bindparam("resident_id"),
        municipality_id=bindparam("municipality_id"),
        position=None,
        started_at=bindparam("now"),
        first_answer_at=bindparam("now"),
        completed_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[PollProgress.poll_id, PollProgress.resident_id],
        set_={
            "position": None,
            "first_answer_at": func.coalesce(PollProgress.first_answer_at, new.first_answer_at),
            "completed_at": func.coalesce(PollProgress.completed_at, new.completed_at),
            "updated_at": new.updated_at,
        },
    )


async def _complete_in_one_statement(
    session: AsyncSession, poll: Poll, resident: Resident, now: datetime
) -> None:
    """A one-question poll has no navigation: its progress row says answered and done.

    (Multiple choice keeps its draft in the row, read through the ORM, so it takes the
    general path.)"""
    await session.execute(
        _complete_statement(dialect_of(session)),
        {
            "poll_id": poll.id,
            "resident_id": resident.id,
            "municipality_id": resident.municipality_id,
            "now": now,
        },
    )


async def next_question(
    session: AsyncSession, poll: Poll, resident: Resident
) -> PollQuestion | None:
    """The question to ask now (resuming where the resident left), or None when done."""
    return _next(poll, await _answered_positions(session, poll, resident.id))


def question_number(poll: Poll, question: PollQuestion) -> tuple[int, int]:
    """(3, 10) for "Klausimas 3 iš 10" (skipped questions keep their numbers)."""
    return question.position, len(poll.questions)


async def progress_of(
    session: AsyncSession, poll_id: int, resident: Resident
) -> PollProgress | None:
    return await session.scalar(
        select(PollProgress).where(
            PollProgress.poll_id == poll_id, PollProgress.resident_id == resident.id
        )
    )


# --- lists ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenPoll:
    poll: Poll
    started: bool  # answered at least one question
    completed: bool


async def list_open_for(
    session: AsyncSession, resident: Resident, *, now: datetime | None = None
) -> list[OpenPoll]:
    """Open polls the resident may answer, closing soonest first."""
    now = now or utcnow()
    polls = list(
        await session.scalars(
            select(Poll)
            .where(Poll.status == PollStatus.OPEN, Poll.opens_at <= now, Poll.closes_at > now)
            .order_by(Poll.closes_at, Poll.id)
        )
    )
    polls = [p for p in polls if eligibility(p, resident, now) is Eligibility.OK]
    if not polls:
        return []
    progress = {
        row.poll_id: row
        for row in await session.scalars(
            select(PollProgress).where(
                PollProgress.resident_id == resident.id,
                PollProgress.poll_id.in_([p.id for p in polls]),
            )
        )
    }
    result = []
    for poll in polls:
        mine = progress.get(poll.id)
        result.append(
            OpenPoll(
                poll,
                started=mine is not None and mine.first_answer_at is not None,
                completed=mine is not None and mine.completed_at is not None,
            )
        )
    return result


@dataclass(frozen=True, slots=True)
class PollSummary:
    poll: Poll
    respondents: int


async def list_for_organizer(
    session: AsyncSession, created_by: int | None, *, limit: int = 50
) -> list[PollSummary]:
    """The organizer's polls (everyone's when ``created_by`` is None), newest first."""
    counts = (
        select(PollProgress.poll_id, func.count().label("n"))
        .where(PollProgress.first_answer_at.is_not(None))
        .group_by(PollProgress.poll_id)
        .subquery()
    )
    query = (
        select(Poll, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.poll_id == Poll.id)
        .order_by(Poll.created_at.desc(), Poll.id.desc())
        .limit(limit)
    )
    if created_by is not None:
        query = query.where(Poll.created_by == created_by)
    rows = await session.execute(query)
    return [PollSummary(poll, int(n)) for poll, n in rows]


# --- results --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptionCount:
    option_id: int
    position: int
    text: str
    count: int
    percent: float  # of the question's respondents (multiple choice may sum over 100)


@dataclass(frozen=True, slots=True)
class ScaleCount:
    value: int
    count: int
    percent: float


@dataclass(frozen=True, slots=True)
class QuestionTally:
    question_id: int
    position: int
    text: str
    kind: QuestionKind
    respondents: int
    options: list[OptionCount] = field(default_factory=list)
    scale: list[ScaleCount] = field(default_factory=list)
    mean: float | None = None  # scale questions


@dataclass(frozen=True, slots=True)
class PollTally:
    poll_id: int
    respondents: int  # residents who answered at least one question (erased ones too)
    questions: list[QuestionTally]


@dataclass(frozen=True, slots=True)
class MunicipalityTally:
    municipality_id: int | None  # None: no municipality recorded
    code: str | None
    name_lt: str | None
    name_en: str | None
    respondents: int
    questions: list[QuestionTally]


def _percent(count: int, total: int) -> float:
    return 100.0 * count / total if total else 0.0


_Key: TypeAlias = int | None  # municipality id when grouping by municipality, else None


async def _counts(
    session: AsyncSession, poll_id: int, by_municipality: bool
) -> tuple[
    dict[_Key, dict[int, int]],
    dict[_Key, dict[int, int]],
    dict[_Key, dict[tuple[int, int], int]],
    dict[_Key, int],
]:
    """(answers per question, per option, per (question, scale value), respondents)."""
    group = PollAnswer.municipality_id if by_municipality else None
    answer_columns = [PollAnswer.question_id, PollAnswer.option_id, PollAnswer.scale_value]
    rows = await session.execute(
        select(
            *(c for c in ([group] if group is not None else [])),
            *answer_columns,
            func.count(),
        )
        .where(PollAnswer.poll_id == poll_id)
        .group_by(*([group] if group is not None else []), *answer_columns)
    )
    per_question: dict[_Key, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    per_option: dict[_Key, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    per_scale: dict[_Key, dict[tuple[int, int], int]] = defaultdict(lambda: defaultdict(int))
    for found in rows:
        row: tuple[Any, ...] = tuple(found)
        key: _Key = row[0] if by_municipality else None
        question_id: int = row[-4]
        option_id: int | None = row[-3]
        scale_value: int | None = row[-2]
        n: int = row[-1]
        per_question[key][question_id] += n
        if option_id is not None:
            per_option[key][option_id] += n
        if scale_value is not None:
            per_scale[key][(question_id, scale_value)] += n
    choice_rows = await session.execute(
        select(
            *([PollAnswer.municipality_id] if by_municipality else []),
            PollAnswerChoice.option_id,
            func.count(),
        )
        .join(PollAnswer, PollAnswer.id == PollAnswerChoice.answer_id)
        .where(PollAnswer.poll_id == poll_id)
        .group_by(
            *([PollAnswer.municipality_id] if by_municipality else []), PollAnswerChoice.option_id
        )
    )
    for found in choice_rows:
        row = tuple(found)
        key = row[0] if by_municipality else None
        chosen: int = row[-2]
        count: int = row[-1]
        per_option[key][chosen] += count
    respondent_rows = await session.execute(
        select(
            *([PollProgress.municipality_id] if by_municipality else []),
            func.count(),
        )
        .where(PollProgress.poll_id == poll_id, PollProgress.first_answer_at.is_not(None))
        .group_by(*([PollProgress.municipality_id] if by_municipality else []))
    )
    respondents: dict[_Key, int] = defaultdict(int)
    for found in respondent_rows:
        row = tuple(found)
        people: int = row[-1]
        respondents[row[0] if by_municipality else None] += people
    return per_question, per_option, per_scale, respondents


def _question_tallies(
    poll: Poll,
    per_question: Mapping[int, int],
    per_option: Mapping[int, int],
    per_scale: Mapping[tuple[int, int], int],
) -> list[QuestionTally]:
    result = []
    for question in poll.questions:
        total = per_question.get(question.id, 0)
        options = [
            OptionCount(
                o.id,
                o.position,
                o.text,
                per_option.get(o.id, 0),
                _percent(per_option.get(o.id, 0), total),
            )
            for o in question.options
        ]
        scale: list[ScaleCount] = []
        mean = None
        if question.kind is QuestionKind.SCALE:
            counts = {v: per_scale.get((question.id, v), 0) for v in SCALE_VALUES}
            scale = [ScaleCount(v, n, _percent(n, total)) for v, n in counts.items()]
            scored = sum(counts.values())
            mean = sum(v * n for v, n in counts.items()) / scored if scored else None
        result.append(
            QuestionTally(
                question.id,
                question.position,
                question.text,
                question.kind,
                total,
                options,
                scale,
                mean,
            )
        )
    return result


async def tally(session: AsyncSession, poll_id: int) -> PollTally | None:
    """Counts and percentages per question, from GROUP BY queries."""
    poll = await session.get(Poll, poll_id)
    if poll is None:
        return None
    per_question, per_option, per_scale, respondents = await _counts(session, poll_id, False)
    return PollTally(
        poll_id,
        respondents.get(None, 0),
        _question_tallies(poll, per_question[None], per_option[None], per_scale[None]),
    )


async def tally_by_municipality(session: AsyncSession, poll_id: int) -> list[MunicipalityTally]:
    """The same counts per municipality (where the resident lived when answering), in
    Lithuanian alphabetical order; answers without a municipality come last."""
    poll = await session.get(Poll, poll_id)
    if poll is None:
        return []
    per_question, per_option, per_scale, respondents = await _counts(session, poll_id, True)
    keys = set(per_question) | set(respondents)
    names = {
        m.id: m
        for m in await session.scalars(
            select(Municipality).where(Municipality.id.in_(sorted(k for k in keys if k)))
        )
    }
    result = []
    for key in keys:
        municipality = names.get(key) if key is not None else None
        result.append(
            MunicipalityTally(
                key,
                municipality.code if municipality else None,
                municipality.name_lt if municipality else None,
                municipality.name_en if municipality else None,
                respondents.get(key, 0),
                _question_tallies(poll, per_question[key], per_option[key], per_scale[key]),
            )
        )
    result.sort(key=lambda t: (t.name_lt is None, lithuanian_sort_key(t.name_lt or "")))
    return result


async def respondent_count(session: AsyncSession, poll_id: int) -> int:
    """Residents who answered at least one question (erased residents still count)."""
    total = await session.scalar(
        select(func.count())
        .select_from(PollProgress)
        .where(PollProgress.poll_id == poll_id, PollProgress.first_answer_at.is_not(None))
    )
    return int(total or 0)


# --- erasure and research exports -----------------------------------------------------


async def forget_resident(session: AsyncSession, resident_id: int) -> None:
    """Before erasure: drop free-text answers and drafts (they may identify the person).

    Counts need nothing: the database sets ``resident_id`` to NULL when the resident row
    is deleted, and the answers stay as anonymous aggregates."""
    await session.execute(
        update(PollAnswer)
        .where(PollAnswer.resident_id == resident_id, PollAnswer.text.is_not(None))
        .values(text=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(PollProgress)
        .where(PollProgress.resident_id == resident_id)
        .values(draft=None)
        .execution_options(synchronize_session=False)
    )


def pseudonym(resident_id: int, secret: str | bytes) -> str:
    """A stable short id for research exports: HMAC-SHA256 of the internal resident id
    (never the chat id) with a secret kept out of the export; 16 base32 characters."""
    key = secret.encode() if isinstance(secret, str) else secret
    if not key:
        raise ValueError("a pseudonym secret is required")
    digest = hmac.new(key, f"dalyvauk-resident:{resident_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode().lower()


@dataclass(frozen=True, slots=True)
class ExportRow:
    pseudonym: str | None  # None: the resident erased their data
    municipality: str | None  # code, where the resident lived when answering
    age_group: str | None
    question_position: int
    question: str
    kind: QuestionKind
    answer: str  # option text(s) joined by "; ", the scale value, or the free text
    option_positions: tuple[int, ...]
    scale_value: int | None
    answered_at: datetime
    updated_at: datetime


async def export_rows(
    session: AsyncSession, poll_id: int, secret: str | bytes, *, batch: int = 1000
) -> AsyncIterator[ExportRow]:
    """One row per answer, streamed (memory stays flat), grouped by respondent."""
    if not (secret.encode() if isinstance(secret, str) else secret):
        raise ValueError("a pseudonym secret is required")
    single = aliased(PollOption)
    chosen = aliased(PollOption)
    query = (
        select(
            PollAnswer.id,
            PollAnswer.resident_id,
            Municipality.code,
            Resident.age_group,
            PollQuestion.position,
            PollQuestion.text,
            PollQuestion.kind,
            single.position,
            single.text,
            chosen.position,
            chosen.text,
            PollAnswer.scale_value,
            PollAnswer.text,
            PollAnswer.answered_at,
            PollAnswer.updated_at,
        )
        .join(PollQuestion, PollQuestion.id == PollAnswer.question_id)
        .outerjoin(Resident, Resident.id == PollAnswer.resident_id)
        .outerjoin(Municipality, Municipality.id == PollAnswer.municipality_id)
        .outerjoin(single, single.id == PollAnswer.option_id)
        .outerjoin(PollAnswerChoice, PollAnswerChoice.answer_id == PollAnswer.id)
        .outerjoin(chosen, chosen.id == PollAnswerChoice.option_id)
        .where(PollAnswer.poll_id == poll_id)
        .order_by(
            PollAnswer.resident_id.is_(None),
            PollAnswer.resident_id,
            PollQuestion.position,
            PollAnswer.id,
            chosen.position,
        )
        .execution_options(yield_per=batch)
    )
    result = await session.stream(query)
    pending: ExportRow | None = None
    pending_id: int | None = None
    async for row in result:
        values: tuple[Any, ...] = tuple(row)
        (
            answer_id,
            resident_id,
            code,
            age_group,
            position,
            question,
            kind,
            single_position,
            single_text,
            chosen_position,
            chosen_text,
            scale_value,
            text,
            answered_at,
            updated_at,
        ) = values
        if pending is not None and answer_id == pending_id and chosen_position is not None:
            pending = ExportRow(
                pending.pseudonym,
                pending.municipality,
                pending.age_group,
                pending.question_position,
                pending.question,
                pending.kind,
                f"{pending.answer}; {chosen_text}",
                (*pending.option_positions, chosen_position),
                None,
                pending.answered_at,
                pending.updated_at,
            )
            continue
        if pending is not None:
            yield pending
        answer: str
        positions: tuple[int, ...]
        if single_position is not None:
            answer, positions = single_text, (single_position,)
        elif chosen_position is not None:
            answer, positions = chosen_text, (chosen_position,)
        elif scale_value is not None:
            answer, positions = str(scale_value), ()
        else:
            answer, positions = text or "", ()
        pending_id = answer_id
        pending = ExportRow(
            pseudonym(resident_id, secret) if resident_id is not None else None,
            code,
            age_group.value if age_group is not None else None,
            position,
            question,
            kind,
            answer,
            positions,
            scale_value,
            answered_at,
            updated_at,
        )
    if pending is not None:
        yield pending
