"""A resident finds the bot, agrees, picks a municipality and reaches the main menu."""

from __future__ import annotations

import json

import pytest

from models import AgeGroup
from tests.support.db import Database
from tests.support.harness import BotHarness, Chat

MENU = ["Apklausos", "Renginiai", "Pateikti pasiūlymą", "Mano duomenys ir nustatymai"]


async def onboard(chat: Chat, municipality: str = "Pagėgių sav.", age: str = "30–44 m.") -> None:
    await chat.send("/start")
    await chat.click("Sutinku")
    while True:
        message = chat.message_with_button("Toliau")
        if municipality in message.button_texts():
            break
        await chat.click("Toliau", message)
    await chat.click(municipality)
    await chat.click(age)


@pytest.mark.parametrize("mode", ["polling", "webhook"], indirect=True)
async def test_new_resident_goes_from_start_to_main_menu(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(1001, "Ona")

    await chat.send("/start")
    assert chat.reply_texts[0].startswith("Sveiki, Ona! Aš – „Dalyvauk“")
    assert "Ar sutinkate?" in chat.reply_texts[1]
    assert chat.replies[1].button_texts() == ["Sutinku", "Skaityti visą privatumo pranešimą"]

    await chat.click("Sutinku")
    assert chat.callback_answer()["text"] == "Ačiū!"  # type: ignore[index]
    assert chat.reply_texts == ["Kurioje savivaldybėje gyvenate?"]
    first_page = chat.last.button_texts()
    assert first_page[:3] == ["Akmenės r.", "Alytaus m.", "Alytaus r."]
    assert "1 / 5" in first_page

    await chat.click("Toliau")  # page 2 replaces page 1 in the same message
    assert chat.replies == []
    await chat.click("Toliau")
    assert "3 / 5" in chat.last.button_texts()
    await chat.click("Pagėgių sav.")
    assert chat.messages[-2].text == "Jūsų savivaldybė: Pagėgių sav."
    assert chat.last_text.startswith("Kokiai amžiaus grupei priklausote?")

    await chat.click("30–44 m.")
    assert chat.messages[-2].text == "Amžiaus grupė: 30–44 m."
    assert chat.last_text.startswith("Ačiū, viskas paruošta!")
    assert harness.api.reply_keyboard(chat.chat_id) == [MENU[:2], MENU[2:3], MENU[3:]]

    resident = await db.resident(1001)
    assert resident is not None
    assert resident.consented_at is not None
    assert resident.municipality is not None and resident.municipality.code == "PAG"
    assert resident.age_group is AgeGroup.AGE_30_44
    assert resident.onboarded_at is not None
    assert resident.language == "lt"


async def test_only_the_chat_id_is_stored_before_consent(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(1002, "Jonas")
    await chat.send("/start")
    resident = await db.resident(1002)
    assert resident is not None
    assert resident.external_id == "1002"
    assert (
        resident.consented_at,
        resident.municipality_id,
        resident.age_group,
        resident.source,
        resident.onboarded_at,
    ) == (None, None, None, None, None)


async def test_age_group_can_be_skipped(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(1003)
    await onboard(chat, "Biržų r.", "Nenoriu nurodyti")
    resident = await db.resident(1003)
    assert resident is not None and resident.is_onboarded and resident.age_group is None
    assert chat.messages[-2].text == "Amžiaus grupė: nenurodyta"


async def test_returning_resident_is_not_asked_again(harness: BotHarness) -> None:
    chat = harness.chat(1004, "Petras")
    await onboard(chat)
    await chat.send("/start")
    assert len(chat.replies) == 1
    assert chat.last_text.startswith("Sveiki sugrįžę, Petras!")
    assert chat.last.button_texts() == []


async def test_deep_link_source_is_kept_through_a_restart(
    harness: BotHarness, db: Database
) -> None:
    chat = harness.chat(1005)
    await chat.send("/start evt_12-poster3")
    await harness.restart()
    await chat.click("Sutinku")
    resident = await db.resident(1005)
    assert resident is not None and resident.source == "evt_12-poster3"


async def test_onboarding_continues_after_a_restart(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(1006)
    await chat.send("/start")
    await chat.click("Sutinku")
    keyboard = chat.last
    await harness.restart()
    await chat.click("Akmenės r.", keyboard)
    assert chat.last_text.startswith("Kokiai amžiaus grupei priklausote?")
    resident = await db.resident(1006)
    assert resident is not None and resident.municipality is not None
    assert resident.municipality.code == "AKM"


async def test_full_privacy_notice_is_one_tap_away(harness: BotHarness) -> None:
    chat = harness.chat(1007)
    await chat.send("/start")
    await chat.click("Skaityti visą privatumo pranešimą")
    assert chat.last_text.startswith("Privatumo pranešimas")
    assert "/forget" in chat.last_text


@pytest.mark.parametrize("mode", ["polling", "webhook"], indirect=True)
async def test_mydata_sends_everything_stored_as_json(harness: BotHarness) -> None:
    chat = harness.chat(1008)
    await onboard(chat, "Zarasų r.", "65 m. ir vyresni")
    await chat.send("/mydata")
    document = chat.last
    assert document.kind == "document"
    assert document.document_name == "dalyvauk-mano-duomenys.json"
    assert document.text == "Čia – viskas, ką apie jus saugome."
    data = json.loads(document.document_bytes or b"")
    assert data["resident"]["chat_id"] == "1008"
    assert data["resident"]["municipality"] == {"code": "ZAR", "name": "Zarasų rajono savivaldybė"}
    assert data["resident"]["age_group"] == "65_plus"
    assert data["resident"]["consented_at"]


@pytest.mark.parametrize("mode", ["polling", "webhook"], indirect=True)
async def test_forget_erases_the_resident_after_confirmation(
    harness: BotHarness, db: Database
) -> None:
    chat = harness.chat(1009)
    await chat.send("/start evt_1")
    await onboard(chat)
    await chat.send("/forget")
    assert "Liks tik anoniminės sumos" in chat.last_text
    await chat.click("Taip, ištrinti mano duomenis")
    assert chat.messages[-2].text == "Jūsų duomenys ištrinti."
    assert chat.last_text == "Viso gero! Jei norėsite vėl dalyvauti, paspauskite /start."
    assert harness.api.reply_keyboard(chat.chat_id) is None
    assert await db.resident(1009) is None
    assert await db.fsm_records() == []

    await chat.send("/start")
    assert "Ar sutinkate?" in chat.last_text


async def test_forget_can_be_cancelled(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(1010)
    await onboard(chat)
    await chat.send("/forget")
    await chat.click("Ne, palikti mano duomenis")
    assert chat.last_text == "Niekas neištrinta."
    assert await db.resident(1010) is not None


async def test_settings_menu_shows_the_profile_and_changes_municipality(
    harness: BotHarness, db: Database
) -> None:
    chat = harness.chat(1011)
    await onboard(chat, "Pagėgių sav.")
    await chat.tap_menu("Mano duomenys ir nustatymai")
    assert chat.last_text == (
        "Mano duomenys ir nustatymai\n\nKalba: lietuvių\nSavivaldybė: Pagėgių sav.\n"
        "Amžiaus grupė: 30–44 m."
    )
    await chat.click("Savivaldybė")
    await chat.click("Alytaus m.")
    assert chat.last_text == "Jūsų savivaldybė: Alytaus m."
    resident = await db.resident(1011)
    assert resident is not None and resident.municipality is not None
    assert resident.municipality.code == "ALY"


async def test_language_switch_changes_the_menu_and_old_buttons_still_work(
    harness: BotHarness, db: Database
) -> None:
    chat = harness.chat(1012)
    await onboard(chat)
    await chat.send("/language")
    await chat.click("English")
    assert chat.messages[-2].text == "Language: English"
    assert harness.api.reply_keyboard(chat.chat_id) == [
        ["Polls", "Events"],
        ["Submit a proposal"],
        ["My data and settings"],
    ]
    await chat.send("Apklausos")  # a Lithuanian keyboard from before the switch
    assert chat.last_text.startswith("There are no open polls right now.")
    resident = await db.resident(1012)
    assert resident is not None and resident.language == "en"


async def test_menu_entries_answer_in_lithuanian(harness: BotHarness) -> None:
    chat = harness.chat(1013)
    await onboard(chat)
    await chat.tap_menu("Apklausos")
    assert chat.last_text.startswith("Šiuo metu atvirų apklausų nėra.")
    await chat.tap_menu("Renginiai")
    assert chat.last_text.startswith("Šiuo metu artėjančių renginių nėra.")
    await chat.send("/help")
    assert chat.last_text.startswith("Kaip naudotis šiuo pokalbių robotu")


async def test_municipality_command_before_onboarding_continues_it(harness: BotHarness) -> None:
    chat = harness.chat(1014)
    await chat.send("/start")
    await chat.send("/municipality")
    assert chat.reply_texts[0] == "Pirmiausia užbaikime pirmuosius žingsnius."
    assert "Ar sutinkate?" in chat.reply_texts[1]


async def test_municipality_command_offers_the_list(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(1015)
    await onboard(chat)
    await chat.send("/municipality")
    assert chat.last_text == "Kurioje savivaldybėje gyvenate?"
    await chat.click("Akmenės r.")
    assert chat.last_text == "Jūsų savivaldybė: Akmenės r."
    resident = await db.resident(1015)
    assert resident is not None and resident.municipality is not None
    assert resident.municipality.code == "AKM"


async def test_age_group_can_be_changed_in_settings(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(1016)
    await onboard(chat, age="30–44 m.")
    await chat.tap_menu("Mano duomenys ir nustatymai")
    await chat.click("Amžiaus grupė")
    await chat.click("65 m. ir vyresni")
    assert chat.callback_answer()["text"] == "Išsaugota."  # type: ignore[index]
    assert chat.last_text == "Amžiaus grupė: 65 m. ir vyresni"
    resident = await db.resident(1016)
    assert resident is not None and resident.age_group is AgeGroup.AGE_65_PLUS


async def test_language_can_be_chosen_before_consent(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(1017)
    await chat.send("/start")
    await chat.send("/language")
    await chat.click("English")
    await chat.send("/start")
    assert "Do you agree?" in chat.last_text
    resident = await db.resident(1017)
    assert resident is not None
    assert (resident.language, resident.consented_at) == ("en", None)


async def test_privacy_command_and_settings_button_show_the_notice(harness: BotHarness) -> None:
    chat = harness.chat(1018)
    await onboard(chat)
    await chat.send("/privacy")
    assert chat.last_text.startswith("Privatumo pranešimas")
    await chat.tap_menu("Mano duomenys ir nustatymai")
    await chat.click("Privatumo pranešimas")
    assert chat.last_text.startswith("Privatumo pranešimas")
    await chat.click("Atsisiųsti mano duomenis")
    assert chat.last.document_name == "dalyvauk-mano-duomenys.json"
