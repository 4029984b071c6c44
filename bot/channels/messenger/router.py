"""Which handler answers a Messenger event: by payload, by conversation state, or a fallback.

```python
router = MessengerRouter("polls")

@router.payload("polls")            # payload == "polls" or starts with "polls:"
async def show_polls(ctx: MessengerContext) -> None: ...   # ctx.args: the parts after it

@router.state("proposal:text")      # the conversation waits for this (no payload matched)
async def proposal_text(ctx: MessengerContext) -> None: ...

@router.fallback()                  # anything else
async def fallback(ctx: MessengerContext) -> None: ...
```

Payload handlers win over state handlers, state handlers over fallbacks; among routers the
first included wins, within a router the longest matching payload prefix. Residents who
have not finished onboarding reach only handlers registered with ``before_onboarding=True``;
anything else goes to the ``not_onboarded`` handler (the onboarding flow's).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.channels.messenger.context import MessengerContext

Handler = Callable[[MessengerContext], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Route:
    handler: Handler
    before_onboarding: bool


@dataclass(frozen=True, slots=True)
class Match:
    handler: Handler
    args: list[str]
    before_onboarding: bool


class MessengerRouter:
    def __init__(self, name: str = "") -> None:
        self.name = name
        self.payloads: dict[str, Route] = {}
        self.states: dict[str, Route] = {}
        self.fallbacks: list[Route] = []
        self.not_onboarded_handler: Handler | None = None

    def payload(
        self, prefix: str, *, before_onboarding: bool = False
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.payloads[prefix] = Route(handler, before_onboarding)
            return handler

        return register

    def state(self, *states: str, before_onboarding: bool = False) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for name in states:
                self.states[name] = Route(handler, before_onboarding)
            return handler

        return register

    def fallback(self, *, before_onboarding: bool = False) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.fallbacks.append(Route(handler, before_onboarding))
            return handler

        return register

    def not_onboarded(self) -> Callable[[Handler], Handler]:
        """The handler for residents who have not finished onboarding (one, in onboarding)."""

        def register(handler: Handler) -> Handler:
            self.not_onboarded_handler = handler
            return handler

        return register

    def match_payload(self, payload: str) -> Match | None:
        best: tuple[str, Route] | None = None
        for prefix, route in self.payloads.items():
            if (payload == prefix or payload.startswith(prefix + ":")) and (
                best is None or len(prefix) > len(best[0])
            ):
                best = (prefix, route)
        if best is None:
            return None
        prefix, route = best
        rest = payload[len(prefix) + 1 :]
        return Match(route.handler, rest.split(":") if rest else [], route.before_onboarding)


def resolve(
    routers: Sequence[MessengerRouter], payload: str | None, state: str | None
) -> Match | None:
    """The handler for an event with this payload in this state (None: no handler at all)."""
    if payload:
        for router in routers:
            if (found := router.match_payload(payload)) is not None:
                return found
    if state is not None:
        for router in routers:
            route = router.states.get(state)
            if route is not None:
                return Match(route.handler, [], route.before_onboarding)
    for router in routers:
        for route in router.fallbacks:
            return Match(route.handler, [], route.before_onboarding)
    return None


def not_onboarded_handler(routers: Sequence[MessengerRouter]) -> Handler | None:
    for router in routers:
        if router.not_onboarded_handler is not None:
            return router.not_onboarded_handler
    return None
