"""Housekeeping: seen update ids are pruned, FSM storage backends, graceful stop."""

from __future__ import annotations

from datetime import timedelta

from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage

from bot.channels.telegram.dispatcher import _fsm_backend
from bot.channels.telegram.fsm_storage import SQLAlchemyStorage
from bot.db import create_engine, create_session_factory
from bot.scheduler import PROCESSED_UPDATES_KEPT, create_scheduler, prune_processed_updates
from models import ProcessedUpdate, utcnow
from tests.conftest import make_settings
from tests.support.db import Database


async def test_old_update_ids_are_pruned(database_url: str, db: Database) -> None:
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            session.add(
                ProcessedUpdate(
                    bot_id=1, update_id=1, processed_at=utcnow() - PROCESSED_UPDATES_KEPT * 2
                )
            )
            session.add(
                ProcessedUpdate(bot_id=1, update_id=2, processed_at=utcnow() - timedelta(minutes=5))
            )
        assert await prune_processed_updates(sessions) == 1
        assert [u.update_id for u in await db.all(ProcessedUpdate)] == [2]
    finally:
        await engine.dispose()


def test_scheduler_has_the_pruning_job(database_url: str) -> None:
    engine = create_engine(database_url)
    scheduler = create_scheduler(create_session_factory(engine))
    assert [job.id for job in scheduler.get_jobs()] == ["prune_processed_updates"]


async def test_fsm_state_and_data_persist_in_the_database(database_url: str) -> None:
    engine = create_engine(database_url)
    storage = SQLAlchemyStorage(create_session_factory(engine))
    key = StorageKey(bot_id=1, chat_id=5, user_id=5)
    try:
        await storage.set_state(key, "Proposal:text")
        await storage.update_data(key, {"draft": "Suoliukai prie bibliotekos"})
        again = SQLAlchemyStorage(create_session_factory(engine))  # as after a restart
        assert await again.get_state(key) == "Proposal:text"
        assert await again.get_data(key) == {"draft": "Suoliukai prie bibliotekos"}
        await again.set_state(key, None)
        await again.set_data(key, {})
        assert await storage.get_state(key) is None
        assert await storage.get_data(key) == {}
    finally:
        await engine.dispose()


def test_redis_is_used_for_fsm_when_configured(database_url: str) -> None:
    settings = make_settings(database_url, redis={"url": "redis://127.0.0.1:6399/0"})
    storage, _isolation = _fsm_backend(
        settings, create_session_factory(create_engine(database_url))
    )
    assert isinstance(storage, RedisStorage)
    plain, _ = _fsm_backend(
        make_settings(database_url), create_session_factory(create_engine(database_url))
    )
    assert isinstance(plain, SQLAlchemyStorage)
