"""Which updates are being handled now, and which finished.

Used for a graceful stop (wait for handlers before closing the database) and by the local
Bot API sandbox and tests to know when the bot has finished with an update.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

_REMEMBERED = 10_000


class InFlightUpdates:
    def __init__(self) -> None:
        self._running: dict[int, int] = {}
        self._finished: OrderedDict[int, int] = OrderedDict()
        self._changed = asyncio.Condition()

    def started(self, update_id: int) -> None:
        self._running[update_id] = self._running.get(update_id, 0) + 1

    async def finished(self, update_id: int) -> None:
        remaining = self._running.get(update_id, 1) - 1
        if remaining:
            self._running[update_id] = remaining
        else:
            self._running.pop(update_id, None)
        self._finished[update_id] = self._finished.pop(update_id, 0) + 1
        while len(self._finished) > _REMEMBERED:
            self._finished.popitem(last=False)
        async with self._changed:
            self._changed.notify_all()

    @property
    def running(self) -> int:
        return sum(self._running.values())

    def times_finished(self, update_id: int) -> int:
        return self._finished.get(update_id, 0)

    async def wait_finished(self, update_id: int, times: int = 1, timeout: float = 10.0) -> None:
        """Wait until the update has been handled ``times`` times (a redelivery counts)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.times_finished(update_id) >= times)

    async def wait_idle(self, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: not self._running)
