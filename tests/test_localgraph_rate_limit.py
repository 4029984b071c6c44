"""The local Graph API's optional per-page rate limit (``rate_limit_per_second``): above it a
Send API call is answered with Graph error 613 and not sent; without it nothing changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest

from bot.channels.messenger.client import GraphClient, RateLimited
from bot.channels.messenger.messages import OutMessage
from bot.localgraph import LocalGraphAPI

SECRET = "app-secret"
TOKEN = "page-token"
PSIDS = [str(2_470_000 + i) for i in range(8)]


@asynccontextmanager
async def graph_and_client(limit: float | None) -> AsyncIterator[tuple[LocalGraphAPI, GraphClient]]:
    graph = LocalGraphAPI(SECRET, TOKEN, rate_limit_per_second=limit)
    await graph.start()
    for psid in PSIDS:
        graph.set_last_inbound(psid, datetime.now(UTC))
    client = GraphClient(graph.base_url, TOKEN, max_attempts=1)
    try:
        yield graph, client
    finally:
        await client.close()
        await graph.close()


async def send_all(client: GraphClient) -> list[BaseException | list[str]]:
    return await asyncio.gather(
        *(client.send(psid, OutMessage("Labas")) for psid in PSIDS), return_exceptions=True
    )


async def test_calls_above_the_rate_are_answered_613_and_not_sent() -> None:
    async with graph_and_client(5) as (graph, client):
        results = await send_all(client)
        refused = [r for r in results if isinstance(r, RateLimited)]
        assert len(refused) == 3 and all(r.code == 613 for r in refused)
        assert graph.rate_limited == 3
        assert len(graph.sent) == 5
        assert sorted(c.error_code or 0 for c in graph.calls) == [0] * 5 + [613] * 3
        times = graph.send_times()
        assert len(times) == 5 and times == sorted(times)
        assert all(abs(at - time.time()) < 60 for at in times)  # wall-clock times

        # A second later the window has room again.
        await asyncio.sleep(1.05)
        await client.send(PSIDS[0], OutMessage("Vėl"))
        assert graph.rate_limited == 3
        assert len(graph.sent) == 6


async def test_no_limit_by_default() -> None:
    async with graph_and_client(None) as (graph, client):
        for _ in range(3):
            results = await send_all(client)
            assert not [r for r in results if isinstance(r, BaseException)]
        assert graph.rate_limited == 0
        assert len(graph.sent) == 3 * len(PSIDS)
        assert len(graph.send_times()) == 3 * len(PSIDS)


def test_a_limit_below_one_call_a_second_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LocalGraphAPI(SECRET, TOKEN, rate_limit_per_second=0.5)
