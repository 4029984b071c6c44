"""The database session of the update being handled.

Code that runs inside a handler but is called by aiogram (the FSM storage) uses this
session, so its writes commit or roll back together with the handler's work.
"""

from __future__ import annotations

from contextvars import ContextVar

from sqlalchemy.ext.asyncio import AsyncSession

current_session: ContextVar[AsyncSession | None] = ContextVar("current_session", default=None)
