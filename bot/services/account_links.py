"""One person, two apps: link a resident's Telegram and Messenger with a one-time code.

The code is shown in one app (:func:`issue_code`) and typed in the other (:func:`link`).
The profile that *showed* the code is kept — its consent, municipality, language and
message preferences — and the account that *typed* it joins it, with everything its own
profile held (:func:`link` says what moves and what gives way). The typing profile is then
deleted: one profile, one consent record, one /mydata, one /forget.

Codes: 8 letters without look-alikes (the alphabet of the events' check-in codes, which
Lithuanian keyboards type without switching), shown as ``ABCD-EFGH`` and read whatever
the case, spaces and dashes. 16⁸ ≈ 4.3 billion codes; a code lives :data:`CODE_TTL`, is used
once, and a new one replaces the resident's earlier ones.

Guessing: a profile that types :data:`MAX_WRONG_CODES` wrong codes within
:data:`WRONG_CODE_WINDOW` is refused (:attr:`LinkOutcome.THROTTLED`) until the oldest of
them is older than that. A wrong code identifies no code row (``LinkCode.attempts`` cannot
count it), and residents have no column for it, so the wrong attempts' times are kept in a
conversation-state record of their own (``fsm_records``, key ``link-guard:<resident id>``)
which no dialogue clears: cancelling a dialogue does not reset the count. It is deleted
when the profile links.

Nothing here knows aiogram or Messenger; everything runs in the caller's transaction.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.services.event_registrations import CHECKIN_ALPHABET
from bot.services.events import lock_event
from models import (
    Broadcast,
    Channel,
    FsmRecord,
    HeldNotice,
    LinkCode,
    OutboxMessage,
    OutboxStatus,
    PollAnswer,
    PollProgress,
    Proposal,
    ProposalBlock,
    Registration,
    RegistrationStatus,
    Resident,
    ResidentAccount,
    utcnow,
)

CODE_TTL = timedelta(minutes=15)
CODE_LENGTH = 8
# Letters only, without look-alikes (I, O, Q, B, D, G, S, Z) nor W and X: as check-in codes.
CODE_ALPHABET = CHECKIN_ALPHABET
MAX_WRONG_CODES = 5
WRONG_CODE_WINDOW = timedelta(minutes=15)
_ISSUE_ATTEMPTS = 8
_GUARD_PREFIX = "link-guard:"


class NotConsented(ValueError):
    """A code is only shown to a resident who has given consent (a profile to keep)."""


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(typed: str) -> str:
    """What the resident typed, as stored: capitals, without spaces and dashes."""
    return re.sub(r"[\s\-‐-―_.]", "", typed).upper()


def format_code(code: str) -> str:
    """``ABCDEFGH`` → ``ABCD-EFGH``: easier to read and to type."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def looks_like_code(typed: str) -> bool:
    """Whether the text can be a code at all (to tell a code from other text)."""
    code = normalize_code(typed)
    return len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code)


async def issue_code(
    session: AsyncSession, resident: Resident, channel: Channel, *, now: datetime | None = None
) -> str:
    """A new code shown to the resident in ``channel``; their earlier codes stop working.

    Raises :class:`NotConsented` for a resident who has not consented (there is no profile
    to keep yet). Expired codes of everyone are cleaned up on the way."""
    if not resident.has_consented:
        raise NotConsented
    now = now or utcnow()
    await session.execute(
        delete(LinkCode)
        .where(or_(LinkCode.resident_id == resident.id, LinkCode.expires_at <= now))
        .execution_options(synchronize_session=False)
    )
    for attempt in range(_ISSUE_ATTEMPTS):
        row = LinkCode(
            code=new_code(),
            resident_id=resident.id,
            channel=channel,
            expires_at=now + CODE_TTL,
            attempts=0,
            created_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(row)
                await session.flush()
        except IntegrityError:  # another live code is the same (rare): draw again
            if attempt == _ISSUE_ATTEMPTS - 1:
                raise
            if row in session:
                session.expunge(row)
            continue
        return row.code
    raise AssertionError("unreachable")


class LinkOutcome(enum.StrEnum):
    LINKED = "linked"
    UNKNOWN_CODE = "unknown_code"  # wrong or expired: the same answer, not saying which
    SAME_APP = "same_app"  # typed in the app that showed it
    ALREADY_LINKED = "already_linked"  # both accounts are on one profile already
    # A profile already has a different account in the app it would get: the kept one
    # in the typing app, or the typing one in the app that showed the code.
    OTHER_APP_TAKEN = "other_app_taken"
    THROTTLED = "throttled"  # too many wrong codes lately


@dataclass(frozen=True, slots=True)
class LinkResult:
    """``resident``: the profile the typing account belongs to after the call — the kept
    profile when linked (the typing one is deleted then), the typing one otherwise."""

    outcome: LinkOutcome
    resident: Resident

    @property
    def linked(self) -> bool:
        return self.outcome is LinkOutcome.LINKED


# --- guessing ---------------------------------------------------------------------------


def _guard_key(resident_id: int) -> str:
    return f"{_GUARD_PREFIX}{resident_id}"


async def forget_resident(session: AsyncSession, resident_id: int) -> None:
    """Erasure: the record of the resident's wrong codes goes too (link codes cascade)."""
    await session.execute(delete(FsmRecord).where(FsmRecord.key == _guard_key(resident_id)))


async def _recent_failures(
    session: AsyncSession, resident_id: int, now: datetime
) -> tuple[FsmRecord | None, list[str]]:
    record = await session.get(FsmRecord, _guard_key(resident_id))
    if record is None:
        return None, []
    since = now - WRONG_CODE_WINDOW
    stamps = [s for s in record.data.get("wrong", []) if datetime.fromisoformat(s) > since]
    return record, stamps


async def _note_failure(session: AsyncSession, resident_id: int, now: datetime) -> None:
    record, stamps = await _recent_failures(session, resident_id, now)
    stamps.append(now.isoformat())
    if record is None:
        try:
            async with session.begin_nested():
                session.add(
                    FsmRecord(key=_guard_key(resident_id), state=None, data={"wrong": stamps})
                )
            return
        except IntegrityError:  # the other app of the same profile wrote it a moment ago
            record, stamps = await _recent_failures(session, resident_id, now)
            assert record is not None
            stamps.append(now.isoformat())
    record.data = {"wrong": stamps}
    await session.flush()


async def wrong_codes_left(
    session: AsyncSession, resident: Resident, *, now: datetime | None = None
) -> int:
    """How many more wrong codes the profile may type now."""
    _, stamps = await _recent_failures(session, resident.id, now or utcnow())
    return max(0, MAX_WRONG_CODES - len(stamps))


# --- linking ---------------------------------------------------------------------------


async def link(
    session: AsyncSession,
    typing_resident: Resident,
    channel: Channel,
    external_id: str,
    code: str,
    *,
    now: datetime | None = None,
) -> LinkResult:
    """The account ``channel``/``external_id`` of ``typing_resident`` typed ``code``.

    When it is a live code shown in the other app by another profile, that profile (the
    *kept* one) takes in the typing profile and the typing profile is deleted:

    - accounts: the typing account moves to the kept profile and becomes its address
      (the person is writing there now); it counts as linked now (``created_at``);
    - the kept profile's consent, language, municipality and preferences stay; only what
      it lacks (municipality, age group, source, the end of onboarding) comes from the
      typing profile;
    - poll answers and progress move. A poll answered in both apps keeps the kept
      profile's answers and drops the other's, progress included — one person, one vote
      (the counts then count the person once). A poll only the typing profile answered
      (the kept one at most toggled a draft) keeps the typing profile's instead;
    - event registrations move. The same event registered in both keeps one
      registration: the one that attended, else the one holding the most (registered,
      then offered, then waitlisted, then none), the kept profile's on a tie; the other
      is deleted under the event's row lock. A place it held is free then and goes to the
      waitlist at the next offers' run (:func:`~bot.services.event_registrations.
      expire_offers`, which offers places freed without an offer, as after an erasure);
    - proposals (with their relayed messages) and proposal blocks move: a block follows
      the person;
    - held notices move: they are the person's;
    - outbox rows move, pending ones too: each was written for this person at an address
      that is still theirs (and is the address now), so the message still reaches them
      once. A broadcast both profiles had keeps one row — the one already sent or being
      sent, else the pending or held one, else the kept's — and the broadcast's total
      loses one, so its progress adds up;
    - link codes of both profiles are deleted (this one is used; the typing profile's
      would name a deleted profile).

    Both resident rows are locked (``SELECT … FOR UPDATE``, by id, after the code's row),
    so two links of the same profiles cannot tangle and a code links once. Everything is
    in the caller's transaction; the caller must use ``result.resident`` afterwards, as
    ``typing_resident`` is deleted when linked.

    Refusals change nothing (a wrong or expired code is counted, see the module's
    docstring): :class:`LinkOutcome`.
    """
    now = now or utcnow()
    _, failures = await _recent_failures(session, typing_resident.id, now)
    if len(failures) >= MAX_WRONG_CODES:
        return LinkResult(LinkOutcome.THROTTLED, typing_resident)
    normalized = normalize_code(code)
    row = None
    if looks_like_code(normalized):
        row = await session.scalar(
            select(LinkCode)
            .where(LinkCode.code == normalized)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    if row is None or row.expires_at <= now:
        if row is not None:
            await session.delete(row)
        await _note_failure(session, typing_resident.id, now)
        return LinkResult(LinkOutcome.UNKNOWN_CODE, typing_resident)
    if row.channel == channel:
        return LinkResult(LinkOutcome.SAME_APP, typing_resident)
    if row.resident_id == typing_resident.id:
        return LinkResult(LinkOutcome.ALREADY_LINKED, typing_resident)

    # Lock both rows by id (the same order everywhere), then read them afresh.
    locked = set(
        await session.scalars(
            select(Resident.id)
            .where(Resident.id.in_(sorted({row.resident_id, typing_resident.id})))
            .order_by(Resident.id)
            .with_for_update()
        )
    )
    if row.resident_id not in locked or typing_resident.id not in locked:
        # Erased meanwhile: the code went with the profile.
        return LinkResult(LinkOutcome.UNKNOWN_CODE, typing_resident)
    kept = await session.get(Resident, row.resident_id, populate_existing=True)
    typing = await session.get(Resident, typing_resident.id, populate_existing=True)
    assert kept is not None and typing is not None
    channels_of = {
        rid: {
            a.channel: a
            for a in await session.scalars(
                select(ResidentAccount).where(ResidentAccount.resident_id == rid)
            )
        }
        for rid in (kept.id, typing.id)
    }
    account = channels_of[typing.id].get(channel)
    if account is None or account.external_id != external_id:
        raise ValueError("the typing account is not the typing resident's")
    if channel in channels_of[kept.id] or row.channel in channels_of[typing.id]:
        return LinkResult(LinkOutcome.OTHER_APP_TAKEN, typing)

    await _merge_polls(session, kept.id, typing.id)
    await _merge_registrations(session, kept.id, typing.id)
    await _merge_outbox(session, kept.id, typing.id)
    for model in (Proposal, ProposalBlock, HeldNotice):
        await session.execute(
            update(model)
            .where(model.resident_id == typing.id)
            .values(resident_id=kept.id)
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        delete(LinkCode)
        .where(LinkCode.resident_id.in_([kept.id, typing.id]))
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(FsmRecord)
        .where(FsmRecord.key == _guard_key(typing.id))
        .execution_options(synchronize_session=False)
    )
    account.resident_id = kept.id
    account.created_at = now
    _fill_gaps(kept, typing)
    await session.flush()
    await session.delete(typing)
    await session.flush()
    # The person writes from the typing account: the bot answers there from now on.
    kept.channel = channel
    kept.external_id = external_id
    kept.unreachable_at = None
    await session.flush()
    return LinkResult(LinkOutcome.LINKED, kept)


def _fill_gaps(kept: Resident, typing: Resident) -> None:
    if kept.municipality_id is None and typing.municipality_id is not None:
        kept.municipality_id = typing.municipality_id
        kept.municipality = typing.municipality
    if kept.age_group is None:
        kept.age_group = typing.age_group
    if kept.source is None:
        kept.source = typing.source
    if kept.onboarded_at is None:
        kept.onboarded_at = typing.onboarded_at


async def _poll_ids(
    session: AsyncSession, model: type[PollAnswer | PollProgress], rid: int
) -> set[int]:
    return set(await session.scalars(select(model.poll_id).where(model.resident_id == rid)))


async def _merge_polls(session: AsyncSession, kept_id: int, typing_id: int) -> None:
    kept_answered = await _poll_ids(session, PollAnswer, kept_id)
    typing_answered = await _poll_ids(session, PollAnswer, typing_id)
    kept_polls = kept_answered | await _poll_ids(session, PollProgress, kept_id)
    typing_polls = typing_answered | await _poll_ids(session, PollProgress, typing_id)
    both = kept_polls & typing_polls
    # The kept profile's answers win, unless only the typing profile has answers.
    typing_wins = {p for p in both if p in typing_answered and p not in kept_answered}
    losers = [(kept_id, sorted(typing_wins)), (typing_id, sorted(both - typing_wins))]
    for model in (PollAnswer, PollProgress):
        for rid, poll_ids in losers:
            if poll_ids:
                await session.execute(
                    delete(model)
                    .where(model.resident_id == rid, model.poll_id.in_(poll_ids))
                    .execution_options(synchronize_session=False)
                )
        await session.execute(
            update(model)
            .where(model.resident_id == typing_id)
            .values(resident_id=kept_id)
            .execution_options(synchronize_session=False)
        )


_HOLDING = {
    RegistrationStatus.REGISTERED: 3,
    RegistrationStatus.OFFERED: 2,
    RegistrationStatus.WAITLISTED: 1,
}


def _weight(registration: Registration) -> tuple[bool, int]:
    return registration.attended_at is not None, _HOLDING.get(registration.status, 0)


async def _merge_registrations(session: AsyncSession, kept_id: int, typing_id: int) -> None:
    other = aliased(Registration)
    shared = list(
        await session.scalars(
            select(Registration.event_id)
            .join(other, other.event_id == Registration.event_id)
            .where(Registration.resident_id == kept_id, other.resident_id == typing_id)
            .order_by(Registration.event_id)
        )
    )
    for event_id in shared:
        await lock_event(session, event_id)  # counts stay right for whoever counts now
        pair = {
            r.resident_id: r
            for r in await session.scalars(
                select(Registration)
                .where(
                    Registration.event_id == event_id,
                    Registration.resident_id.in_([kept_id, typing_id]),
                )
                .execution_options(populate_existing=True)
            )
        }
        kept, typing = pair[kept_id], pair[typing_id]
        loser = kept if _weight(typing) > _weight(kept) else typing
        await session.delete(loser)
    await session.flush()
    await session.execute(
        update(Registration)
        .where(Registration.resident_id == typing_id)
        .values(resident_id=kept_id)
        .execution_options(synchronize_session=False)
    )


def _delivery_rank(status: OutboxStatus) -> int:
    if status in (OutboxStatus.SENT, OutboxStatus.SENDING):
        return 2
    if status in (OutboxStatus.PENDING, OutboxStatus.HELD):
        return 1
    return 0


async def _merge_outbox(session: AsyncSession, kept_id: int, typing_id: int) -> None:
    rows = await session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.broadcast_id,
            OutboxMessage.resident_id,
            OutboxMessage.status,
        )
        .where(OutboxMessage.resident_id.in_([kept_id, typing_id]))
        .order_by(OutboxMessage.broadcast_id)
    )
    by_broadcast: dict[int, dict[int, tuple[int, OutboxStatus]]] = {}
    for row_id, broadcast_id, resident_id, status in rows:
        by_broadcast.setdefault(broadcast_id, {})[resident_id] = (row_id, status)
    dropped: list[int] = []
    shared: list[int] = []
    for broadcast_id, pair in by_broadcast.items():
        if len(pair) < 2:
            continue
        (kept_row, kept_status), (typing_row, typing_status) = pair[kept_id], pair[typing_id]
        typing_wins = _delivery_rank(typing_status) > _delivery_rank(kept_status)
        dropped.append(kept_row if typing_wins else typing_row)
        shared.append(broadcast_id)
    if dropped:
        await session.execute(
            delete(OutboxMessage)
            .where(OutboxMessage.id.in_(dropped))
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id.in_(shared), Broadcast.total > 0)
            .values(total=Broadcast.total - 1)
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.resident_id == typing_id)
        .values(resident_id=kept_id)
        .execution_options(synchronize_session=False)
    )


def linked_channels(accounts: Sequence[ResidentAccount]) -> list[Channel]:
    """The apps of a resident's accounts, Telegram first."""
    return sorted({a.channel for a in accounts}, key=lambda c: c is not Channel.TELEGRAM)
