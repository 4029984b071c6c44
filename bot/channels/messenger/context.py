"""What a Messenger handler gets: the event, the resident, the transaction, the state, and a
queue of replies that are sent after the commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.messenger import state as conversation
from bot.channels.messenger.client import GraphClient
from bot.channels.messenger.events import MessengerEvent
from bot.channels.messenger.messages import Button, OutMessage, QuickReply
from bot.channels.notices import ResidentNotifier
from bot.config import Settings
from bot.delivery.engine import DeliveryEngine
from bot.i18n import CatalogI18n
from models import Resident, ResidentAccount

Work = Callable[[], Awaitable[object]]


@dataclass
class MessengerServices:
    """The application's parts a Messenger handler may use."""

    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    i18n: CatalogI18n
    bot: Bot  # Telegram: the moderators' chats stay there
    graph: GraphClient
    delivery: DeliveryEngine
    notifier: ResidentNotifier  # one personal message to a resident on their app


@dataclass
class MessengerContext:
    """One inbound event being handled, inside its own transaction.

    ``reply`` only queues: the replies are sent in order after the transaction commits
    (none when it rolls back). State changes are written through ``session`` at once.
    """

    session: AsyncSession
    resident: Resident
    account: ResidentAccount | None
    event: MessengerEvent
    services: MessengerServices
    locale: str
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    replies: list[OutMessage] = field(default_factory=list)
    after_commit_work: list[Work] = field(default_factory=list)

    @property
    def psid(self) -> str:
        return self.event.psid

    @property
    def text(self) -> str | None:
        return self.event.text

    @property
    def payload(self) -> str | None:
        return self.event.payload

    @property
    def settings(self) -> Settings:
        return self.services.settings

    async def set_state(self, state: str | None, **data: Any) -> None:
        """Set the state; keyword arguments are merged into the data (the rest is kept)."""
        self.state = state
        self.data.update(data)
        await conversation.save(self.session, self.psid, self.state, self.data)

    async def update_data(self, **data: Any) -> None:
        self.data.update(data)
        await conversation.save(self.session, self.psid, self.state, self.data)

    async def clear_state(self) -> None:
        """No state and no data."""
        self.state = None
        self.data = {}
        await conversation.clear(self.session, self.psid)

    def reply(
        self,
        message: OutMessage | str,
        *,
        quick_replies: Sequence[QuickReply] = (),
        buttons: Sequence[Button] = (),
    ) -> None:
        """Queue a message to this resident, sent after the commit (RESPONSE)."""
        if isinstance(message, str):
            message = OutMessage(
                text=message, quick_replies=tuple(quick_replies), buttons=tuple(buttons)
            )
        elif quick_replies or buttons:
            message = OutMessage(
                text=message.text,
                quick_replies=tuple(quick_replies) or message.quick_replies,
                buttons=tuple(buttons) or message.buttons,
                image=message.image,
                image_attachment_id=message.image_attachment_id,
            )
        self.replies.append(message)

    def after_commit(self, work: Work) -> None:
        """Run ``work()`` after the commit and after the replies (never on a rollback)."""
        self.after_commit_work.append(work)
