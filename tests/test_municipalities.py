"""Municipalities: the 60 of the reference list, active ones in Lithuanian order."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db import create_engine, create_session_factory
from bot.services import municipalities
from bot.services.collation import lithuanian_sort_key
from models import Municipality

SHARED_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "municipalities.csv"


def test_lithuanian_alphabet_order() -> None:
    """č, š, ž are letters of their own; ą ę ė į ų ū and y sort with their base letter
    (CLDR's Lithuanian tailoring: &C<č &S<š &Z<ž &I<<y)."""
    words = [
        "žalias",
        "zuikis",
        "šuo",
        "sūris",
        "čia",
        "cukrus",
        "ąžuolas",
        "anas",
        "yla",
        "įlanka",
        "ilgas",
        "jūra",
        "ėglė",
        "eglė",
        "dūmas",
        "duona",
    ]
    assert sorted(words, key=lithuanian_sort_key) == [
        "anas",
        "ąžuolas",
        "cukrus",
        "čia",
        "dūmas",
        "duona",
        "eglė",
        "ėglė",
        "yla",
        "įlanka",
        "ilgas",
        "jūra",
        "sūris",
        "šuo",
        "zuikis",
        "žalias",
    ]


def test_sorting_ignores_case() -> None:
    assert sorted(["Šilalės r.", "skuodo r.", "Tauragės r."], key=lithuanian_sort_key) == [
        "skuodo r.",
        "Šilalės r.",
        "Tauragės r.",
    ]


def test_reference_file_is_the_shared_one() -> None:
    if not SHARED_CSV.exists():
        pytest.skip("shared/ is not next to this checkout")
    assert municipalities.REFERENCE_CSV.read_bytes() == SHARED_CSV.read_bytes()


def test_reference_data_has_60_municipalities_with_short_names() -> None:
    rows = municipalities.read_reference()
    assert len(rows) == 60
    assert len({row.code for row in rows}) == 60
    assert all(len(row.short_lt) <= 20 and len(row.short_en) <= 20 for row in rows)


async def test_all_60_are_active_when_nothing_is_configured(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            total = await session.scalar(select(func.count()).select_from(Municipality))
            active = await municipalities.list_active(session)
        assert total == 60
        assert len(active) == 60
        names = [m.short_lt for m in active]
        assert names[0] == "Akmenės r."
        assert names[-1] == "Zarasų r."
        # Š after all S names and before T; č, š, ž are letters of their own.
        assert names.index("Skuodo r.") < names.index("Šakių r.") < names.index("Tauragės r.")
        assert names.index("Šiaulių m.") < names.index("Šiaulių r.")
    finally:
        await engine.dispose()


async def test_configured_codes_decide_which_are_active(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            await municipalities.sync_reference_data(
                session, municipalities.read_reference(), ["PAG", "BRZ", "TAU"]
            )
        async with create_session_factory(engine)() as session:
            active = await municipalities.list_active(session)
        assert [m.code for m in active] == ["BRZ", "PAG", "TAU"]
    finally:
        await engine.dispose()


async def test_unknown_configured_code_is_refused(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            with pytest.raises(municipalities.UnknownMunicipalityCodes, match="XXX"):
                await municipalities.sync_reference_data(
                    session, municipalities.read_reference(), ["PAG", "XXX"]
                )
    finally:
        await engine.dispose()
