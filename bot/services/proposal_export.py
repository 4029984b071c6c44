"""Proposals out of the bot: the municipality's report rows, a resident's own data, and
what erasure leaves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from bot.services.proposal_relay import messages
from bot.services.proposals import FORWARDED_STATUSES, blocks_of, my_proposals, record_audit
from models import (
    ActorKind,
    Municipality,
    Proposal,
    ProposalAction,
    ProposalAudit,
    ProposalMessage,
    ProposalPhoto,
    ProposalStatus,
    utcnow,
)
from models.proposals import ERASED_TEXT

# --- exports ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One proposal for the municipality's report: no chat ids, no names (only whether it
    was anonymous). ``reached``: when it last entered each status it went through."""

    reference: str
    municipality: str  # code
    category: str
    place: str | None
    latitude: float | None
    longitude: float | None
    text: str
    anonymous: bool
    status: ProposalStatus
    rejection_reason: str | None
    photos: int
    created_at: datetime
    status_changed_at: datetime
    reached: dict[ProposalStatus, datetime] = field(default_factory=dict)


async def export_rows(
    session: AsyncSession,
    *,
    municipality_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    batch: int = 500,
) -> AsyncIterator[ExportRow]:
    """Proposals created in [since, until) (of one municipality, or all), oldest first,
    streamed (memory stays flat)."""
    photo_count = (
        select(func.count())
        .select_from(ProposalPhoto)
        .where(ProposalPhoto.proposal_id == Proposal.id)
        .scalar_subquery()
    )
    query = (
        select(Proposal, Municipality.code, photo_count, ProposalAudit.to_status, ProposalAudit.at)
        .join(Municipality, Municipality.id == Proposal.municipality_id)
        .outerjoin(
            ProposalAudit,
            (ProposalAudit.proposal_id == Proposal.id)
            & ProposalAudit.action.in_([ProposalAction.SUBMITTED, ProposalAction.STATUS_CHANGED]),
        )
        .order_by(Proposal.created_at, Proposal.id, ProposalAudit.at, ProposalAudit.id)
        .options(lazyload(Proposal.photos))  # counted in SQL, not loaded
        .execution_options(yield_per=batch)
    )
    if municipality_id is not None:
        query = query.where(Proposal.municipality_id == municipality_id)
    if since is not None:
        query = query.where(Proposal.created_at >= since)
    if until is not None:
        query = query.where(Proposal.created_at < until)
    result = await session.stream(query)
    pending: ExportRow | None = None
    async for proposal, code, photos, to_status, at in result:
        if pending is None or pending.reference != proposal.reference:
            if pending is not None:
                yield pending
            pending = ExportRow(
                reference=proposal.reference,
                municipality=code,
                category=proposal.category,
                place=proposal.place_text,
                latitude=proposal.latitude,
                longitude=proposal.longitude,
                text=proposal.text,
                anonymous=proposal.anonymous,
                status=proposal.status,
                rejection_reason=proposal.rejection_reason,
                photos=int(photos or 0),
                created_at=proposal.created_at,
                status_changed_at=proposal.status_changed_at,
            )
        if to_status is not None:
            pending.reached[to_status] = at
    if pending is not None:
        yield pending


# --- a resident's data ------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def resident_data(session: AsyncSession, resident_id: int) -> dict[str, object]:
    """The resident's proposals, relayed messages and blocks, for their data export
    (moderators' Telegram ids are other people's data and are left out)."""
    items = []
    for entry in await my_proposals(session, resident_id):
        p = entry.proposal
        code = await session.scalar(
            select(Municipality.code).where(Municipality.id == p.municipality_id)
        )
        items.append(
            {
                "reference": p.reference,
                "municipality": code,
                "category": p.category,
                "place": p.place_text,
                "latitude": p.latitude,
                "longitude": p.longitude,
                "text": p.text,
                "photos": len(p.photos),
                "anonymous": p.anonymous,
                "display_name": p.display_name,
                "status": p.status.value,
                "rejection_reason": p.rejection_reason,
                "created_at": _iso(p.created_at),
                "status_changed_at": _iso(p.status_changed_at),
                "history": [
                    {
                        "at": _iso(h.at),
                        "action": h.action.value,
                        "from": h.from_status.value if h.from_status else None,
                        "to": h.to_status.value if h.to_status else None,
                        "note": h.note,
                    }
                    for h in entry.history
                ],
                "messages": [
                    {"at": _iso(m.at), "direction": m.direction.value, "text": m.text}
                    for m in await messages(session, p.id)
                ],
            }
        )
    blocks = [
        {
            "reason": b.reason,
            "blocked_at": _iso(b.blocked_at),
            "lifted_at": _iso(b.lifted_at),
        }
        for b in await blocks_of(session, resident_id)
    ]
    return {"proposals": items, "proposal_blocks": blocks}


# --- erasure ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErasedCard:
    """A moderators' card to redraw after an erasure (``text_erased``: show [ištrinta])."""

    proposal_id: int
    reference: str
    chat_id: int
    message_id: int
    thread_id: int | None
    text_erased: bool


async def forget_resident(
    session: AsyncSession, resident_id: int, *, now: datetime | None = None
) -> list[ErasedCard]:
    """Before erasure: what stays of the resident's proposals.

    Always: the link to the person goes (``resident_id`` NULL), and so do the name, the
    photos (they may show people) and the relayed conversation (its texts become
    "[ištrinta]"); blocks are deleted with the resident. Reference, municipality,
    category, status, dates and the audit steps stay as anonymous aggregates (how many
    proposals, how fast they were handled).

    The text, the place and the map point stay only for proposals the municipality already
    has (*forwarded*, *accepted*, *implemented*): they are part of its official record of a
    public matter and are the subject of its decision (GDPR art. 17(3)(b) and (e)). Every
    other proposal loses them ("[ištrinta]"), and its audit notes too (a question or a
    reason may quote the person). Returns the cards the caller should redraw.
    """
    now = now or utcnow()
    proposals = list(
        await session.scalars(select(Proposal).where(Proposal.resident_id == resident_id))
    )
    cards: list[ErasedCard] = []
    ids = [p.id for p in proposals]
    if not ids:
        return cards
    await session.execute(delete(ProposalPhoto).where(ProposalPhoto.proposal_id.in_(ids)))
    await session.execute(
        update(ProposalMessage)
        .where(ProposalMessage.proposal_id.in_(ids))
        .values(text=ERASED_TEXT)
        .execution_options(synchronize_session=False)
    )
    for proposal in proposals:
        erase_text = proposal.status not in FORWARDED_STATUSES
        proposal.resident_id = None
        proposal.display_name = None
        proposal.anonymous = True
        proposal.updated_at = now
        if erase_text:
            proposal.text = ERASED_TEXT
            proposal.text_erased = True
            proposal.place_text = None
            proposal.latitude = None
            proposal.longitude = None
            await session.execute(
                update(ProposalAudit)
                .where(ProposalAudit.proposal_id == proposal.id, ProposalAudit.note.is_not(None))
                .values(note=ERASED_TEXT)
                .execution_options(synchronize_session=False)
            )
            if proposal.rejection_reason is not None:
                proposal.rejection_reason = ERASED_TEXT
        record_audit(session, proposal, ProposalAction.AUTHOR_ERASED, now, actor=ActorKind.SYSTEM)
        if proposal.card_chat_id is not None and proposal.card_message_id is not None:
            cards.append(
                ErasedCard(
                    proposal.id,
                    proposal.reference,
                    proposal.card_chat_id,
                    proposal.card_message_id,
                    proposal.topic_thread_id,
                    erase_text,
                )
            )
    await session.flush()
    for proposal in proposals:
        session.expire(proposal, ["photos"])
    return cards
