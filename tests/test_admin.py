"""Admins grant and revoke roles, bind moderators' chats and choose active municipalities."""

from __future__ import annotations

import pytest

from models import Moderator, ModeratorChat, Organizer, RoleAction, RoleChange
from tests.support.db import Database
from tests.support.harness import ADMIN_ID, BotHarness


async def test_non_admin_is_refused_and_nothing_changes(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(3001)
    await chat.send("/organizer_add 3002")
    assert chat.reply_texts == ["Atsiprašome, tai gali daryti tik administratoriai."]
    assert await db.count(Organizer) == 0
    assert await db.count(RoleChange) == 0


@pytest.mark.parametrize("mode", ["polling", "webhook"], indirect=True)
async def test_admin_grants_and_revokes_organizer_with_audit(
    harness: BotHarness, db: Database
) -> None:
    admin = harness.chat(ADMIN_ID, "Admin")
    await admin.send("/organizer_add 3003")
    assert admin.reply_texts == ["3003 dabar yra organizatorius."]
    await admin.send("/organizer_add 3003")
    assert admin.reply_texts == ["3003 jau yra organizatorius."]
    assert [o.telegram_user_id for o in await db.all(Organizer)] == [3003]

    await admin.send("/organizer_remove 3003")
    assert admin.reply_texts == ["3003 nebėra organizatorius."]
    assert await db.count(Organizer) == 0
    changes = sorted(await db.all(RoleChange), key=lambda c: c.id)
    assert [(c.action, c.role, c.target_telegram_id, c.actor_telegram_id) for c in changes] == [
        (RoleAction.GRANT, "organizer", 3003, ADMIN_ID),
        (RoleAction.REVOKE, "organizer", 3003, ADMIN_ID),
    ]
    assert all(c.at is not None for c in changes)


async def test_admin_grants_moderator_for_a_municipality(harness: BotHarness, db: Database) -> None:
    admin = harness.chat(ADMIN_ID, "Admin")
    await admin.send("/moderator_add pag 3004")
    assert admin.reply_texts == ["3004 dabar yra savivaldybės „Pagėgių sav.“ moderatorius."]
    moderators = await db.all(Moderator)
    assert [(m.telegram_user_id, m.granted_by) for m in moderators] == [(3004, ADMIN_ID)]
    await admin.send("/moderator_remove PAG 3004")
    assert admin.reply_texts == ["3004 nebėra savivaldybės „Pagėgių sav.“ moderatorius."]
    assert await db.count(Moderator) == 0


async def test_wrong_arguments_get_usage_help(harness: BotHarness, db: Database) -> None:
    admin = harness.chat(ADMIN_ID, "Admin")
    await admin.send("/moderator_add XYZ 1")
    assert admin.last_text.startswith("Naudojimas: /moderator_add SAVIVALDYBĖS_KODAS TELEGRAM_ID")
    await admin.send("/organizer_add Jonas")
    assert admin.last_text.startswith("Naudojimas: /organizer_add TELEGRAM_ID")
    assert await db.count(RoleChange) == 0


async def test_admin_binds_the_moderators_group(harness: BotHarness, db: Database) -> None:
    group = harness.group(-100123, "Pagėgių moderatoriai", member_id=ADMIN_ID)
    await group.send("/bind PAG")
    assert group.last_text.startswith(
        "Šis pokalbis dabar yra savivaldybės „Pagėgių sav.“ moderatorių pokalbis."
    )
    bound = await db.all(ModeratorChat)
    assert [(b.chat_id, b.bound_by) for b in bound] == [(-100123, ADMIN_ID)]
    await group.send("/bind PAG")
    assert (
        group.last_text == "Šis pokalbis jau yra savivaldybės „Pagėgių sav.“ moderatorių pokalbis."
    )
    assert await db.count(RoleChange, RoleChange.action == RoleAction.BIND_CHAT) == 1


async def test_rebinding_a_group_moves_it_to_the_new_municipality(
    harness: BotHarness, db: Database
) -> None:
    group = harness.group(-100124, "Moderatoriai", member_id=ADMIN_ID)
    await group.send("/bind PAG")
    await group.send("/bind BRZ")
    bound = await db.all(ModeratorChat)
    assert len(bound) == 1 and bound[0].chat_id == -100124
    assert "Biržų r." in group.last_text


async def test_non_admin_in_a_group_cannot_bind(harness: BotHarness, db: Database) -> None:
    group = harness.group(-100125, "Grupė", member_id=3005)
    await group.send("/bind PAG")
    assert group.last_text == "Atsiprašome, tai gali daryti tik administratoriai."
    assert await db.count(ModeratorChat) == 0


async def test_bind_in_private_chat_explains_where(harness: BotHarness, db: Database) -> None:
    admin = harness.chat(ADMIN_ID, "Admin")
    await admin.send("/bind PAG")
    assert admin.last_text.startswith("Komandą /bind SAVIVALDYBĖS_KODAS siųskite moderatorių")
    assert await db.count(ModeratorChat) == 0


async def test_group_chatter_is_ignored(harness: BotHarness) -> None:
    group = harness.group(-100126, "Grupė", member_id=3006)
    await group.send("labas visiems")
    await group.send_sticker()
    assert group.messages == []


async def test_deactivated_municipality_is_not_offered(harness: BotHarness) -> None:
    admin = harness.chat(ADMIN_ID, "Admin")
    await admin.send("/deactivate AKM")
    assert admin.last_text == "Savivaldybė „Akmenės r.“ gyventojams nebesiūloma."
    resident = harness.chat(3007)
    await resident.send("/start")
    await resident.click("Sutinku")
    assert resident.last.button_texts()[0] == "Alytaus m."
    await admin.send("/activate AKM")
    assert admin.last_text == "Savivaldybė „Akmenės r.“ dabar siūloma gyventojams."


async def test_roles_overview_uses_lithuanian_plurals(harness: BotHarness) -> None:
    admin = harness.chat(ADMIN_ID, "Admin")
    await admin.send("/organizer_add 3010")
    await admin.send("/organizer_add 3011")
    await admin.send("/moderator_add PAG 3012")
    await admin.send("/roles")
    text = admin.last_text
    assert text.startswith("2 organizatoriai\n• 3010\n• 3011")
    assert "Pagėgių sav. (PAG): 3012; pokalbis nepriskirtas" in text


async def test_target_can_be_given_by_replying_to_their_message(
    harness: BotHarness, db: Database
) -> None:
    group = harness.group(-100127, "Moderatoriai", member_id=3013, first_name="Rasa")
    await group.send("Sveiki, aš Rasa")
    rasa_message = group.api.messages(-100127)[-1]
    admin = harness.group(-100127, "Moderatoriai", member_id=ADMIN_ID)
    await admin.send("/moderator_add PAG", reply_to_message_id=rasa_message.message_id)
    assert admin.last_text == "3013 dabar yra savivaldybės „Pagėgių sav.“ moderatorius."
    assert [m.telegram_user_id for m in await db.all(Moderator)] == [3013]
