"""Callback data of the proposal buttons, residents' and moderators' (ids and short codes
only: Telegram allows 64 bytes of callback data).

Shared by the resident's dialogue (:mod:`handlers.proposals`), the moderators' cards and
the tests, so keep the prefixes and fields stable. The data can be forged: every handler
checks the ids against the database (and the presser's right to press), and a resident's
dialogue button against the step the draft is at.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from models import ProposalStatus

# --- the resident's dialogue ------------------------------------------------------------


class ProposalCategoryCb(CallbackData, prefix="prc"):
    """The topic: a category key of :data:`models.proposals.DEFAULT_CATEGORIES`."""

    category: str


class MunicipalityStep(StrEnum):
    KEEP = "k"  # the resident's own municipality
    OTHER = "o"  # show the paged list of active municipalities


class ProposalMunicipalityCb(CallbackData, prefix="prm"):
    """Keep the resident's own municipality, or choose another (the choice itself is the
    onboarding keyboard's ``MunicipalityCb`` with ``Purpose.PROPOSAL``)."""

    step: MunicipalityStep


class ProposalSkipPlaceCb(CallbackData, prefix="prp"):
    """Praleisti: no seniūnija or place."""


class PhotosStep(StrEnum):
    DONE = "d"  # Baigti (after one or more photos)
    NONE = "n"  # Be nuotraukų


class ProposalPhotosCb(CallbackData, prefix="prf"):
    step: PhotosStep


class ShareName(StrEnum):
    YES = "y"
    NO = "n"


class ProposalNameCb(CallbackData, prefix="prn"):
    """Whether moderators may see the resident's name (else a pseudonym)."""

    share: ShareName


class ConfirmStep(StrEnum):
    SUBMIT = "s"  # Pateikti
    EDIT = "e"  # Taisyti: start again with the draft's answers offered
    CANCEL = "c"  # Atšaukti


class ProposalConfirmCb(CallbackData, prefix="prx"):
    step: ConfirmStep


OPEN_LIST = -1


class ProposalMineCb(CallbackData, prefix="pry"):
    """Mano pasiūlymai: ``page`` 0-based edits the list in place (its paging buttons);
    :data:`OPEN_LIST` sends the list's first page as a new message (from another one)."""

    page: int = OPEN_LIST


# --- the moderators' card ---------------------------------------------------------------


class ProposalStatusCb(CallbackData, prefix="prt"):
    """Move ``proposal`` to ``to``; ``expected``: the status the card was drawn for (a
    press on an outdated card is stale and changes nothing)."""

    proposal: int
    to: ProposalStatus
    expected: ProposalStatus


class ProposalInfoCb(CallbackData, prefix="pri"):
    """Ask the resident for more information (the question is typed next)."""

    proposal: int
    expected: ProposalStatus


class BlockAction(StrEnum):
    BLOCK = "b"
    UNBLOCK = "u"


class ProposalBlockCb(CallbackData, prefix="prb"):
    """Block (the reason is typed next) or unblock the proposal's author."""

    proposal: int
    action: BlockAction
