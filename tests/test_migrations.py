"""Alembic owns the schema: every migration goes up, down and up again, and matches the models."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import (
    JSON,
    BigInteger,
    Integer,
    String,
    column,
    insert,
    inspect,
    select,
    table,
)

from bot import migrations
from bot.db import create_engine, create_session_factory
from models import Base, Poll
from models.base import UTCDateTime


async def test_every_migration_goes_up_down_and_up_again(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        revisions = migrations.all_revisions()
        assert revisions, "no migrations found"
        previous = "base"
        for revision in revisions:
            await migrations.upgrade(engine, revision)
            assert await migrations.current_revision(engine) == revision
            await migrations.downgrade(engine, previous)
            assert await migrations.current_revision(engine) == (
                None if previous == "base" else previous
            )
            await migrations.upgrade(engine, revision)
            previous = revision
        assert await migrations.current_revision(engine) == migrations.head_revision()
    finally:
        await engine.dispose()


async def test_downgrade_to_base_leaves_no_tables(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        await migrations.upgrade(engine)
        await migrations.downgrade(engine, "base")
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert set(tables) <= {"alembic_version"}
    finally:
        await engine.dispose()


async def test_migrations_match_the_models(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        await migrations.upgrade(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
        assert diff == [], f"models and migrations differ; write a migration: {diff}"
    finally:
        await engine.dispose()


async def test_0004_marks_polls_closed_before_it_as_announced(empty_database_url: str) -> None:
    """Polls closed before 0004 had their results sent at closing: the bot must not hand
    them out again, so the migration marks them; open and scheduled polls stay unmarked."""
    engine = create_engine(empty_database_url)
    polls_0003 = table(
        "polls",
        column("id", Integer()),
        column("title", String()),
        column("created_by", BigInteger()),
        column("audience", JSON()),
        column("status", String()),
        column("results_visibility", String()),
        column("opens_at", UTCDateTime()),
        column("closes_at", UTCDateTime()),
        column("closed_at", UTCDateTime()),
        column("created_at", UTCDateTime()),
    )
    opens = datetime(2026, 11, 1, 10, tzinfo=UTC)
    closes = datetime(2026, 11, 8, 10, tzinfo=UTC)
    common = {
        "title": "Apklausa",
        "created_by": 42,
        "audience": {},
        "results_visibility": "after_close",
        "opens_at": opens,
        "closes_at": closes,
        "created_at": opens,
    }
    try:
        await migrations.upgrade(engine, "0003")
        async with engine.begin() as conn:
            await conn.execute(
                insert(polls_0003),
                [
                    {**common, "id": 1, "status": "closed", "closed_at": closes},
                    {**common, "id": 2, "status": "open", "closed_at": None},
                    {**common, "id": 3, "status": "scheduled", "closed_at": None},
                ],
            )
        await migrations.upgrade(engine, "0004")
        async with create_session_factory(engine)() as session:
            marked = {p.id: p.results_announced_at for p in await session.scalars(select(Poll))}
        assert marked == {1: closes, 2: None, 3: None}
    finally:
        await engine.dispose()
