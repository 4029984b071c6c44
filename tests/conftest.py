"""Shared fixtures: databases (SQLite and PostgreSQL), settings, the bot harness."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from bot.app import prepare_database
from bot.config import Settings, explicit_settings
from bot.db import create_engine
from bot.localapi.server import LocalBotAPI
from tests.support.db import Database
from tests.support.harness import BotHarness, harness_settings
from tests.support.messenger import messenger  # noqa: F401 - the Messenger fixture
from tests.support.postgres import REQUIRE_VARIABLE, PostgresServer, find_server, with_database

T = TypeVar("T")

TEMPLATE_DB = "dalyvauk_test_template"
BACKENDS = ("sqlite", "postgresql")

_postgres_skip_reason: list[str] = []


def make_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for a test: nothing read from the environment or a .env file."""
    return explicit_settings(database={"url": database_url}, **overrides)


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even when an event loop is running
    (session fixtures can be first requested from inside an async test)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


async def _prepare(url: str) -> None:
    engine = create_engine(url)
    try:
        await prepare_database(make_settings(url), engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | None]:
    server, reason = find_server()
    if server is None:
        if os.environ.get(REQUIRE_VARIABLE):
            pytest.exit(f"PostgreSQL is required ({REQUIRE_VARIABLE}) but: {reason}", returncode=3)
        _postgres_skip_reason.append(reason)
        yield None
        return

    async def make_template() -> None:
        conn = await asyncpg.connect(server.admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
        finally:
            await conn.close()
        await _prepare(with_database(_asyncpg_url(server.admin_url), TEMPLATE_DB))

    run_async(make_template)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    run_async(lambda: _prepare(f"sqlite+aiosqlite:///{path}"))
    return path


def _asyncpg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def postgres_database(
    request: pytest.FixtureRequest, prefix: str, template: str | None
) -> AsyncIterator[str]:
    """A new PostgreSQL database (copied from ``template``), dropped afterwards."""
    server: PostgresServer | None = request.getfixturevalue("postgres_server")
    if server is None:
        pytest.skip(f"PostgreSQL not available: {_postgres_skip_reason[0]}")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    conn = await asyncpg.connect(server.admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await conn.close()
    try:
        yield with_database(_asyncpg_url(server.admin_url), name)
    finally:
        await _drop_database(server.admin_url, name)


async def _drop_database(admin_url: str, name: str, attempts: int = 10) -> None:
    """Drop a test database. A user without superuser rights cannot end an autovacuum
    worker that happens to be in it, so wait for the worker and try again."""
    conn = await asyncpg.connect(admin_url)
    try:
        for attempt in range(attempts):
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except asyncpg.InsufficientPrivilegeError:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.5)
    finally:
        await conn.close()


@pytest.fixture
async def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    """A migrated database with the municipalities loaded, new for every test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "dalyvauk.sqlite3"
        shutil.copy(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    async with postgres_database(request, "dalyvauk_test", TEMPLATE_DB) as url:
        yield url


@pytest.fixture
async def empty_database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    """A database with nothing in it (for migration tests)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    async with postgres_database(request, "dalyvauk_empty", None) as url:
        yield url


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _postgres_skip_reason:
        terminalreporter.write_line(
            f"PostgreSQL tests were SKIPPED: {_postgres_skip_reason[0]}. Set "
            "DALYVAUK_TEST_POSTGRES_URL or install the PostgreSQL server to run them.",
            yellow=True,
            bold=True,
        )


@pytest.fixture
def mode(request: pytest.FixtureRequest) -> str:
    """How updates reach the bot; parametrize with ``@pytest.mark.parametrize("mode", ...)``."""
    return str(getattr(request, "param", "polling"))


@pytest.fixture
async def local_api() -> AsyncIterator[LocalBotAPI]:
    api = LocalBotAPI()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def harness(
    database_url: str, local_api: LocalBotAPI, mode: str
) -> AsyncIterator[BotHarness]:
    settings = harness_settings(database_url, local_api, mode)  # type: ignore[arg-type]
    bot_harness = BotHarness(
        local_api,
        settings,
        mode=mode,  # type: ignore[arg-type]
        webhook_port=settings.webhook.listen_port,
    )
    await bot_harness.start()
    yield bot_harness
    await bot_harness.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped PostgreSQL test (DALYVAUK_REQUIRE_POSTGRES) or browser test
    (DALYVAUK_REQUIRE_BROWSER) fails the run: they must really run there."""
    required = {
        "PostgreSQL": ("postgresql", os.environ.get(REQUIRE_VARIABLE)),
        "browser": ("test_sandbox_browser", os.environ.get("DALYVAUK_REQUIRE_BROWSER")),
    }
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = [r.nodeid for r in (reporter.stats.get("skipped", []) if reporter else [])]
    for what, (marker, is_required) in required.items():
        missed = [nodeid for nodeid in skipped if marker in nodeid]
        if is_required and missed:
            if reporter:
                reporter.write_line(f"FAILED: {len(missed)} {what} tests were skipped", red=True)
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.close()
