"""Proposals between the moderators' chat and the resident: relayed messages (and how a
reply finds its proposal), delivering cards to the moderators' chat, the waiting digest.

Nothing is sent here. A relayed message is recorded first; once the copy is sent, the
caller stores where it landed (:func:`set_relay_message_ids`) so replies to it can be
matched: in the moderators' chat by message id (the card, a moderator's message, the bot's
copy of the resident's answer) or by forum topic; in the resident's chat by the message
replied to, else the resident's latest proposal waiting for information.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.proposals import (
    DEFAULT_DIGEST_DAYS,
    ChangeOutcome,
    StatusChange,
    apply_status,
    change_status,
    lock_proposal,
    may_moderate,
    record_audit,
)
from models import (
    ActorKind,
    MessageDirection,
    ModeratorChat,
    Proposal,
    ProposalAction,
    ProposalMessage,
    ProposalStatus,
    utcnow,
)
from models.proposals import MESSAGE_MAX_LENGTH, WAITING_STATUSES

# --- the relay between moderators and the resident --------------------------------------


@dataclass(frozen=True, slots=True)
class RelayedMessage:
    """A recorded relay message. ``status_change``: the resident's answer moved the
    proposal from *info_requested* back to *in_review* (edit the card)."""

    message: ProposalMessage
    proposal: Proposal
    status_change: StatusChange | None = None


async def record_moderator_message(
    session: AsyncSession,
    proposal: Proposal,
    moderator_user_id: int,
    text: str,
    *,
    admin_ids: Collection[int],
    moderators_chat_id: int | None = None,
    moderators_message_id: int | None = None,
    now: datetime | None = None,
) -> RelayedMessage | None:
    """A moderator's message to the resident; None (nothing recorded, relay nothing) when
    the writer is not a moderator of the proposal's municipality nor an admin (e.g. a
    resident in the group), or the author erased their data. ``moderators_message_id``:
    the message the moderator wrote; set ``resident_message_id`` with
    :func:`set_relay_message_ids` once the copy reached the resident."""
    now = now or utcnow()
    if proposal.resident_id is None or not await may_moderate(
        session, moderator_user_id, proposal, admin_ids
    ):
        return None
    message = ProposalMessage(
        proposal_id=proposal.id,
        direction=MessageDirection.TO_RESIDENT,
        moderator_user_id=moderator_user_id,
        text=text.strip()[:MESSAGE_MAX_LENGTH],
        moderators_chat_id=moderators_chat_id,
        moderators_message_id=moderators_message_id,
        at=now,
    )
    session.add(message)
    record_audit(
        session,
        proposal,
        ProposalAction.MESSAGE_TO_RESIDENT,
        now,
        actor=ActorKind.STAFF,
        actor_user_id=moderator_user_id,
    )
    proposal.updated_at = now
    await session.flush()
    return RelayedMessage(message, proposal)


@dataclass(frozen=True, slots=True)
class InformationRequest:
    """``change``: the status step (CHANGED, ALREADY when it was waiting already, or the
    refusal); ``relayed``: the question recorded for the resident (None when refused)."""

    change: StatusChange
    relayed: RelayedMessage | None = None


async def request_information(
    session: AsyncSession,
    proposal_id: int,
    moderator_user_id: int,
    question: str,
    *,
    admin_ids: Collection[int],
    moderators_chat_id: int | None = None,
    moderators_message_id: int | None = None,
    now: datetime | None = None,
) -> InformationRequest:
    """ "Paprašyti informacijos" with the moderator's question: the proposal goes to
    *info_requested* (the question is the step's note) and the question is recorded for
    the resident. A second question while it waits already is relayed as well."""
    now = now or utcnow()
    change = await change_status(
        session,
        proposal_id,
        moderator_user_id,
        ProposalStatus.INFO_REQUESTED,
        admin_ids=admin_ids,
        reason=question,
        now=now,
    )
    if change.outcome is ChangeOutcome.REFUSED or change.proposal is None:
        return InformationRequest(change)
    relayed = await record_moderator_message(
        session,
        change.proposal,
        moderator_user_id,
        question,
        admin_ids=admin_ids,
        moderators_chat_id=moderators_chat_id,
        moderators_message_id=moderators_message_id,
        now=now,
    )
    return InformationRequest(change, relayed)


async def record_resident_reply(
    session: AsyncSession,
    proposal: Proposal,
    text: str,
    *,
    resident_message_id: str | None = None,
    now: datetime | None = None,
) -> RelayedMessage:
    """The resident's answer for the moderators; a proposal waiting for information goes
    back to *in_review*. Set ``moderators_message_id`` with :func:`set_relay_message_ids`
    once the bot's copy is in the moderators' chat."""
    now = now or utcnow()
    locked = await lock_proposal(session, proposal.id)
    assert locked is not None
    message = ProposalMessage(
        proposal_id=locked.id,
        direction=MessageDirection.TO_MODERATORS,
        text=text.strip()[:MESSAGE_MAX_LENGTH],
        resident_message_id=resident_message_id,
        moderators_chat_id=locked.card_chat_id,
        at=now,
    )
    session.add(message)
    record_audit(
        session, locked, ProposalAction.MESSAGE_TO_MODERATORS, now, actor=ActorKind.RESIDENT
    )
    change = None
    if locked.status is ProposalStatus.INFO_REQUESTED:
        change = apply_status(
            session,
            locked,
            ProposalStatus.IN_REVIEW,
            now,
            actor=ActorKind.RESIDENT,
            actor_user_id=None,
            note=None,
        )
    locked.updated_at = now
    await session.flush()
    return RelayedMessage(message, locked, change)


async def set_relay_message_ids(
    session: AsyncSession,
    message_id: int,
    *,
    moderators_chat_id: int | None = None,
    moderators_message_id: int | None = None,
    resident_message_id: str | None = None,
) -> None:
    """Where a relayed message landed, once it was sent (None leaves a value as it is)."""
    values: dict[str, object] = {}
    if moderators_chat_id is not None:
        values["moderators_chat_id"] = moderators_chat_id
    if moderators_message_id is not None:
        values["moderators_message_id"] = moderators_message_id
    if resident_message_id is not None:
        values["resident_message_id"] = resident_message_id
    if values:
        await session.execute(
            update(ProposalMessage).where(ProposalMessage.id == message_id).values(**values)
        )


async def find_for_moderators_message(
    session: AsyncSession,
    chat_id: int,
    *,
    reply_to_message_id: int | None = None,
    thread_id: int | None = None,
) -> Proposal | None:
    """The proposal a message in a moderators' chat is about: it replies to the card or to
    a relayed message, or it was written in the proposal's forum topic."""
    if reply_to_message_id is not None:
        found = await session.scalar(
            select(Proposal).where(
                Proposal.card_chat_id == chat_id, Proposal.card_message_id == reply_to_message_id
            )
        )
        if found is not None:
            return found
        found = await session.scalar(
            select(Proposal)
            .join(ProposalMessage, ProposalMessage.proposal_id == Proposal.id)
            .where(
                ProposalMessage.moderators_chat_id == chat_id,
                ProposalMessage.moderators_message_id == reply_to_message_id,
            )
            .limit(1)
        )
        if found is not None:
            return found
    if thread_id is not None:
        return await session.scalar(
            select(Proposal).where(
                Proposal.card_chat_id == chat_id, Proposal.topic_thread_id == thread_id
            )
        )
    return None


async def open_conversation(
    session: AsyncSession, resident_id: int, *, reply_to_message_id: str | None = None
) -> Proposal | None:
    """The proposal a resident's private message answers: the one whose relayed message it
    replies to, else the latest proposal waiting for the resident's information."""
    if reply_to_message_id is not None:
        found = await session.scalar(
            select(Proposal)
            .join(ProposalMessage, ProposalMessage.proposal_id == Proposal.id)
            .where(
                Proposal.resident_id == resident_id,
                ProposalMessage.resident_message_id == reply_to_message_id,
            )
            .limit(1)
        )
        if found is not None:
            return found
    return await session.scalar(
        select(Proposal)
        .where(
            Proposal.resident_id == resident_id,
            Proposal.status == ProposalStatus.INFO_REQUESTED,
        )
        .order_by(Proposal.status_changed_at.desc(), Proposal.id.desc())
        .limit(1)
    )


async def messages(session: AsyncSession, proposal_id: int) -> list[ProposalMessage]:
    return list(
        await session.scalars(
            select(ProposalMessage)
            .where(ProposalMessage.proposal_id == proposal_id)
            .order_by(ProposalMessage.at, ProposalMessage.id)
        )
    )


# --- delivering cards and the digest ----------------------------------------------------


async def undelivered(session: AsyncSession, municipality_id: int) -> list[Proposal]:
    """Proposals of the municipality whose card is not in a moderators' chat yet, oldest
    first (deliver them when a chat is bound)."""
    return list(
        await session.scalars(
            select(Proposal)
            .where(Proposal.municipality_id == municipality_id, Proposal.delivered_at.is_(None))
            .order_by(Proposal.id)
        )
    )


async def undelivered_counts(session: AsyncSession) -> dict[int, int]:
    """Undelivered proposals by municipality id (for telling the admins)."""
    rows = await session.execute(
        select(Proposal.municipality_id, func.count())
        .where(Proposal.delivered_at.is_(None))
        .group_by(Proposal.municipality_id)
    )
    return {municipality_id: int(count) for municipality_id, count in rows}


async def mark_delivered(
    session: AsyncSession,
    proposal_id: int,
    *,
    chat_id: int,
    message_id: int,
    thread_id: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Record where the proposal's card is. False (nothing changed) when it had been
    recorded there already; a card posted anew (e.g. after the chat changed) moves."""
    now = now or utcnow()
    proposal = await lock_proposal(session, proposal_id)
    if proposal is None:
        return False
    if (
        proposal.delivered_at is not None
        and proposal.card_chat_id == chat_id
        and proposal.card_message_id == message_id
    ):
        return False
    first = proposal.delivered_at is None
    proposal.card_chat_id = chat_id
    proposal.card_message_id = message_id
    proposal.topic_thread_id = thread_id
    proposal.delivered_at = now
    if first:
        record_audit(session, proposal, ProposalAction.DELIVERED, now, actor=ActorKind.SYSTEM)
    await session.flush()
    return True


@dataclass(frozen=True, slots=True)
class DigestGroup:
    """The waiting proposals of one municipality, oldest status change first.
    ``chat_id`` None: the municipality has no moderators' chat."""

    municipality_id: int
    chat_id: int | None
    proposals: tuple[Proposal, ...]


async def waiting_digest(
    session: AsyncSession, *, now: datetime, older_than_days: int = DEFAULT_DIGEST_DAYS
) -> list[DigestGroup]:
    """Proposals *new*, *in_review* or *info_requested* whose status has not changed for
    more than ``older_than_days`` days, by municipality (in municipality id order)."""
    cutoff = now - timedelta(days=older_than_days)
    rows = await session.execute(
        select(Proposal, ModeratorChat.chat_id)
        .outerjoin(ModeratorChat, ModeratorChat.municipality_id == Proposal.municipality_id)
        .where(Proposal.status.in_(WAITING_STATUSES), Proposal.status_changed_at < cutoff)
        .order_by(Proposal.municipality_id, Proposal.status_changed_at, Proposal.id)
    )
    groups: dict[int, tuple[int | None, list[Proposal]]] = {}
    for proposal, chat_id in rows:
        groups.setdefault(proposal.municipality_id, (chat_id, []))[1].append(proposal)
    return [
        DigestGroup(municipality_id, chat_id, tuple(items))
        for municipality_id, (chat_id, items) in groups.items()
    ]
