"""The Messenger flows, in the order their handlers are tried (the first match wins; within
a router the longest payload prefix). Held broadcasts' answers come first, the menu and its
fallback last."""

from __future__ import annotations

from bot.channels.messenger import (
    deep_links,
    events_flow,
    held,
    linking,
    menu,
    mydata,
    onboarding,
    polls,
    proposals,
    settings,
)
from bot.channels.messenger.router import MessengerRouter


def routers() -> list[MessengerRouter]:
    return [
        held.router,
        onboarding.router,
        linking.router,
        deep_links.router,
        polls.router,
        events_flow.router,
        proposals.router,
        mydata.router,
        settings.router,
        menu.router,
    ]
