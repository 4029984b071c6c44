"""Surveys from a YAML file: the example imports; every problem is reported on its line and
nothing is saved; the command line and the bot (an organizer sends the file) both import."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.telegram import survey_import as texts
from bot.db import create_engine, create_session_factory
from bot.i18n import create_i18n
from bot.services import polls, survey_import
from bot.services.polls import PollProblem
from bot.services.survey_import import SurveyImportError, SurveyProblem
from models import (
    AgeGroup,
    Municipality,
    Poll,
    PollOption,
    PollQuestion,
    PollStatus,
    QuestionKind,
    ResultsVisibility,
    utcnow,
)
from tests.support.db import Database
from tests.support.harness import ADMIN_ID, BotHarness, Chat
from tests.test_cli_process import clean_env

VILNIUS = ZoneInfo("Europe/Vilnius")
EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "survey-example.yaml"
BEFORE_EXAMPLE = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ORGANIZER_ID = 5101


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def run_import(
    sessions: async_sessionmaker[AsyncSession], content: bytes | str, **kwargs: object
) -> Poll:
    """Import in one transaction, as the command line and the bot do."""
    async with sessions() as session, session.begin():
        return await survey_import.import_survey(
            session,
            content,
            created_by=kwargs.pop("created_by", 7),  # type: ignore[arg-type]
            tz=VILNIUS,
            **kwargs,  # type: ignore[arg-type]
        )


async def saved_rows(db: Database) -> tuple[int, int, int]:
    return (await db.count(Poll), await db.count(PollQuestion), await db.count(PollOption))


def lithuanian(error: SurveyImportError) -> list[str]:
    i18n = create_i18n("lt")
    with i18n.context(), i18n.use_locale("lt"):
        return texts.error_lines(error)


def future_example(days: int = 2) -> str:
    """The example with opening and closing times after today (the tests run any day)."""
    opens = datetime.now(VILNIUS) + timedelta(days=days)
    closes = opens + timedelta(days=14)
    text = EXAMPLE.read_text(encoding="utf-8")
    text = re.sub(r"^opens: .*$", f"opens: {opens:%Y-%m-%d} 18:00", text, flags=re.M)
    return re.sub(r"^closes: .*$", f"closes: {closes:%Y-%m-%d} 18:00", text, flags=re.M)


# --- the example ----------------------------------------------------------------------


async def test_the_example_file_imports(
    sessions: async_sessionmaker[AsyncSession], db: Database
) -> None:
    poll = await run_import(sessions, EXAMPLE.read_bytes(), now=BEFORE_EXAMPLE)
    assert poll.title == "Gyventojų dalyvavimo vietos sprendimuose apklausa"
    assert poll.status is PollStatus.SCHEDULED
    assert poll.opens_at == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # 18:00 in Vilnius
    assert poll.closes_at == datetime(2026, 12, 15, 16, 0, tzinfo=UTC)
    assert poll.results_visibility is ResultsVisibility.AFTER_CLOSE
    assert set(poll.intro or {}) == {"lt", "en"}
    assert poll.thanks is not None
    assert poll.thanks["lt"].startswith("Ačiū, kad atsakėte!")
    kinds = [q.kind for q in poll.questions]
    assert kinds == [
        QuestionKind.SCALE,
        QuestionKind.SINGLE,
        QuestionKind.MULTIPLE,
        QuestionKind.SINGLE,
        QuestionKind.MULTIPLE,
        QuestionKind.TEXT,
    ]
    assert [o.text for o in poll.questions[1].options] == ["Taip", "Ne", "Nepamenu"]
    assert poll.questions[2].skip_if == {"question": 2, "options": [2, 3]}
    codes = {
        m.code for m in await db.all(Municipality) if m.id in poll.audience["municipality_ids"]
    }
    assert codes == {"PAG", "BRZ", "IGN", "JUR", "KAR", "KLR", "TAU", "ZAR"}
    assert poll.audience["age_groups"] == []
    assert await saved_rows(db) == (1, 6, 18)


async def test_without_opening_time_it_opens_at_the_next_scheduler_run(
    sessions: async_sessionmaker[AsyncSession], db: Database
) -> None:
    now = utcnow()
    poll = await run_import(
        sessions,
        "title: Greita apklausa\n"
        "audience: {age_groups: [65_plus, 18_29]}\n"
        "results: after_answer\n"
        "questions:\n"
        "  - text: Ar jums patinka naujas parkas?\n"
        "    options: [yes, no]\n"  # YAML booleans stay the text written
        '  - {text: "Kodėl?", kind: text}\n',  # in braces, text with "?" is quoted
        now=now,
    )
    assert poll.status is PollStatus.SCHEDULED
    assert now < poll.opens_at <= now + timedelta(seconds=1)
    assert poll.closes_at - poll.opens_at == timedelta(weeks=1)
    assert poll.questions[0].kind is QuestionKind.SINGLE
    assert [o.text for o in poll.questions[0].options] == ["yes", "no"]
    assert sorted(poll.audience["age_groups"]) == sorted(
        [AgeGroup.AGE_65_PLUS.value, AgeGroup.AGE_18_29.value]
    )
    async with sessions() as session, session.begin():
        assert await polls.open_due(session, now + timedelta(seconds=2)) == [poll.id]


# --- invalid files: the right line, nothing saved ---------------------------------------

GOOD_QUESTION = "  - text: Ar pritariate?\n    kind: single\n    options: [Taip, Ne]\n"
LONG = "Kaip vertinate " + "ą" * 297  # 312 characters

INVALID = [
    pytest.param(
        "title: Apklausa\nquestions:\n  - text: [neuždaryta\n",
        4,
        SurveyProblem.NOT_YAML,
        id="not-yaml",
    ),
    pytest.param("- Taip\n- Ne\n", 1, SurveyProblem.NOT_MAPPING, id="not-a-mapping"),
    pytest.param("Tiesiog tekstas\n", 1, SurveyProblem.NOT_MAPPING, id="plain-text"),
    pytest.param(
        "title: Apklausa\ntitel: Klaida\nquestions:\n" + GOOD_QUESTION,
        2,
        SurveyProblem.UNKNOWN_KEY,
        id="unknown-key",
    ),
    pytest.param(
        "title: Apklausa\nquestions:\n" + GOOD_QUESTION + "  - kind: scale\n",
        6,
        SurveyProblem.MISSING_KEY,
        id="missing-text",
    ),
    pytest.param(
        "title: Apklausa\nquestions:\n  - text: Kaip?\n    kind: skalė\n",
        4,
        SurveyProblem.BAD_KIND,
        id="wrong-kind",
    ),
    pytest.param(
        f"title: Apklausa\nquestions:\n  - text: {LONG}\n    kind: scale\n",
        3,
        PollProblem.QUESTION_TOO_LONG,
        id="question-too-long",
    ),
    pytest.param(
        "title: Apklausa\nquestions:\n  - text: Ar?\n    kind: single\n    options: [Taip]\n",
        5,
        PollProblem.TOO_FEW_OPTIONS,
        id="one-option",
    ),
    pytest.param(
        "title: Apklausa\nquestions:\n  - text: Kuri?\n    kind: multiple\n    options: ["
        + ", ".join(f"V{i}" for i in range(13))
        + "]\n",
        5,
        PollProblem.TOO_MANY_OPTIONS,
        id="thirteen-options",
    ),
    pytest.param(
        "title: Apklausa\nquestions:\n  - text: Kuri?\n    options:\n      - Taip\n"
        f"      - {'x' * 101}\n",
        6,
        PollProblem.OPTION_TOO_LONG,
        id="option-too-long",
    ),
    pytest.param(
        "title: Apklausa\nquestions:\n  - text: Kaip?\n    kind: scale\n    options: [1, 2]\n",
        5,
        PollProblem.OPTIONS_NOT_ALLOWED,
        id="scale-with-options",
    ),
    pytest.param(
        "title: Apklausa\naudience:\n  municipalities: [PAG, XYZ]\nquestions:\n" + GOOD_QUESTION,
        3,
        SurveyProblem.UNKNOWN_MUNICIPALITY,
        id="unknown-municipality",
    ),
    pytest.param(
        "title: Apklausa\naudience:\n  age_groups:\n    - 65_plus\n    - senjorai\n"
        "questions:\n" + GOOD_QUESTION,
        5,
        SurveyProblem.BAD_AGE_GROUP,
        id="bad-age-group",
    ),
    pytest.param(
        "title: Apklausa\nopens: 2030-13-01 18:00\nquestions:\n" + GOOD_QUESTION,
        2,
        SurveyProblem.BAD_DATE,
        id="no-such-month",
    ),
    pytest.param(
        "title: Apklausa\ncloses: rytoj\nquestions:\n" + GOOD_QUESTION,
        2,
        SurveyProblem.BAD_DATE,
        id="date-in-words",
    ),
    pytest.param(
        "title: Apklausa\nopens: 2030-12-08 18:00\ncloses: 2030-12-01 18:00\nquestions:\n"
        + GOOD_QUESTION,
        3,
        PollProblem.CLOSE_BEFORE_OPEN,
        id="closes-before-opening",
    ),
    pytest.param(
        "title: Apklausa\nquestions:\n"
        + GOOD_QUESTION
        + "  - text: Kodėl?\n    kind: text\n    skip_if: {question: 5, options: [1]}\n",
        8,
        SurveyProblem.SKIP_IF_NOT_EARLIER,
        id="skip-if-later-question",
    ),
    pytest.param(
        "title: Apklausa\nquestions:\n"
        + GOOD_QUESTION
        + "  - text: Kodėl?\n    kind: text\n    skip_if:\n      question: 1\n"
        "      options: [1, 3]\n",
        10,
        SurveyProblem.SKIP_IF_NO_OPTION,
        id="skip-if-no-such-option",
    ),
    pytest.param(
        "title: Apklausa\nquestions:\n  - {text: Kaip, kind: scale}\n"
        "  - text: Kodėl?\n    kind: text\n    skip_if: {question: 1, options: [1]}\n",
        6,
        SurveyProblem.SKIP_IF_NOT_CHOICE,
        id="skip-if-scale-question",
    ),
    pytest.param(
        "title: Apklausa\nintro: {en: Hello}\nquestions:\n" + GOOD_QUESTION,
        2,
        PollProblem.TEXT_NOT_LITHUANIAN,
        id="intro-without-lithuanian",
    ),
    pytest.param(
        "title: Apklausa\nthanks: {lt: Ačiū, de: Danke}\nquestions:\n" + GOOD_QUESTION,
        2,
        SurveyProblem.UNKNOWN_KEY,
        id="thanks-in-german",
    ),
    pytest.param(
        "title: Apklausa\nquestions:\n  - text: Kuri?\n    options:\n      - Taip\n      - taip\n",
        6,
        PollProblem.DUPLICATE_OPTION,
        id="duplicate-option",
    ),
    pytest.param(
        "title: Apklausa\nquestions:\n  - text: Kuri?\n    text: Kita?\n    kind: scale\n",
        4,
        SurveyProblem.DUPLICATE_KEY,
        id="repeated-key",
    ),
    pytest.param(
        "title: Apklausa\nquestions: []\n", 2, PollProblem.NO_QUESTIONS, id="no-questions"
    ),
    pytest.param("questions:\n" + GOOD_QUESTION, 1, SurveyProblem.MISSING_KEY, id="no-title"),
]


@pytest.mark.parametrize(("content", "line", "problem"), INVALID)
async def test_invalid_file_is_reported_on_its_line_and_nothing_is_saved(
    sessions: async_sessionmaker[AsyncSession],
    db: Database,
    content: str,
    line: int,
    problem: SurveyProblem | PollProblem,
) -> None:
    with pytest.raises(SurveyImportError) as caught:
        await run_import(sessions, content.encode(), now=datetime(2030, 1, 1, tzinfo=UTC))
    assert [(i.line, i.problem) for i in caught.value.issues] == [(line, problem)]
    assert (caught.value.line, caught.value.problem) == (line, problem)
    assert lithuanian(caught.value)[0].startswith(f"{line} eilutė: ")
    assert await saved_rows(db) == (0, 0, 0)


async def test_every_problem_is_listed_in_lithuanian(
    sessions: async_sessionmaker[AsyncSession], db: Database
) -> None:
    content = (
        "title: Apklausa\n"  # 1
        "results: kartais\n"  # 2
        "questions:\n"  # 3
        f"  - text: {LONG}\n"  # 4
        "    kind: scale\n"  # 5
        "  - text: Kuri?\n"  # 6
        "    kind: single\n"  # 7
        "    options: [Taip]\n"  # 8
        "  - text: Kodėl?\n"  # 9
        "    kind: text\n"  # 10
        "    skip_if: {question: 2, options: [1]}\n"  # 11: its target has its own problem
    )
    with pytest.raises(SurveyImportError) as caught:
        await run_import(sessions, content, now=datetime(2030, 1, 1, tzinfo=UTC))
    assert lithuanian(caught.value) == [
        "2 eilutė: nežinoma „results“ reikšmė „kartais“ (galima: after_answer, after_close, "
        "never).",
        "4 eilutė: klausimo tekstas per ilgas (312 simbolių, galima 300).",
        "8 eilutė: per mažai atsakymo variantų (1, reikia bent 2).",
    ]
    assert await saved_rows(db) == (0, 0, 0)


async def test_a_file_that_is_not_text_is_refused(
    sessions: async_sessionmaker[AsyncSession], db: Database
) -> None:
    with pytest.raises(SurveyImportError) as caught:
        await run_import(sessions, b"\xff\xfe\x00binary")
    assert caught.value.problem is SurveyProblem.NOT_TEXT
    assert caught.value.line is None
    assert lithuanian(caught.value) == ["Failas nėra UTF-8 tekstas."]
    assert await saved_rows(db) == (0, 0, 0)


# --- the command line -----------------------------------------------------------------


async def cli(args: list[str], database_url: str, cwd: Path) -> tuple[int, str, str]:
    env = clean_env(DATABASE_URL=database_url, TELEGRAM_ADMIN_IDS=f"{ADMIN_ID},42")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.cli import main; main()",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_cli_imports_the_example_with_times_from_the_command_line(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    opens = datetime.now(VILNIUS).replace(second=0, microsecond=0) + timedelta(days=3)
    code, stdout, stderr = await cli(
        [
            "survey",
            "import",
            str(EXAMPLE),
            "--opens",
            f"{opens:%Y-%m-%d %H:%M}",
            "--closes",
            f"{opens + timedelta(days=7):%Y-%m-%d %H:%M}",
        ],
        database_url,
        tmp_path,
    )
    assert code == 0, stderr
    (poll,) = await db.all(Poll)
    assert stdout.startswith(
        f"Apklausa „Gyventojų dalyvavimo vietos sprendimuose apklausa“ (Nr. {poll.id}) "
        "importuota: 6 klausimai, atsidarys "
    )
    assert "Savivaldybės: Biržų r., Ignalinos r., " in stdout
    assert poll.created_by == ADMIN_ID  # the first admin, without --created-by
    assert poll.opens_at == opens.astimezone(UTC)
    assert poll.closes_at == (opens + timedelta(days=7)).astimezone(UTC)


async def test_cli_reports_problems_one_per_line_and_exits_2(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    bad = tmp_path / "bloga.yaml"
    bad.write_text(
        "title: Apklausa\nquestions:\n  - text: Kuri?\n    kind: single\n    options: [Taip]\n"
        "  - text: Kaip?\n    kind: skalė\n",
        encoding="utf-8",
    )
    code, stdout, stderr = await cli(
        ["survey", "import", str(bad), "--created-by", "77"], database_url, tmp_path
    )
    assert code == 2
    assert stdout == ""
    assert stderr.splitlines() == [
        f"{bad}: 5 eilutė: per mažai atsakymo variantų (1, reikia bent 2).",
        f"{bad}: 7 eilutė: nežinoma klausimo rūšis „skalė“ (galima: single, multiple, scale, "
        "text).",
    ]
    assert await saved_rows(db) == (0, 0, 0)

    code, _, stderr = await cli(
        ["survey", "import", str(EXAMPLE), "--opens", "gruodžio 1"], database_url, tmp_path
    )
    assert code == 2
    assert "„gruodžio 1“" in stderr
    assert await saved_rows(db) == (0, 0, 0)


# --- the bot --------------------------------------------------------------------------


async def organizer(harness: BotHarness) -> Chat:
    admin = harness.chat(ADMIN_ID, "Admin")
    await admin.send(f"/organizer_add {ORGANIZER_ID}")
    return harness.chat(ORGANIZER_ID, "Tomas")


async def send_file(chat: Chat, filename: str, content: bytes) -> None:
    update_id = await chat.api.send_document(chat.user_id, filename, content)
    await chat._act(update_id)


@pytest.mark.parametrize("mode", ["polling", "webhook"], indirect=True)
async def test_organizer_sends_the_file_and_the_survey_is_created(
    harness: BotHarness, db: Database
) -> None:
    chat = await organizer(harness)
    await send_file(chat, "apklausa.yaml", future_example().encode())
    (poll,) = await db.all(Poll)
    assert poll.created_by == ORGANIZER_ID
    assert poll.status is PollStatus.SCHEDULED
    assert len(chat.replies) == 1
    text = chat.last_text
    assert text.startswith(
        f"Apklausa „Gyventojų dalyvavimo vietos sprendimuose apklausa“ (Nr. {poll.id}) "
        "importuota: 6 klausimai, atsidarys "
    )
    assert " m. " in text
    assert " 18:00, užsidarys " in text
    assert "Savivaldybės: Biržų r., Ignalinos r., Jurbarko r., Kauno r., Klaipėdos r., " in text
    assert "Amžiaus grupės: visos" in text
    assert "Gyventojai rezultatus matys apklausai pasibaigus." in text
    assert await db.count(PollQuestion) == 6


async def test_invalid_file_from_the_bot_lists_problems_and_saves_nothing(
    harness: BotHarness, db: Database
) -> None:
    chat = await organizer(harness)
    content = future_example().replace("kind: scale", "kind: skalė")
    await send_file(chat, "apklausa.yml", content.encode())
    line = future_example().splitlines().index("    kind: scale") + 1
    assert chat.reply_texts == [
        "Apklausa neimportuota: faile rasta 1 klaida.\n\n"
        f"• {line} eilutė: nežinoma klausimo rūšis „skalė“ (galima: single, multiple, scale, "
        "text).\n\n"
        "Nieko neišsaugota. Ištaisykite failą ir atsiųskite jį dar kartą."
    ]
    assert await saved_rows(db) == (0, 0, 0)


async def test_others_are_refused_and_other_documents_get_a_hint(
    harness: BotHarness, db: Database
) -> None:
    resident = harness.chat(5102, "Ona")
    await send_file(resident, "apklausa.yaml", future_example().encode())
    assert resident.reply_texts == ["Atsiprašome, tai gali daryti tik organizatoriai."]

    chat = await organizer(harness)
    await send_file(chat, "apklausa.pdf", b"%PDF-1.4")
    assert len(chat.replies) == 1
    assert chat.last_text.startswith("Norėdami importuoti apklausą, atsiųskite jos YAML failą")
    assert await saved_rows(db) == (0, 0, 0)
