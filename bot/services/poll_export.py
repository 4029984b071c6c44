"""Research exports of a poll's answers (CSV and XLSX), and how many residents it reached.

One row per answer, streamed from :func:`bot.services.polls.export_rows`: rows go to the
file as they arrive from the database, so memory stays flat however many answers there
are. Residents appear under their pseudonym (never the chat id); a resident who erased
their data has an empty pseudonym.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula;
answers are residents' own text, so such a CSV cell gets a leading apostrophe (the usual
defence) and an XLSX cell is always written as text.
"""

from __future__ import annotations

import csv
import enum
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:  # openpyxl (and numpy under it) loads only when an XLSX is written
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import ColumnElement, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.polls import ExportRow, export_rows
from models import Broadcast, BroadcastStatus, MessageCategory, OutboxMessage, OutboxStatus

COLUMNS = (
    "pseudonym",
    "municipality",
    "age_group",
    "question_number",
    "question",
    "answer",
    "answered_at",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


def iso_utc(moment: datetime) -> str:
    """``2026-05-04T09:30:00Z``"""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def row_values(row: ExportRow) -> tuple[str, str, str, int, str, str, str]:
    return (
        row.pseudonym or "",
        row.municipality or "",
        row.age_group or "",
        row.question_position,
        row.question,
        row.answer,
        iso_utc(row.answered_at),
    )


def _csv_safe(value: str | int) -> str | int:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


async def write_csv(
    session: AsyncSession, poll_id: int, secret: str, target: IO[str] | Path
) -> int:
    """Write the CSV (UTF-8 with a BOM, so Excel shows Lithuanian letters); returns the
    number of answers written. A path is opened with the right encoding; an open text
    stream must have been opened with ``encoding="utf-8-sig", newline=""``."""
    if isinstance(target, Path):
        with target.open("w", encoding="utf-8-sig", newline="") as stream:
            return await write_csv(session, poll_id, secret, stream)
    writer = csv.writer(target)
    writer.writerow(COLUMNS)
    count = 0
    async for row in export_rows(session, poll_id, secret):
        writer.writerow([_csv_safe(value) for value in row_values(row)])
        count += 1
    return count


def _text_cell(sheet: WriteOnlyWorksheet, value: str | int) -> Cell | int:
    if isinstance(value, int):
        return value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # never a formula, whatever the text starts with
    return cell


async def write_xlsx(session: AsyncSession, poll_id: int, secret: str, target: Path) -> int:
    """Write the XLSX (openpyxl write-only mode: rows are streamed to disk); returns the
    number of answers written."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(f"poll_{poll_id}")
    sheet.append(list(COLUMNS))
    count = 0
    async for row in export_rows(session, poll_id, secret):
        sheet.append([_text_cell(sheet, value) for value in row_values(row)])
        count += 1
    workbook.save(target)
    return count


async def write_export(
    session: AsyncSession, poll_id: int, secret: str, fmt: ExportFormat, target: Path
) -> int:
    if fmt is ExportFormat.CSV:
        return await write_csv(session, poll_id, secret, target)
    return await write_xlsx(session, poll_id, secret, target)


def export_filename(poll_id: int, fmt: ExportFormat) -> str:
    return f"apklausa_{poll_id}_atsakymai.{fmt.value}"


# --- reach -----------------------------------------------------------------------------


def invitation_link_filter(poll_id: int) -> ColumnElement[bool]:
    """Broadcast buttons that open this poll (``…?start=poll_<id>``, not ``poll_<id>0``)."""
    marker = f"start=poll\\_{poll_id}"  # "_" is a LIKE wildcard
    return or_(
        Broadcast.button_url.like(f"%{marker}", escape="\\"),
        Broadcast.button_url.like(f"%{marker}&%", escape="\\"),
    )


async def residents_reached(session: AsyncSession, poll_id: int) -> int | None:
    """Residents the poll's invitations were delivered to (each counted once, however many
    invitations they got); None when no invitation was ever sent."""
    invitations = select(Broadcast.id).where(
        Broadcast.category == MessageCategory.POLL,
        Broadcast.status != BroadcastStatus.CANCELLED,
        invitation_link_filter(poll_id),
    )
    if await session.scalar(invitations.limit(1)) is None:
        return None
    reached = await session.scalar(
        select(func.count(distinct(OutboxMessage.resident_id))).where(
            OutboxMessage.broadcast_id.in_(invitations),
            OutboxMessage.status == OutboxStatus.SENT,
        )
    )
    return int(reached or 0)
