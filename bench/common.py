"""What the benchmarks share: PostgreSQL on this machine, phases that may fail, the results
table and the JSON figures, and running a benchmark from the command line.

A benchmark script puts the repository root on ``sys.path`` and imports this module as
``bench.common``, so it runs as ``.venv/bin/python bench/<name>.py`` from the root.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import re
import shlex
import sys
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import asyncpg

from tests.support.postgres import URL_VARIABLE, find_server, with_database

T = TypeVar("T")


def say(message: str = "") -> None:
    print(message, flush=True)


def elapsed(since: float) -> float:
    """Seconds since ``since`` (a ``time.perf_counter()`` reading)."""
    return time.perf_counter() - since


class PhaseError(Exception):
    """A phase could not finish (a timeout, a process died …), or its result is wrong."""


# -- PostgreSQL ------------------------------------------------------------------------


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname
    return host is None or host in ("localhost", "::1") or host.startswith("127.")


def redacted(url: str) -> str:
    return re.sub(r"://([^:@/]+):[^@/]*@", r"://\1:***@", url)


def database_url(admin_url: str, name: str) -> str:
    """The SQLAlchemy (asyncpg) URL of database ``name`` on the admin URL's server."""
    return with_database(re.sub(r"^postgres(ql)?://", "postgresql+asyncpg://", admin_url), name)


async def admin_query(admin_url: str, sql: str) -> Any:
    """Run one statement on the server (as its administrator); its first value, if any."""
    conn = await asyncpg.connect(admin_url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def create_database(admin_url: str, name: str, template: str | None = None) -> str:
    """A new database (a copy of ``template`` when given); its SQLAlchemy URL."""
    copy = f' TEMPLATE "{template}"' if template else ""
    await admin_query(admin_url, f'CREATE DATABASE "{name}"{copy}')
    return database_url(admin_url, name)


async def drop_database(admin_url: str, name: str) -> None:
    """Drop it, even with connections left; a failure is only reported."""
    try:
        await admin_query(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except (OSError, asyncpg.PostgresError) as exc:
        say(f"could not drop database {name}: {exc}")


@contextlib.asynccontextmanager
async def fresh_database(admin_url: str, name: str) -> AsyncIterator[str]:
    """A new, empty database (its SQLAlchemy URL), dropped at the end."""
    url = await create_database(admin_url, name)
    try:
        yield url
    finally:
        await drop_database(admin_url, name)


# -- phases ----------------------------------------------------------------------------


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic garbage collection in this process while a phase runs; the garbage is
    collected before and after instead (a full collection pauses this process)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


async def guarded(
    phase: str, errors: dict[str, str], run: Awaitable[T], *, pause_collector: bool = False
) -> T | None:
    """Run one phase; a failure is recorded in ``errors`` (and shown), and the phase yields
    None, so the next phases still run."""
    say(f"\n== {phase}")
    started = time.perf_counter()
    try:
        with collector_paused() if pause_collector else contextlib.nullcontext():
            figures = await run
    except PhaseError as exc:
        errors[phase] = str(exc)
        say(f"  {phase} FAILED: {exc}")
        return None
    except Exception as exc:
        errors[phase] = f"{type(exc).__name__}: {exc}"
        say(f"  {phase} FAILED:\n{traceback.format_exc()}")
        return None
    say(f"  {phase} finished in {elapsed(started):.1f} s")
    return figures


# -- the results table -----------------------------------------------------------------

Kind = Literal["correctness", "performance", "info"]


@dataclass(frozen=True)
class Row:
    figure: str
    value: str
    target: str
    kind: Kind
    passed: bool | None = None  # None: no target

    @property
    def result(self) -> str:
        if self.passed is None:
            return "info"
        return "PASS" if self.passed else "FAIL"

    def enforced(self, correctness_only: bool = False) -> bool:
        """Does its target decide the exit code? Not a performance one if ``correctness_only``."""
        return self.kind == "correctness" or (self.kind == "performance" and not correctness_only)


def error_rows(errors: dict[str, str]) -> list[Row]:
    """A failed row for each phase that did not complete."""
    rows = []
    for phase, error in errors.items():
        first_line = error.splitlines()[0] if error else "error"
        rows.append(Row(f"{phase}: completed", first_line[:90], "completes", "correctness", False))
    return rows


def passed(rows: Sequence[Row], correctness_only: bool = False) -> bool:
    return all(r.passed is not False for r in rows if r.enforced(correctness_only))


def print_table(rows: Sequence[Row], correctness_only: bool = False) -> bool:
    """Print the figures and the verdict; True when every enforced target is met."""

    def result(row: Row) -> str:
        waived = row.kind == "performance" and correctness_only
        return row.result + ("*" if waived else "")

    headers = ("Figure", "Value", "Target", "Result")
    cells = [(r.figure, r.value, r.target or "—", result(r)) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = "  ".join("-" * w for w in widths)
    say("\nRESULTS")
    say("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    say(line)
    for cell in cells:
        say("  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)))
    say(line)
    if correctness_only:
        say("* not enforced (--correctness-only: rate, 429s and memory are shown only)")
    ok = passed(rows, correctness_only)
    say(f"Verdict: {'PASS' if ok else 'FAIL'}")
    return ok


def figures(value: Any) -> Any:
    """A phase's figures (a dataclass, or None) for the JSON file."""
    return asdict(value) if value is not None else None


def write_json(
    path: Path, payload: dict[str, Any], rows: Sequence[Row], correctness_only: bool = False
) -> None:
    """``payload`` with the table and the verdict, as JSON."""
    table = [
        {**asdict(row), "result": row.result, "enforced": row.enforced(correctness_only)}
        for row in rows
    ]
    payload = {**payload, "table": table, "passed": passed(rows, correctness_only)}
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    say(f"Figures written to {path}")


# -- running a benchmark ---------------------------------------------------------------


def show_command() -> str:
    """Print the command line (and where it runs); return it."""
    command = shlex.join([sys.executable, *sys.argv])
    say(f"$ {command}")
    say(f"  (in {Path.cwd()})")
    return command


def run_on_postgresql(
    bench: Callable[[str, dict[str, Any]], Coroutine[Any, Any, int]], context: dict[str, Any]
) -> int:
    """Run ``bench(admin URL, context)`` on PostgreSQL on this machine (the server of
    ``DALYVAUK_TEST_POSTGRES_URL``, or a throwaway cluster); its exit code, 2 without one.

    ``context`` (the figures' JSON starts with it) gets where and on what it ran.
    """
    server, reason = find_server()
    if server is None:
        say(f"No PostgreSQL: {reason}. Set {URL_VARIABLE} or install the PostgreSQL server.")
        return 2
    if not is_loopback(server.admin_url):
        say(f"{URL_VARIABLE} must point at this machine (127.0.0.1); refusing to run.")
        server.stop()
        return 2
    context.update(
        cwd=str(Path.cwd()),
        python=sys.version.split()[0],
        cpus=os.cpu_count(),
        load_average_start=os.getloadavg()[0],
        postgresql="throwaway cluster" if server.data_dir else redacted(server.admin_url),
    )
    try:
        return asyncio.run(bench(server.admin_url, context))
    except KeyboardInterrupt:
        say("Interrupted.")
        return 130
    finally:
        server.stop()
