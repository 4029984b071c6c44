"""Events from a file: a YAML list under ``events:`` or a CSV table, one event per row.

The format is documented in ``docs/events-example.yaml`` and ``docs/events-example.csv``.
As with surveys (:mod:`bot.services.survey_import`), every problem is reported with its
line (``EventIssue.line``, 1-based), all problems of the file together, and nothing is
written unless the whole file is valid: the structure is checked here, the event rules by
``events.validate`` (each ``EventError`` mapped to the line of the field it is about), and
all the events are created in one savepoint of the caller's transaction.

Imported events are published (residents see them under Renginiai at once) but not
announced: announcing stays the organizer's decision, event by event.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import events
from bot.services.audiences import Audience
from bot.services.collation import casefold_lt
from bot.services.events import EventError, EventProblem, EventSpec
from bot.services.survey_import import (
    YAML_SUFFIXES,
    SurveyImportError,
    SurveyIssue,
    SurveyProblem,
    _Reader,
    decode,
    parse_moment,
)
from models import AgeGroup, Event, EventKind, Municipality, utcnow
from models.events import DEFAULT_OFFER_HOURS, DEFAULT_REMINDER_OFFSETS

CSV_SUFFIXES = (".csv",)
MAX_EVENTS = 200

FIELDS = (
    "kind",
    "title",
    "description",
    "municipalities",
    "place",
    "latitude",
    "longitude",
    "online_url",
    "starts",
    "ends",
    "capacity",
    "registration_deadline",
    "questions",
    "per_organization_quota",
    "audience",
    "reminders",
    "offer_hours",
)
REQUIRED = ("kind", "title", "municipalities", "starts", "ends")
LIST_FIELDS = ("municipalities", "questions", "reminders")
AUDIENCE_KEYS = ("municipalities", "age_groups")
CSV_AUDIENCE = {
    "audience_municipalities": "municipalities",
    "audience_age_groups": "age_groups",
}
CSV_COLUMNS = tuple(f for f in FIELDS if f != "audience") + tuple(CSV_AUDIENCE)
QUESTION_SEPARATOR = " | "

_NULL = "tag:yaml.org,2002:null"
_EVENTS_KEY = re.compile(r"^events[ \t]*:", re.MULTILINE)
_TIME_ONLY = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
_DURATION = re.compile(r"^\s*(\d{1,5})\s*(d|h|min|m)\s*$", re.IGNORECASE)
_INTEGER = re.compile(r"^\s*\d{1,9}\s*$")
_LIST_SPLIT = re.compile(r"\s*[,;|]\s*")

_KIND_NAMES = {
    EventKind.CONSULTATION: ("konsultacija", "konsultacijos"),
    EventKind.TRAINING: ("mokymai",),
    EventKind.DISCUSSION: ("viešoji diskusija", "diskusija"),
    EventKind.FOCUS_GROUP: ("fokus grupė", "fokus grupe"),
    EventKind.STUDY_VISIT: ("darbinis vizitas", "vizitas"),
    EventKind.SEMINAR: ("seminaras",),
}


class EventFileProblem(enum.StrEnum):
    """Problems of an events file; structural ones shared with surveys are SurveyProblems,
    the event rules' are EventProblems."""

    NOT_EVENTS = "not_events"  # no "events:" list (YAML) or no header row (CSV)
    NO_EVENTS = "no_events"  # the list is empty
    TOO_MANY_EVENTS = "too_many_events"  # details: limit
    BAD_EVENT_KIND = "bad_event_kind"  # details: value, allowed
    BAD_REMINDER = "bad_reminder"  # details: value
    INACTIVE_MUNICIPALITY = "inactive_municipality"  # details: value
    CSV_BROKEN = "csv_broken"  # a quote not closed
    CSV_EXTRA_CELLS = "csv_extra_cells"  # details: count (cells), columns


Problem = SurveyProblem | EventFileProblem | EventProblem


@dataclass(frozen=True, slots=True)
class EventIssue:
    """One problem: the 1-based ``line`` (None: about the whole file), what is wrong, and
    the values a message needs (``key``, ``value``, ``limit``, ``event``...)."""

    line: int | None
    problem: Problem
    details: Mapping[str, Any] = field(default_factory=dict)


class EventImportError(Exception):
    """The file cannot be imported; ``issues`` lists every problem found, in line order."""

    def __init__(self, issues: Sequence[EventIssue]) -> None:
        assert issues
        self.issues = sorted(issues, key=lambda i: i.line or 0)
        super().__init__("; ".join(f"{i.line}: {i.problem.value}" for i in self.issues))
        self.line = self.issues[0].line
        self.problem = self.issues[0].problem


# --- the file's fields, as written -------------------------------------------------------

Text = tuple[str, int]  # a value and its line


@dataclass
class _Raw:
    """One event as written: each field's text (lists as several texts) with its line."""

    line: int
    values: dict[str, Text] = field(default_factory=dict)
    lists: dict[str, list[Text]] = field(default_factory=dict)
    audience: dict[str, list[Text]] = field(default_factory=dict)
    broken: bool = False  # not a mapping at all (reported)


def is_events_file(content: bytes | str, filename: str) -> bool:
    """A CSV file, or a YAML file with a top-level ``events:`` (how the bot tells an events
    file from a survey, even one that is not valid YAML)."""
    name = filename.lower()
    if name.endswith(CSV_SUFFIXES):
        return True
    if not name.endswith(YAML_SUFFIXES):
        return False
    try:
        text = decode(content)
    except SurveyImportError:
        return False
    return _EVENTS_KEY.search(text) is not None


class _YamlReader(_Reader):
    def event(self, node: yaml.Node) -> _Raw:
        raw = _Raw(line=int(node.start_mark.line) + 1)
        fields = self.mapping(node, FIELDS, "events")
        if fields is None:
            raw.broken = True
            return raw
        for name, (key_node, value_node) in fields.items():
            line = _line(value_node if value_node.tag != _NULL else key_node)
            if name == "audience":
                self.event_audience(value_node, raw)
            elif name in LIST_FIELDS:
                raw.lists[name] = self.texts(value_node, name)
            else:
                value = self.text(value_node, name)
                if value is not None and value.strip():
                    raw.values[name] = (value.strip(), line)
                elif value is not None and name in REQUIRED:
                    raw.values[name] = ("", line)
        return raw

    def texts(self, node: yaml.Node, key: str) -> list[Text]:
        found: list[Text] = []
        for item in self.items(node, key) or []:
            value = self.text(item, key)
            if value is not None:
                found.append((value.strip(), _line(item)))
        return found

    def event_audience(self, node: yaml.Node, raw: _Raw) -> None:
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL:
            return
        fields = self.mapping(node, AUDIENCE_KEYS, "audience")
        for name, (_key, value_node) in (fields or {}).items():
            raw.audience[name] = [t for t in self.texts(value_node, name) if t[0]]


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _from_survey(issue: SurveyIssue) -> EventIssue:
    """A structural problem the survey reader found (never a poll rule's)."""
    assert isinstance(issue.problem, SurveyProblem)
    return EventIssue(issue.line, issue.problem, issue.details)


def _read_yaml(text: str, tz: ZoneInfo) -> tuple[list[_Raw], list[EventIssue]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else None
        raise EventImportError([EventIssue(line, SurveyProblem.NOT_YAML)]) from None
    except yaml.YAMLError:
        raise EventImportError([EventIssue(None, SurveyProblem.NOT_YAML)]) from None
    if root is None:
        raise EventImportError([EventIssue(1, EventFileProblem.NOT_EVENTS)])
    reader = _YamlReader(tz)
    raws: list[_Raw] = []
    issues: list[EventIssue] = []
    fields = reader.mapping(root, ("events",)) if isinstance(root, yaml.MappingNode) else None
    if fields is None or "events" not in fields:
        issues.append(EventIssue(1, EventFileProblem.NOT_EVENTS))
    else:
        key_node, node = fields["events"]
        if isinstance(node, yaml.SequenceNode):
            raws = [reader.event(item) for item in node.value]
        elif node.tag != _NULL:
            reader.issue(node, SurveyProblem.NOT_LIST, key="events")
        if not raws and not reader.issues:
            issues.append(EventIssue(_line(key_node), EventFileProblem.NO_EVENTS))
    issues += [_from_survey(issue) for issue in reader.issues]
    return raws, issues


def _read_csv(text: str) -> tuple[list[_Raw], list[EventIssue]]:
    """Rows of a CSV file (comma or semicolon, as Excel writes it in Lithuania)."""
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    issues: list[EventIssue] = []
    raws: list[_Raw] = []
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise EventImportError([EventIssue(1, EventFileProblem.NOT_EVENTS)])
        columns = [cell.strip().lower() for cell in header]
        for column in columns:
            if column and column not in CSV_COLUMNS:
                issues.append(
                    EventIssue(
                        1, SurveyProblem.UNKNOWN_KEY, {"key": column, "allowed": CSV_COLUMNS}
                    )
                )
        for column in sorted({c for c in columns if c and columns.count(c) > 1}):
            issues.append(EventIssue(1, SurveyProblem.DUPLICATE_KEY, {"key": column}))
        for column in REQUIRED:
            if column not in columns:
                issues.append(EventIssue(1, SurveyProblem.MISSING_KEY, {"key": column}))
        if issues:  # every row would repeat a problem of the header
            return raws, issues
        end = reader.line_num
        for cells in reader:
            line, end = end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # an empty line (Excel leaves some at the end)
            if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
                issues.append(
                    EventIssue(
                        line,
                        EventFileProblem.CSV_EXTRA_CELLS,
                        {"count": len(cells), "columns": len(columns)},
                    )
                )
            raws.append(_csv_row(dict(zip(columns, cells, strict=False)), line))
    except csv.Error:
        issues.append(EventIssue(reader.line_num or 1, EventFileProblem.CSV_BROKEN))
    if not raws and not issues:
        issues.append(EventIssue(1, EventFileProblem.NO_EVENTS))
    return raws, issues


def _csv_row(cells: Mapping[str, str], line: int) -> _Raw:
    raw = _Raw(line=line)
    for name, cell in cells.items():
        value = cell.strip()
        if name in CSV_AUDIENCE:
            parts = _LIST_SPLIT.split(value) if value else []
            raw.audience[CSV_AUDIENCE[name]] = [(p, line) for p in parts if p]
        elif name == "questions":
            parts = value.split(QUESTION_SEPARATOR.strip()) if value else []
            raw.lists[name] = [(p.strip(), line) for p in parts]
        elif name in LIST_FIELDS:
            raw.lists[name] = [(p, line) for p in _LIST_SPLIT.split(value) if p] if value else []
        elif name in FIELDS and (value or name in REQUIRED):
            raw.values[name] = (value, line)
    return raw


# --- from texts to an event --------------------------------------------------------------


def _folded(value: str) -> str:
    return " ".join(casefold_lt(value).replace("_", " ").replace("-", " ").split())


def _kind(value: str) -> EventKind | None:
    wanted = _folded(value)
    for kind in EventKind:
        if wanted in (_folded(kind.value), *_KIND_NAMES[kind]):
            return kind
    return None


class _Municipalities:
    """Municipalities by code or name (official or short, Lithuanian or English)."""

    def __init__(self, rows: Sequence[Municipality]) -> None:
        self.by_name: dict[str, Municipality] = {}
        for m in rows:
            for name in (m.code, m.name_lt, m.short_lt, m.name_en, m.short_en):
                self.by_name.setdefault(_folded(name), m)

    def find(self, value: str) -> Municipality | None:
        return self.by_name.get(_folded(value))


@dataclass
class _Builder:
    """Turns one event's texts into an EventSpec, collecting the problems with their lines."""

    raw: _Raw
    tz: ZoneInfo
    now: datetime
    places: _Municipalities
    offer_hours: int
    reminder_offsets: tuple[int, ...]
    issues: list[EventIssue] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)
    question_lines: list[int] = field(default_factory=list)

    def issue(self, line: int | None, problem: Problem, **details: Any) -> None:
        self.issues.append(EventIssue(line, problem, details))

    def value(self, name: str) -> str | None:
        found = self.raw.values.get(name)
        if found is None:
            return None
        self.lines[name] = found[1]
        return found[0]

    def integer(self, name: str) -> int | None:
        value = self.value(name)
        if value is None or not value:
            return None
        if not _INTEGER.match(value):
            self.issue(self.lines[name], SurveyProblem.NOT_INTEGER, key=name, value=value)
            return None
        return int(value)

    def number(self, name: str) -> float | None:
        value = self.value(name)
        if value is None:
            return None
        try:
            return float(value.replace(",", ".").replace(" ", ""))
        except ValueError:
            self.issue(self.lines[name], SurveyProblem.NOT_INTEGER, key=name, value=value)
            return None

    def moment(self, name: str, *, day_of: datetime | None = None) -> datetime | None:
        value = self.value(name)
        if value is None or not value:
            return None
        match = _TIME_ONLY.match(value)
        if match is not None and day_of is not None:
            hour, minute = int(match[1]), int(match[2])
            if hour < 24 and minute < 60:
                local = day_of.astimezone(self.tz).replace(hour=hour, minute=minute)
                return local.astimezone(UTC)
        try:
            return parse_moment(value, self.tz)
        except ValueError:
            self.issue(self.lines[name], SurveyProblem.BAD_DATE, key=name, value=value)
            return None

    def municipalities(self, items: Sequence[Text]) -> set[int]:
        """Ids of the municipalities named (the unknown and inactive ones reported)."""
        ids: set[int] = set()
        for value, line in items:
            if not value:
                continue
            found = self.places.find(value)
            if found is None:
                self.issue(line, SurveyProblem.UNKNOWN_MUNICIPALITY, value=value)
            elif not found.is_active:
                self.issue(line, EventFileProblem.INACTIVE_MUNICIPALITY, value=found.code)
            else:
                ids.add(found.id)
        return ids

    def reminders(self) -> tuple[int, ...]:
        items = self.raw.lists.get("reminders")
        if items is None:
            return self.reminder_offsets
        offsets: list[int] = []
        for value, line in items:
            self.lines.setdefault("reminders", line)
            match = _DURATION.match(value)
            if match is None:
                self.issue(line, EventFileProblem.BAD_REMINDER, value=value)
                continue
            unit = {"d": 1440, "h": 60}.get(match[2].lower(), 1)
            offsets.append(int(match[1]) * unit)
        return tuple(offsets)

    def age_groups(self) -> frozenset[AgeGroup]:
        groups: set[AgeGroup] = set()
        for value, line in self.raw.audience.get("age_groups", []):
            try:
                groups.add(AgeGroup(value.lower()))
            except ValueError:
                self.issue(
                    line,
                    SurveyProblem.BAD_AGE_GROUP,
                    value=value,
                    allowed=[g.value for g in AgeGroup],
                )
        return frozenset(groups)

    @staticmethod
    def _or(value: int | None, default: int) -> int:
        return default if value is None else value

    def spec(self) -> EventSpec | None:
        """The event, checked by the event rules; None when it has problems (reported)."""
        for name in REQUIRED:
            written = self.raw.values.get(name)
            if (written is None or not written[0]) and not self.raw.lists.get(name):
                line = written[1] if written is not None else self.raw.line
                self.issue(line, SurveyProblem.MISSING_KEY, key=name)
        kind_text = self.value("kind")
        kind = _kind(kind_text) if kind_text else None
        if kind_text and kind is None:
            self.issue(
                self.lines["kind"],
                EventFileProblem.BAD_EVENT_KIND,
                value=kind_text,
                allowed=[k.value for k in EventKind],
            )
        where = self.raw.lists.get("municipalities", [])
        if where:
            self.lines["municipalities"] = where[0][1]
        municipality_ids = self.municipalities(where)
        audience_ids = self.municipalities(self.raw.audience.get("municipalities", []))
        starts = self.moment("starts")
        ends = self.moment("ends", day_of=starts)
        deadline = self.moment("registration_deadline")
        questions = self.raw.lists.get("questions", [])
        if questions:
            self.lines["questions"] = questions[0][1]
        self.question_lines = [line for _text, line in questions]
        spec = EventSpec(
            kind=kind or EventKind.TRAINING,
            title=self.value("title") or "?",  # a missing title is reported above
            starts_at=starts or self.now + timedelta(days=1),
            ends_at=ends or (starts or self.now + timedelta(days=1)) + timedelta(hours=1),
            # {0}: a stand-in when the municipalities have problems of their own (reported)
            municipality_ids=frozenset(municipality_ids or {0}),
            description=self.value("description") or "",
            place_address=self.value("place"),
            latitude=self.number("latitude"),
            longitude=self.number("longitude"),
            online_url=self.value("online_url"),
            capacity=self.integer("capacity"),
            registration_deadline=deadline,
            per_organization_quota=self.integer("per_organization_quota"),
            audience=Audience(
                municipality_ids=frozenset(audience_ids), age_groups=self.age_groups()
            ),
            questions=tuple(text for text, _line in questions),
            reminder_offsets=self.reminders(),
            offer_hours=self._or(self.integer("offer_hours"), self.offer_hours),
        )
        if starts is None:  # a stand-in start: its deadline cannot be judged
            spec = dataclasses.replace(spec, registration_deadline=None)
        checked = self.checked(spec)
        return None if self.issues else checked

    def checked(self, spec: EventSpec) -> EventSpec:
        """``events.validate`` stops at the first problem: report it on its line, put a
        valid stand-in in its place and check again, until no problem is left."""
        for _attempt in range(len(EventProblem)):
            try:
                return events.validate(spec, now=self.now)
            except EventError as error:
                self.issues.append(self.rule_issue(error, spec))
                spec = self.stand_in(error, spec)
        return spec

    def rule_issue(self, error: EventError, spec: EventSpec) -> EventIssue:
        problem = error.problem
        details: dict[str, Any] = {"limit": error.limit}
        name = {
            EventProblem.TITLE_EMPTY: "title",
            EventProblem.TITLE_TOO_LONG: "title",
            EventProblem.DESCRIPTION_TOO_LONG: "description",
            EventProblem.NO_MUNICIPALITY: "municipalities",
            EventProblem.ADDRESS_TOO_LONG: "place",
            EventProblem.BAD_URL: "online_url",
            EventProblem.BAD_POINT: "latitude" if "latitude" in self.lines else "longitude",
            EventProblem.END_BEFORE_START: "ends",
            EventProblem.START_IN_PAST: "starts",
            EventProblem.DEADLINE_AFTER_START: "registration_deadline",
            EventProblem.BAD_CAPACITY: "capacity",
            EventProblem.BAD_QUOTA: "per_organization_quota",
            EventProblem.TOO_MANY_QUESTIONS: "questions",
            EventProblem.BAD_REMINDERS: "reminders",
            EventProblem.BAD_OFFER_HOURS: "offer_hours",
        }.get(problem)
        line = self.lines.get(name, self.raw.line) if name else self.raw.line
        if problem is EventProblem.TITLE_TOO_LONG:
            details["length"] = len(spec.title.strip())
        elif problem is EventProblem.DESCRIPTION_TOO_LONG:
            details["length"] = len(spec.description.strip())
        elif problem is EventProblem.ADDRESS_TOO_LONG:
            details["length"] = len((spec.place_address or "").strip())
        elif error.question is not None:
            line = self.question_lines[error.question - 1]
            details["question"] = error.question
            details["length"] = len(spec.questions[error.question - 1].strip())
        return EventIssue(line, problem, details)

    def stand_in(self, error: EventError, spec: EventSpec) -> EventSpec:
        problem = error.problem
        replace = dataclasses.replace
        if problem in {EventProblem.TITLE_EMPTY, EventProblem.TITLE_TOO_LONG}:
            return replace(spec, title="?")
        if problem is EventProblem.DESCRIPTION_TOO_LONG:
            return replace(spec, description="")
        if problem is EventProblem.NO_MUNICIPALITY:
            return replace(spec, municipality_ids=frozenset({0}))
        if problem in {EventProblem.NO_PLACE, EventProblem.ADDRESS_TOO_LONG}:
            return replace(spec, place_address="?")
        if problem is EventProblem.BAD_URL:
            return replace(spec, online_url=None, place_address=spec.place_address or "?")
        if problem is EventProblem.BAD_POINT:
            return replace(spec, latitude=None, longitude=None)
        if problem in {EventProblem.END_BEFORE_START, EventProblem.START_IN_PAST}:
            start = spec.starts_at if spec.starts_at > self.now else self.now + timedelta(days=1)
            return replace(
                spec,
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                registration_deadline=None,
            )
        if problem is EventProblem.DEADLINE_AFTER_START:
            return replace(spec, registration_deadline=None)
        if problem is EventProblem.BAD_CAPACITY:
            return replace(spec, capacity=None)
        if problem is EventProblem.BAD_QUOTA:
            return replace(spec, per_organization_quota=None)
        if problem is EventProblem.TOO_MANY_QUESTIONS:
            return replace(spec, questions=spec.questions[: events.MAX_QUESTIONS])
        if problem in {EventProblem.QUESTION_EMPTY, EventProblem.QUESTION_TOO_LONG}:
            assert error.question is not None
            questions = list(spec.questions)
            questions[error.question - 1] = "?"
            return replace(spec, questions=tuple(questions))
        if problem is EventProblem.BAD_REMINDERS:
            return replace(spec, reminder_offsets=DEFAULT_REMINDER_OFFSETS)
        if problem is EventProblem.BAD_OFFER_HOURS:
            return replace(spec, offer_hours=DEFAULT_OFFER_HOURS)
        raise error  # not a problem of a new event's fields


# --- importing ------------------------------------------------------------------------


def read(content: bytes | str, filename: str, tz: ZoneInfo) -> tuple[list[_Raw], list[EventIssue]]:
    """The events as written and the file's structural problems (EventImportError when it
    is not text, too large, or not YAML at all)."""
    try:
        text = decode(content)
    except SurveyImportError as error:
        raise EventImportError([_from_survey(issue) for issue in error.issues]) from None
    if filename.lower().endswith(CSV_SUFFIXES):
        return _read_csv(text)
    return _read_yaml(text, tz)


async def import_events(
    session: AsyncSession,
    content: bytes | str,
    *,
    filename: str,
    created_by: int,
    tz: ZoneInfo,
    offer_hours: int = DEFAULT_OFFER_HOURS,
    reminder_offsets: Sequence[int] = DEFAULT_REMINDER_OFFSETS,
    now: datetime | None = None,
) -> list[Event]:
    """Create the events the file describes (``.csv`` by its name, YAML otherwise), all or
    none. ``offer_hours`` and ``reminder_offsets``: the deployment's defaults, for events
    that do not give their own.

    Raises EventImportError (listing every problem) before anything is written."""
    now = now or utcnow()
    raws, issues = read(content, filename, tz)
    if len(raws) > MAX_EVENTS:
        issues.append(
            EventIssue(
                raws[MAX_EVENTS].line, EventFileProblem.TOO_MANY_EVENTS, {"limit": MAX_EVENTS}
            )
        )
    places = _Municipalities(list(await session.scalars(select(Municipality))))
    specs: list[EventSpec] = []
    for number, raw in enumerate(raws, start=1):
        if raw.broken:
            continue
        builder = _Builder(raw, tz, now, places, offer_hours, tuple(reminder_offsets), issues=[])
        spec = builder.spec()
        issues += [
            dataclasses.replace(i, details={**i.details, "event": number}) for i in builder.issues
        ]
        if spec is not None:
            specs.append(spec)
    if issues:
        raise EventImportError(issues)
    created: list[Event] = []
    try:
        async with session.begin_nested():
            for spec in specs:
                created.append(
                    await events.create_event(session, spec, created_by=created_by, now=now)
                )
    except EventError as error:  # checked above; only a municipality deactivated meanwhile
        raise EventImportError([EventIssue(None, error.problem, {"limit": error.limit})]) from None
    return created
