"""Meta's 24-hour window as pure rules, and which pacer each app's sends take."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import DeliverySettings
from bot.delivery.engine import (
    MESSENGER_CHAT_GAP_SECONDS,
    RATE_SAFETY,
    default_rates,
    pacer_for,
)
from bot.services.messaging_window import WindowDecision, decide, inside, may_use_event_tag
from models import Channel, MessageCategory

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ago", "expected"),
    [
        (timedelta(minutes=5), True),
        (timedelta(hours=23), True),
        (timedelta(hours=24), False),
        (timedelta(days=3), False),
    ],
)
def test_inside_the_window_means_written_within_24_hours(ago: timedelta, expected: bool) -> None:
    assert inside(NOW - ago, NOW) is expected


def test_never_written_is_outside() -> None:
    assert inside(None, NOW) is False
    assert decide(None, NOW, may_tag=False, tag_enabled=True) is WindowDecision.HOLD


def test_inside_the_window_everything_is_sent_untagged() -> None:
    recent = NOW - timedelta(hours=2)
    for may_tag in (False, True):
        for enabled in (False, True):
            assert decide(recent, NOW, may_tag=may_tag, tag_enabled=enabled) is WindowDecision.SEND


def test_outside_only_an_allowed_event_update_is_tagged() -> None:
    old = NOW - timedelta(days=2)
    assert decide(old, NOW, may_tag=True, tag_enabled=True) is WindowDecision.SEND_TAGGED
    assert decide(old, NOW, may_tag=True, tag_enabled=False) is WindowDecision.HOLD
    assert decide(old, NOW, may_tag=False, tag_enabled=True) is WindowDecision.HOLD


def test_the_event_tag_is_for_updates_to_registered_people_only() -> None:
    registered = {"municipality_ids": [], "age_groups": [], "registered_event_id": 7}
    everyone: dict[str, object] = {"municipality_ids": [1], "age_groups": []}
    assert may_use_event_tag(MessageCategory.EVENT, registered) is True
    # An invitation to an event (everyone in a municipality) is promotional.
    assert may_use_event_tag(MessageCategory.EVENT, everyone) is False
    assert may_use_event_tag(MessageCategory.EVENT, {}) is False
    assert may_use_event_tag(MessageCategory.EVENT, None) is False
    # Announcements and polls never, whatever the audience.
    assert may_use_event_tag(MessageCategory.ANNOUNCEMENT, registered) is False
    assert may_use_event_tag(MessageCategory.POLL, registered) is False


def test_each_app_has_its_own_pacer_rate_and_chat_gap() -> None:
    rates = default_rates(DeliverySettings(rate_per_second=25), 300)
    assert rates == {Channel.TELEGRAM: 25, Channel.MESSENGER: 300}
    telegram = pacer_for(Channel.TELEGRAM, rates[Channel.TELEGRAM])
    messenger = pacer_for(Channel.MESSENGER, rates[Channel.MESSENGER])
    assert telegram.interval == pytest.approx(1 / (25 * RATE_SAFETY))
    assert messenger.interval == pytest.approx(1 / (300 * RATE_SAFETY))
    assert telegram.per_chat_gap == 1.0
    assert messenger.per_chat_gap == MESSENGER_CHAT_GAP_SECONDS < 1.0
    # Without Messenger only Telegram's rate is configured.
    assert default_rates(DeliverySettings(rate_per_second=25)) == {Channel.TELEGRAM: 25}
