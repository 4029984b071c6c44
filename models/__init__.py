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
from models.proposals import (
    ActorKind,
    MessageDirection,
    Proposal,
    ProposalAction,
    ProposalAudit,
    ProposalBlock,
    ProposalCounter,
    ProposalMessage,
    ProposalPhoto,
    ProposalStatus,
)
from models.resident import AgeGroup, Channel, Resident
from models.roles import Moderator, ModeratorChat, Organizer, RoleAction, RoleChange
from models.runtime import FsmRecord, ProcessedUpdate

__all__ = [
    "ActorKind",
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
    "MessageDirection",
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
    "Proposal",
    "ProposalAction",
    "ProposalAudit",
    "ProposalBlock",
    "ProposalCounter",
    "ProposalMessage",
    "ProposalPhoto",
    "ProposalStatus",
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
