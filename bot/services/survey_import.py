"""Multi-question surveys defined in a YAML file: parse, validate, create.

The file format is documented in ``docs/survey-example.yaml``. Every problem is reported
with the line it is on (``SurveyIssue.line``, 1-based), so an organizer can fix the file;
all problems found are reported together. Nothing is written unless the whole file is
valid: the structure is checked here, the poll rules by ``polls.validate`` (each
``PollError`` mapped to the line of the question, option or field it is about), and the
poll is created with ``polls.create_poll`` in the caller's transaction.

Scalars are read as the organizer wrote them (``yes``, ``no``, ``1``, ``18_29`` stay text),
so YAML's implicit booleans and numbers never change an option or an age group.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import polls
from bot.services.audiences import Audience
from bot.services.polls import PollError, PollProblem, QuestionSpec, SkipIf
from models import AgeGroup, Municipality, Poll, QuestionKind, ResultsVisibility, utcnow

MAX_FILE_BYTES = 256 * 1024
YAML_SUFFIXES = (".yaml", ".yml")

TOP_KEYS = ("title", "intro", "thanks", "audience", "opens", "closes", "results", "questions")
QUESTION_KEYS = ("text", "kind", "options", "skip_if")
SKIP_IF_KEYS = ("question", "options")
AUDIENCE_KEYS = ("municipalities", "age_groups")
LANGUAGE_KEYS = polls.LANGUAGES

_NULL = "tag:yaml.org,2002:null"
_MOMENT = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+|T)(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$"
)


class SurveyProblem(enum.StrEnum):
    """Problems with the file itself; the poll rules' problems are ``PollProblem``s."""

    NOT_TEXT = "not_text"  # not UTF-8 text
    TOO_LARGE = "too_large"  # details: limit (bytes)
    NOT_YAML = "not_yaml"  # a YAML syntax error
    NOT_MAPPING = "not_mapping"  # the document is not "key: value" pairs
    UNKNOWN_KEY = "unknown_key"  # details: key, allowed
    DUPLICATE_KEY = "duplicate_key"  # details: key
    MISSING_KEY = "missing_key"  # details: key
    NOT_STRING = "not_string"  # details: key
    NOT_LIST = "not_list"  # details: key
    NOT_MAP = "not_map"  # details: key
    NOT_INTEGER = "not_integer"  # details: key, value
    BAD_KIND = "bad_kind"  # details: value, allowed
    BAD_RESULTS = "bad_results"  # details: value, allowed
    UNKNOWN_MUNICIPALITY = "unknown_municipality"  # details: value
    BAD_AGE_GROUP = "bad_age_group"  # details: value, allowed
    BAD_DATE = "bad_date"  # details: key, value
    SKIP_IF_NOT_EARLIER = "skip_if_not_earlier"  # details: question, target
    SKIP_IF_NOT_CHOICE = "skip_if_not_choice"  # details: target
    SKIP_IF_NO_OPTION = "skip_if_no_option"  # details: target, option, count


@dataclass(frozen=True, slots=True)
class SurveyIssue:
    """One problem: the 1-based ``line`` (None: not about a line, e.g. a CLI option), what is
    wrong, and the values a message needs (``key``, ``value``, ``limit``, ``length``...)."""

    line: int | None
    problem: SurveyProblem | PollProblem
    details: Mapping[str, Any] = field(default_factory=dict)


class SurveyImportError(Exception):
    """The file cannot be imported; ``issues`` lists every problem found, in line order.

    ``line``, ``problem`` and ``details`` are the first issue's."""

    def __init__(self, issues: Sequence[SurveyIssue]) -> None:
        assert issues
        self.issues = sorted(issues, key=lambda i: i.line or 0)
        first = self.issues[0]
        super().__init__("; ".join(f"{i.line}: {i.problem.value}" for i in self.issues))
        self.line = first.line
        self.problem = first.problem
        self.details = first.details


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


# --- reading the file -----------------------------------------------------------------


@dataclass
class _Question:
    line: int  # the list item
    text: str = ""
    text_line: int = 0
    kind: QuestionKind | None = None
    options: list[str] = field(default_factory=list)
    options_line: int = 0
    option_lines: list[int] = field(default_factory=list)
    skip_question: int | None = None
    skip_options: list[tuple[int, int]] = field(default_factory=list)  # (position, line)
    skip_line: int = 0
    broken: bool = False  # a structural problem was reported

    def spec(self, with_skip_if: bool = True) -> QuestionSpec:
        skip = None
        if with_skip_if and self.skip_question is not None:
            skip = SkipIf(self.skip_question, frozenset(o for o, _ in self.skip_options))
        return QuestionSpec(
            text=self.text,
            kind=self.kind or QuestionKind.SINGLE,
            options=tuple(self.options),
            skip_if=skip,
        )


@dataclass
class SurveyFile:
    """A parsed file (structurally valid; the poll rules are checked on import)."""

    title: str = ""
    title_line: int = 1
    intro: dict[str, str] | None = None
    intro_line: int = 1
    thanks: dict[str, str] | None = None
    thanks_line: int = 1
    municipalities: list[tuple[str, int]] = field(default_factory=list)  # (code, line)
    age_groups: set[AgeGroup] = field(default_factory=set)
    opens: datetime | None = None
    opens_line: int | None = None
    closes: datetime | None = None
    closes_line: int | None = None
    visibility: ResultsVisibility = ResultsVisibility.AFTER_CLOSE
    questions: list[_Question] = field(default_factory=list)
    questions_line: int = 1


def parse_moment(value: str, tz: ZoneInfo) -> datetime:
    """``2026-12-01 18:00`` (seconds optional, ``T`` allowed) in ``tz`` → UTC.

    Raises ValueError for anything else (a date alone is refused: say the time)."""
    match = _MOMENT.match(value)
    if match is None:
        raise ValueError(value)
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    local = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    return local.astimezone(UTC)


class _Reader:
    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.issues: list[SurveyIssue] = []

    def issue(self, node: yaml.Node | int | None, problem: SurveyProblem, **details: Any) -> None:
        line = _line(node) if isinstance(node, yaml.Node) else node
        self.issues.append(SurveyIssue(line, problem, details))

    def mapping(
        self, node: yaml.Node, allowed: Sequence[str], key: str | None = None
    ) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        """{key: (key node, value node)}, reporting unknown and repeated keys."""
        if not isinstance(node, yaml.MappingNode):
            if key is None:
                self.issue(node, SurveyProblem.NOT_MAPPING)
            else:
                self.issue(node, SurveyProblem.NOT_MAP, key=key)
            return None
        result: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            name = str(key_node.value).strip() if isinstance(key_node, yaml.ScalarNode) else "?"
            if name not in allowed:
                self.issue(key_node, SurveyProblem.UNKNOWN_KEY, key=name, allowed=list(allowed))
            elif name in result:
                self.issue(key_node, SurveyProblem.DUPLICATE_KEY, key=name)
            else:
                result[name] = (key_node, value_node)
        return result

    def text(self, node: yaml.Node, key: str) -> str | None:
        """A scalar as written (null is empty text); None after reporting a non-scalar."""
        if not isinstance(node, yaml.ScalarNode):
            self.issue(node, SurveyProblem.NOT_STRING, key=key)
            return None
        return "" if node.tag == _NULL else str(node.value)

    def items(self, node: yaml.Node, key: str) -> list[yaml.Node] | None:
        """A list; a single scalar counts as a list of one."""
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        if isinstance(node, yaml.ScalarNode):
            return [] if node.tag == _NULL else [node]
        self.issue(node, SurveyProblem.NOT_LIST, key=key)
        return None

    def integer(self, node: yaml.Node, key: str) -> int | None:
        value = self.text(node, key)
        if value is None:
            return None
        if not re.fullmatch(r"\s*\d{1,4}\s*", value):
            self.issue(node, SurveyProblem.NOT_INTEGER, key=key, value=value)
            return None
        return int(value)

    def localized(self, node: yaml.Node, key: str) -> dict[str, str] | None:
        if isinstance(node, yaml.ScalarNode):
            value = self.text(node, key)
            return {"lt": value} if value else None
        fields = self.mapping(node, LANGUAGE_KEYS, key)
        if fields is None:
            return None
        result: dict[str, str] = {}
        for language, (_key_node, value_node) in fields.items():
            value = self.text(value_node, f"{key}.{language}")
            if value:
                result[language] = value
        return result

    def moment(self, node: yaml.Node, key: str) -> datetime | None:
        value = self.text(node, key)
        if value is None or not value.strip():
            return None
        try:
            return parse_moment(value, self.tz)
        except ValueError:
            self.issue(node, SurveyProblem.BAD_DATE, key=key, value=value)
            return None

    def question(self, node: yaml.Node) -> _Question:
        question = _Question(line=_line(node), text_line=_line(node))
        question.options_line = question.skip_line = question.line
        fields = self.mapping(node, QUESTION_KEYS, "questions")
        if fields is None:
            question.broken = True
            return question
        before = len(self.issues)
        if "text" in fields:
            key_node, value_node = fields["text"]
            question.text = self.text(value_node, "text") or ""
            question.text_line = _line(value_node if value_node.tag != _NULL else key_node)
        else:
            self.issue(node, SurveyProblem.MISSING_KEY, key="text")
        if "options" in fields:
            key_node, value_node = fields["options"]
            question.options_line = _line(key_node)
            for option_node in self.items(value_node, "options") or []:
                question.options.append(self.text(option_node, "options") or "")
                question.option_lines.append(_line(option_node))
        if "kind" in fields:
            _key, kind_node = fields["kind"]
            kind = (self.text(kind_node, "kind") or "").strip().lower()
            try:
                question.kind = QuestionKind(kind)
            except ValueError:
                self.issue(
                    kind_node,
                    SurveyProblem.BAD_KIND,
                    value=kind,
                    allowed=[k.value for k in QuestionKind],
                )
        elif question.options:
            question.kind = QuestionKind.SINGLE
        else:
            self.issue(node, SurveyProblem.MISSING_KEY, key="kind")
        if "skip_if" in fields:
            key_node, value_node = fields["skip_if"]
            question.skip_line = _line(key_node)
            skip = self.mapping(value_node, SKIP_IF_KEYS, "skip_if")
            if skip is not None:
                if "question" in skip:
                    question.skip_question = self.integer(skip["question"][1], "question")
                else:
                    self.issue(value_node, SurveyProblem.MISSING_KEY, key="skip_if.question")
                if "options" in skip:
                    for option_node in self.items(skip["options"][1], "options") or []:
                        position = self.integer(option_node, "options")
                        if position is not None:
                            question.skip_options.append((position, _line(option_node)))
                if not question.skip_options:
                    self.issue(value_node, SurveyProblem.MISSING_KEY, key="skip_if.options")
                    question.skip_question = None
        question.broken = len(self.issues) > before
        return question

    def survey(self, root: yaml.Node) -> SurveyFile:
        survey = SurveyFile()
        fields = self.mapping(root, TOP_KEYS)
        if fields is None:
            return survey
        if "title" in fields:
            _key, node = fields["title"]
            survey.title, survey.title_line = self.text(node, "title") or "", _line(node)
        else:
            self.issue(1, SurveyProblem.MISSING_KEY, key="title")
        for key in ("intro", "thanks"):
            if key in fields:
                _key, node = fields[key]
                setattr(survey, key, self.localized(node, key))
                setattr(survey, f"{key}_line", _line(node))
        if "audience" in fields:
            self.audience(fields["audience"][1], survey)
        if "opens" in fields:
            _key, node = fields["opens"]
            survey.opens, survey.opens_line = self.moment(node, "opens"), _line(node)
        if "closes" in fields:
            _key, node = fields["closes"]
            survey.closes, survey.closes_line = self.moment(node, "closes"), _line(node)
        if "results" in fields:
            _key, node = fields["results"]
            value = (self.text(node, "results") or "").strip().lower()
            try:
                survey.visibility = ResultsVisibility(value)
            except ValueError:
                self.issue(
                    node,
                    SurveyProblem.BAD_RESULTS,
                    value=value,
                    allowed=[v.value for v in ResultsVisibility],
                )
        if "questions" in fields:
            key_node, node = fields["questions"]
            survey.questions_line = _line(key_node)
            if isinstance(node, yaml.SequenceNode):
                survey.questions = [self.question(item) for item in node.value]
            elif node.tag != _NULL:
                self.issue(node, SurveyProblem.NOT_LIST, key="questions")
        else:
            self.issue(1, SurveyProblem.MISSING_KEY, key="questions")
        self.skip_ifs(survey.questions)
        return survey

    def audience(self, node: yaml.Node, survey: SurveyFile) -> None:
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL:
            return
        fields = self.mapping(node, AUDIENCE_KEYS, "audience")
        if fields is None:
            return
        if "municipalities" in fields:
            for item in self.items(fields["municipalities"][1], "municipalities") or []:
                code = self.text(item, "municipalities")
                if code is not None and code.strip():
                    survey.municipalities.append((code.strip().upper(), _line(item)))
        if "age_groups" in fields:
            for item in self.items(fields["age_groups"][1], "age_groups") or []:
                value = (self.text(item, "age_groups") or "").strip().lower()
                try:
                    survey.age_groups.add(AgeGroup(value))
                except ValueError:
                    self.issue(
                        item,
                        SurveyProblem.BAD_AGE_GROUP,
                        value=value,
                        allowed=[g.value for g in AgeGroup],
                    )

    def skip_ifs(self, questions: Sequence[_Question]) -> None:
        """Each ``skip_if`` must point at an earlier choice question and its options."""
        for number, question in enumerate(questions, start=1):
            target = question.skip_question
            if target is None:
                continue
            if not 1 <= target < number:
                self.issue(
                    question.skip_line,
                    SurveyProblem.SKIP_IF_NOT_EARLIER,
                    question=number,
                    target=target,
                )
                question.broken = True
                continue
            referred = questions[target - 1]
            if referred.broken:
                continue  # its own problem is reported
            if referred.kind not in polls.CHOICE_KINDS:
                self.issue(question.skip_line, SurveyProblem.SKIP_IF_NOT_CHOICE, target=target)
                question.broken = True
                continue
            for position, line in question.skip_options:
                if not 1 <= position <= len(referred.options):
                    self.issue(
                        line,
                        SurveyProblem.SKIP_IF_NO_OPTION,
                        target=target,
                        option=position,
                        count=len(referred.options),
                    )
                    question.broken = True


def decode(content: bytes | str) -> str:
    """The file's text (UTF-8, a BOM allowed); SurveyImportError when it is not text."""
    if isinstance(content, str):
        return content
    if len(content) > MAX_FILE_BYTES:
        raise SurveyImportError(
            [SurveyIssue(None, SurveyProblem.TOO_LARGE, {"limit": MAX_FILE_BYTES})]
        )
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SurveyImportError([SurveyIssue(None, SurveyProblem.NOT_TEXT)]) from None


def read(content: bytes | str, tz: ZoneInfo) -> tuple[SurveyFile, list[SurveyIssue]]:
    """The file's structure and its structural problems (SurveyImportError when it is not
    a YAML document at all)."""
    text = decode(content)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else None
        raise SurveyImportError(
            [SurveyIssue(line, SurveyProblem.NOT_YAML, {"detail": exc.problem or ""})]
        ) from None
    except yaml.YAMLError:
        raise SurveyImportError([SurveyIssue(None, SurveyProblem.NOT_YAML)]) from None
    if root is None:
        raise SurveyImportError([SurveyIssue(1, SurveyProblem.NOT_MAPPING)])
    reader = _Reader(tz)
    survey = reader.survey(root)
    return survey, reader.issues


def parse(content: bytes | str, tz: ZoneInfo) -> SurveyFile:
    """The file's structure; SurveyImportError lists every structural problem."""
    survey, issues = read(content, tz)
    if issues:
        raise SurveyImportError(issues)
    return survey


# --- checking the poll rules ----------------------------------------------------------

_PLACEHOLDER = QuestionSpec("?", QuestionKind.TEXT)


def _stand_in(question: _Question) -> QuestionSpec:
    """A valid question of the same kind, standing for one with its own problem."""
    kind = question.kind or QuestionKind.SINGLE
    if kind not in polls.CHOICE_KINDS:
        return QuestionSpec("?", kind)
    count = min(max(len(question.options), polls.MIN_OPTIONS), polls.MAX_OPTIONS)
    return QuestionSpec("?", kind, tuple(str(i) for i in range(1, count + 1)))


def _question_issue(error: PollError, question: _Question) -> SurveyIssue:
    problem = error.problem
    details: dict[str, Any] = {"question": error.question, "limit": error.limit}
    line = question.text_line
    if problem is PollProblem.QUESTION_TOO_LONG:
        details["length"] = len(question.text.strip())
    elif problem in {PollProblem.TOO_FEW_OPTIONS, PollProblem.TOO_MANY_OPTIONS}:
        line = question.options_line
        details["count"] = len(question.options)
    elif problem is PollProblem.OPTIONS_NOT_ALLOWED:
        line = question.options_line
        details["kind"] = (question.kind or QuestionKind.SINGLE).value
    elif problem is PollProblem.BAD_SKIP_IF:
        line = question.skip_line
    elif error.option is not None and error.option <= len(question.options):
        line = question.option_lines[error.option - 1]
        text = question.options[error.option - 1].strip()
        details.update(option=error.option, text=text, length=len(text))
    return SurveyIssue(line, problem, details)


def _rule_issues(
    survey: SurveyFile,
    *,
    opens_at: datetime,
    closes_at: datetime,
    closes_line: int | None,
    now: datetime,
    questions_only: bool = False,
) -> list[SurveyIssue]:
    """Every ``polls.validate`` problem, each on its line (validate stops at the first
    problem, so each part is checked on its own with valid stand-ins for the rest)."""
    issues: list[SurveyIssue] = []
    later = now + timedelta(hours=1)

    def check(
        line: int | None,
        *,
        title: str = "?",
        questions: Sequence[QuestionSpec] = (_PLACEHOLDER,),
        opens: datetime = now,
        closes: datetime = later,
        intro: Mapping[str, str] | None = None,
        thanks: Mapping[str, str] | None = None,
        **details: Any,
    ) -> None:
        try:
            polls.validate(
                title=title,
                questions=questions,
                opens_at=opens,
                closes_at=closes,
                now=now,
                intro=intro,
                thanks=thanks,
            )
        except PollError as error:
            issues.append(SurveyIssue(line, error.problem, {"limit": error.limit, **details}))

    if not questions_only:
        check(survey.title_line, title=survey.title, length=len(survey.title.strip()))
        check(survey.questions_line, questions=[_PLACEHOLDER] * len(survey.questions))
        check(closes_line, opens=opens_at, closes=closes_at)
        for key, text, line in (
            ("intro", survey.intro, survey.intro_line),
            ("thanks", survey.thanks, survey.thanks_line),
        ):
            longest = max((len(v.strip()) for v in (text or {}).values()), default=0)
            if key == "intro":
                check(line, intro=text, key=key, length=longest)
            else:
                check(line, thanks=text, key=key, length=longest)
    valid: list[QuestionSpec] = []
    failed: set[int] = set()
    for number, question in enumerate(survey.questions, start=1):
        if question.broken:  # its structural problem is reported
            failed.add(number)
            valid.append(_stand_in(question))
            continue
        target = question.skip_question
        spec = question.spec(with_skip_if=target not in failed)
        try:
            polls.validate(
                title="?",
                questions=[*valid, spec],
                opens_at=now,
                closes_at=later,
                now=now,
            )
        except PollError as error:
            issues.append(_question_issue(error, question))
            failed.add(number)
            spec = _stand_in(question)
        valid.append(spec)
    return issues


# --- importing ------------------------------------------------------------------------


async def _municipality_ids(
    session: AsyncSession, codes: Iterable[tuple[str, int]]
) -> tuple[set[int], list[SurveyIssue]]:
    wanted = list(codes)
    if not wanted:
        return set(), []
    found = {
        m.code: m.id
        for m in await session.scalars(
            select(Municipality).where(Municipality.code.in_(sorted({c for c, _ in wanted})))
        )
    }
    issues = [
        SurveyIssue(line, SurveyProblem.UNKNOWN_MUNICIPALITY, {"value": code})
        for code, line in wanted
        if code not in found
    ]
    return {found[c] for c, _ in wanted if c in found}, issues


async def import_survey(
    session: AsyncSession,
    content: bytes | str,
    *,
    created_by: int,
    tz: ZoneInfo,
    opens: datetime | None = None,
    closes: datetime | None = None,
    now: datetime | None = None,
) -> Poll:
    """Create the survey the file describes; ``opens``/``closes`` override the file's.

    Raises SurveyImportError (listing every problem) before anything is written. The poll is
    created SCHEDULED, even when it opens at once: the scheduler opens it (``open_due``) and
    sends the invitations, the same way for every poll that opens.
    """
    now = now or utcnow()
    survey, structural = read(content, tz)
    municipality_ids, issues = await _municipality_ids(session, survey.municipalities)
    issues += structural
    opens_at = opens if opens is not None else survey.opens
    closes_at = closes if closes is not None else survey.closes
    # Opening "now" is one microsecond ahead: SCHEDULED, so the scheduler opens it and
    # invites the audience, as for every poll that opens.
    soon = now + timedelta(microseconds=1)
    start = opens_at if opens_at is not None and opens_at > soon else soon
    end = closes_at if closes_at is not None else start + polls.DEFAULT_DURATION
    # A closing time problem is on the "closes" line (or "opens" when only that is given);
    # None when the time came from the command line.
    closes_line = survey.closes_line if closes is None else None
    if closes is None and survey.closes_line is None and opens is None:
        closes_line = survey.opens_line
    issues += _rule_issues(
        survey,
        opens_at=start,
        closes_at=end,
        closes_line=closes_line,
        now=now,
        questions_only=bool(structural),  # the file's fields may be half read
    )
    if issues:
        raise SurveyImportError(issues)
    try:
        return await polls.create_poll(
            session,
            created_by=created_by,
            questions=[q.spec() for q in survey.questions],
            audience=Audience(
                municipality_ids=frozenset(municipality_ids),
                age_groups=frozenset(survey.age_groups),
            ),
            title=survey.title,
            opens_at=start,
            closes_at=end,
            visibility=survey.visibility,
            intro=survey.intro,
            thanks=survey.thanks,
            now=now,
        )
    except PollError as error:  # checked above; only a clock passing a closing time
        raise SurveyImportError(
            [SurveyIssue(closes_line, error.problem, {"limit": error.limit})]
        ) from None
