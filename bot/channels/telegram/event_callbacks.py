"""Callback data of the event buttons, residents' and organizers' (ids only: Telegram
allows 64 bytes of callback data).

Shared by the resident and organizer handlers, the offer messages the scheduler sends and
the tests, so keep the prefixes and fields stable. Every handler checks the ids against the
database (and that the registration is the presser's own): the data can be forged.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class EventListCb(CallbackData, prefix="el"):
    """Show the resident the list of upcoming events again."""

    page: int = 0


class EventOpenCb(CallbackData, prefix="eo"):
    """Open an event's card (from the list, a reminder or an announcement)."""

    event: int


class EventRegisterCb(CallbackData, prefix="er"):
    """Registruotis: show the summary to confirm (first tap)."""

    event: int


class ShareName(StrEnum):
    YES = "y"
    NO = "n"


class EventConfirmCb(CallbackData, prefix="ec"):
    """Confirm the registration (second tap), with whether organizers may see the name."""

    event: int
    share: ShareName


class EventMineCb(CallbackData, prefix="em"):
    """Mano registracijos: the resident's registrations, waitlist places and offers."""

    page: int = 0


class CancelStep(StrEnum):
    ASK = "ask"  # first tap: "are you sure?"
    CONFIRM = "yes"  # second tap: cancel
    KEEP = "no"  # changed their mind


class RegistrationCancelCb(CallbackData, prefix="rc"):
    """Atšaukti registraciją in two taps: ``ask`` then ``yes`` (or ``no``)."""

    registration: int
    step: CancelStep


class OfferAnswer(StrEnum):
    ACCEPT = "a"
    DECLINE = "d"


class OfferCb(CallbackData, prefix="of"):
    """Accept or decline a place offered from the waitlist."""

    registration: int
    answer: OfferAnswer


class QuestionSkipCb(CallbackData, prefix="eq"):
    """Skip the registration question at ``position`` (1-based) of ``event`` (answers are
    typed; a button lets a resident leave one empty)."""

    event: int
    position: int


class RegistrationStopCb(CallbackData, prefix="ex"):
    """Stop registering (while answering the questions or giving the organization)."""

    event: int


class AttendanceCb(CallbackData, prefix="ea"):
    """Organizer: mark a registration as attended (``on`` 1) or not (0); the state travels
    in the button so a double tap sets the same value twice."""

    registration: int
    on: int
