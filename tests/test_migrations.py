"""Alembic owns the schema: every migration goes up, down and up again, and matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot import migrations
from bot.db import create_engine
from models import Base


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
