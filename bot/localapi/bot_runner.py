"""The real bot polling a :class:`LocalBotAPI` in the same process.

Used by the sandbox (``dalyvauk demo``), the benchmarks and the end-to-end tests: it starts
aiogram's long polling against the local server and can wait until an update has been
handled, so a caller knows when the bot's answers are all there.
"""

from __future__ import annotations

import asyncio
import contextlib

from bot.app import Application
from bot.channels.telegram.dispatcher import DalyvaukDispatcher
from bot.localapi.server import LocalBotAPI


class PollingBot:
    def __init__(self, api: LocalBotAPI, app: Application) -> None:
        self.api = api
        self.app = app
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        dp = self.app.dispatcher
        # This bot's first getUpdates (after start-up): a restarted bot's predecessor polled too.
        earlier = len(self.api.calls_for("getUpdates"))
        self._task = asyncio.create_task(
            dp.start_polling(
                self.app.bot,
                allowed_updates=dp.resolve_used_update_types(),
                handle_signals=False,
                close_bot_session=False,
            )
        )
        await self.api.wait_for(
            lambda: len(self.api.calls_for("getUpdates")) > earlier or self._task_failed(),
            30,
            description="the bot's first getUpdates",
        )
        if self._task_failed():
            await self._task  # raises the start-up error

    def _task_failed(self) -> bool:
        return self._task is not None and self._task.done()

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            with contextlib.suppress(RuntimeError):
                await self.app.dispatcher.stop_polling()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, 10)
        self._task = None

    async def handled(self, update_id: int, times: int = 1, timeout: float = 10.0) -> None:
        await wait_handled(self.api, self.app.dispatcher, update_id, times, timeout)


async def wait_handled(
    api: LocalBotAPI,
    dispatcher: DalyvaukDispatcher,
    update_id: int,
    times: int = 1,
    timeout: float = 10.0,
) -> None:
    """Wait until the bot has received the update (by polling or webhook) and finished
    handling it ``times`` times (a redelivery counts)."""
    await api.wait_until_delivered(update_id, timeout=timeout)
    await dispatcher.inflight.wait_finished(update_id, times=times, timeout=timeout)
