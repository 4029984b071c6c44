"""Pacing and quiet hours, without a database."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from datetime import time as clock
from zoneinfo import ZoneInfo

from bot.delivery.ratelimit import SendPacer
from bot.services.quiet_hours import QuietHours

VILNIUS = ZoneInfo("Europe/Vilnius")


async def test_sends_are_spaced_evenly_under_the_rate() -> None:
    pacer = SendPacer(rate=100)
    start = time.monotonic()
    for index in range(21):
        await pacer.acquire(str(index))
    elapsed = time.monotonic() - start
    assert 0.19 <= elapsed < 0.4  # 20 gaps of 10 ms, no burst


async def test_a_chat_waits_a_second_between_messages() -> None:
    pacer = SendPacer(rate=1000)
    await pacer.acquire("42")
    assert 0.9 < pacer.chat_ready_in("42") <= 1.0
    assert pacer.chat_ready_in("43") == 0.0
    await pacer.acquire("-100")
    assert 2.9 < pacer.chat_ready_in("-100") <= 3.0  # groups: 20 a minute


async def test_pause_holds_every_send() -> None:
    pacer = SendPacer(rate=1000)
    pacer.pause(0.2)
    start = time.monotonic()
    await pacer.acquire("1")
    assert time.monotonic() - start >= 0.19


async def test_memory_of_chats_stays_small() -> None:
    pacer = SendPacer(rate=1_000_000, per_chat_gap=0.0, group_gap=0.0)
    for index in range(5000):
        await pacer.acquire(str(index))
    assert pacer.remembered_chats < 100


def test_quiet_hours_across_midnight_in_vilnius() -> None:
    quiet = QuietHours(clock(21, 0), clock(8, 0), VILNIUS)
    assert quiet.contains(datetime(2026, 11, 26, 19, 30, tzinfo=UTC))  # 21:30 Vilnius
    assert quiet.contains(datetime(2026, 11, 27, 5, 59, tzinfo=UTC))  # 07:59
    assert not quiet.contains(datetime(2026, 11, 27, 6, 0, tzinfo=UTC))  # 08:00
    assert not quiet.contains(datetime(2026, 11, 26, 18, 59, tzinfo=UTC))  # 20:59
    assert quiet.next_end(datetime(2026, 11, 26, 19, 30, tzinfo=UTC)) == datetime(
        2026, 11, 27, 6, 0, tzinfo=UTC
    )


def test_quiet_hours_in_summer_time_and_disabled() -> None:
    quiet = QuietHours(clock(21, 0), clock(8, 0), VILNIUS)
    assert quiet.contains(datetime(2026, 7, 1, 18, 30, tzinfo=UTC))  # 21:30 EEST
    assert not QuietHours(clock(0, 0), clock(0, 0), VILNIUS).contains(
        datetime(2026, 7, 1, 18, 30, tzinfo=UTC)
    )


async def test_a_stalled_event_loop_does_not_release_a_burst() -> None:
    pacer = SendPacer(rate=20)
    sent: list[float] = []

    async def sender(index: int) -> None:
        await pacer.acquire(str(index))
        sent.append(time.monotonic())
        if index == 5:
            time.sleep(0.5)  # noqa: ASYNC251 - a blocked event loop is what this test needs

    await asyncio.gather(*(sender(i) for i in range(45)))
    busiest = max(sum(1 for t in sent if start <= t < start + 1.0) for start in sent)
    assert busiest <= 20
