"""Polls and multi-question surveys: questions, options, answers and survey progress.

Texts a resident reads before and after a survey (``intro``, ``thanks``) are JSON objects
``{"lt": "...", "en": "..."}`` (Lithuanian required, English optional); titles, questions
and options are written once, in the language the organizer chose.

Answers are kept when a resident erases their data: ``resident_id`` becomes NULL (ON DELETE
SET NULL), so counts stay right and nothing points at the person any more. The
municipality is copied onto each answer when it is given, so per-municipality results stay
right too (and reflect where the resident lived when answering).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow

TITLE_MAX_LENGTH = 300
QUESTION_MAX_LENGTH = 300
OPTION_MAX_LENGTH = 100
TEXT_ANSWER_MAX_LENGTH = 1000
SCALE_MIN = 1
SCALE_MAX = 5


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class PollStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  # created, waiting for opens_at
    OPEN = "open"  # residents answer
    CLOSED = "closed"  # on time or early; results final
    CANCELLED = "cancelled"  # withdrawn before opening


class ResultsVisibility(enum.StrEnum):
    """When residents who answered may see the results (organizers always may)."""

    AFTER_ANSWER = "after_answer"
    AFTER_CLOSE = "after_close"
    NEVER = "never"


class QuestionKind(enum.StrEnum):
    SINGLE = "single"  # one option
    MULTIPLE = "multiple"  # any options, submitted together
    SCALE = "scale"  # 1–5
    TEXT = "text"  # free text, ≤ 1000 characters


class Poll(Base):
    """A poll (one question) or a survey (several), with its audience and its times."""

    __tablename__ = "polls"
    __table_args__ = (
        Index("ix_polls_status_opens_at", "status", "opens_at"),
        Index("ix_polls_status_closes_at", "status", "closes_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    intro: Mapped[dict[str, str] | None] = mapped_column(JSON)  # {"lt": ..., "en": ...}
    thanks: Mapped[dict[str, str] | None] = mapped_column(JSON)  # {"lt": ..., "en": ...}
    created_by: Mapped[int] = mapped_column(BigInteger, index=True)  # Telegram user id
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # Audience.to_json()
    status: Mapped[PollStatus] = mapped_column(_enum(PollStatus))
    results_visibility: Mapped[ResultsVisibility] = mapped_column(
        _enum(ResultsVisibility), default=ResultsVisibility.AFTER_CLOSE
    )
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the closing results were handed out: the organizer's messages sent and the
    # residents' results broadcast created (or found not due). Set once, conditionally.
    results_announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    questions: Mapped[list[PollQuestion]] = relationship(
        back_populates="poll",
        order_by="PollQuestion.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )

    @property
    def is_survey(self) -> bool:
        return len(self.questions) > 1


class PollQuestion(Base):
    """One question of a poll; ``position`` counts from 1.

    ``skip_if`` (surveys): ``{"question": 2, "options": [1, 3]}`` skips this question when the
    resident's answer to the earlier choice question at position 2 includes option 1 or 3.
    """

    __tablename__ = "poll_questions"
    __table_args__ = (UniqueConstraint("poll_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(QUESTION_MAX_LENGTH))
    kind: Mapped[QuestionKind] = mapped_column(_enum(QuestionKind))
    skip_if: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    poll: Mapped[Poll] = relationship(back_populates="questions")
    options: Mapped[list[PollOption]] = relationship(
        back_populates="question",
        order_by="PollOption.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )


class PollOption(Base):
    """One option of a choice question; ``position`` counts from 1."""

    __tablename__ = "poll_options"
    __table_args__ = (UniqueConstraint("question_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("poll_questions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(OPTION_MAX_LENGTH))

    question: Mapped[PollQuestion] = relationship(back_populates="options")


class PollAnswer(Base):
    """A resident's answer to one question: one per resident per question (a UNIQUE key).

    Single choice sets ``option_id``, scale ``scale_value``, free text ``text``; a multiple
    choice answer has its options in ``poll_answer_choices``.
    """

    __tablename__ = "poll_answers"
    __table_args__ = (
        UniqueConstraint("question_id", "resident_id"),
        Index("ix_poll_answers_tally", "poll_id", "question_id", "option_id", "scale_value"),
        CheckConstraint(
            f"scale_value IS NULL OR (scale_value >= {SCALE_MIN} AND scale_value <= {SCALE_MAX})",
            name="scale_value_range",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("poll_questions.id", ondelete="CASCADE"))
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipalities.id", ondelete="SET NULL")
    )
    option_id: Mapped[int | None] = mapped_column(ForeignKey("poll_options.id", ondelete="CASCADE"))
    scale_value: Mapped[int | None] = mapped_column(SmallInteger)
    text: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PollAnswerChoice(Base):
    """One chosen option of a multiple choice answer."""

    __tablename__ = "poll_answer_choices"
    __table_args__ = (UniqueConstraint("answer_id", "option_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    answer_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("poll_answers.id", ondelete="CASCADE"),
    )
    option_id: Mapped[int] = mapped_column(
        ForeignKey("poll_options.id", ondelete="CASCADE"), index=True
    )


class PollProgress(Base):
    """A resident's way through a poll, created with their first answer or toggle.

    ``position`` is the next question to ask (NULL when complete); ``draft`` keeps the
    options toggled on a multiple choice question before they are submitted, by question
    id: ``{"12": [40, 42]}``. ``first_answer_at`` is set with the first submitted answer:
    rows with it count the poll's respondents, and outlive erasure with ``resident_id`` NULL.
    """

    __tablename__ = "poll_progress"
    __table_args__ = (
        UniqueConstraint("poll_id", "resident_id"),
        Index("ix_poll_progress_resident", "resident_id", "poll_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipalities.id", ondelete="SET NULL")
    )
    position: Mapped[int | None] = mapped_column(Integer)
    draft: Mapped[dict[str, list[int]] | None] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    first_answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
