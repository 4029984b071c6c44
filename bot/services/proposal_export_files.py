"""Proposals for the municipality's report as CSV and XLSX files.

One row per proposal, streamed from :func:`bot.services.proposal_export.export_rows`
(memory stays flat for any number of proposals): no chat ids and no names (only whether the
author chose to stay anonymous). After the fixed columns, one column per status with when
the proposal last entered it (empty: never). Times are ISO 8601 in UTC. Cells are written
as in poll and event exports: the CSV is UTF-8 with a BOM, a cell that a spreadsheet would
run as a formula gets a leading apostrophe, an XLSX cell is always text.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.poll_export import ExportFormat, _csv_safe, _text_cell, iso_utc
from bot.services.proposal_export import ExportRow, export_rows
from bot.services.proposals import VILNIUS
from models import ProposalStatus

EXPORT_COLUMNS = (
    "reference",
    "municipality",
    "category",
    "place",
    "latitude",
    "longitude",
    "text",
    "anonymous",
    "status",
    "rejection_reason",
    "photos",
    "created_at",
    "status_changed_at",
    *(f"{status.value}_at" for status in ProposalStatus),
)


@dataclass(frozen=True, slots=True)
class ExportScope:
    """Which proposals: of one municipality (None: all), submitted from the day ``first``
    to the day ``last`` (both included, in ``tz``; None: no limit)."""

    municipality_id: int | None = None
    first: date | None = None
    last: date | None = None
    tz: ZoneInfo = VILNIUS

    @classmethod
    def of_days(
        cls, municipality_id: int | None, first: str | None, last: str | None, tz: ZoneInfo
    ) -> ExportScope:
        """Days written like ``2026-12-31``; ValueError when one is not understood."""
        return cls(
            municipality_id,
            date.fromisoformat(first.strip()) if first else None,
            date.fromisoformat(last.strip()) if last else None,
            tz,
        )

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.tz).astimezone(UTC)

    @property
    def since(self) -> datetime | None:
        return self._midnight(self.first) if self.first else None

    @property
    def until(self) -> datetime | None:
        """The midnight after the last day."""
        return self._midnight(self.last + timedelta(days=1)) if self.last else None


def _moment(moment: datetime | None) -> str:
    return iso_utc(moment) if moment is not None else ""


def _coordinate(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


def row_values(row: ExportRow) -> list[str | int]:
    return [
        row.reference,
        row.municipality,
        row.category,
        row.place or "",
        _coordinate(row.latitude),
        _coordinate(row.longitude),
        row.text,
        "yes" if row.anonymous else "no",
        row.status.value,
        row.rejection_reason or "",
        row.photos,
        _moment(row.created_at),
        _moment(row.status_changed_at),
        *(_moment(row.reached.get(status)) for status in ProposalStatus),
    ]


def _rows(session: AsyncSession, scope: ExportScope) -> AsyncIterator[ExportRow]:
    return export_rows(
        session, municipality_id=scope.municipality_id, since=scope.since, until=scope.until
    )


async def write_csv(session: AsyncSession, scope: ExportScope, target: IO[str] | Path) -> int:
    """Write the CSV; returns the number of proposals written. A path is opened with the
    right encoding; an open stream must have been opened with
    ``encoding="utf-8-sig", newline=""``."""
    if isinstance(target, Path):
        with target.open("w", encoding="utf-8-sig", newline="") as stream:
            return await write_csv(session, scope, stream)
    writer = csv.writer(target)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    async for row in _rows(session, scope):
        writer.writerow([_csv_safe(value) for value in row_values(row)])
        count += 1
    return count


async def write_xlsx(session: AsyncSession, scope: ExportScope, target: Path) -> int:
    """Write the XLSX (openpyxl write-only mode: rows are streamed to disk)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("pasiulymai")
    sheet.append(list(EXPORT_COLUMNS))
    count = 0
    async for row in _rows(session, scope):
        sheet.append([_text_cell(sheet, value) for value in row_values(row)])
        count += 1
    workbook.save(target)
    return count


async def write_export(
    session: AsyncSession, scope: ExportScope, fmt: ExportFormat, target: Path
) -> int:
    if fmt is ExportFormat.CSV:
        return await write_csv(session, scope, target)
    return await write_xlsx(session, scope, target)


def export_filename(code: str | None, scope: ExportScope, fmt: ExportFormat) -> str:
    """``pasiulymai_PAG_nuo_2026-01-01_iki_2026-12-31.csv`` (the parts given)."""
    parts = ["pasiulymai", code or "visos"]
    if scope.first is not None:
        parts.append(f"nuo_{scope.first.isoformat()}")
    if scope.last is not None:
        parts.append(f"iki_{scope.last.isoformat()}")
    return "_".join(parts) + f".{fmt.value}"
