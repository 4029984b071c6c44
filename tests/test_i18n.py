"""Lithuanian is complete, plural forms are right, dates read as Lithuanians write them."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, create_i18n, date_and_time, long_date, number, short_time

LT_PO = LOCALES_DIR / "lt" / "LC_MESSAGES" / "messages.po"
VILNIUS = ZoneInfo("Europe/Vilnius")


def read_catalog(path: Path):  # type: ignore[no-untyped-def]
    with path.open("rb") as fh:
        return read_po(fh)


def test_lithuanian_catalog_has_no_empty_or_fuzzy_entry() -> None:
    catalog = read_catalog(LT_PO)
    entries = [m for m in catalog if m.id]
    assert entries
    empty = [
        m.id for m in entries if not all(m.string if isinstance(m.string, tuple) else [m.string])
    ]
    fuzzy = [m.id for m in entries if m.fuzzy]
    assert empty == []
    assert fuzzy == []


def test_catalogs_contain_every_string_in_the_code(tmp_path: Path) -> None:
    template = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "__",
            "-k",
            "N_",
            "-k",
            "_:1,2,3t",
            "-k",
            "_:1",
            "-o",
            str(template),
            "bot",
            "handlers",
        ],
        check=True,
        capture_output=True,
        cwd=LOCALES_DIR.parent,
    )
    in_code = {m.id for m in read_catalog(template) if m.id}
    for lang in ("lt", "en"):
        in_catalog = {
            m.id for m in read_catalog(LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po") if m.id
        }
        missing = in_code - in_catalog
        assert not missing, f"{lang}: run `make messages` (pybabel update); missing {missing}"


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "1 organizatorius"),
        (2, "2 organizatoriai"),
        (10, "10 organizatorių"),
        (21, "21 organizatorius"),
        (111, "111 organizatorių"),
        (22, "22 organizatoriai"),
        (0, "0 organizatorių"),
    ],
)
def test_lithuanian_plural_forms(count: int, expected: str) -> None:
    i18n = create_i18n("lt")
    text = i18n.gettext("{count} organizer", "{count} organizers", count, locale="lt")
    assert text.format(count=count) == expected


def test_english_plural_forms() -> None:
    i18n = create_i18n("lt")
    one = i18n.gettext("{count} organizer", "{count} organizers", 1, locale="en")
    many = i18n.gettext("{count} organizer", "{count} organizers", 21, locale="en")
    assert (one.format(count=1), many.format(count=21)) == ("1 organizer", "21 organizers")


def test_lithuanian_is_the_default_locale() -> None:
    i18n = create_i18n("lt")
    assert i18n.gettext("Polls") == "Apklausos"
    assert i18n.gettext("Polls", locale="en") == "Polls"


def test_date_in_lithuanian_in_vilnius_time() -> None:
    moment = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)  # 18:00 in Vilnius (winter, UTC+2)
    assert long_date(moment, VILNIUS, "lt") == "2026 m. lapkričio 26 d."
    assert date_and_time(moment, VILNIUS, "lt") == "2026 m. lapkričio 26 d., ketvirtadienis, 18:00"


def test_summer_time_and_midnight_crossing_in_vilnius() -> None:
    moment = datetime(2026, 7, 1, 21, 30, tzinfo=UTC)  # 00:30 next day in Vilnius (UTC+3)
    assert long_date(moment, VILNIUS, "lt") == "2026 m. liepos 2 d."
    assert short_time(moment, VILNIUS, "lt") == "00:30"


def test_numbers_in_lithuanian() -> None:
    assert number(1234.5, "lt").replace("\xa0", " ") == "1 234,5"
