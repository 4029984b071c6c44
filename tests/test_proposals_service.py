"""Proposals, service layer: validation, submitting with references (also concurrently),
the daily limit, blocking, the status machine, authorization, the relay, delivery, the
digest, the resident's history, exports and erasure.

Every test runs on SQLite and on PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import create_engine, create_session_factory
from bot.services import proposal_export, proposal_relay, proposals, residents, roles
from bot.services.proposals import (
    TRANSITIONS,
    BlockOutcome,
    BlockRefusal,
    ChangeOutcome,
    ChangeRefusal,
    PhotoRef,
    ProposalError,
    ProposalProblem,
    ProposalSpec,
    SubmitRefusal,
)
from models import (
    ActorKind,
    Municipality,
    Proposal,
    ProposalAction,
    ProposalAudit,
    ProposalBlock,
    ProposalCounter,
    ProposalMessage,
    ProposalPhoto,
    ProposalStatus,
    Resident,
)
from models.proposals import ERASED_TEXT
from tests.support.residents import add_residents

T = TypeVar("T")

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # Monday 10:00 in Vilnius
MODERATOR = 501
OTHER_MODERATOR = 502  # moderates another municipality
ADMIN = 900
ADMINS = frozenset({ADMIN})
GROUP = -100_777
TEXT = "Įrengti suoliukus prie bibliotekos, kad senjorai galėtų pailsėti."
S = ProposalStatus
_chat_ids = itertools.count(300_000, 1_000)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url, pool_size=25, max_overflow=5)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def tx(
    sessions: async_sessionmaker[AsyncSession],
    action: Callable[..., Awaitable[T]],
    *args: Any,
    **kwargs: Any,
) -> T:
    """Run one service call in its own transaction (as one update would)."""
    async with sessions() as session, session.begin():
        return await action(session, *args, **kwargs)


async def municipality(sessions: async_sessionmaker[AsyncSession], code: str) -> Municipality:
    async with sessions() as session:
        found = await session.scalar(select(Municipality).where(Municipality.code == code))
    assert found is not None
    return found


@pytest.fixture
async def pag(sessions: async_sessionmaker[AsyncSession]) -> Municipality:
    return await municipality(sessions, "PAG")


@pytest.fixture
async def staff(sessions: async_sessionmaker[AsyncSession], pag: Municipality) -> None:
    """MODERATOR moderates Pagėgiai, OTHER_MODERATOR another municipality."""
    other = await municipality(sessions, "VLN")
    async with sessions() as session, session.begin():
        await roles.grant_moderator(session, ADMIN, MODERATOR, pag)
        await roles.grant_moderator(session, ADMIN, OTHER_MODERATOR, other)


async def people(sessions: async_sessionmaker[AsyncSession], count: int) -> list[Resident]:
    chat_ids = await add_residents(sessions, None, count, first_chat_id=next(_chat_ids))
    async with sessions() as session:
        return list(
            await session.scalars(
                select(Resident)
                .where(Resident.external_id.in_([str(c) for c in chat_ids]))
                .order_by(Resident.id)
            )
        )


def spec(municipality_id: int, **overrides: Any) -> ProposalSpec:
    values: dict[str, Any] = {
        "municipality_id": municipality_id,
        "category": "infrastructure",
        "text": TEXT,
        "place_text": "Vilkyškių seniūnija",
    }
    values.update(overrides)
    return ProposalSpec(**values)


async def submit(
    sessions: async_sessionmaker[AsyncSession],
    resident: Resident,
    municipality_id: int,
    *,
    now: datetime = T0,
    **overrides: Any,
) -> proposals.SubmitResult:
    async with sessions() as session, session.begin():
        fresh = await session.get(Resident, resident.id)
        assert fresh is not None
        return await proposals.submit(session, fresh, spec(municipality_id, **overrides), now=now)


async def new_proposal(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality, *, now: datetime = T0
) -> Proposal:
    (resident,) = await people(sessions, 1)
    result = await submit(sessions, resident, pag.id, now=now)
    assert result.proposal is not None
    return result.proposal


async def change(
    sessions: async_sessionmaker[AsyncSession],
    proposal_id: int,
    to: ProposalStatus,
    *,
    actor: int = MODERATOR,
    **kwargs: Any,
) -> proposals.StatusChange:
    return await tx(
        sessions, proposals.change_status, proposal_id, actor, to, admin_ids=ADMINS, **kwargs
    )


async def stored(sessions: async_sessionmaker[AsyncSession], proposal_id: int) -> Proposal:
    async with sessions() as session:
        found = await session.get(Proposal, proposal_id)
    assert found is not None
    return found


async def all_of(sessions: async_sessionmaker[AsyncSession], model: Any, *where: Any) -> list[Any]:
    async with sessions() as session:
        return list(await session.scalars(select(model).where(*where).order_by(model.id)))


# --- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "problem", "limit"),
    [
        ({"text": "Per trumpas tekstas"}, ProposalProblem.TEXT_TOO_SHORT, 20),
        ({"text": "   " + "a" * 19 + "   "}, ProposalProblem.TEXT_TOO_SHORT, 20),
        ({"text": "ą" * 2001}, ProposalProblem.TEXT_TOO_LONG, 2000),
        (
            {"photos": tuple(PhotoRef(f"f{i}") for i in range(6))},
            ProposalProblem.TOO_MANY_PHOTOS,
            5,
        ),
        ({"photos": (PhotoRef("  "),)}, ProposalProblem.BAD_PHOTO, None),
        ({"category": "sports"}, ProposalProblem.UNKNOWN_CATEGORY, None),
        ({"place_text": "x" * 201}, ProposalProblem.PLACE_TOO_LONG, 200),
        ({"latitude": 55.0}, ProposalProblem.BAD_POINT, None),
        ({"latitude": 95.0, "longitude": 21.0}, ProposalProblem.BAD_POINT, None),
    ],
)
def test_validation_problems(
    overrides: dict[str, Any], problem: ProposalProblem, limit: int | None
) -> None:
    with pytest.raises(ProposalError) as caught:
        proposals.validate(spec(1, **overrides))
    assert caught.value.problem is problem
    assert caught.value.limit == limit


def test_validation_cleans_and_keeps_the_name_only_when_shared() -> None:
    cleaned = proposals.validate(
        spec(1, text=f"  {TEXT}  ", place_text="   ", anonymous=False, display_name=" Ona ")
    )
    assert (cleaned.text, cleaned.place_text, cleaned.display_name) == (TEXT, None, "Ona")
    assert proposals.validate(spec(1, text="a" * 2000, photos=(PhotoRef("f"),) * 5)).text
    hidden = proposals.validate(spec(1, anonymous=True, display_name="Ona"))
    assert (hidden.anonymous, hidden.display_name) == (True, None)
    assert proposals.validate(spec(1, category="youth"), categories=("youth",)).category == "youth"
    with pytest.raises(ProposalError):
        proposals.validate(spec(1, category="infrastructure"), categories=("youth",))


async def test_inactive_municipality_is_refused(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality
) -> None:
    (resident,) = await people(sessions, 1)
    async with sessions() as session, session.begin():
        target = await session.get(Municipality, pag.id)
        assert target is not None
        target.is_active = False
    with pytest.raises(ProposalError) as caught:
        await submit(sessions, resident, pag.id)
    assert caught.value.problem is ProposalProblem.UNKNOWN_MUNICIPALITY
    assert await all_of(sessions, Proposal) == []
    assert await all_of_counters(sessions) == []


# --- submitting -------------------------------------------------------------------------


async def test_submit_stores_everything_with_a_reference_and_an_audit_entry(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality
) -> None:
    (resident,) = await people(sessions, 1)
    result = await submit(
        sessions,
        resident,
        pag.id,
        latitude=55.1,
        longitude=21.9,
        photos=(PhotoRef("file-a", "ua"), PhotoRef("file-b")),
        anonymous=False,
        display_name="Ona Onaitė",
    )
    assert result.refusal is None and result.chat_id is None  # no moderators' chat bound
    assert result.proposal is not None
    proposal = await stored(sessions, result.proposal.id)
    assert proposal.reference == "PAG-2026-0001"
    assert (proposal.resident_id, proposal.channel.value) == (resident.id, "telegram")
    assert (proposal.status, proposal.category, proposal.text) == (S.NEW, "infrastructure", TEXT)
    assert (proposal.place_text, proposal.latitude, proposal.longitude) == (
        "Vilkyškių seniūnija",
        55.1,
        21.9,
    )
    assert (proposal.anonymous, proposal.display_name) == (False, "Ona Onaitė")
    assert proposals.author_label(proposal) == "Ona Onaitė"
    assert proposal.created_at == proposal.status_changed_at == T0
    assert proposal.delivered_at is None and proposal.card_message_id is None
    assert [(p.position, p.file_id, p.file_unique_id) for p in proposal.photos] == [
        (1, "file-a", "ua"),
        (2, "file-b", None),
    ]
    (entry,) = await all_of(sessions, ProposalAudit)
    assert (entry.action, entry.actor, entry.to_status, entry.at) == (
        ProposalAction.SUBMITTED,
        ActorKind.RESIDENT,
        S.NEW,
        T0,
    )


async def test_anonymous_proposals_show_a_pseudonym_that_differs_per_proposal(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality
) -> None:
    (resident,) = await people(sessions, 1)
    first = await submit(sessions, resident, pag.id)
    second = await submit(sessions, resident, pag.id)
    assert first.proposal is not None and second.proposal is not None
    a, b = await stored(sessions, first.proposal.id), await stored(sessions, second.proposal.id)
    assert a.anonymous and a.display_name is None
    assert proposals.author_label(a) == f"Gyventojas #{a.pseudonym}"
    assert len(a.pseudonym) == 6 and a.pseudonym != b.pseudonym


async def test_references_count_per_municipality_and_year(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality
) -> None:
    vln = await municipality(sessions, "VLN")
    a, b, c = await people(sessions, 3)
    refs = []
    for resident, where, now in [
        (a, pag.id, T0),
        (b, pag.id, T0),
        (c, vln.id, T0),
        # 2026-12-31 22:30 UTC is already 2027 in Vilnius
        (a, pag.id, datetime(2026, 12, 31, 22, 30, tzinfo=UTC)),
        (b, pag.id, datetime(2026, 12, 31, 21, 30, tzinfo=UTC)),
    ]:
        result = await submit(sessions, resident, where, now=now)
        assert result.proposal is not None
        refs.append(result.proposal.reference)
    assert refs == [
        "PAG-2026-0001",
        "PAG-2026-0002",
        "VLN-2026-0001",
        "PAG-2027-0001",
        "PAG-2026-0003",
    ]
    counters = {(c.municipality_id, c.year): c.last_number for c in await all_of_counters(sessions)}
    assert counters == {(pag.id, 2026): 3, (pag.id, 2027): 1, (vln.id, 2026): 1}


async def all_of_counters(sessions: async_sessionmaker[AsyncSession]) -> list[ProposalCounter]:
    async with sessions() as session:
        return list(await session.scalars(select(ProposalCounter)))


async def test_concurrent_submissions_get_distinct_references(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality, backend: str
) -> None:
    """20 residents submitting at the same moment, each in its own transaction."""
    residents_ = await people(sessions, 20)
    results = await asyncio.gather(*(submit(sessions, r, pag.id) for r in residents_))
    references = [r.proposal.reference for r in results if r.proposal is not None]
    assert len(references) == 20
    assert sorted(references) == [f"PAG-2026-{n:04d}" for n in range(1, 21)]
    stored_refs = [p.reference for p in await all_of(sessions, Proposal)]
    assert sorted(stored_refs) == sorted(references)
    (counter,) = await all_of_counters(sessions)
    assert counter.last_number == 20


async def test_daily_limit_counts_lithuanian_calendar_days(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality
) -> None:
    (resident,) = await people(sessions, 1)
    # 2026-11-02 00:30 Vilnius = 2026-11-01 22:30 UTC: the same Lithuanian day as T0
    early = datetime(2026, 11, 1, 22, 30, tzinfo=UTC)
    for now in (early, T0, T0 + timedelta(hours=1)):
        assert (await submit(sessions, resident, pag.id, now=now)).proposal is not None
    refused = await submit(sessions, resident, pag.id, now=T0 + timedelta(hours=2))
    assert (refused.refusal, refused.limit, refused.proposal) == (
        SubmitRefusal.DAILY_LIMIT,
        3,
        None,
    )
    assert len(await all_of(sessions, Proposal)) == 3
    # 2026-11-02 22:00 UTC is midnight in Vilnius: a new day
    tomorrow = datetime(2026, 11, 2, 22, 0, tzinfo=UTC)
    assert (await submit(sessions, resident, pag.id, now=tomorrow)).proposal is not None
    async with sessions() as session, session.begin():
        fresh = await session.get(Resident, resident.id)
        assert fresh is not None
        limited = await proposals.submit(session, fresh, spec(pag.id), now=tomorrow, daily_limit=1)
    assert limited.refusal is SubmitRefusal.DAILY_LIMIT


async def test_the_daily_limit_holds_for_submissions_at_once(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality
) -> None:
    (resident,) = await people(sessions, 1)
    results = await asyncio.gather(*(submit(sessions, resident, pag.id) for _ in range(6)))
    assert sorted(str(r.refusal) for r in results) == ["None"] * 3 + ["daily_limit"] * 3
    assert len(await all_of(sessions, Proposal, Proposal.resident_id == resident.id)) == 3


async def test_a_resident_not_onboarded_is_refused(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality
) -> None:
    (resident,) = await people(sessions, 1)
    async with sessions() as session, session.begin():
        fresh = await session.get(Resident, resident.id)
        assert fresh is not None
        fresh.onboarded_at = None
    result = await submit(sessions, resident, pag.id)
    assert result.refusal is SubmitRefusal.NOT_ONBOARDED
    assert await all_of(sessions, Proposal) == []


# --- blocking ---------------------------------------------------------------------------


async def test_block_and_unblock_are_recorded_and_reversible(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality, staff: None
) -> None:
    proposal = await new_proposal(sessions, pag)
    assert proposal.resident_id is not None
    resident_id = proposal.resident_id
    refused = await tx(
        sessions, proposals.block_author, proposal.id, OTHER_MODERATOR, "Šlamštas", admin_ids=ADMINS
    )
    assert (refused.outcome, refused.refusal) == (BlockOutcome.REFUSED, BlockRefusal.NOT_AUTHORIZED)
    no_reason = await tx(
        sessions, proposals.block_author, proposal.id, MODERATOR, "  ", admin_ids=ADMINS
    )
    assert no_reason.refusal is BlockRefusal.REASON_REQUIRED
    assert await all_of(sessions, ProposalBlock) == []

    blocked = await tx(
        sessions,
        proposals.block_author,
        proposal.id,
        MODERATOR,
        "Įžeidžiantys tekstai",
        admin_ids=ADMINS,
        now=T0,
    )
    assert (blocked.outcome, blocked.resident_id) == (BlockOutcome.BLOCKED, resident_id)
    again = await tx(
        sessions, proposals.block_author, proposal.id, MODERATOR, "Vėl", admin_ids=ADMINS
    )
    assert again.outcome is BlockOutcome.ALREADY
    async with sessions() as session:
        resident = await session.get(Resident, resident_id)
    assert resident is not None
    refusal = await submit(sessions, resident, pag.id, now=T0 + timedelta(days=1))
    assert (refusal.refusal, refusal.block_reason) == (
        SubmitRefusal.BLOCKED,
        "Įžeidžiantys tekstai",
    )

    lifted = await tx(
        sessions,
        proposals.unblock_author,
        proposal.id,
        ADMIN,
        admin_ids=ADMINS,
        now=T0 + timedelta(hours=2),
    )
    assert lifted.outcome is BlockOutcome.UNBLOCKED
    assert (
        await tx(sessions, proposals.unblock_resident, resident_id, ADMIN)
    ).outcome is BlockOutcome.ALREADY
    (block,) = await all_of(sessions, ProposalBlock)
    assert (block.resident_id, block.reason, block.blocked_by, block.blocked_at) == (
        resident_id,
        "Įžeidžiantys tekstai",
        MODERATOR,
        T0,
    )
    assert (block.proposal_id, block.lifted_by, block.lifted_at) == (
        proposal.id,
        ADMIN,
        T0 + timedelta(hours=2),
    )
    assert (await submit(sessions, resident, pag.id, now=T0 + timedelta(days=1))).proposal


# --- the status machine -----------------------------------------------------------------


async def proposal_in(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality, status: ProposalStatus
) -> Proposal:
    """A proposal brought to ``status`` by allowed moves."""
    paths = {
        S.NEW: [],
        S.IN_REVIEW: [S.IN_REVIEW],
        S.INFO_REQUESTED: [S.INFO_REQUESTED],
        S.FORWARDED: [S.FORWARDED],
        S.ACCEPTED: [S.ACCEPTED],
        S.REJECTED: [S.REJECTED],
        S.IMPLEMENTED: [S.ACCEPTED, S.IMPLEMENTED],
    }
    proposal = await new_proposal(sessions, pag)
    for step in paths[status]:
        result = await change(sessions, proposal.id, step, reason="Priežastis")
        assert result.outcome is ChangeOutcome.CHANGED, result
    return await stored(sessions, proposal.id)


def test_the_status_machine() -> None:
    assert TRANSITIONS[S.IMPLEMENTED] == frozenset()
    assert all(S.NEW not in targets for targets in TRANSITIONS.values())
    sources_of_implemented = {s for s, targets in TRANSITIONS.items() if S.IMPLEMENTED in targets}
    assert sources_of_implemented == {S.ACCEPTED, S.FORWARDED}
    assert set(TRANSITIONS) == set(ProposalStatus)


@pytest.mark.parametrize("source", list(ProposalStatus))
async def test_every_move_allowed_or_refused(
    sessions: async_sessionmaker[AsyncSession],
    pag: Municipality,
    staff: None,
    source: ProposalStatus,
) -> None:
    for target in ProposalStatus:
        if target is source:
            continue
        proposal = await proposal_in(sessions, pag, source)
        before = len(
            await all_of(sessions, ProposalAudit, ProposalAudit.proposal_id == proposal.id)
        )
        now = T0 + timedelta(days=2)
        result = await change(sessions, proposal.id, target, reason="Nes taip", now=now)
        after = await stored(sessions, proposal.id)
        log = await all_of(sessions, ProposalAudit, ProposalAudit.proposal_id == proposal.id)
        if target in TRANSITIONS[source]:
            assert (result.outcome, result.from_status, result.to_status) == (
                ChangeOutcome.CHANGED,
                source,
                target,
            )
            assert (after.status, after.status_changed_at) == (target, now)
            assert (log[-1].action, log[-1].from_status, log[-1].to_status) == (
                ProposalAction.STATUS_CHANGED,
                source,
                target,
            )
            assert (log[-1].actor, log[-1].actor_user_id, log[-1].note, log[-1].at) == (
                ActorKind.STAFF,
                MODERATOR,
                "Nes taip",
                now,
            )
            assert after.rejection_reason == ("Nes taip" if target is S.REJECTED else None)
        else:
            assert (result.outcome, result.refusal) == (
                ChangeOutcome.REFUSED,
                ChangeRefusal.NOT_ALLOWED,
            ), (source, target)
            assert after.status is source
            assert len(log) == before


async def test_rejecting_needs_a_reason(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality, staff: None
) -> None:
    proposal = await new_proposal(sessions, pag)
    for reason in (None, "", "   "):
        result = await change(sessions, proposal.id, S.REJECTED, reason=reason)
        assert (result.outcome, result.refusal) == (
            ChangeOutcome.REFUSED,
            ChangeRefusal.REASON_REQUIRED,
        )
    assert (await stored(sessions, proposal.id)).status is S.NEW
    done = await change(sessions, proposal.id, S.REJECTED, reason="  Ne savivaldybės kompetencija ")
    assert done.outcome is ChangeOutcome.CHANGED
    assert (await stored(sessions, proposal.id)).rejection_reason == "Ne savivaldybės kompetencija"
    reopened = await change(sessions, proposal.id, S.IN_REVIEW)
    assert reopened.outcome is ChangeOutcome.CHANGED
    assert (await stored(sessions, proposal.id)).rejection_reason is None


async def test_double_tap_and_stale_buttons_change_nothing(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality, staff: None
) -> None:
    proposal = await new_proposal(sessions, pag)
    first = await change(sessions, proposal.id, S.IN_REVIEW, expected=S.NEW, now=T0)
    second = await change(
        sessions, proposal.id, S.IN_REVIEW, expected=S.NEW, now=T0 + timedelta(minutes=1)
    )
    assert (first.outcome, second.outcome) == (ChangeOutcome.CHANGED, ChangeOutcome.ALREADY)
    assert second.from_status is S.IN_REVIEW
    rejected = await change(sessions, proposal.id, S.REJECTED, reason="Ne", expected=S.IN_REVIEW)
    assert rejected.outcome is ChangeOutcome.CHANGED
    # a "Peržiūrėti" button drawn while the proposal was new must not reopen it
    stale = await change(sessions, proposal.id, S.IN_REVIEW, expected=S.NEW)
    assert (stale.outcome, stale.refusal) == (ChangeOutcome.REFUSED, ChangeRefusal.STALE)
    after = await stored(sessions, proposal.id)
    assert (after.status, after.status_changed_at != T0) == (S.REJECTED, True)
    steps = await all_of(
        sessions,
        ProposalAudit,
        ProposalAudit.proposal_id == proposal.id,
        ProposalAudit.action == ProposalAction.STATUS_CHANGED,
    )
    assert [(e.from_status, e.to_status) for e in steps] == [
        (S.NEW, S.IN_REVIEW),
        (S.IN_REVIEW, S.REJECTED),
    ]


async def test_two_moderators_pressing_at_once_change_it_once(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality, staff: None
) -> None:
    proposal = await new_proposal(sessions, pag)
    results = await asyncio.gather(
        *(change(sessions, proposal.id, S.ACCEPTED, actor=actor) for actor in (MODERATOR, ADMIN))
    )
    assert sorted(r.outcome for r in results) == [ChangeOutcome.ALREADY, ChangeOutcome.CHANGED]
    steps = await all_of(
        sessions, ProposalAudit, ProposalAudit.action == ProposalAction.STATUS_CHANGED
    )
    assert len(steps) == 1


# --- authorization ----------------------------------------------------------------------


async def test_only_the_municipalitys_moderators_and_admins_may_act(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality, staff: None
) -> None:
    proposal = await new_proposal(sessions, pag)
    async with sessions() as session:
        loaded = await session.get(Proposal, proposal.id)
        assert loaded is not None
        assert await proposals.may_moderate(session, MODERATOR, loaded, ADMINS)
        assert await proposals.may_moderate(session, ADMIN, loaded, ADMINS)
        assert not await proposals.may_moderate(session, OTHER_MODERATOR, loaded, ADMINS)
        assert not await proposals.may_moderate(session, 12345, loaded, ADMINS)
    for outsider in (OTHER_MODERATOR, 12345):
        refused = await change(sessions, proposal.id, S.ACCEPTED, actor=outsider)
        assert (refused.outcome, refused.refusal) == (
            ChangeOutcome.REFUSED,
            ChangeRefusal.NOT_AUTHORIZED,
        )
    assert (await stored(sessions, proposal.id)).status is S.NEW
    assert (await change(sessions, proposal.id, S.ACCEPTED, actor=ADMIN)).outcome is (
        ChangeOutcome.CHANGED
    )
    missing = await change(sessions, 999_999, S.ACCEPTED)
    assert (missing.outcome, missing.refusal) == (ChangeOutcome.REFUSED, ChangeRefusal.NOT_FOUND)


# --- delivery, relay --------------------------------------------------------------------


async def test_undelivered_until_marked_and_lookups_by_card_and_topic(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality
) -> None:
    first = await new_proposal(sessions, pag)
    second = await new_proposal(sessions, pag)
    vln = await municipality(sessions, "VLN")
    (elsewhere,) = await people(sessions, 1)
    await submit(sessions, elsewhere, vln.id)
    async with sessions() as session:
        assert [p.id for p in await proposal_relay.undelivered(session, pag.id)] == [
            first.id,
            second.id,
        ]
        assert await proposal_relay.undelivered_counts(session) == {pag.id: 2, vln.id: 1}
    assert await tx(
        sessions, proposal_relay.mark_delivered, first.id, chat_id=GROUP, message_id=10, now=T0
    )
    assert not await tx(
        sessions, proposal_relay.mark_delivered, first.id, chat_id=GROUP, message_id=10
    )
    assert await tx(
        sessions,
        proposal_relay.mark_delivered,
        second.id,
        chat_id=GROUP,
        message_id=20,
        thread_id=77,
    )
    async with sessions() as session:
        assert await proposal_relay.undelivered(session, pag.id) == []
        delivered = await session.get(Proposal, first.id)
        assert delivered is not None
        assert (delivered.card_chat_id, delivered.card_message_id, delivered.delivered_at) == (
            GROUP,
            10,
            T0,
        )
        found = await proposal_relay.find_for_moderators_message(
            session, GROUP, reply_to_message_id=10
        )
        assert found is not None and found.id == first.id
        in_topic = await proposal_relay.find_for_moderators_message(session, GROUP, thread_id=77)
        assert in_topic is not None and in_topic.id == second.id
        assert (
            await proposal_relay.find_for_moderators_message(session, -1, reply_to_message_id=10)
            is None
        )
        assert (
            await proposal_relay.find_for_moderators_message(session, GROUP, reply_to_message_id=11)
            is None
        )
    delivered_entries = await all_of(
        sessions, ProposalAudit, ProposalAudit.action == ProposalAction.DELIVERED
    )
    assert [e.proposal_id for e in delivered_entries] == [first.id, second.id]


async def test_asking_again_while_waiting_relays_the_new_question(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality, staff: None
) -> None:
    proposal = await new_proposal(sessions, pag)
    for question, outcome in (
        ("Kur tiksliai?", ChangeOutcome.CHANGED),
        ("Ir kada?", ChangeOutcome.ALREADY),
    ):
        async with sessions() as session, session.begin():
            asked = await proposal_relay.request_information(
                session, proposal.id, ADMIN, question, admin_ids=ADMINS
            )
        assert asked.change.outcome is outcome and asked.relayed is not None
    texts = [m.text for m in await all_of(sessions, ProposalMessage)]
    assert texts == ["Kur tiksliai?", "Ir kada?"]
    assert not await tx(
        sessions, proposal_relay.mark_delivered, 999_999, chat_id=GROUP, message_id=1
    )


async def test_relay_both_ways(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality, staff: None
) -> None:
    proposal = await new_proposal(sessions, pag)
    other = await new_proposal(sessions, pag)
    assert proposal.resident_id is not None
    await tx(sessions, proposal_relay.mark_delivered, proposal.id, chat_id=GROUP, message_id=10)
    async with sessions() as session, session.begin():
        loaded = await session.get(Proposal, proposal.id)
        assert loaded is not None
        # a resident (or a moderator of another municipality) writing in the group: not relayed
        for outsider in (12345, OTHER_MODERATOR):
            assert (
                await proposal_relay.record_moderator_message(
                    session, loaded, outsider, "Labas", admin_ids=ADMINS
                )
                is None
            )
        refused = await proposal_relay.request_information(
            session, proposal.id, 12345, "Kur?", admin_ids=ADMINS
        )
        assert refused.change.refusal is ChangeRefusal.NOT_AUTHORIZED and refused.relayed is None
    assert await all_of(sessions, ProposalMessage) == []
    async with sessions() as session, session.begin():
        asked = await proposal_relay.request_information(
            session,
            proposal.id,
            MODERATOR,
            "Prie kurios bibliotekos?",
            admin_ids=ADMINS,
            moderators_chat_id=GROUP,
            moderators_message_id=11,
            now=T0,
        )
        assert asked.change.outcome is ChangeOutcome.CHANGED
        assert asked.change.to_status is S.INFO_REQUESTED
        question = asked.relayed
        assert question is not None
        await proposal_relay.set_relay_message_ids(
            session, question.message.id, resident_message_id="555"
        )
    async with sessions() as session:
        # the resident replies to the bot's copy, or just writes: the open conversation
        by_reply = await proposal_relay.open_conversation(
            session, proposal.resident_id, reply_to_message_id="555"
        )
        plain = await proposal_relay.open_conversation(session, proposal.resident_id)
        assert by_reply is not None and by_reply.id == proposal.id
        assert plain is not None and plain.id == proposal.id
        assert other.resident_id is not None
        assert await proposal_relay.open_conversation(session, other.resident_id) is None
        # a moderator replying to the moderator's own relayed message finds it too
        again = await proposal_relay.find_for_moderators_message(
            session, GROUP, reply_to_message_id=11
        )
        assert again is not None and again.id == proposal.id
    async with sessions() as session, session.begin():
        loaded = await session.get(Proposal, proposal.id)
        assert loaded is not None
        answer = await proposal_relay.record_resident_reply(
            session,
            loaded,
            "Prie Vilkyškių bibliotekos.",
            resident_message_id="556",
            now=T0 + timedelta(hours=1),
        )
        assert answer.status_change is not None
        assert (answer.status_change.from_status, answer.status_change.to_status) == (
            S.INFO_REQUESTED,
            S.IN_REVIEW,
        )
        await proposal_relay.set_relay_message_ids(
            session, answer.message.id, moderators_message_id=12
        )
    async with sessions() as session:
        replied = await proposal_relay.find_for_moderators_message(
            session, GROUP, reply_to_message_id=12
        )
        assert replied is not None and replied.id == proposal.id
        assert await proposal_relay.open_conversation(session, proposal.resident_id) is None
        relayed = await proposal_relay.messages(session, proposal.id)
    assert [
        (
            m.direction.value,
            m.moderator_user_id,
            m.text,
            m.moderators_message_id,
            m.resident_message_id,
        )
        for m in relayed
    ] == [
        ("to_resident", MODERATOR, "Prie kurios bibliotekos?", 11, "555"),
        ("to_moderators", None, "Prie Vilkyškių bibliotekos.", 12, "556"),
    ]
    after = await stored(sessions, proposal.id)
    assert (after.status, after.status_changed_at) == (S.IN_REVIEW, T0 + timedelta(hours=1))
    log = await all_of(sessions, ProposalAudit, ProposalAudit.proposal_id == proposal.id)
    assert [(e.action, e.actor) for e in log] == [
        (ProposalAction.SUBMITTED, ActorKind.RESIDENT),
        (ProposalAction.DELIVERED, ActorKind.SYSTEM),
        (ProposalAction.STATUS_CHANGED, ActorKind.STAFF),
        (ProposalAction.MESSAGE_TO_RESIDENT, ActorKind.STAFF),
        (ProposalAction.MESSAGE_TO_MODERATORS, ActorKind.RESIDENT),
        (ProposalAction.STATUS_CHANGED, ActorKind.RESIDENT),
    ]


# --- digest, history, export ------------------------------------------------------------


async def test_digest_lists_proposals_waiting_longer_than_n_days(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality, staff: None
) -> None:
    async with sessions() as session, session.begin():
        await roles.bind_moderator_chat(session, ADMIN, pag, GROUP)
    old_new = await new_proposal(sessions, pag, now=T0)
    old_review = await new_proposal(sessions, pag, now=T0)
    await change(sessions, old_review.id, S.IN_REVIEW, now=T0 + timedelta(hours=1))
    old_forwarded = await new_proposal(sessions, pag, now=T0)
    await change(sessions, old_forwarded.id, S.FORWARDED, now=T0)
    recent = await new_proposal(sessions, pag, now=T0 + timedelta(days=3))
    vln = await municipality(sessions, "VLN")
    (elsewhere,) = await people(sessions, 1)
    other = (await submit(sessions, elsewhere, vln.id, now=T0)).proposal
    assert other is not None
    now = T0 + timedelta(days=3, hours=2)
    async with sessions() as session:
        groups = await proposal_relay.waiting_digest(session, now=now, older_than_days=3)
        none = await proposal_relay.waiting_digest(session, now=now, older_than_days=4)
    assert {g.municipality_id: (g.chat_id, [p.id for p in g.proposals]) for g in groups} == {
        pag.id: (GROUP, [old_new.id, old_review.id]),
        vln.id: (None, [other.id]),
    }
    assert [g.municipality_id for g in groups] == sorted(g.municipality_id for g in groups)
    assert none == []
    assert recent.id not in {p.id for g in groups for p in g.proposals}


async def test_my_proposals_with_history(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality, staff: None
) -> None:
    (resident,) = await people(sessions, 1)
    first = (await submit(sessions, resident, pag.id, now=T0)).proposal
    second = (await submit(sessions, resident, pag.id, now=T0 + timedelta(hours=1))).proposal
    assert first is not None and second is not None
    await tx(sessions, proposal_relay.mark_delivered, first.id, chat_id=GROUP, message_id=5)
    await change(
        sessions, first.id, S.REJECTED, reason="Jau suplanuota", now=T0 + timedelta(days=1)
    )
    async with sessions() as session:
        mine = await proposals.my_proposals(session, resident.id)
    assert [m.proposal.reference for m in mine] == [second.reference, first.reference]
    assert [(h.action, h.from_status, h.to_status, h.note, h.at) for h in mine[1].history] == [
        (ProposalAction.SUBMITTED, None, S.NEW, None, T0),
        (
            ProposalAction.STATUS_CHANGED,
            S.NEW,
            S.REJECTED,
            "Jau suplanuota",
            T0 + timedelta(days=1),
        ),
    ]  # delivery is not the resident's business
    assert [h.action for h in mine[0].history] == [ProposalAction.SUBMITTED]


async def test_export_rows_per_municipality_and_period(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality, staff: None
) -> None:
    (resident,) = await people(sessions, 1)
    first = (
        await submit(
            sessions,
            resident,
            pag.id,
            now=T0,
            photos=(PhotoRef("x"),),
            anonymous=False,
            display_name="Ona",
        )
    ).proposal
    second = (await submit(sessions, resident, pag.id, now=T0 + timedelta(days=10))).proposal
    vln = await municipality(sessions, "VLN")
    await submit(sessions, resident, vln.id, now=T0 + timedelta(hours=1))
    assert first is not None and second is not None
    await change(sessions, first.id, S.FORWARDED, now=T0 + timedelta(days=1))
    await change(sessions, first.id, S.IMPLEMENTED, now=T0 + timedelta(days=5))
    async with sessions() as session:
        rows = [
            row
            async for row in proposal_export.export_rows(
                session, municipality_id=pag.id, since=T0, until=T0 + timedelta(days=7), batch=1
            )
        ]
        everything = [row async for row in proposal_export.export_rows(session)]
    (row,) = rows
    assert (row.reference, row.municipality, row.category, row.place, row.status) == (
        first.reference,
        "PAG",
        "infrastructure",
        "Vilkyškių seniūnija",
        S.IMPLEMENTED,
    )
    assert (row.anonymous, row.photos, row.text, row.created_at) == (False, 1, TEXT, T0)
    assert row.reached == {
        S.NEW: T0,
        S.FORWARDED: T0 + timedelta(days=1),
        S.IMPLEMENTED: T0 + timedelta(days=5),
    }
    assert "Ona" not in repr(row) and str(GROUP) not in repr(row)
    assert [r.municipality for r in everything] == ["PAG", "VLN", "PAG"]


# --- the resident's data ----------------------------------------------------------------


async def test_data_export_and_erasure(
    sessions: async_sessionmaker[AsyncSession], pag: Municipality, staff: None
) -> None:
    (resident,) = await people(sessions, 1)
    kept = (
        await submit(
            sessions,
            resident,
            pag.id,
            photos=(PhotoRef("p1"),),
            anonymous=False,
            display_name="Ona",
            latitude=55.1,
            longitude=21.9,
        )
    ).proposal
    erased = (await submit(sessions, resident, pag.id, place_text="Prie mano namo")).proposal
    assert kept is not None and erased is not None
    for proposal, message_id in ((kept, 10), (erased, 20)):
        await tx(
            sessions,
            proposal_relay.mark_delivered,
            proposal.id,
            chat_id=GROUP,
            message_id=message_id,
        )
    await change(sessions, kept.id, S.FORWARDED)
    await change(sessions, erased.id, S.INFO_REQUESTED, reason="Koks Jūsų adresas?")
    async with sessions() as session, session.begin():
        loaded = await session.get(Proposal, erased.id)
        assert loaded is not None
        await proposal_relay.record_resident_reply(session, loaded, "Lauko g. 5, Ona")
    await tx(sessions, proposals.block_resident, resident.id, MODERATOR, "Bandymas")

    async with sessions() as session:
        fresh = await session.get(Resident, resident.id)
        assert fresh is not None
        data = await residents.export_data(session, fresh)
    assert [p["reference"] for p in data["proposals"]] == [erased.reference, kept.reference]
    assert data["proposals"][0]["messages"][0]["text"] == "Lauko g. 5, Ona"
    assert data["proposal_blocks"][0]["reason"] == "Bandymas"
    assert str(MODERATOR) not in repr(data["proposals"])

    async with sessions() as session, session.begin():
        fresh = await session.get(Resident, resident.id)
        assert fresh is not None
        cards = await residents.erase(session, fresh)
    assert sorted((c.reference, c.message_id, c.text_erased) for c in cards) == [
        (kept.reference, 10, False),
        (erased.reference, 20, True),
    ]
    after_kept, after_erased = await stored(sessions, kept.id), await stored(sessions, erased.id)
    # the link to the person, the name and photos go everywhere
    for p in (after_kept, after_erased):
        assert (p.resident_id, p.display_name, p.anonymous) == (None, None, True)
    assert await all_of(sessions, ProposalPhoto) == []
    assert await all_of(sessions, ProposalBlock) == []
    assert {m.text for m in await all_of(sessions, ProposalMessage)} == {ERASED_TEXT}
    # forwarded: the municipality's record keeps text and place
    assert (after_kept.text, after_kept.place_text, after_kept.latitude, after_kept.status) == (
        TEXT,
        "Vilkyškių seniūnija",
        55.1,
        S.FORWARDED,
    )
    assert not after_kept.text_erased
    # not forwarded: text, place and notes erased; status, dates and reference stay
    assert (after_erased.text, after_erased.place_text, after_erased.text_erased) == (
        ERASED_TEXT,
        None,
        True,
    )
    assert (after_erased.status, after_erased.reference) == (S.IN_REVIEW, erased.reference)
    notes = {
        e.note
        for e in await all_of(sessions, ProposalAudit, ProposalAudit.proposal_id == erased.id)
    }
    assert notes == {None, ERASED_TEXT}
    kept_notes = [
        e.action
        for e in await all_of(sessions, ProposalAudit, ProposalAudit.proposal_id == kept.id)
    ]
    assert kept_notes[-1] is ProposalAction.AUTHOR_ERASED
    assert await all_of(sessions, Resident, Resident.id == resident.id) == []
