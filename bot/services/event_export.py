"""An event's registrations and attendance as CSV and XLSX files.

One row per registration, streamed from :func:`bot.services.event_attendance.export_rows`
(memory stays flat for any number of registrations): the fixed columns
(``event_attendance.EXPORT_COLUMNS``), then one column per registration question. Names
appear only where the resident agreed to share them. Times are ISO 8601 in UTC. Cells are
written as in poll exports: the CSV is UTF-8 with a BOM, a cell that a spreadsheet would
run as a formula gets a leading apostrophe, an XLSX cell is always text.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import IO

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.event_attendance import ExportRow, export_columns, export_rows
from bot.services.poll_export import ExportFormat, _csv_safe, _text_cell, iso_utc
from models import Event


def _moment(moment: datetime | None) -> str:
    return iso_utc(moment) if moment is not None else ""


def row_values(row: ExportRow) -> list[str | int]:
    return [
        row.registration_id,
        row.status.value,
        _moment(row.waitlisted_at),
        row.municipality or "",
        row.organization or "",
        row.name or "",
        row.checkin_code,
        row.source or "",
        _moment(row.registered_at),
        _moment(row.attended_at),
        *row.answers,
    ]


async def write_csv(session: AsyncSession, event: Event, target: IO[str] | Path) -> int:
    """Write the CSV; returns the number of registrations written. A path is opened with
    the right encoding; an open stream must have been opened with
    ``encoding="utf-8-sig", newline=""``."""
    if isinstance(target, Path):
        with target.open("w", encoding="utf-8-sig", newline="") as stream:
            return await write_csv(session, event, stream)
    writer = csv.writer(target)
    writer.writerow(export_columns(event))
    count = 0
    async for row in export_rows(session, event.id):
        writer.writerow([_csv_safe(value) for value in row_values(row)])
        count += 1
    return count


async def write_xlsx(session: AsyncSession, event: Event, target: Path) -> int:
    """Write the XLSX (openpyxl write-only mode: rows are streamed to disk)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(f"event_{event.id}")
    sheet.append(list(export_columns(event)))
    count = 0
    async for row in export_rows(session, event.id):
        sheet.append([_text_cell(sheet, value) for value in row_values(row)])
        count += 1
    workbook.save(target)
    return count


async def write_export(session: AsyncSession, event: Event, fmt: ExportFormat, target: Path) -> int:
    if fmt is ExportFormat.CSV:
        return await write_csv(session, event, target)
    return await write_xlsx(session, event, target)


def export_filename(event_id: int, fmt: ExportFormat) -> str:
    return f"renginys_{event_id}_registracijos.{fmt.value}"
