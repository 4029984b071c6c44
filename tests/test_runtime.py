"""Housekeeping: seen update ids are pruned, FSM storage backends, graceful stop."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import Chat, Message, Update, User
from sqlalchemy import text

from bot.app import create_application
from bot.channels.telegram.dispatcher import _fsm_backend, create_dispatcher
from bot.channels.telegram.fsm_storage import SQLAlchemyStorage
from bot.channels.telegram.middlewares import UnreachableResidents
from bot.db import create_engine, create_session_factory
from bot.localapi.server import LocalBotAPI
from bot.scheduler import PROCESSED_UPDATES_KEPT, create_scheduler, prune_processed_updates
from models import FsmRecord, ProcessedUpdate, utcnow
from tests.conftest import make_settings
from tests.support.db import Database
from tests.support.harness import harness_settings


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


SLOW_COMMIT_SQL = (
    "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN PERFORM pg_sleep(0.2); RETURN NULL; END $$",
    "CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT OR UPDATE ON fsm_records "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()",
)


async def test_one_chats_updates_wait_for_each_others_commit(
    database_url: str, local_api: LocalBotAPI, db: Database
) -> None:
    """Three updates of one chat arriving together: each reads the conversation data the
    previous one committed (the chat's lock spans the update's transaction), so none of
    the three increments is lost and no update fails on a row another one changed."""
    app = await create_application(
        harness_settings(database_url, local_api, "polling"), local_api.token
    )
    if app.engine.dialect.name == "postgresql":
        # Widen the race: every commit that wrote conversation data takes 0.2 s longer
        # (a deferred trigger runs at COMMIT). A second update that started before the
        # first one's commit ended would read the old count. SQLite needs no help: its
        # transactions take the write lock when they begin.
        async with db.engine.begin() as conn:
            for statement in SLOW_COMMIT_SQL:
                await conn.execute(text(statement))
    router = Router(name="counting")

    @router.message()
    async def count(message: Message, state: FSMContext) -> None:
        data = await state.get_data()
        await asyncio.sleep(0.05)  # the other updates arrive meanwhile
        await state.update_data(count=data.get("count", 0) + 1)

    dispatcher = create_dispatcher(
        app.settings,
        app.session_factory,
        app.i18n,
        UnreachableResidents(app.session_factory),
        app.delivery,
        routers=[router],
    )
    person = User(id=7007, is_bot=False, first_name="Ona")
    updates = [
        Update(
            update_id=500 + n,
            message=Message(
                message_id=n,
                date=utcnow(),
                chat=Chat(id=person.id, type="private"),
                from_user=person,
                text=f"žinutė {n}",
            ),
        )
        for n in range(3)
    ]
    try:
        await asyncio.gather(*(dispatcher.feed_update(app.bot, update) for update in updates))
    finally:
        await app.close()
    [record] = await db.all(FsmRecord)
    assert record.data == {"count": 3}
