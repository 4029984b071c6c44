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


# -- organizers: creating events and changing or cancelling them --------------------------


class NewEventCb(CallbackData, prefix="ne"):
    """A step of creating an event, or of changing its time or place; ``draft`` ties the
    button to one composition (a button of an earlier one changes nothing)."""

    draft: int
    action: str  # an EventKind value, or nodescription, places, online, nopoint, …


class NewEventMunicipalityCb(CallbackData, prefix="nem"):
    """Add or remove one of the event's municipalities; ``page`` of the list it is on."""

    draft: int
    id: int
    page: int


class NewEventPageCb(CallbackData, prefix="nep"):
    draft: int
    page: int


class ManageAction(StrEnum):
    EDIT = "e"  # Keisti laiką/vietą: what to change
    TIME = "t"
    PLACE = "p"
    CANCEL = "c"  # Atšaukti renginį, first tap: "are you sure?"
    CANCEL_CONFIRM = "y"  # second tap: cancel it
    CANCEL_KEEP = "n"


class EventManageCb(CallbackData, prefix="eg"):
    """An organizer's button on one of their events (/events)."""

    event: int
    action: ManageAction


class AttendancePageCb(CallbackData, prefix="eap"):
    """Organizer: show another page of an event's attendance list (30 per page)."""

    event: int
    page: int


class AttendanceDoneCb(CallbackData, prefix="ead"):
    """Organizer: close the attendance screen (typed check-in codes are no longer taken)."""

    event: int
