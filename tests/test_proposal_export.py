"""Proposals for the municipality's report: CSV and XLSX read back (the status history, no
chat ids, no names, formula-safe cells), ``dalyvauk proposals export`` run as a process,
and ``/proposals_export`` for an organizer (any municipality) and a moderator (their own
only), with polite refusals. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.services import proposals, roles
from bot.services.proposal_export_files import EXPORT_COLUMNS
from models import ProposalStatus
from tests.support.db import Database
from tests.support.harness import ADMIN_ID, BotHarness
from tests.test_event_attendance import read_csv, read_xlsx
from tests.test_proposal_jobs import municipality, submit_many
from tests.test_survey_import import ORGANIZER_ID, cli, organizer

MODERATOR_ID = 5301
FIRST = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
SECOND = datetime(2026, 5, 2, 21, 30, tzinfo=UTC)  # 3 May, 00:30 in Vilnius
REVIEWED = datetime(2026, 5, 4, 7, 15, tzinfo=UTC)
IN_VILNIUS = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
FORMULA = '=HYPERLINK("http://example.invalid") – pavojinga formulė, bet tai tik tekstas'
NAME = "Ona Jonaitytė"
REFUSAL = "Atsiprašome, tai gali daryti tik organizatoriai ir moderatoriai."


async def scene(db: Database) -> list[str]:
    """Two PAG proposals (the first shows the author's name and is in review; the second
    anonymous, with a formula-like text and a place on the map) and one of VLN."""
    (first,) = await submit_many(
        db, "PAG", [FIRST], anonymous=False, display_name=NAME, place_text="Vilkyškių seniūnija"
    )
    (second,) = await submit_many(
        db, "PAG", [SECOND], category="youth", text=FORMULA, latitude=55.1, longitude=21.9
    )
    await submit_many(db, "VLN", [IN_VILNIUS])
    async with db.sessions() as session, session.begin():
        found = await proposals.find_by_reference(session, first)
        assert found is not None
        change = await proposals.change_status(
            session,
            found.id,
            ADMIN_ID,
            ProposalStatus.IN_REVIEW,
            admin_ids=[ADMIN_ID],
            now=REVIEWED,
        )
        assert change.outcome is proposals.ChangeOutcome.CHANGED
    return [first, second]


def expected_rows(first: str, second: str, csv_format: bool) -> list[list[str]]:
    status_columns = len(ProposalStatus)
    reached_first = ["2026-03-10T10:00:00Z", "2026-05-04T07:15:00Z"]
    reached_second = ["2026-05-02T21:30:00Z"]
    formula = ("'" if csv_format else "") + FORMULA
    return [
        list(EXPORT_COLUMNS),
        [
            first,
            "PAG",
            "infrastructure",
            "Vilkyškių seniūnija",
            "",
            "",
            "Įrengti suoliukus prie bibliotekos, kad senjorai galėtų pailsėti ilgesnių "
            "pasivaikščiojimų metu.",
            "no",
            "in_review",
            "",
            "0",
            "2026-03-10T10:00:00Z",
            "2026-05-04T07:15:00Z",
            *reached_first,
            *[""] * (status_columns - 2),
        ],
        [
            second,
            "PAG",
            "youth",
            "",
            "55.100000",
            "21.900000",
            formula,
            "yes",
            "new",
            "",
            "0",
            "2026-05-02T21:30:00Z",
            "2026-05-02T21:30:00Z",
            *reached_second,
            *[""] * (status_columns - 1),
        ],
    ]


def check_private(data: bytes) -> None:
    for secret in (NAME, "Jonaitytė", str(ADMIN_ID)):
        assert secret.encode() not in data


async def test_organizer_exports_any_municipality_as_csv_and_xlsx(
    harness: BotHarness, db: Database
) -> None:
    first, second = await scene(db)
    chat = await organizer(harness)
    await chat.send("/proposals_export pag")
    documents = chat.replies
    assert [m.document_name for m in documents] == [
        "pasiulymai_PAG.csv",
        "pasiulymai_PAG.xlsx",
    ]
    pag = await municipality(db, "PAG")
    assert documents[0].text == f"{pag.name_lt} – pasiūlymų: 2"
    csv_bytes, xlsx_bytes = (m.document_bytes or b"" for m in documents)
    assert read_csv(csv_bytes) == expected_rows(first, second, csv_format=True)
    assert read_xlsx(xlsx_bytes) == expected_rows(first, second, csv_format=False)
    for data in (csv_bytes, xlsx_bytes):
        check_private(data)

    # The days are Lithuanian days: the second proposal came on 3 May in Vilnius.
    await chat.send("/proposals_export PAG 2026-05-03 2026-05-03")
    documents = chat.replies
    assert [m.document_name for m in documents] == [
        "pasiulymai_PAG_nuo_2026-05-03_iki_2026-05-03.csv",
        "pasiulymai_PAG_nuo_2026-05-03_iki_2026-05-03.xlsx",
    ]
    assert documents[0].text == (
        f"{pag.name_lt} – pasiūlymų: 1\nPateikti nuo 2026 m. gegužės 3 d. iki 2026 m. gegužės 3 d."
    )
    rows = read_csv(documents[0].document_bytes or b"")
    assert [row[0] for row in rows[1:]] == [second]

    await chat.send("/proposals_export VLN")
    assert chat.replies[0].text.endswith("– pasiūlymų: 1")


async def test_moderator_exports_only_their_municipality(harness: BotHarness, db: Database) -> None:
    first, second = await scene(db)
    pag = await municipality(db, "PAG")
    async with db.sessions() as session, session.begin():
        await roles.grant_moderator(session, ADMIN_ID, MODERATOR_ID, pag)
    chat = harness.chat(MODERATOR_ID, "Rasa")
    await chat.send("/proposals_export PAG 2026-01-01")
    documents = chat.replies
    assert [m.document_name for m in documents] == [
        "pasiulymai_PAG_nuo_2026-01-01.csv",
        "pasiulymai_PAG_nuo_2026-01-01.xlsx",
    ]
    rows = read_xlsx(documents[1].document_bytes or b"")
    assert [row[0] for row in rows[1:]] == [first, second]

    await chat.send("/proposals_export VLN")
    assert chat.reply_texts == [
        "Atsiprašome, galite eksportuoti tik savivaldybės, kurią moderuojate, pasiūlymus. "
        "Visų savivaldybių pasiūlymus gali eksportuoti organizatoriai."
    ]


async def test_bad_requests_get_polite_answers(harness: BotHarness, db: Database) -> None:
    await scene(db)
    resident = harness.chat(7001, "Jonas")
    await resident.send("/proposals_export PAG")
    assert resident.reply_texts == [REFUSAL]
    chat = await organizer(harness)
    usage = (
        "Nurodykite savivaldybės kodą ir, jei norite, dienas, pavyzdžiui: /proposals_export PAG "
        "arba /proposals_export PAG 2026-01-01 2026-12-31"
    )
    await chat.send("/proposals_export")
    assert chat.reply_texts == [usage]
    await chat.send("/proposals_export XYZ")
    assert chat.reply_texts == [f"Savivaldybės su kodu XYZ nėra. {usage}"]
    await chat.send("/proposals_export PAG 2026-13-01")
    assert chat.reply_texts == [
        "Nesupratau datų. Nurodykite dienas taip: /proposals_export PAG 2026-01-01 2026-12-31"
    ]
    assert not any(m.document_name for m in harness.api.bot_messages(ORGANIZER_ID))


async def test_cli_exports_proposals(database_url: str, db: Database, tmp_path: Path) -> None:
    first, second = await scene(db)
    target = tmp_path / "pasiulymai.xlsx"
    code, out, err = await cli(
        ["proposals", "export", "--municipality", "pag", "--format", "xlsx", "-o", str(target)],
        database_url,
        tmp_path,
    )
    assert code == 0, err
    assert out.strip() == f"Wrote 2 proposals to {target}."
    data = target.read_bytes()
    assert read_xlsx(data) == expected_rows(first, second, csv_format=False)
    check_private(data)

    code, out, err = await cli(
        ["proposals", "export", "--since", "2026-03-11", "--until", "2026-04-30"],
        database_url,
        tmp_path,
    )
    assert code == 0, err
    written = tmp_path / "pasiulymai_visos_nuo_2026-03-11_iki_2026-04-30.csv"
    rows = read_csv(written.read_bytes())
    assert [row[1] for row in rows[1:]] == ["VLN"]

    code, _out, err = await cli(
        ["proposals", "export", "--municipality", "XYZ"], database_url, tmp_path
    )
    assert (code, err.strip()) == (1, "There is no municipality with the code XYZ.")
    code, _out, err = await cli(
        ["proposals", "export", "--since", "kovo 1"], database_url, tmp_path
    )
    assert (code, err.strip()) == (2, "--since and --until are days like 2026-12-31.")
