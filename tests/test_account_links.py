"""One person, two apps, service layer: link codes (issued, typed, expired, wrong, used once,
guessing refused), and the merge of two profiles into the one that showed the code (polls,
registrations, proposals, held notices, the outbox, consent), also under concurrency.

Every test runs on SQLite and on PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import create_engine, create_session_factory
from bot.services import account_links, event_registrations, events, polls, residents
from bot.services.account_links import LinkOutcome
from bot.services.audiences import Audience
from bot.services.events import EventSpec
from bot.services.polls import QuestionSpec
from models import (
    AgeGroup,
    Broadcast,
    BroadcastStatus,
    Channel,
    EventKind,
    FsmRecord,
    HeldNotice,
    LinkCode,
    MessageCategory,
    Municipality,
    OutboxMessage,
    OutboxStatus,
    PollAnswer,
    PollProgress,
    Proposal,
    ProposalBlock,
    QuestionKind,
    Registration,
    RegistrationStatus,
    Resident,
    ResidentAccount,
    utcnow,
)

NOW = utcnow().replace(microsecond=0)
_ids = itertools.count(500_000)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url, pool_size=10, max_overflow=5)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def person(
    sessions: async_sessionmaker[AsyncSession],
    channel: Channel,
    *,
    municipality: str | None = "PAG",
    consent: bool = True,
    language: str = "lt",
    age_group: AgeGroup | None = None,
) -> Resident:
    """A resident of one app (a Telegram chat id or a Messenger PSID)."""
    external_id = str(next(_ids)) if channel is Channel.TELEGRAM else f"psid{next(_ids)}"
    async with sessions() as session, session.begin():
        resident = await residents.get_or_create(session, channel, external_id, language=language)
        if consent:
            residents.give_consent(resident, source="test")
        if municipality is not None:
            found = await session.scalar(
                select(Municipality.id).where(Municipality.code == municipality)
            )
            assert found is not None
            await residents.set_municipality(session, resident, found)
            residents.finish_onboarding(resident)
        resident.age_group = age_group
    return resident


async def issue(
    sessions: async_sessionmaker[AsyncSession], resident: Resident, **kwargs: Any
) -> str:
    async with sessions() as session, session.begin():
        fresh = await session.get(Resident, resident.id)
        assert fresh is not None
        return await account_links.issue_code(session, fresh, resident.channel, **kwargs)


async def type_code(
    sessions: async_sessionmaker[AsyncSession],
    typing: Resident,
    code: str,
    *,
    channel: Channel | None = None,
    external_id: str | None = None,
    **kwargs: Any,
) -> account_links.LinkResult:
    """``typing`` types the code from its account (by default the one it was created on)."""
    async with sessions() as session, session.begin():
        fresh = await session.get(Resident, typing.id)
        assert fresh is not None
        return await account_links.link(
            session,
            fresh,
            channel or typing.channel,
            external_id or typing.external_id,
            code,
            **kwargs,
        )


async def count(sessions: async_sessionmaker[AsyncSession], model: Any, *where: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def accounts_of(
    sessions: async_sessionmaker[AsyncSession], resident_id: int
) -> list[tuple[Channel, str]]:
    async with sessions() as session:
        return [(a.channel, a.external_id) for a in await residents.accounts(session, resident_id)]


async def load(sessions: async_sessionmaker[AsyncSession], resident_id: int) -> Resident | None:
    async with sessions() as session:
        return await session.get(Resident, resident_id)


# --- codes ------------------------------------------------------------------------------


def test_codes_look_alike_free_grouped_and_read_loosely() -> None:
    code = account_links.new_code()
    assert len(code) == 8
    assert set(code) <= set(account_links.CODE_ALPHABET)
    assert not set("IOQBDGSZWX0123456789") & set(account_links.CODE_ALPHABET)
    assert account_links.format_code("ACEFHJKL") == "ACEF-HJKL"
    assert account_links.normalize_code(" acef-hjkl ") == "ACEFHJKL"
    assert account_links.normalize_code("ac ef hj kl") == "ACEFHJKL"
    assert account_links.looks_like_code("acef–hjkl")
    assert not account_links.looks_like_code("ACEF-HJK")
    assert not account_links.looks_like_code("ABCD-EFGH")  # B, D, G are not used


async def test_a_new_code_replaces_the_earlier_one_and_needs_consent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shown = await person(sessions, Channel.TELEGRAM)
    first = await issue(sessions, shown)
    second = await issue(sessions, shown)
    assert first != second
    async with sessions() as session:
        rows = list(await session.scalars(select(LinkCode)))
    assert [(r.code, r.resident_id, r.channel) for r in rows] == [
        (second, shown.id, Channel.TELEGRAM)
    ]
    assert rows[0].expires_at > utcnow() + timedelta(minutes=14)
    assert rows[0].expires_at <= utcnow() + account_links.CODE_TTL

    typing = await person(sessions, Channel.MESSENGER)
    assert (await type_code(sessions, typing, first)).outcome is LinkOutcome.UNKNOWN_CODE

    stranger = await person(sessions, Channel.TELEGRAM, consent=False, municipality=None)
    with pytest.raises(account_links.NotConsented):
        await issue(sessions, stranger)


async def test_a_code_shown_in_telegram_typed_in_messenger_links_one_profile(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shown = await person(sessions, Channel.TELEGRAM, language="en", age_group=AgeGroup.AGE_45_64)
    typing = await person(sessions, Channel.MESSENGER, municipality="ZAR", language="lt")
    code = await issue(sessions, shown)

    result = await type_code(sessions, typing, f"  {account_links.format_code(code).lower()} ")

    assert result.outcome is LinkOutcome.LINKED
    assert result.resident.id == shown.id
    assert await load(sessions, typing.id) is None
    kept = await load(sessions, shown.id)
    assert kept is not None
    # The kept profile's consent, language, municipality and age group; the typing app is
    # the address now (the person writes there).
    assert kept.consented_at == shown.consented_at
    assert kept.language == "en"
    assert kept.municipality is not None and kept.municipality.code == "PAG"
    assert kept.age_group is AgeGroup.AGE_45_64
    assert (kept.channel, kept.external_id) == (Channel.MESSENGER, typing.external_id)
    assert await accounts_of(sessions, shown.id) == [
        (Channel.TELEGRAM, shown.external_id),
        (Channel.MESSENGER, typing.external_id),
    ]
    assert await count(sessions, Resident) == 1
    assert await count(sessions, LinkCode) == 0
    # Both accounts find the one profile.
    async with sessions() as session:
        for channel, external_id in await accounts_of(sessions, shown.id):
            found = await residents.find(session, channel, external_id)
            assert found is not None and found.id == shown.id
        export = await residents.export_data(session, kept)
    assert [(a["channel"], a["id"]) for a in export["accounts"]] == [
        ("telegram", shown.external_id),
        ("messenger", typing.external_id),
    ]
    assert all(a["linked_at"] for a in export["accounts"])

    # Used once: typing it again (or from another account) finds nothing.
    again = await person(sessions, Channel.MESSENGER)
    assert (await type_code(sessions, again, code)).outcome is LinkOutcome.UNKNOWN_CODE


async def test_a_code_shown_in_messenger_typed_in_telegram_keeps_the_messenger_profile(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shown = await person(sessions, Channel.MESSENGER, municipality="ZAR")
    typing = await person(sessions, Channel.TELEGRAM, municipality="PAG")
    code = await issue(sessions, shown)
    result = await type_code(sessions, typing, code)
    assert result.outcome is LinkOutcome.LINKED
    kept = await load(sessions, shown.id)
    assert kept is not None and kept.municipality is not None
    assert kept.municipality.code == "ZAR"
    assert (kept.channel, kept.external_id) == (Channel.TELEGRAM, typing.external_id)
    assert await accounts_of(sessions, shown.id) == [
        (Channel.TELEGRAM, typing.external_id),
        (Channel.MESSENGER, shown.external_id),
    ]


async def test_gaps_of_the_kept_profile_come_from_the_typing_one(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shown = await person(sessions, Channel.TELEGRAM, municipality=None)  # consented only
    typing = await person(sessions, Channel.MESSENGER, age_group=AgeGroup.AGE_65_PLUS)
    code = await issue(sessions, shown)
    assert (await type_code(sessions, typing, code)).linked
    kept = await load(sessions, shown.id)
    assert kept is not None and kept.municipality is not None
    assert kept.municipality.code == "PAG"
    assert kept.onboarded_at is not None
    assert kept.age_group is AgeGroup.AGE_65_PLUS


async def test_refusals_change_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    shown = await person(sessions, Channel.TELEGRAM)
    typing = await person(sessions, Channel.MESSENGER)
    code = await issue(sessions, shown)

    # Typed in the app that showed it (by another Telegram profile, or by the same one).
    other_telegram = await person(sessions, Channel.TELEGRAM)
    assert (await type_code(sessions, other_telegram, code)).outcome is LinkOutcome.SAME_APP
    assert (await type_code(sessions, shown, code)).outcome is LinkOutcome.SAME_APP
    # Wrong, or not a code at all.
    for wrong in ("ACEF-HJKL", "labas", ""):
        assert (await type_code(sessions, typing, wrong)).outcome is LinkOutcome.UNKNOWN_CODE
    # Expired: the same answer as a wrong one.
    later = utcnow() + account_links.CODE_TTL + timedelta(seconds=1)
    expired = await type_code(sessions, typing, code, now=later)
    assert expired.outcome is LinkOutcome.UNKNOWN_CODE
    assert expired.resident.id == typing.id
    assert await count(sessions, Resident) == 3
    assert await count(sessions, ResidentAccount) == 3
    assert await count(sessions, LinkCode) == 0  # the expired code is gone

    # Already one profile: the Messenger account of the linked profile types its code.
    code = await issue(sessions, shown)
    assert (await type_code(sessions, typing, code)).linked
    code = await issue(sessions, shown)
    result = await type_code(
        sessions, shown, code, channel=Channel.MESSENGER, external_id=typing.external_id
    )
    assert result.outcome is LinkOutcome.ALREADY_LINKED

    # The kept profile has another Messenger account already.
    second_messenger = await person(sessions, Channel.MESSENGER)
    result = await type_code(sessions, second_messenger, code)
    assert result.outcome is LinkOutcome.OTHER_APP_TAKEN
    assert result.resident.id == second_messenger.id
    # The typing profile has another Telegram account already (it would lose it).
    lone_telegram = await person(sessions, Channel.TELEGRAM)
    lone_code = await issue(sessions, lone_telegram)
    async with sessions() as session, session.begin():
        linked = await session.get(Resident, shown.id)
        assert linked is not None
        result = await account_links.link(
            session, linked, Channel.MESSENGER, typing.external_id, lone_code
        )
    assert result.outcome is LinkOutcome.OTHER_APP_TAKEN
    assert await accounts_of(sessions, shown.id) == [
        (Channel.TELEGRAM, shown.external_id),
        (Channel.MESSENGER, typing.external_id),
    ]
    assert await count(sessions, LinkCode) == 2  # refusals leave the codes


async def test_guessing_is_refused_after_five_wrong_codes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shown = await person(sessions, Channel.TELEGRAM)
    typing = await person(sessions, Channel.MESSENGER)
    code = await issue(sessions, shown)
    for _ in range(account_links.MAX_WRONG_CODES):
        result = await type_code(sessions, typing, "ACEF-HJKL", now=NOW)
        assert result.outcome is LinkOutcome.UNKNOWN_CODE
    async with sessions() as session:
        fresh = await session.get(Resident, typing.id)
        assert fresh is not None
        assert await account_links.wrong_codes_left(session, fresh, now=NOW) == 0
    # Even the right code is refused now, and the refusal is not counted.
    throttled = await type_code(sessions, typing, code, now=NOW + timedelta(minutes=1))
    assert throttled.outcome is LinkOutcome.THROTTLED
    assert await count(sessions, LinkCode) == 1
    # Once the wrong ones are old enough, the code works.
    later = NOW + account_links.WRONG_CODE_WINDOW + timedelta(seconds=1)
    code = await issue(sessions, shown, now=later)
    assert (await type_code(sessions, typing, code, now=later)).linked


# --- the merge ----------------------------------------------------------------------------


async def make_poll(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int, list[int]]:
    async with sessions() as session, session.begin():
        poll = await polls.create_poll(
            session,
            created_by=42,
            questions=[QuestionSpec("Kokia spalva?", QuestionKind.SINGLE, ("Raudona", "Žalia"))],
            audience=Audience(),
        )
        question = poll.questions[0]
        return poll.id, question.id, [o.id for o in question.options]


async def answer(
    sessions: async_sessionmaker[AsyncSession], question_id: int, resident: Resident, option: int
) -> None:
    async with sessions() as session, session.begin():
        fresh = await session.get(Resident, resident.id)
        assert fresh is not None
        result = await polls.answer_single(session, question_id, fresh, option)
        assert result.ok


async def make_event(sessions: async_sessionmaker[AsyncSession], capacity: int) -> int:
    async with sessions() as session, session.begin():
        pag = await session.scalar(select(Municipality.id).where(Municipality.code == "PAG"))
        assert pag is not None
        start = NOW + timedelta(days=3)
        event = await events.create_event(
            session,
            EventSpec(
                kind=EventKind.TRAINING,
                title="Mokymai bendruomenių lyderiams",
                starts_at=start,
                ends_at=start + timedelta(hours=3),
                municipality_ids=frozenset({pag}),
                place_address="Vilniaus g. 9, Pagėgiai",
                capacity=capacity,
            ),
            created_by=42,
        )
        return event.id


async def register(
    sessions: async_sessionmaker[AsyncSession], event_id: int, resident: Resident
) -> RegistrationStatus:
    async with sessions() as session, session.begin():
        fresh = await session.get(Resident, resident.id)
        assert fresh is not None
        result = await event_registrations.register(session, event_id, fresh)
        assert result.registration is not None
        return result.registration.status


async def registrations(
    sessions: async_sessionmaker[AsyncSession], event_id: int
) -> list[tuple[int | None, RegistrationStatus]]:
    async with sessions() as session:
        rows = await session.execute(
            select(Registration.resident_id, Registration.status)
            .where(Registration.event_id == event_id)
            .order_by(Registration.id)
        )
        return [(r, s) for r, s in rows]


async def test_the_merge_moves_data_and_keeps_one_of_each(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shown = await person(sessions, Channel.TELEGRAM)
    typing = await person(sessions, Channel.MESSENGER)
    others = [await person(sessions, Channel.TELEGRAM) for _ in range(2)]

    # Polls: one answered in both apps (the kept answer stays), one only in Messenger.
    both_poll, both_question, (red, green) = await make_poll(sessions)
    await answer(sessions, both_question, shown, red)
    await answer(sessions, both_question, typing, green)
    own_poll, own_question, (own_red, _) = await make_poll(sessions)
    await answer(sessions, own_question, typing, own_red)

    # Events: the same event registered twice (the kept profile waitlisted, the typing one
    # holding a place: that registration stays); another event only in Messenger; a full
    # event both hold a place at (one place comes free).
    small = await make_event(sessions, capacity=1)
    assert await register(sessions, small, typing) is RegistrationStatus.REGISTERED
    assert await register(sessions, small, shown) is RegistrationStatus.WAITLISTED
    single = await make_event(sessions, capacity=10)
    await register(sessions, single, typing)
    full = await make_event(sessions, capacity=2)
    await register(sessions, full, shown)
    await register(sessions, full, typing)
    assert await register(sessions, full, others[0]) is RegistrationStatus.WAITLISTED

    # Proposals, a block, a held notice, the outbox.
    async with sessions() as session, session.begin():
        pag = await session.scalar(select(Municipality.id).where(Municipality.code == "PAG"))
        assert pag is not None
        proposal = Proposal(
            reference="PAG-2026-1",
            resident_id=typing.id,
            channel=Channel.MESSENGER,
            municipality_id=pag,
            category="Keliai",
            text="Duobė kelyje prie mokyklos.",
            pseudonym="Gyventojas-7",
        )
        session.add(proposal)
        await session.flush()
        session.add(ProposalBlock(resident_id=typing.id, reason="Įžeidimai", blocked_by=42))
        session.add(HeldNotice(resident_id=typing.id, text="Jūsų pasiūlymas priimtas.", buttons=[]))
        broadcasts = []
        for _ in range(3):
            broadcast = Broadcast(
                category=MessageCategory.ANNOUNCEMENT,
                status=BroadcastStatus.SENDING,
                created_by=42,
                text="Pranešimas",
                scheduled_at=NOW,
                total=2,
            )
            session.add(broadcast)
            broadcasts.append(broadcast)
        await session.flush()
        rows = [
            # Both had the first one: sent on Messenger, pending on Telegram → the sent one.
            (broadcasts[0], shown, OutboxStatus.PENDING),
            (broadcasts[0], typing, OutboxStatus.SENT),
            # Both had the second one, both pending → the kept one's row.
            (broadcasts[1], shown, OutboxStatus.PENDING),
            (broadcasts[1], typing, OutboxStatus.PENDING),
            # Only Messenger had the third (held outside the window) → moves.
            (broadcasts[2], typing, OutboxStatus.HELD),
        ]
        for broadcast, resident, status in rows:
            session.add(
                OutboxMessage(
                    broadcast_id=broadcast.id,
                    resident_id=resident.id,
                    chat_id=resident.external_id,
                    channel=resident.channel,
                    status=status,
                    not_before=NOW,
                )
            )
        broadcast_ids = [b.id for b in broadcasts]
        proposal_id = proposal.id

    code = await issue(sessions, shown)
    assert (await type_code(sessions, typing, code)).linked

    async with sessions() as session:
        # One answer per poll: the kept profile's where both answered.
        answers = list(
            await session.execute(
                select(PollAnswer.poll_id, PollAnswer.option_id, PollAnswer.resident_id).order_by(
                    PollAnswer.poll_id
                )
            )
        )
        assert [tuple(a) for a in answers] == [
            (both_poll, red, shown.id),
            (own_poll, own_red, shown.id),
        ]
        progress = list(
            await session.execute(select(PollProgress.poll_id, PollProgress.resident_id))
        )
        assert sorted(tuple(p) for p in progress) == [(both_poll, shown.id), (own_poll, shown.id)]
        assert await polls.respondent_count(session, both_poll) == 1
        tally = await polls.tally(session, both_poll)
        assert tally is not None
        assert [o.count for o in tally.questions[0].options] == [1, 0]

        moved = await session.get(Proposal, proposal_id)
        assert moved is not None and moved.resident_id == shown.id
        assert await session.scalar(select(ProposalBlock.resident_id)) == shown.id
        assert await session.scalar(select(HeldNotice.resident_id)) == shown.id

        outbox = list(
            await session.execute(
                select(
                    OutboxMessage.broadcast_id, OutboxMessage.resident_id, OutboxMessage.status
                ).order_by(OutboxMessage.broadcast_id)
            )
        )
        assert [tuple(o) for o in outbox] == [
            (broadcast_ids[0], shown.id, OutboxStatus.SENT),
            (broadcast_ids[1], shown.id, OutboxStatus.PENDING),
            (broadcast_ids[2], shown.id, OutboxStatus.HELD),
        ]
        totals = list(
            await session.scalars(
                select(Broadcast.total)
                .where(Broadcast.id.in_(broadcast_ids))
                .order_by(Broadcast.id)
            )
        )
        assert totals == [1, 1, 2]

    # One registration per event: the one holding the place.
    assert await registrations(sessions, small) == [(shown.id, RegistrationStatus.REGISTERED)]
    assert await registrations(sessions, single) == [(shown.id, RegistrationStatus.REGISTERED)]
    # The full event: a place came free; the offers' run gives it to the first waiting.
    assert await registrations(sessions, full) == [
        (shown.id, RegistrationStatus.REGISTERED),
        (others[0].id, RegistrationStatus.WAITLISTED),
    ]
    async with sessions() as session, session.begin():
        changes = await event_registrations.expire_offers(session)
    assert [(c.registration.resident_id, c.change.value) for c in changes] == [
        (others[0].id, "offered")
    ]


async def test_forgetting_a_linked_profile_removes_both_accounts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shown = await person(sessions, Channel.MESSENGER)
    typing = await person(sessions, Channel.TELEGRAM)
    code = await issue(sessions, shown)
    assert (await type_code(sessions, shown, "ACEF-HJKL")).outcome is LinkOutcome.UNKNOWN_CODE
    assert await count(sessions, FsmRecord) == 1  # the record of the wrong code
    assert (await type_code(sessions, typing, code)).linked
    async with sessions() as session, session.begin():
        kept = await residents.find(session, Channel.MESSENGER, shown.external_id)
        assert kept is not None
        await residents.erase(session, kept)
    assert await count(sessions, Resident) == 0
    assert await count(sessions, ResidentAccount) == 0
    assert await count(sessions, FsmRecord) == 0
    async with sessions() as session:
        assert await residents.find(session, Channel.TELEGRAM, typing.external_id) is None


async def test_concurrent_links_with_one_code_link_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Four Messenger accounts type the same code at once: on PostgreSQL the code's row lock
    lets one link and the others then find no code; SQLite runs the transactions one after
    another (BEGIN IMMEDIATE) with the same outcome."""
    shown = await person(sessions, Channel.TELEGRAM)
    typists = [await person(sessions, Channel.MESSENGER) for _ in range(4)]
    code = await issue(sessions, shown)
    results = await asyncio.gather(*(type_code(sessions, t, code) for t in typists))
    outcomes = sorted(r.outcome.value for r in results)
    assert outcomes == ["linked"] + ["unknown_code"] * 3
    winner = next(t for t, r in zip(typists, results, strict=True) if r.linked)
    assert await accounts_of(sessions, shown.id) == [
        (Channel.TELEGRAM, shown.external_id),
        (Channel.MESSENGER, winner.external_id),
    ]
    assert await count(sessions, Resident) == 4
