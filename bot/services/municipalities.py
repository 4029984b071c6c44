"""Municipalities: reference data and which of them a deployment serves."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.collation import lithuanian_sort_key
from models import Municipality

REFERENCE_CSV = Path(__file__).resolve().parents[2] / "models" / "data" / "municipalities.csv"


@dataclass(frozen=True, slots=True)
class MunicipalityRow:
    code: str
    kind: str
    name_lt: str
    short_lt: str
    name_en: str
    short_en: str
    partners: str


def read_reference(path: Path = REFERENCE_CSV) -> list[MunicipalityRow]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            MunicipalityRow(
                code=row["code"].strip().upper(),
                kind=row["kind"].strip(),
                name_lt=row["name_lt"].strip(),
                short_lt=row["short_lt"].strip(),
                name_en=row["name_en"].strip(),
                short_en=row["short_en"].strip(),
                partners=(row.get("seed_partners") or "").strip(),
            )
            for row in csv.DictReader(fh)
        ]


class UnknownMunicipalityCodes(ValueError):
    def __init__(self, codes: Iterable[str]) -> None:
        self.codes = sorted(codes)
        super().__init__(", ".join(self.codes))


async def sync_reference_data(
    session: AsyncSession,
    rows: Sequence[MunicipalityRow],
    active_codes: Sequence[str] = (),
) -> None:
    """Insert or refresh the municipalities; apply ``active_codes`` when configured.

    With ``active_codes`` the configuration decides exactly which municipalities are active.
    Without it, newly inserted ones are active and the admins' choices are kept.
    """
    known = {row.code for row in rows}
    unknown = set(active_codes) - known
    if unknown:
        raise UnknownMunicipalityCodes(unknown)
    existing = {m.code: m for m in (await session.scalars(select(Municipality))).all()}
    for row in rows:
        municipality = existing.get(row.code)
        if municipality is None:
            municipality = Municipality(code=row.code, is_active=True)
            session.add(municipality)
        municipality.kind = row.kind
        municipality.name_lt = row.name_lt
        municipality.short_lt = row.short_lt
        municipality.name_en = row.name_en
        municipality.short_en = row.short_en
        municipality.partners = row.partners
    if active_codes:
        await session.flush()
        wanted = set(active_codes)
        await session.execute(update(Municipality).values(is_active=Municipality.code.in_(wanted)))
    await session.flush()


def sort_for_locale(municipalities: Iterable[Municipality], locale: str) -> list[Municipality]:
    return sorted(municipalities, key=lambda m: lithuanian_sort_key(m.short_name(locale)))


async def list_active(session: AsyncSession, locale: str = "lt") -> list[Municipality]:
    """Active municipalities in Lithuanian alphabetical order of their short names."""
    rows = await session.scalars(select(Municipality).where(Municipality.is_active.is_(True)))
    return sort_for_locale(rows.all(), locale)


async def get_by_code(session: AsyncSession, code: str) -> Municipality | None:
    return await session.scalar(select(Municipality).where(Municipality.code == code.upper()))


async def get_active_by_id(session: AsyncSession, municipality_id: int) -> Municipality | None:
    municipality = await session.get(Municipality, municipality_id)
    if municipality is None or not municipality.is_active:
        return None
    return municipality


async def list_by_ids(
    session: AsyncSession, ids: Iterable[int], locale: str = "lt"
) -> list[Municipality]:
    """These municipalities (active or not), in alphabetical order for the locale."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    rows = await session.scalars(select(Municipality).where(Municipality.id.in_(wanted)))
    return sort_for_locale(rows.all(), locale)
