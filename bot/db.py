"""Database engine and sessions (SQLite through aiosqlite, PostgreSQL through asyncpg)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin: sqlite3 would
    # begin only at the first write, so a SAVEPOINT before it would commit on release.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # SQLite has one writer at a time. Taking the write lock when the transaction begins
    # (instead of at its first write) means a transaction that reads and then writes waits
    # its turn rather than failing with "database is locked".
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, hide_parameters=True, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def dialect_of(session: AsyncSession) -> str:
    """``"postgresql"`` or ``"sqlite"``: for statements built once per database kind."""
    return session.get_bind().dialect.name


def insert_function(dialect: str) -> Callable[[Any], Any]:
    """The ``insert()`` with ``ON CONFLICT`` of this database kind (SQLite and PostgreSQL
    both have it, under the same names): one statement instead of a savepoint, an insert
    and a release when a unique key may already be taken. Its statements are typed ``Any``:
    the two ``Insert`` classes share these methods but no base class declaring them."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
