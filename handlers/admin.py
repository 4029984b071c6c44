"""Admin commands: organizer and moderator roles, moderators' chats, active municipalities.

Admins are listed in TELEGRAM_ADMIN_IDS. A target user is given by Telegram id, or by
replying to one of their messages with the command.
"""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.telegram import proposal_cards
from bot.channels.telegram.after_commit import after_commit
from bot.channels.telegram.commands import set_staff_menu
from bot.config import Settings
from bot.services import municipalities, roles
from models import Municipality


def _is_admin(_message: Message, is_admin: bool) -> bool:
    return is_admin


ADMIN_COMMANDS = (
    "organizer_add",
    "organizer_remove",
    "moderator_add",
    "moderator_remove",
    "bind",
    "activate",
    "deactivate",
    "roles",
)


def _target_user(message: Message, argument: str | None) -> int | None:
    """A Telegram user id from the argument, or the author of the replied-to message."""
    if argument is not None:
        text = argument.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        return None
    reply = message.reply_to_message
    if reply is not None and reply.from_user is not None and not reply.from_user.is_bot:
        return reply.from_user.id
    return None


async def _municipality(session: AsyncSession, code: str | None) -> Municipality | None:
    if not code:
        return None
    return await municipalities.get_by_code(session, code.strip())


def _args(command: CommandObject) -> list[str]:
    return command.args.split() if command.args else []


async def organizer_role(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    assert message.from_user is not None
    args = _args(command)
    target = _target_user(message, args[0] if args else None)
    if target is None:
        await message.answer(
            _("Usage: /{command} TELEGRAM_ID (or reply to the person's message).").format(
                command=command.command
            )
        )
        return
    actor = message.from_user.id
    if command.command == "organizer_add":
        changed = await roles.grant_organizer(session, actor, target)
        text = _("{user} is now an organizer.") if changed else _("{user} is already an organizer.")
    else:
        changed = await roles.revoke_organizer(session, actor, target)
        text = (
            _("{user} is no longer an organizer.") if changed else _("{user} was not an organizer.")
        )
    await message.answer(text.format(user=f"<code>{target}</code>"))
    if changed:
        # The organizer's commands appear in (or leave) their chat's menu, once the change
        # is committed.
        organizer = command.command == "organizer_add"
        admin = target in settings.telegram.admin_ids
        after_commit(
            session,
            lambda: set_staff_menu(bot, i18n, settings, target, organizer=organizer, admin=admin),
        )


async def moderator_role(message: Message, command: CommandObject, session: AsyncSession) -> None:
    assert message.from_user is not None
    args = _args(command)
    municipality = await _municipality(session, args[0] if args else None)
    target = _target_user(message, args[1] if len(args) > 1 else None)
    if municipality is None or target is None:
        await message.answer(
            _(
                "Usage: /{command} MUNICIPALITY_CODE TELEGRAM_ID, for example "
                "/{command} PAG 123456789 (or reply to the person's message)."
            ).format(command=command.command)
        )
        return
    actor = message.from_user.id
    name = municipality.short_lt
    if command.command == "moderator_add":
        changed = await roles.grant_moderator(session, actor, target, municipality)
        text = (
            _("{user} is now a moderator of {municipality}.")
            if changed
            else _("{user} is already a moderator of {municipality}.")
        )
    else:
        changed = await roles.revoke_moderator(session, actor, target, municipality)
        text = (
            _("{user} is no longer a moderator of {municipality}.")
            if changed
            else _("{user} was not a moderator of {municipality}.")
        )
    await message.answer(text.format(user=f"<code>{target}</code>", municipality=name))


async def bind_chat(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    i18n: I18n,
    settings: Settings,
) -> None:
    assert message.from_user is not None
    if message.chat.type not in {"group", "supergroup"}:
        await message.answer(
            _("Send /bind MUNICIPALITY_CODE in the moderators' group chat, not here.")
        )
        return
    args = _args(command)
    municipality = await _municipality(session, args[0] if args else None)
    if municipality is None:
        await message.answer(_("Usage: /bind MUNICIPALITY_CODE, for example /bind PAG."))
        return
    result = await roles.bind_moderator_chat(
        session, message.from_user.id, municipality, message.chat.id
    )
    if not result.changed:
        await message.answer(
            _("This chat is already the moderators' chat of {municipality}.").format(
                municipality=municipality.short_lt
            )
        )
        return
    await message.answer(
        _(
            "This chat is now the moderators' chat of {municipality}. Proposals from its "
            "residents will arrive here."
        ).format(municipality=municipality.short_lt)
    )
    # Proposals that waited for a moderators' chat arrive once the binding is committed.
    municipality_id = municipality.id
    after_commit(
        session,
        lambda: proposal_cards.deliver_waiting(
            bot, session_factory, i18n, settings, municipality_id
        ),
    )


async def activation(message: Message, command: CommandObject, session: AsyncSession) -> None:
    assert message.from_user is not None
    args = _args(command)
    municipality = await _municipality(session, args[0] if args else None)
    if municipality is None:
        await message.answer(
            _("Usage: /{command} MUNICIPALITY_CODE, for example /{command} PAG.").format(
                command=command.command
            )
        )
        return
    active = command.command == "activate"
    changed = await roles.set_municipality_active(
        session, message.from_user.id, municipality, active
    )
    if active:
        text = (
            _("{municipality} is now offered to residents.")
            if changed
            else _("{municipality} was already offered to residents.")
        )
    else:
        text = (
            _("{municipality} is no longer offered to residents.")
            if changed
            else _("{municipality} was not offered to residents.")
        )
    await message.answer(text.format(municipality=municipality.short_lt))


async def roles_overview(message: Message, session: AsyncSession) -> None:
    overview = await roles.staff_overview(session)
    count = len(overview.organizer_ids)
    lines = [
        "<b>" + _("{count} organizer", "{count} organizers", count).format(count=count) + "</b>"
    ]
    lines += [f"• <code>{user_id}</code>" for user_id in overview.organizer_ids] or ["–"]
    lines += ["", _("<b>Moderators</b>")]
    if not overview.municipalities:
        lines.append("–")
    for staff in overview.municipalities:
        chat = (
            _("chat {chat_id}").format(chat_id=f"<code>{staff.chat_id}</code>")
            if staff.chat_id
            else _("no chat bound")
        )
        users = ", ".join(f"<code>{u}</code>" for u in staff.moderator_ids) or "–"
        lines.append(
            f"• {staff.municipality.short_lt} ({staff.municipality.code}): {users}; {chat}"
        )
    await message.answer("\n".join(lines))


async def refuse_non_admin(message: Message) -> None:
    await message.answer(_("Sorry, only administrators can do this."))


def create_router() -> Router:
    router = Router(name="admin")
    router.message.register(organizer_role, Command("organizer_add", "organizer_remove"), _is_admin)
    router.message.register(moderator_role, Command("moderator_add", "moderator_remove"), _is_admin)
    router.message.register(bind_chat, Command("bind"), _is_admin)
    router.message.register(activation, Command("activate", "deactivate"), _is_admin)
    router.message.register(roles_overview, Command("roles"), _is_admin)
    router.message.register(refuse_non_admin, Command(*ADMIN_COMMANDS))
    return router
