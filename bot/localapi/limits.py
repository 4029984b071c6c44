"""Fault injection and Telegram-like flood limits for the emulator."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.localapi.errors import ApiError, default_description

__all__ = ["FaultInjector", "RateLimiter", "SlidingWindow"]

_TOO_MANY_REQUESTS = 429


@dataclass
class _Fault:
    method: str
    error_code: int
    description: str
    retry_after: int | None
    remaining: int
    chat_id: int | None

    def error(self) -> ApiError:
        parameters = {"retry_after": self.retry_after} if self.retry_after is not None else None
        return ApiError(self.error_code, self.description, parameters=parameters)


class FaultInjector:
    """Queue of scripted failures consumed by matching calls, first scheduled first used."""

    def __init__(self) -> None:
        self._faults: list[_Fault] = []

    def add(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Schedule ``times`` failures of ``method`` (case-insensitive), optionally per chat."""
        if times < 1:
            raise ValueError("times must be at least 1")
        if error_code == _TOO_MANY_REQUESTS and retry_after is None:
            retry_after = 1
        self._faults.append(
            _Fault(
                method=method.lower(),
                error_code=error_code,
                description=description or default_description(error_code, retry_after),
                retry_after=retry_after,
                remaining=times,
                chat_id=chat_id,
            )
        )

    def take(self, method: str, chat_id: int | str | None) -> ApiError | None:
        """Consume the first fault matching this call and return its error, if any."""
        lowered = method.lower()
        for fault in self._faults:
            if fault.method != lowered:
                continue
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            return fault.error()
        return None

    @property
    def pending(self) -> int:
        """Number of failures still scheduled."""
        return sum(fault.remaining for fault in self._faults)

    def clear(self) -> None:
        """Forget every scheduled failure."""
        self._faults.clear()


@dataclass
class SlidingWindow:
    """At most ``capacity`` events in any ``period``-second window."""

    capacity: int
    period: float
    stamps: deque[float] = field(default_factory=deque)

    @classmethod
    def per_second(cls, rate: float) -> SlidingWindow:
        """A window for ``rate`` events per second (fractional rates widen the window)."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        if rate >= 1:
            return cls(capacity=math.floor(rate), period=1.0)
        return cls(capacity=1, period=1.0 / rate)

    def wait_time(self, now: float) -> float:
        """Seconds until one more event fits (0 when it fits now)."""
        while self.stamps and self.stamps[0] <= now - self.period:
            self.stamps.popleft()
        if len(self.stamps) < self.capacity:
            return 0.0
        return self.stamps[0] + self.period - now

    def record(self, now: float) -> None:
        """Count one event at ``now``."""
        self.stamps.append(now)


class RateLimiter:
    """Telegram's broadcast limits: global per second, per chat per second, per group per minute.

    Only message-creating calls are counted, and only when they succeed; a call that would exceed
    any window is rejected with 429 and ``retry_after`` (whole seconds, at least 1).
    """

    def __init__(
        self,
        per_second: float,
        per_chat_per_second: float | None = 1.0,
        per_group_per_minute: int | None = 20,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._global = SlidingWindow.per_second(per_second)
        self._per_chat_rate = per_chat_per_second
        self._per_group = per_group_per_minute
        self._chats: dict[int, SlidingWindow] = {}
        self._groups: dict[int, SlidingWindow] = {}
        self._clock = clock

    def _windows(self, chat_id: int) -> list[SlidingWindow]:
        windows = [self._global]
        if self._per_chat_rate is not None:
            if chat_id not in self._chats:
                self._chats[chat_id] = SlidingWindow.per_second(self._per_chat_rate)
            windows.append(self._chats[chat_id])
        if self._per_group is not None and chat_id < 0:
            if chat_id not in self._groups:
                self._groups[chat_id] = SlidingWindow(capacity=self._per_group, period=60.0)
            windows.append(self._groups[chat_id])
        return windows

    def check(self, chat_id: int) -> None:
        """Raise a 429 :class:`ApiError` if one more message to ``chat_id`` exceeds a limit."""
        now = self._clock()
        wait = max(window.wait_time(now) for window in self._windows(chat_id))
        if wait > 0:
            raise ApiError.retry_after(max(1, math.ceil(wait)))

    def record(self, chat_id: int) -> None:
        """Count one message sent to ``chat_id``."""
        now = self._clock()
        for window in self._windows(chat_id):
            window.record(now)
