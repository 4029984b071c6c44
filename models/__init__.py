"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from models.base import Base, UTCDateTime, utcnow
from models.municipality import Municipality
from models.resident import AgeGroup, Channel, Resident
from models.roles import Moderator, ModeratorChat, Organizer, RoleAction, RoleChange
from models.runtime import FsmRecord, ProcessedUpdate

__all__ = [
    "AgeGroup",
    "Base",
    "Channel",
    "FsmRecord",
    "Moderator",
    "ModeratorChat",
    "Municipality",
    "Organizer",
    "ProcessedUpdate",
    "Resident",
    "RoleAction",
    "RoleChange",
    "UTCDateTime",
    "utcnow",
]
