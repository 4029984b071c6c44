"""Pacing sends to the platform's limits: an overall rate and a minimum gap per chat."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict


class SendPacer:
    """Spaces sends evenly at ``rate`` per second (no bursts, so no 1-second window is ever
    over the limit), and keeps ``per_chat_gap`` seconds between two sends to one chat."""

    def __init__(
        self,
        rate: float,
        per_chat_gap: float = 1.0,
        group_gap: float = 3.0,
        remembered_chats: int = 100_000,
    ) -> None:
        self.interval = 1.0 / rate
        self.per_chat_gap = per_chat_gap
        self.group_gap = group_gap  # 20 messages a minute in a group
        self._next = 0.0
        self._lock = asyncio.Lock()
        self._last_by_chat: OrderedDict[str, float] = OrderedDict()
        self._remembered = remembered_chats
        self._paused_until = 0.0

    def chat_ready_in(self, chat_id: str) -> float:
        """Seconds until ``chat_id`` may receive again (0 when it may now)."""
        last = self._last_by_chat.get(chat_id)
        if last is None:
            return 0.0
        gap = self.group_gap if chat_id.startswith("-") else self.per_chat_gap
        return max(0.0, last + gap - time.monotonic())

    @property
    def remembered_chats(self) -> int:
        return len(self._last_by_chat)

    def pause(self, seconds: float) -> None:
        """Stop every send for ``seconds`` (the platform answered 429)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def acquire(self, chat_id: str) -> None:
        """Wait for this send's slot."""
        async with self._lock:
            now = time.monotonic()
            slot = max(now, self._next, self._paused_until)
            self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)
        sent = time.monotonic()
        self._last_by_chat[chat_id] = sent
        self._last_by_chat.move_to_end(chat_id)
        horizon = sent - max(self.per_chat_gap, self.group_gap)
        while self._last_by_chat and next(iter(self._last_by_chat.values())) < horizon:
            self._last_by_chat.popitem(last=False)
