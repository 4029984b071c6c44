"""The pending-update queue shared by ``getUpdates`` and webhook delivery."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "DEFAULT_EXCLUDED_UPDATES",
    "DeliveryState",
    "PendingUpdate",
    "Signal",
    "UpdateQueue",
    "update_type",
]

#: Update types Telegram leaves out unless they are listed in ``allowed_updates`` explicitly.
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

DeliveryState = Literal["pending", "delivered", "dropped", "unknown"]
_DELIVERED = "delivered"


def update_type(update: dict[str, Any]) -> str:
    """The update's type: its one field besides ``update_id`` (``"unknown"`` if none)."""
    return next((key for key in update if key != "update_id"), "unknown")


class Signal:
    """Wakes every coroutine waiting on it; used to signal "emulator state changed"."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.version = 0

    def notify(self) -> None:
        """Wake all current waiters (and count the change)."""
        self.version += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float | None) -> None:
        """Wait for the next :meth:`notify` or ``seconds`` (``None``: no limit), whichever first."""
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)


@dataclass(eq=False)
class PendingUpdate:
    """An update waiting to be confirmed (polling) or acknowledged (webhook)."""

    update_id: int
    update: dict[str, Any]
    #: enqueued with an id the bot had already confirmed (a deliberate re-delivery)
    stale: bool = False
    #: returned by at least one getUpdates call
    returned: bool = False


class UpdateQueue:
    """Update ids, ``allowed_updates`` filtering, offsets and per-update delivery outcomes.

    Semantics follow Telegram: ids increase by one; ``getUpdates`` with ``offset`` confirms (and
    forgets) every update with a smaller id. The only extension is for re-deliveries of an
    already confirmed id (see :meth:`push`): such an update is returned once before an offset
    can confirm it, so a polling bot does see the duplicate.
    """

    def __init__(self, signal: Signal) -> None:
        self._signal = signal
        self._pending: list[PendingUpdate] = []
        self._next_id = 1
        self._confirmed_offset = 0
        self._allowed: frozenset[str] | None = None
        self._outcomes: dict[int, str] = {}

    # -- ids and filtering ----------------------------------------------------------------------
    def next_update_id(self) -> int:
        """The id the next new update will get."""
        return self._next_id

    def allocate_id(self) -> int:
        """Reserve and return a new update id."""
        update_id = self._next_id
        self._next_id += 1
        return update_id

    @property
    def allowed_updates(self) -> list[str] | None:
        """The bot's ``allowed_updates`` setting (``None`` = Telegram's default set)."""
        return sorted(self._allowed) if self._allowed is not None else None

    def set_allowed_updates(self, allowed: Iterable[str] | None) -> None:
        """Apply an ``allowed_updates`` parameter; an empty list restores the default."""
        values = frozenset(allowed or ())
        self._allowed = values or None

    def is_allowed(self, kind: str) -> bool:
        """Whether updates of ``kind`` are delivered under the current setting."""
        if self._allowed is None:
            return kind not in DEFAULT_EXCLUDED_UPDATES
        return kind in self._allowed

    # -- queue ----------------------------------------------------------------------------------
    @property
    def pending(self) -> list[PendingUpdate]:
        """Updates not yet confirmed/acknowledged, in delivery order (read-only view)."""
        return list(self._pending)

    def push(self, update: dict[str, Any]) -> int:
        """Queue ``update`` (which must carry ``update_id``) unless its type is filtered out."""
        update_id = int(update["update_id"])
        self._next_id = max(self._next_id, update_id + 1)
        kind = update_type(update)
        if not self.is_allowed(kind):
            self._outcomes[update_id] = f"its type {kind!r} is not in allowed_updates"
        else:
            stale = update_id < self._confirmed_offset
            self._pending.append(PendingUpdate(update_id, update, stale=stale))
            self._outcomes.pop(update_id, None)
        self._signal.notify()
        return update_id

    def confirm(self, offset: int) -> None:
        """Apply a ``getUpdates`` ``offset``: forget confirmed updates (negative = keep last N)."""
        if offset < 0:
            keep = self._pending[offset:]
            for entry in self._pending[: len(self._pending) - len(keep)]:
                self._outcomes[entry.update_id] = _DELIVERED
            self._pending = keep
            offset = keep[0].update_id if keep else self._next_id
        else:
            remaining: list[PendingUpdate] = []
            for entry in self._pending:
                if entry.update_id < offset and (entry.returned or not entry.stale):
                    self._outcomes[entry.update_id] = _DELIVERED
                else:
                    remaining.append(entry)
            self._pending = remaining
        self._confirmed_offset = max(self._confirmed_offset, offset)
        self._signal.notify()

    def take(self, limit: int) -> list[dict[str, Any]]:
        """The first ``limit`` pending updates (they stay pending until confirmed)."""
        batch = self._pending[:limit]
        for entry in batch:
            entry.returned = True
        return [entry.update for entry in batch]

    def acknowledge(self, entry: PendingUpdate) -> None:
        """Mark a webhook-delivered update as done."""
        if entry in self._pending:
            self._pending.remove(entry)
        self._outcomes[entry.update_id] = _DELIVERED
        self._signal.notify()

    def drop(self, entry: PendingUpdate, reason: str) -> None:
        """Remove an update without delivering it."""
        if entry in self._pending:
            self._pending.remove(entry)
            self._outcomes[entry.update_id] = reason
        self._signal.notify()

    def drop_all(self, reason: str) -> None:
        """Remove every pending update (``drop_pending_updates``)."""
        for entry in list(self._pending):
            self.drop(entry, reason)

    def state(self, update_id: int) -> tuple[DeliveryState, str]:
        """Delivery state of ``update_id`` and, for dropped updates, the reason."""
        if any(entry.update_id == update_id for entry in self._pending):
            return "pending", ""
        outcome = self._outcomes.get(update_id)
        if outcome is None:
            return "unknown", ""
        if outcome == _DELIVERED:
            return "delivered", ""
        return "dropped", outcome
