"""Proposals: submitting, the moderators' status changes and their authorization, blocking,
a resident's proposals with their history. The relay, cards and the digest are in
:mod:`bot.services.proposal_relay`; exports and erasure in :mod:`bot.services.proposal_export`.

No messages are sent here: results carry what the caller must show or tell.

**Status machine** (:data:`TRANSITIONS`). Nothing returns to *new*; *implemented* is final.

- new → in_review, info_requested, forwarded, accepted, rejected
- in_review → info_requested, forwarded, accepted, rejected
- info_requested → in_review, forwarded, accepted, rejected (the resident's reply moves it
  back to in_review by itself:
  :func:`bot.services.proposal_relay.record_resident_reply`)
- forwarded → info_requested, accepted, rejected, implemented (the municipality decides)
- accepted → implemented
- rejected → in_review (reopening a mistaken rejection; recorded like any step)

Rejecting needs a non-empty reason (it is sent to the resident). Asking for the status
the proposal already has is ALREADY and changes nothing (a double tap, or two moderators
at once: the row is locked, the second sees the first's result). A handler passes the
status its button was drawn for as ``expected``: when the proposal moved on meanwhile,
the press is STALE and changes nothing.

**Daily limit**: at most ``daily_limit`` proposals per resident per calendar day in
Lithuanian time (Europe/Vilnius, what "try again tomorrow" means to the resident); the
resident row is locked while counting, so two submissions at once cannot both pass.

**Anonymity**: moderators see ``display_name`` only when the resident chose to show it,
otherwise "Gyventojas #<pseudonym>". The pseudonym is random per proposal, not derived from
the resident (nor from the research secret): a stable one would let moderators link an
anonymous proposal to the same resident's named one. Blocking works from the proposal
(:func:`block_author`), so moderators never need to know who it is.
"""

from __future__ import annotations

import enum
import math
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import dialect_of, insert_function
from bot.services.roles import is_admin, is_moderator
from models import (
    ActorKind,
    ModeratorChat,
    Municipality,
    Proposal,
    ProposalAction,
    ProposalAudit,
    ProposalBlock,
    ProposalCounter,
    ProposalPhoto,
    ProposalStatus,
    Resident,
    utcnow,
)
from models.proposals import (
    DEFAULT_CATEGORIES,
    DISPLAY_NAME_MAX_LENGTH,
    MAX_PHOTOS,
    PLACE_MAX_LENGTH,
    REASON_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    TEXT_MIN_LENGTH,
)

VILNIUS = ZoneInfo("Europe/Vilnius")
DEFAULT_DAILY_LIMIT = 3
DEFAULT_DIGEST_DAYS = 3
PSEUDONYM_ALPHABET = "ACEFHJKLMNPRTUVY3479"
PSEUDONYM_LENGTH = 6

S = ProposalStatus
TRANSITIONS: dict[ProposalStatus, frozenset[ProposalStatus]] = {
    S.NEW: frozenset({S.IN_REVIEW, S.INFO_REQUESTED, S.FORWARDED, S.ACCEPTED, S.REJECTED}),
    S.IN_REVIEW: frozenset({S.INFO_REQUESTED, S.FORWARDED, S.ACCEPTED, S.REJECTED}),
    S.INFO_REQUESTED: frozenset({S.IN_REVIEW, S.FORWARDED, S.ACCEPTED, S.REJECTED}),
    S.FORWARDED: frozenset({S.INFO_REQUESTED, S.ACCEPTED, S.REJECTED, S.IMPLEMENTED}),
    S.ACCEPTED: frozenset({S.IMPLEMENTED}),
    S.REJECTED: frozenset({S.IN_REVIEW}),
    S.IMPLEMENTED: frozenset(),
}
# The municipality has the proposal or decided on it: its text is part of its record
# (kept at erasure, see :func:`bot.services.proposal_export.forget_resident`).
FORWARDED_STATUSES = frozenset({S.FORWARDED, S.ACCEPTED, S.IMPLEMENTED})


def allowed_moves(status: ProposalStatus) -> frozenset[ProposalStatus]:
    """Where a proposal in ``status`` may go: the buttons a card shows."""
    return TRANSITIONS[status]


def _optional_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


# --- submitting -------------------------------------------------------------------------


class ProposalProblem(enum.StrEnum):
    TEXT_TOO_SHORT = "text_too_short"  # ``limit``: the minimum
    TEXT_TOO_LONG = "text_too_long"  # ``limit``: the maximum
    TOO_MANY_PHOTOS = "too_many_photos"
    BAD_PHOTO = "bad_photo"  # an empty reference
    UNKNOWN_CATEGORY = "unknown_category"
    UNKNOWN_MUNICIPALITY = "unknown_municipality"  # no such id, or not active
    PLACE_TOO_LONG = "place_too_long"
    BAD_POINT = "bad_point"  # only one coordinate, or out of range


class ProposalError(Exception):
    """Why a submission is not valid; ``limit`` is the bound that was broken."""

    def __init__(self, problem: ProposalProblem, *, limit: int | None = None) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.limit = limit

    def __repr__(self) -> str:
        return f"ProposalError({self.problem.value}, limit={self.limit})"


@dataclass(frozen=True, slots=True)
class PhotoRef:
    file_id: str  # Telegram file_id, or the channel's attachment reference
    file_unique_id: str | None = None


@dataclass(frozen=True, slots=True)
class ProposalSpec:
    """What the resident decided. ``display_name``: the name moderators may see, kept only
    when ``anonymous`` is False."""

    municipality_id: int
    category: str
    text: str
    place_text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    photos: tuple[PhotoRef, ...] = ()
    anonymous: bool = True
    display_name: str | None = None

    @classmethod
    def from_draft(cls, draft: dict[str, Any]) -> ProposalSpec:
        """The spec of a draft kept in the conversation state (the same shape on every app:
        ``photos`` as ``[reference, unique id]`` pairs, no ``display_name``: anonymous)."""
        return cls(
            municipality_id=int(draft["municipality_id"]),
            category=str(draft["category"]),
            text=str(draft["text"]),
            place_text=draft.get("place_text"),
            latitude=draft.get("latitude"),
            longitude=draft.get("longitude"),
            photos=tuple(PhotoRef(ref, unique) for ref, unique in draft.get("photos") or []),
            anonymous=draft.get("display_name") is None,
            display_name=draft.get("display_name"),
        )


def validate(
    spec: ProposalSpec, *, categories: Collection[str] = DEFAULT_CATEGORIES
) -> ProposalSpec:
    """Check a submission without the database (a handler may check each step); returns it
    cleaned (texts stripped). Raises :class:`ProposalError`."""
    if spec.category not in categories:
        raise ProposalError(ProposalProblem.UNKNOWN_CATEGORY)
    text = spec.text.strip()
    if len(text) < TEXT_MIN_LENGTH:
        raise ProposalError(ProposalProblem.TEXT_TOO_SHORT, limit=TEXT_MIN_LENGTH)
    if len(text) > TEXT_MAX_LENGTH:
        raise ProposalError(ProposalProblem.TEXT_TOO_LONG, limit=TEXT_MAX_LENGTH)
    place = _optional_text(spec.place_text)
    if place is not None and len(place) > PLACE_MAX_LENGTH:
        raise ProposalError(ProposalProblem.PLACE_TOO_LONG, limit=PLACE_MAX_LENGTH)
    if (spec.latitude is None) != (spec.longitude is None) or (
        spec.latitude is not None
        and spec.longitude is not None
        and not (
            math.isfinite(spec.latitude)
            and math.isfinite(spec.longitude)
            and -90 <= spec.latitude <= 90
            and -180 <= spec.longitude <= 180
        )
    ):
        raise ProposalError(ProposalProblem.BAD_POINT)
    if len(spec.photos) > MAX_PHOTOS:
        raise ProposalError(ProposalProblem.TOO_MANY_PHOTOS, limit=MAX_PHOTOS)
    if any(not photo.file_id.strip() for photo in spec.photos):
        raise ProposalError(ProposalProblem.BAD_PHOTO)
    name = _optional_text(spec.display_name)
    return ProposalSpec(
        municipality_id=spec.municipality_id,
        category=spec.category,
        text=text,
        place_text=place,
        latitude=spec.latitude,
        longitude=spec.longitude,
        photos=tuple(spec.photos),
        anonymous=spec.anonymous or name is None,
        display_name=None if spec.anonymous or name is None else name[:DISPLAY_NAME_MAX_LENGTH],
    )


class SubmitRefusal(enum.StrEnum):
    NOT_ONBOARDED = "not_onboarded"
    BLOCKED = "blocked"  # ``block_reason`` says why
    DAILY_LIMIT = "daily_limit"  # ``limit`` proposals today already


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """``proposal`` (flushed, with its reference) when submitted; else ``refusal``.
    ``chat_id``: the municipality's moderators' chat (None: nobody to deliver to yet,
    tell the admins)."""

    proposal: Proposal | None = None
    refusal: SubmitRefusal | None = None
    block_reason: str | None = None
    limit: int | None = None
    chat_id: int | None = None


def day_start(now: datetime, tz: ZoneInfo = VILNIUS) -> datetime:
    """Midnight of ``now``'s day in Lithuanian time, as a UTC-comparable moment."""
    local = now.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


async def submitted_today(
    session: AsyncSession, resident_id: int, now: datetime, tz: ZoneInfo = VILNIUS
) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Proposal)
            .where(Proposal.resident_id == resident_id, Proposal.created_at >= day_start(now, tz))
        )
        or 0
    )


async def _allocate_reference(session: AsyncSession, municipality: Municipality, year: int) -> str:
    """The next number of the municipality in the year: one atomic upsert (concurrent
    submissions wait for each other's row lock on PostgreSQL; SQLite has one writer)."""
    insert = insert_function(dialect_of(session))
    statement = (
        insert(ProposalCounter)
        .values(municipality_id=municipality.id, year=year, last_number=1)
        .on_conflict_do_update(
            index_elements=["municipality_id", "year"],
            set_={"last_number": ProposalCounter.last_number + 1},
        )
        .returning(ProposalCounter.last_number)
    )
    number = int((await session.execute(statement)).scalar_one())
    return f"{municipality.code}-{year}-{number:04d}"


def new_pseudonym() -> str:
    return "".join(secrets.choice(PSEUDONYM_ALPHABET) for _ in range(PSEUDONYM_LENGTH))


def record_audit(
    session: AsyncSession,
    proposal: Proposal,
    action: ProposalAction,
    now: datetime,
    *,
    actor: ActorKind,
    actor_user_id: int | None = None,
    from_status: ProposalStatus | None = None,
    to_status: ProposalStatus | None = None,
    note: str | None = None,
) -> ProposalAudit:
    entry = ProposalAudit(
        proposal_id=proposal.id,
        at=now,
        actor=actor,
        actor_user_id=actor_user_id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
    )
    session.add(entry)
    return entry


async def active_block(session: AsyncSession, resident_id: int) -> ProposalBlock | None:
    return await session.scalar(
        select(ProposalBlock)
        .where(ProposalBlock.resident_id == resident_id, ProposalBlock.lifted_at.is_(None))
        .order_by(ProposalBlock.blocked_at.desc(), ProposalBlock.id.desc())
        .limit(1)
    )


async def moderators_chat(session: AsyncSession, municipality_id: int) -> ModeratorChat | None:
    return await session.get(ModeratorChat, municipality_id)


async def submit(
    session: AsyncSession,
    resident: Resident,
    spec: ProposalSpec,
    *,
    now: datetime | None = None,
    daily_limit: int = DEFAULT_DAILY_LIMIT,
    categories: Collection[str] = DEFAULT_CATEGORIES,
    tz: ZoneInfo = VILNIUS,
) -> SubmitResult:
    """Submit a proposal: status *new*, its reference allocated, "submitted" in the audit
    log. Raises :class:`ProposalError` for an invalid spec (nothing written); a refusal
    (blocked, over the daily limit) writes nothing either."""
    now = now or utcnow()
    spec = validate(spec, categories=categories)
    municipality = await session.scalar(
        select(Municipality).where(
            Municipality.id == spec.municipality_id, Municipality.is_active.is_(True)
        )
    )
    if municipality is None:
        raise ProposalError(ProposalProblem.UNKNOWN_MUNICIPALITY)
    if resident.onboarded_at is None:
        return SubmitResult(refusal=SubmitRefusal.NOT_ONBOARDED)
    # Lock the resident: two submissions at once are counted one after the other.
    await session.execute(select(Resident.id).where(Resident.id == resident.id).with_for_update())
    block = await active_block(session, resident.id)
    if block is not None:
        return SubmitResult(refusal=SubmitRefusal.BLOCKED, block_reason=block.reason)
    if await submitted_today(session, resident.id, now, tz) >= daily_limit:
        return SubmitResult(refusal=SubmitRefusal.DAILY_LIMIT, limit=daily_limit)
    reference = await _allocate_reference(session, municipality, now.astimezone(tz).year)
    proposal = Proposal(
        reference=reference,
        resident_id=resident.id,
        channel=resident.channel,
        municipality_id=municipality.id,
        category=spec.category,
        place_text=spec.place_text,
        latitude=spec.latitude,
        longitude=spec.longitude,
        text=spec.text,
        anonymous=spec.anonymous,
        display_name=spec.display_name,
        pseudonym=new_pseudonym(),
        status=ProposalStatus.NEW,
        text_erased=False,
        created_at=now,
        updated_at=now,
        status_changed_at=now,
        photos=[
            ProposalPhoto(
                position=number, file_id=photo.file_id.strip(), file_unique_id=photo.file_unique_id
            )
            for number, photo in enumerate(spec.photos, start=1)
        ],
    )
    session.add(proposal)
    await session.flush()
    record_audit(
        session,
        proposal,
        ProposalAction.SUBMITTED,
        now,
        actor=ActorKind.RESIDENT,
        to_status=ProposalStatus.NEW,
    )
    await session.flush()
    chat = await moderators_chat(session, municipality.id)
    return SubmitResult(proposal=proposal, chat_id=chat.chat_id if chat else None)


def author_label(proposal: Proposal) -> str:
    """What moderators see as the author: the name the resident shared, or the pseudonym."""
    if not proposal.anonymous and proposal.display_name:
        return proposal.display_name
    return f"Gyventojas #{proposal.pseudonym}"


# --- moderating -------------------------------------------------------------------------


async def get_proposal(session: AsyncSession, proposal_id: int) -> Proposal | None:
    return await session.get(Proposal, proposal_id)


async def find_by_reference(session: AsyncSession, reference: str) -> Proposal | None:
    return await session.scalar(
        select(Proposal).where(Proposal.reference == reference.strip().upper())
    )


async def lock_proposal(session: AsyncSession, proposal_id: int) -> Proposal | None:
    """The proposal, its row locked until the transaction ends, read afresh."""
    return await session.scalar(
        select(Proposal)
        .where(Proposal.id == proposal_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def may_moderate(
    session: AsyncSession, user_id: int, proposal: Proposal, admin_ids: Collection[int]
) -> bool:
    """Moderators of the proposal's municipality and admins; nobody else."""
    return is_admin(admin_ids, user_id) or await is_moderator(
        session, user_id, proposal.municipality_id
    )


class ChangeOutcome(enum.StrEnum):
    CHANGED = "changed"
    ALREADY = "already"  # it had that status: nothing changed (a double tap)
    REFUSED = "refused"  # nothing changed; see ``refusal``


class ChangeRefusal(enum.StrEnum):
    NOT_FOUND = "not_found"  # no such proposal (forged or stale id)
    NOT_AUTHORIZED = "not_authorized"  # not a moderator of its municipality nor an admin
    NOT_ALLOWED = "not_allowed"  # not a move of the status machine
    STALE = "stale"  # the status moved on since the button was drawn
    REASON_REQUIRED = "reason_required"  # rejecting without a reason


@dataclass(frozen=True, slots=True)
class StatusChange:
    """``from_status``/``to_status`` of a CHANGED proposal (tell the resident, edit the
    card); for ALREADY and refusals ``from_status`` is the status it has now."""

    outcome: ChangeOutcome
    refusal: ChangeRefusal | None = None
    proposal: Proposal | None = None
    from_status: ProposalStatus | None = None
    to_status: ProposalStatus | None = None
    audit: ProposalAudit | None = None


def apply_status(
    session: AsyncSession,
    proposal: Proposal,
    to: ProposalStatus,
    now: datetime,
    *,
    actor: ActorKind,
    actor_user_id: int | None,
    note: str | None,
) -> StatusChange:
    previous = proposal.status
    proposal.status = to
    proposal.status_changed_at = now
    proposal.updated_at = now
    if to is ProposalStatus.REJECTED:
        proposal.rejection_reason = note
    elif previous is ProposalStatus.REJECTED:
        proposal.rejection_reason = None
    entry = record_audit(
        session,
        proposal,
        ProposalAction.STATUS_CHANGED,
        now,
        actor=actor,
        actor_user_id=actor_user_id,
        from_status=previous,
        to_status=to,
        note=note,
    )
    return StatusChange(ChangeOutcome.CHANGED, None, proposal, previous, to, entry)


async def change_status(
    session: AsyncSession,
    proposal_id: int,
    actor_user_id: int,
    to: ProposalStatus,
    *,
    admin_ids: Collection[int],
    reason: str | None = None,
    expected: ProposalStatus | None = None,
    now: datetime | None = None,
) -> StatusChange:
    """A moderator's (or admin's) step. ``reason``: required for *rejected* (sent to the
    resident), optional otherwise (for *info_requested*: the question). ``expected``: the
    status the pressed button was drawn for."""
    now = now or utcnow()
    to = ProposalStatus(to)
    proposal = await lock_proposal(session, proposal_id)
    if proposal is None:
        return StatusChange(ChangeOutcome.REFUSED, ChangeRefusal.NOT_FOUND)
    current = proposal.status

    def refused(refusal: ChangeRefusal) -> StatusChange:
        return StatusChange(ChangeOutcome.REFUSED, refusal, proposal, current, current)

    if not await may_moderate(session, actor_user_id, proposal, admin_ids):
        return refused(ChangeRefusal.NOT_AUTHORIZED)
    if current is to:
        return StatusChange(ChangeOutcome.ALREADY, None, proposal, current, current)
    if expected is not None and current is not expected:
        return refused(ChangeRefusal.STALE)
    if to not in TRANSITIONS[current]:
        return refused(ChangeRefusal.NOT_ALLOWED)
    note = _optional_text(reason)
    if note is not None:
        note = note[:REASON_MAX_LENGTH]
    if to is ProposalStatus.REJECTED and note is None:
        return refused(ChangeRefusal.REASON_REQUIRED)
    change = apply_status(
        session, proposal, to, now, actor=ActorKind.STAFF, actor_user_id=actor_user_id, note=note
    )
    await session.flush()
    return change


# --- the resident's view ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """A step the resident may see (no moderator ids)."""

    at: datetime
    action: ProposalAction
    from_status: ProposalStatus | None
    to_status: ProposalStatus | None
    note: str | None  # the rejection reason or the moderators' question


@dataclass(frozen=True, slots=True)
class ProposalWithHistory:
    proposal: Proposal
    history: tuple[HistoryItem, ...]


_RESIDENT_VISIBLE = (
    ProposalAction.SUBMITTED,
    ProposalAction.STATUS_CHANGED,
    ProposalAction.MESSAGE_TO_RESIDENT,
    ProposalAction.MESSAGE_TO_MODERATORS,
)


async def my_proposals(
    session: AsyncSession, resident_id: int, *, limit: int | None = None
) -> list[ProposalWithHistory]:
    """The resident's proposals, newest first, each with its history oldest first."""
    query = (
        select(Proposal)
        .where(Proposal.resident_id == resident_id)
        .order_by(Proposal.created_at.desc(), Proposal.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    proposals = list(await session.scalars(query))
    if not proposals:
        return []
    entries = await session.scalars(
        select(ProposalAudit)
        .where(
            ProposalAudit.proposal_id.in_([p.id for p in proposals]),
            ProposalAudit.action.in_(_RESIDENT_VISIBLE),
        )
        .order_by(ProposalAudit.at, ProposalAudit.id)
    )
    by_proposal: dict[int, list[HistoryItem]] = {p.id: [] for p in proposals}
    for entry in entries:
        by_proposal[entry.proposal_id].append(
            HistoryItem(entry.at, entry.action, entry.from_status, entry.to_status, entry.note)
        )
    return [ProposalWithHistory(p, tuple(by_proposal[p.id])) for p in proposals]


async def audit_log(session: AsyncSession, proposal_id: int) -> list[ProposalAudit]:
    """Every step of a proposal, oldest first (for the card's "who did what")."""
    return list(
        await session.scalars(
            select(ProposalAudit)
            .where(ProposalAudit.proposal_id == proposal_id)
            .order_by(ProposalAudit.at, ProposalAudit.id)
        )
    )


# --- blocking ---------------------------------------------------------------------------


class BlockOutcome(enum.StrEnum):
    BLOCKED = "blocked"
    UNBLOCKED = "unblocked"
    ALREADY = "already"  # blocked (or not blocked) already: nothing changed
    REFUSED = "refused"  # see ``refusal``


class BlockRefusal(enum.StrEnum):
    NOT_FOUND = "not_found"  # no such proposal, or its author erased their data
    NOT_AUTHORIZED = "not_authorized"
    REASON_REQUIRED = "reason_required"


@dataclass(frozen=True, slots=True)
class BlockResult:
    outcome: BlockOutcome
    refusal: BlockRefusal | None = None
    block: ProposalBlock | None = None
    resident_id: int | None = None  # whom to tell, if the caller tells


async def block_resident(
    session: AsyncSession,
    resident_id: int,
    by: int,
    reason: str,
    *,
    proposal_id: int | None = None,
    now: datetime | None = None,
) -> BlockResult:
    """Block a resident from submitting proposals (everywhere) until unblocked."""
    now = now or utcnow()
    note = _optional_text(reason)
    if note is None:
        return BlockResult(BlockOutcome.REFUSED, BlockRefusal.REASON_REQUIRED)
    locked = await session.scalar(
        select(Resident.id).where(Resident.id == resident_id).with_for_update()
    )
    if locked is None:
        return BlockResult(BlockOutcome.REFUSED, BlockRefusal.NOT_FOUND)
    existing = await active_block(session, resident_id)
    if existing is not None:
        return BlockResult(BlockOutcome.ALREADY, block=existing, resident_id=resident_id)
    block = ProposalBlock(
        resident_id=resident_id,
        reason=note[:REASON_MAX_LENGTH],
        blocked_by=by,
        blocked_at=now,
        proposal_id=proposal_id,
    )
    session.add(block)
    await session.flush()
    return BlockResult(BlockOutcome.BLOCKED, block=block, resident_id=resident_id)


async def unblock_resident(
    session: AsyncSession, resident_id: int, by: int, *, now: datetime | None = None
) -> BlockResult:
    """Lift the resident's block; the block stays recorded with who lifted it and when."""
    now = now or utcnow()
    await session.execute(select(Resident.id).where(Resident.id == resident_id).with_for_update())
    block = await active_block(session, resident_id)
    if block is None:
        return BlockResult(BlockOutcome.ALREADY, resident_id=resident_id)
    block.lifted_at = now
    block.lifted_by = by
    await session.flush()
    return BlockResult(BlockOutcome.UNBLOCKED, block=block, resident_id=resident_id)


async def _author_of(
    session: AsyncSession, proposal_id: int, by: int, admin_ids: Collection[int]
) -> tuple[int | None, BlockRefusal | None]:
    proposal = await get_proposal(session, proposal_id)
    if proposal is None:
        return None, BlockRefusal.NOT_FOUND
    if not await may_moderate(session, by, proposal, admin_ids):
        return None, BlockRefusal.NOT_AUTHORIZED
    if proposal.resident_id is None:
        return None, BlockRefusal.NOT_FOUND
    return proposal.resident_id, None


async def block_author(
    session: AsyncSession,
    proposal_id: int,
    by: int,
    reason: str,
    *,
    admin_ids: Collection[int],
    now: datetime | None = None,
) -> BlockResult:
    """A moderator of the proposal's municipality (or an admin) blocks its author."""
    resident_id, refusal = await _author_of(session, proposal_id, by, admin_ids)
    if resident_id is None:
        return BlockResult(BlockOutcome.REFUSED, refusal)
    return await block_resident(session, resident_id, by, reason, proposal_id=proposal_id, now=now)


async def unblock_author(
    session: AsyncSession,
    proposal_id: int,
    by: int,
    *,
    admin_ids: Collection[int],
    now: datetime | None = None,
) -> BlockResult:
    resident_id, refusal = await _author_of(session, proposal_id, by, admin_ids)
    if resident_id is None:
        return BlockResult(BlockOutcome.REFUSED, refusal)
    return await unblock_resident(session, resident_id, by, now=now)


async def blocks_of(session: AsyncSession, resident_id: int) -> list[ProposalBlock]:
    """Every block of the resident, lifted ones too, oldest first."""
    return list(
        await session.scalars(
            select(ProposalBlock)
            .where(ProposalBlock.resident_id == resident_id)
            .order_by(ProposalBlock.blocked_at, ProposalBlock.id)
        )
    )
