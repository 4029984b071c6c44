"""Pacing sends to the platform's limits: an overall rate and a minimum gap per chat."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque


class SendPacer:
    """Spaces sends evenly at ``rate`` per second, never lets more than ``rate`` sends into
    any 1-second window (counted from the moments sends really left, so a pause of the
    event loop cannot release a burst), and keeps ``per_chat_gap`` seconds between two
    sends to one chat (``group_gap`` for groups: 20 a minute)."""

    def __init__(self, rate: float, per_chat_gap: float = 1.0, group_gap: float = 3.0) -> None:
        self.interval = 1.0 / rate
        self.per_chat_gap = per_chat_gap
        self.group_gap = group_gap
        self._next = 0.0
        self._lock = asyncio.Lock()
        self._window: deque[float] = deque(maxlen=max(1, int(rate)))
        # Last send per chat, oldest first; only the last few seconds matter, so memory stays
        # at about rate × gap entries whatever the audience size.
        self._last_by_chat: OrderedDict[str, float] = OrderedDict()
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
        """Wait for this send's slot. Waiters queue on the lock, one slot each."""
        async with self._lock:
            while True:
                now = time.monotonic()
                slot = max(self._next, self._paused_until)
                if len(self._window) == self._window.maxlen:
                    slot = max(slot, self._window[0] + 1.0)
                if slot <= now:
                    break
                await asyncio.sleep(slot - now)
            sent = time.monotonic()
            # The next slot counts from this slot rather than from when the sleep ended, so
            # small oversleeps do not add up; after a long idle time it restarts from now.
            # The window above still counts real send times, so no catching up can burst.
            self._next = max(slot, sent - self.interval / 2) + self.interval
            self._window.append(sent)
        self._last_by_chat[chat_id] = sent
        self._last_by_chat.move_to_end(chat_id)
        horizon = sent - max(self.per_chat_gap, self.group_gap)
        while self._last_by_chat and next(iter(self._last_by_chat.values())) < horizon:
            self._last_by_chat.popitem(last=False)
