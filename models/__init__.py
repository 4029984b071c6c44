"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from models.base import Base, UTCDateTime, utcnow
from models.delivery import (
    Broadcast,
    BroadcastStatus,
    MessageCategory,
    OutboxMessage,
    OutboxStatus,
)
from models.events import (
    Event,
    EventKind,
    EventQuestion,
    EventReminder,
    EventStatus,
    Registration,
    RegistrationStatus,
)
from models.municipality import Municipality
from models.polls import (
    Poll,
    PollAnswer,
    PollAnswerChoice,
    PollOption,
    PollProgress,
    PollQuestion,
    PollStatus,
    QuestionKind,
    ResultsVisibility,
)
from models.resident import AgeGroup, Channel, Resident
from models.roles import Moderator, ModeratorChat, Organizer, RoleAction, RoleChange
from models.runtime import FsmRecord, ProcessedUpdate

__all__ = [
    "AgeGroup",
    "Base",
    "Broadcast",
    "BroadcastStatus",
    "Channel",
    "Event",
    "EventKind",
    "EventQuestion",
    "EventReminder",
    "EventStatus",
    "FsmRecord",
    "MessageCategory",
    "Moderator",
    "ModeratorChat",
    "Municipality",
    "Organizer",
    "OutboxMessage",
    "OutboxStatus",
    "Poll",
    "PollAnswer",
    "PollAnswerChoice",
    "PollOption",
    "PollProgress",
    "PollQuestion",
    "PollStatus",
    "ProcessedUpdate",
    "QuestionKind",
    "Registration",
    "RegistrationStatus",
    "Resident",
    "ResultsVisibility",
    "RoleAction",
    "RoleChange",
    "UTCDateTime",
    "utcnow",
]
