"""Poll results for organizers: texts with Lithuanian plurals, per-municipality lines, reach,
bar charts, CSV and XLSX exports with pseudonyms, ``dalyvauk poll export``, and the
``/poll_results`` and ``/poll_export`` commands."""

from __future__ import annotations

import asyncio
import csv
import io
import struct
import sys
import warnings
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.telegram import poll_chart
from bot.channels.telegram import poll_results as view
from bot.i18n import create_i18n
from bot.localapi.server import LocalBotAPI
from bot.services import poll_export, polls
from bot.services.audiences import Audience
from bot.services.polls import QuestionSpec
from models import (
    Broadcast,
    BroadcastStatus,
    MessageCategory,
    OutboxMessage,
    OutboxStatus,
    Poll,
    QuestionKind,
    Resident,
    utcnow,
)
from tests.support.db import Database
from tests.support.harness import ADMIN_ID, BotHarness, Chat, harness_settings
from tests.support.residents import add_residents
from tests.test_cli_process import clean_env

SECRET = "research-secret-for-tests"
ORGANIZER_ID = 5001
COLOURS = QuestionSpec(
    "Kokią spalvą rinktumėtės seniūnijos suoliukams?",
    QuestionKind.SINGLE,
    ("Raudoną", "Žalią", "Mėlyną"),
)
SURVEY = (
    QuestionSpec("Kuo džiaugiatės gyvendami čia?", QuestionKind.MULTIPLE, ("Gamta", "Ramybė")),
    QuestionSpec("Kaip vertinate viešąjį transportą?", QuestionKind.SCALE),
    QuestionSpec("Ką pakeistumėte?", QuestionKind.TEXT),
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VILNIUS = ZoneInfo("Europe/Vilnius")


@pytest.fixture
def lithuanian() -> Iterator[None]:
    i18n = create_i18n("lt")
    with i18n.context(), i18n.use_locale("lt"):
        yield


# --- building polls with answers -------------------------------------------------------


async def residents_of(
    sessions: async_sessionmaker[AsyncSession], chat_ids: list[int]
) -> list[Resident]:
    async with sessions() as session:
        found = await session.scalars(
            select(Resident)
            .where(Resident.external_id.in_([str(c) for c in chat_ids]))
            .order_by(Resident.id)
        )
        return list(found)


async def make_poll(sessions: async_sessionmaker[AsyncSession], *questions: QuestionSpec) -> Poll:
    async with sessions() as session, session.begin():
        return await polls.create_poll(
            session,
            created_by=ORGANIZER_ID,
            questions=list(questions) or [COLOURS],
            audience=Audience(),
        )


async def vote(
    sessions: async_sessionmaker[AsyncSession], poll: Poll, people: list[Resident], option: int
) -> None:
    """Each of ``people`` picks the option at ``option`` (1-based) of the first question."""
    question = poll.questions[0]
    async with sessions() as session, session.begin():
        for resident in people:
            result = await polls.answer_single(
                session, question.id, resident, question.options[option - 1].id
            )
            assert result.ok, result


async def colours_poll(sessions: async_sessionmaker[AsyncSession]) -> tuple[Poll, list[int]]:
    """Red 21 (20 in Pagėgiai, 1 in Biržai), green 2 (Pagėgiai), blue 10 (Biržai)."""
    pag = await add_residents(sessions, None, 22, first_chat_id=7_770_000)
    brz = await add_residents(sessions, None, 11, municipality="BRZ", first_chat_id=7_780_000)
    pag_people = await residents_of(sessions, pag)
    brz_people = await residents_of(sessions, brz)
    poll = await make_poll(sessions)
    await vote(sessions, poll, pag_people[:20], 1)
    await vote(sessions, poll, pag_people[20:], 2)
    await vote(sessions, poll, brz_people[:1], 1)
    await vote(sessions, poll, brz_people[1:], 3)
    return poll, pag + brz


async def survey_poll(sessions: async_sessionmaker[AsyncSession]) -> tuple[Poll, list[Resident]]:
    chat_ids = await add_residents(sessions, None, 3, first_chat_id=7_790_000)
    people = await residents_of(sessions, chat_ids)
    poll = await make_poll(sessions, *SURVEY)
    multiple, scale, text = poll.questions
    async with sessions() as session, session.begin():
        for resident, choices, score, words in zip(
            people,
            [(0, 1), (1,), (0,)],
            [5, 4, 2],
            ["Daugiau autobusų į Šilutę", "=1+2", None],
            strict=True,
        ):
            chosen = [multiple.options[i].id for i in choices]
            assert (await polls.submit_multiple(session, multiple.id, resident, chosen)).ok
            assert (await polls.answer_scale(session, scale.id, resident, score)).ok
            if words is not None:
                assert (await polls.answer_text(session, text.id, resident, words)).ok
    return poll, people


async def results_text(sessions: async_sessionmaker[AsyncSession], poll_id: int) -> list[str]:
    async with sessions() as session:
        poll = await polls.get_poll(session, poll_id)
        tally = await polls.tally(session, poll_id)
        by_municipality = await polls.tally_by_municipality(session, poll_id)
        reached = await poll_export.residents_reached(session, poll_id)
        assert poll is not None and tally is not None
        return view.results_messages(poll, tally, by_municipality, reached, tz=VILNIUS, locale="lt")


async def invite(
    sessions: async_sessionmaker[AsyncSession],
    url: str,
    chat_ids: list[int],
    status: OutboxStatus = OutboxStatus.SENT,
) -> None:
    """A poll invitation broadcast with outbox rows in ``status`` for ``chat_ids``."""
    now = utcnow()
    people = await residents_of(sessions, chat_ids)
    async with sessions() as session, session.begin():
        broadcast = Broadcast(
            category=MessageCategory.POLL,
            status=BroadcastStatus.DONE,
            created_by=ORGANIZER_ID,
            text="Atsakykite į apklausą",
            button_text="Atsakyti",
            button_url=url,
            audience={},
            scheduled_at=now,
            created_at=now,
        )
        session.add(broadcast)
        await session.flush()
        await session.execute(
            insert(OutboxMessage),
            [
                {
                    "broadcast_id": broadcast.id,
                    "resident_id": resident.id,
                    "chat_id": resident.external_id,
                    "status": status,
                    "not_before": now,
                }
                for resident in people
            ],
        )


# --- texts -----------------------------------------------------------------------------


@pytest.mark.usefixtures("lithuanian")
@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, "0 balsų"),
        (1, "1 balsas"),
        (2, "2 balsai"),
        (10, "10 balsų"),
        (21, "21 balsas"),
        (22, "22 balsai"),
        (111, "111 balsų"),
        (1234, "1\u00a0234 balsai"),
    ],
)
def test_votes_have_lithuanian_plural_forms(count: int, expected: str) -> None:
    assert view.votes(count, "lt") == expected


@pytest.mark.usefixtures("lithuanian")
def test_percent_and_mean_are_written_the_lithuanian_way() -> None:
    assert view.percent(100 * 21 / 45, "lt") == "46,7\u00a0%"
    assert view.percent(0, "lt") == "0\u00a0%"
    assert view.percent(100, "en") == "100%"
    assert view.mean_text(11 / 3, "lt") == "3,7"


@pytest.mark.usefixtures("lithuanian")
async def test_results_text_counts_percentages_plurals_and_municipalities(db: Database) -> None:
    poll, _chat_ids = await colours_poll(db.sessions)
    text = "\n\n".join(await results_text(db.sessions, poll.id))
    assert f"Apklausos Nr. {poll.id} rezultatai" in text
    assert "„Kokią spalvą rinktumėtės seniūnijos suoliukams?“" in text
    assert "Kvietimas nebuvo išsiųstas. Atsakė 33 gyventojai." in text
    assert "Raudoną – 21 balsas (63,6\u00a0%)" in text
    assert "Žalią – 2 balsai (6,1\u00a0%)" in text
    assert "Mėlyną – 10 balsų (30,3\u00a0%)" in text
    by_municipality = text.split("<b>Pagal savivaldybes</b>")[1]
    # Lithuanian alphabetical order: Biržai before Pagėgiai.
    assert by_municipality.strip().splitlines() == [
        "<b>Biržų rajono savivaldybė</b> – 11 atsakiusių gyventojų",
        "1. Raudoną – 1 balsas (9,1\u00a0%); Mėlyną – 10 balsų (90,9\u00a0%)",
        "",
        "<b>Pagėgių savivaldybė</b> – 22 atsakę gyventojai",
        "1. Raudoną – 20 balsų (90,9\u00a0%); Žalią – 2 balsai (9,1\u00a0%)",
    ]


@pytest.mark.usefixtures("lithuanian")
async def test_111_votes_and_the_reach_of_the_invitation(db: Database) -> None:
    chat_ids = await add_residents(db.sessions, None, 111, first_chat_id=7_800_000)
    people = await residents_of(db.sessions, chat_ids)
    poll = await make_poll(db.sessions)
    await vote(db.sessions, poll, people, 2)
    other = await make_poll(db.sessions)
    # Reached: the invitations of this poll, each resident once, only what was sent.
    link = f"https://t.me/dalyvauk_bot?start=poll_{poll.id}"
    await invite(db.sessions, link, chat_ids[:100])
    await invite(db.sessions, link, chat_ids[:21])  # a reminder to some of them
    await invite(db.sessions, link, chat_ids[100:], OutboxStatus.BLOCKED)
    await invite(db.sessions, f"https://t.me/dalyvauk_bot?start=poll_{poll.id}0", chat_ids)
    await invite(db.sessions, f"https://t.me/dalyvauk_bot?start=poll_{other.id}", chat_ids)
    text = "\n\n".join(await results_text(db.sessions, poll.id))
    assert "Žalią – 111 balsų (100\u00a0%)" in text
    assert "Raudoną – 0 balsų (0\u00a0%)" in text
    assert "Kvietimą gavo 100 gyventojų.\nAtsakė 111 gyventojų – 111\u00a0% pakviestųjų." in text
    async with db.sessions() as session:
        assert await poll_export.residents_reached(session, poll.id) == 100
        assert await poll_export.residents_reached(session, 999_999) is None


@pytest.mark.usefixtures("lithuanian")
async def test_survey_results_show_scale_mean_and_written_answers(db: Database) -> None:
    poll, _people = await survey_poll(db.sessions)
    text = "\n\n".join(await results_text(db.sessions, poll.id))
    assert "(galima rinktis kelis; procentai – nuo atsakiusiųjų)" in text
    assert "Gamta – 2 balsai (66,7\u00a0%)" in text
    assert "Į šį klausimą atsakė 3 gyventojai." in text
    assert "5 – 1 balsas (33,3\u00a0%)" in text
    assert "Vidurkis: 3,7" in text
    assert "2 atsakymai raštu" in text
    assert f"/poll_export {poll.id}" in text
    assert "=1+2" not in text  # written answers are only in the export


def test_long_results_are_split_into_telegram_sized_messages() -> None:
    blocks = ["a" * 3000, "b" * 3000, "\n".join(["c" * 1000] * 9)]
    messages = view.split_messages(blocks)
    assert all(len(m) <= view.MESSAGE_LIMIT for m in messages)
    assert "".join(messages).replace("\n", "") == "a" * 3000 + "b" * 3000 + "c" * 9000


# --- charts ----------------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.usefixtures("lithuanian")
async def test_bar_chart_is_a_phone_sized_png_with_every_lithuanian_letter(db: Database) -> None:
    poll, _people = await survey_poll(db.sessions)
    async with db.sessions() as session:
        tally = await polls.tally(session, poll.id)
    assert tally is not None
    specs = [poll_chart.chart_spec(q, "lt") for q in tally.questions]
    assert specs[2] is None  # written answers have no chart
    multiple, scale = specs[0], specs[1]
    assert multiple is not None and scale is not None
    assert [bar.value for bar in multiple.bars] == [
        "2 balsai (66,7\u00a0%)",
        "2 balsai (66,7\u00a0%)",
    ]
    assert [bar.label for bar in scale.bars] == ["5", "4", "3", "2", "1"]
    assert scale.subtitle == "Atsakė 3 gyventojai · Vidurkis: 3,7"
    letters = poll_chart.ChartSpec(
        "Ąžuolų alėja ir šventorius: ąčęėįšųūž ĄČĘĖĮŠŲŪŽ – „kabutės“",
        "Atsakė 21 gyventojas",
        (
            poll_chart.Bar("Ąžuolynas " * 8, 21, "21 balsas (84\u00a0%)"),
            poll_chart.Bar("Čiurlionio gatvė", 4, "4 balsai (16\u00a0%)"),
        ),
    )
    for spec in (multiple, scale, letters):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = poll_chart.render_png(spec)
        assert not [w for w in caught if "Glyph" in str(w.message)], caught
        width, height = png_size(data)
        assert width == poll_chart.WIDTH_PX == 1080
        assert 300 < height < 2000
    assert poll_chart.TEXT_PT >= 14


# --- exports ---------------------------------------------------------------------------


def expected_rows(people: list[Resident]) -> list[list[str]]:
    """The survey's export without the answered_at column."""
    names = [polls.pseudonym(p.id, SECRET) for p in people]
    rows = []
    for name, choices, score, words in zip(
        names,
        ["Gamta; Ramybė", "Ramybė", "Gamta"],
        ["5", "4", "2"],
        ["Daugiau autobusų į Šilutę", "=1+2", None],
        strict=True,
    ):
        rows.append([name, "PAG", "30_44", "1", "Kuo džiaugiatės gyvendami čia?", choices])
        rows.append([name, "PAG", "30_44", "2", "Kaip vertinate viešąjį transportą?", score])
        if words is not None:
            rows.append([name, "PAG", "30_44", "3", "Ką pakeistumėte?", words])
    return rows


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads the file as UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def read_xlsx(data: bytes) -> list[list[str]]:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    sheet = workbook.worksheets[0]
    rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return rows


def check_export(rows: list[list[str]], people: list[Resident], *, csv_format: bool) -> None:
    assert rows[0] == list(poll_export.COLUMNS)
    body = [row[:-1] for row in rows[1:]]
    expected = expected_rows(people)
    if csv_format:  # a formula-looking answer cannot run in a spreadsheet
        expected = [[*r[:-1], "'=1+2"] if r[-1] == "=1+2" else r for r in expected]
    assert body == expected
    for row in rows[1:]:
        answered = datetime.strptime(row[-1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert abs((utcnow() - answered).total_seconds()) < 600


def assert_no_chat_ids(data: bytes, people: list[Resident]) -> None:
    for resident in people:
        assert resident.external_id.encode() not in data


async def test_csv_and_xlsx_exports_name_residents_by_pseudonym(
    db: Database, tmp_path: Path
) -> None:
    poll, people = await survey_poll(db.sessions)
    csv_path, xlsx_path = tmp_path / "a.csv", tmp_path / "a.xlsx"
    async with db.sessions() as session, session.begin():
        assert await poll_export.write_csv(session, poll.id, SECRET, csv_path) == 8
        assert await poll_export.write_xlsx(session, poll.id, SECRET, xlsx_path) == 8
    check_export(read_csv(csv_path.read_bytes()), people, csv_format=True)
    check_export(read_xlsx(xlsx_path.read_bytes()), people, csv_format=False)
    workbook = openpyxl.load_workbook(xlsx_path)
    cells = [c for row in workbook.worksheets[0].iter_rows() for c in row if c.value == "=1+2"]
    assert [c.data_type for c in cells] == ["s"]  # text, not a formula
    for path in (csv_path, xlsx_path):
        assert_no_chat_ids(path.read_bytes(), people)
    with pytest.raises(ValueError, match="secret"):
        async with db.sessions() as session:
            await poll_export.write_csv(session, poll.id, "", tmp_path / "b.csv")


async def test_export_of_an_erased_resident_has_no_pseudonym(db: Database) -> None:
    poll, people = await survey_poll(db.sessions)
    async with db.sessions() as session, session.begin():
        await polls.forget_resident(session, people[0].id)
        await session.delete(await session.get(Resident, people[0].id))
    stream = io.StringIO(newline="")
    async with db.sessions() as session, session.begin():
        await poll_export.write_csv(session, poll.id, SECRET, stream)
    rows = list(csv.reader(io.StringIO(stream.getvalue(), newline="")))
    erased = [row for row in rows[1:] if row[0] == ""]
    # The answers stay (anonymous), the written text is gone.
    assert [(row[3], row[5]) for row in erased] == [("1", "Gamta; Ramybė"), ("2", "5"), ("3", "")]


# --- the command line --------------------------------------------------------------------


def cli_env(database_url: str, **values: str) -> dict[str, str]:
    env = clean_env(DATABASE_URL=database_url, **values)
    if "RESEARCH_PSEUDONYM_SECRET" not in values:
        env.pop("RESEARCH_PSEUDONYM_SECRET", None)
    return env


async def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
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


async def test_dalyvauk_poll_export_writes_csv_and_xlsx(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    poll, people = await survey_poll(db.sessions)
    env = cli_env(database_url, RESEARCH_PSEUDONYM_SECRET=SECRET)
    for fmt, read in (("csv", read_csv), ("xlsx", read_xlsx)):
        target = tmp_path / f"out.{fmt}"
        code, out, err = await run_cli(
            ["poll", "export", str(poll.id), "--format", fmt, "--output", str(target)],
            env,
            tmp_path,
        )
        assert code == 0, err
        assert out.strip() == f"Wrote 8 answers of poll {poll.id} to {target}."
        check_export(read(target.read_bytes()), people, csv_format=fmt == "csv")
        assert_no_chat_ids(target.read_bytes(), people)
    code, out, err = await run_cli(["poll", "export", "999999"], env, tmp_path)
    assert code == 1
    assert err.strip() == "There is no poll 999999."


async def test_dalyvauk_poll_export_needs_the_pseudonym_secret(
    database_url: str, tmp_path: Path
) -> None:
    code, _out, err = await run_cli(
        ["poll", "export", "1", "--output", str(tmp_path / "x.csv")],
        cli_env(database_url),
        tmp_path,
    )
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Configuration error: RESEARCH_PSEUDONYM_SECRET is not set")
    assert not (tmp_path / "x.csv").exists()


# --- the organizer's commands -------------------------------------------------------------


@pytest.fixture
async def organizer_harness(database_url: str, local_api: LocalBotAPI) -> AsyncIterator[BotHarness]:
    settings = harness_settings(
        database_url, local_api, "polling", research={"pseudonym_secret": SECRET}
    )
    bot_harness = BotHarness(local_api, settings, mode="polling")
    await bot_harness.start()
    yield bot_harness
    await bot_harness.stop()


async def organizer(harness: BotHarness) -> Chat:
    admin = harness.chat(ADMIN_ID, "Admin")
    await admin.send(f"/organizer_add {ORGANIZER_ID}")
    return harness.chat(ORGANIZER_ID, "Tomas")


async def test_organizer_gets_results_text_and_charts(
    organizer_harness: BotHarness, db: Database
) -> None:
    poll, _people = await survey_poll(db.sessions)
    colours, _chat_ids = await colours_poll(db.sessions)
    chat = await organizer(organizer_harness)

    await chat.send(f"/poll_results {colours.id}")
    texts = [m for m in chat.replies if m.photo_bytes is None]
    photos = [m for m in chat.replies if m.photo_bytes is not None]
    assert len(texts) == 1 and len(photos) == 1
    assert "Raudoną – 21 balsas (63,6\u00a0%)" in texts[0].text
    assert "Pagal savivaldybes" in texts[0].text
    assert photos[0].text == f"1. {COLOURS.text}"
    assert png_size(photos[0].photo_bytes or b"")[0] == 1080

    await chat.send(f"/poll_results {poll.id}")
    photos = [m for m in chat.replies if m.photo_bytes is not None]
    assert [m.text for m in photos] == [
        "1. Kuo džiaugiatės gyvendami čia?",
        "2. Kaip vertinate viešąjį transportą?",
    ]

    await chat.send("/poll_results 999999")
    assert chat.reply_texts == ["Apklausos Nr. 999999 nėra. Patikrinkite numerį."]
    await chat.send("/poll_results")
    assert chat.reply_texts == ["Nurodykite apklausos numerį, pavyzdžiui: /poll_results 12"]

    resident = organizer_harness.chat(1001, "Ona")
    await resident.send(f"/poll_results {poll.id}")
    assert resident.reply_texts == ["Atsiprašome, tai gali daryti tik organizatoriai."]


async def test_organizer_exports_csv_and_xlsx_in_the_chat(
    organizer_harness: BotHarness, db: Database
) -> None:
    poll, people = await survey_poll(db.sessions)
    chat = await organizer(organizer_harness)
    await chat.send(f"/poll_export {poll.id}")
    documents = chat.replies
    assert [m.document_name for m in documents] == [
        f"apklausa_{poll.id}_atsakymai.csv",
        f"apklausa_{poll.id}_atsakymai.xlsx",
    ]
    assert documents[0].text == (
        f"Apklausos Nr. {poll.id} atsakymai: 8 eilutės. Gyventojai nurodyti pseudonimais, "
        "ne pokalbių numeriais."
    )
    csv_bytes, xlsx_bytes = (m.document_bytes or b"" for m in documents)
    check_export(read_csv(csv_bytes), people, csv_format=True)
    check_export(read_xlsx(xlsx_bytes), people, csv_format=False)
    for data in (csv_bytes, xlsx_bytes):
        assert_no_chat_ids(data, people)

    resident = organizer_harness.chat(1001, "Ona")
    await resident.send(f"/poll_export {poll.id}")
    assert resident.reply_texts == ["Atsiprašome, tai gali daryti tik organizatoriai."]


async def test_export_in_the_chat_needs_the_pseudonym_secret(
    harness: BotHarness, db: Database
) -> None:
    poll, _people = await survey_poll(db.sessions)
    chat = await organizer(harness)
    await chat.send(f"/poll_export {poll.id}")
    assert chat.reply_texts == [
        "Eksportas dar neparuoštas: administratorius turi boto nustatymuose nurodyti "
        "RESEARCH_PSEUDONYM_SECRET."
    ]
    assert all(m.document_bytes is None for m in chat.replies)
