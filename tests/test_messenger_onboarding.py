"""A Messenger resident finds the page, agrees, picks a municipality and reaches the menu."""

from __future__ import annotations

from models import Channel, Municipality, Resident, ResidentAccount
from tests.support.db import Database
from tests.support.messenger import MessengerHarness, MessengerUser

MENU = [
    "Apklausos",
    "Renginiai",
    "Mano renginiai",
    "Pateikti pasiūlymą",
    "Mano pasiūlymai",
    "Mano duomenys",
    "Susieti su Telegram",
    "Nustatymai",
]


async def resident_of(db: Database, psid: str) -> Resident | None:
    rows = await db.all(
        ResidentAccount,
        ResidentAccount.channel == Channel.MESSENGER,
        ResidentAccount.external_id == psid,
    )
    if not rows:
        return None
    found: list[Resident] = await db.all(Resident, Resident.id == rows[0].resident_id)
    return found[0]


def all_titles_fit(user: MessengerUser) -> None:
    for message in user.messages:
        assert len(message.quick_replies) <= 13
        for title, payload in [*message.quick_replies, *message.buttons]:
            assert 0 < len(title) <= 20, title
            assert len(payload) <= 1000


async def test_get_started_consent_municipality_on_page_two_age_and_menu(
    messenger: MessengerHarness, db: Database
) -> None:
    ona = messenger.user("7001")
    await ona.postback("get_started", "Pradėti")
    assert ona.reply_texts[0].startswith("Sveiki! Aš – „Dalyvauk“")
    assert "Ar sutinkate?" in ona.reply_texts[1]
    assert ona.quick_reply_titles() == ["Sutinku", "Nesutinku", "Privatumo pranešimas", "English"]
    resident = await resident_of(db, "7001")
    assert resident is not None and resident.consented_at is None

    await ona.tap("Sutinku")
    assert ona.reply_texts[0].startswith("Ačiū! Jūs sutikote.")
    assert "Kurioje savivaldybėje gyvenate?" in ona.reply_texts[0]
    first_page = ona.quick_reply_titles()
    assert len(first_page) == 13 and first_page[-1] == "Daugiau"
    assert "Pagėgių sav." not in first_page

    await ona.tap("Daugiau")
    second_page = ona.quick_reply_titles()
    assert not set(second_page[:-1]) & set(first_page[:-1])
    assert second_page[-1] == "Daugiau"
    while "Pagėgių sav." not in ona.quick_reply_titles():
        await ona.tap("Daugiau")
    await ona.tap("Pagėgių sav.")
    assert ona.reply_texts[0].startswith("Jūsų savivaldybė: Pagėgių sav.")
    assert ona.quick_reply_titles()[-1] == "Nenoriu nurodyti"

    await ona.tap("30–44 m.")
    assert ona.reply_texts[0] == "Amžiaus grupė: 30–44 m."
    assert ona.reply_texts[1].startswith("Ačiū, viskas paruošta!")
    assert ona.quick_reply_titles() == MENU

    resident = await resident_of(db, "7001")
    assert resident is not None
    assert resident.consented_at is not None and resident.onboarded_at is not None
    assert resident.age_group is not None and resident.age_group.value == "30_44"
    [pag] = await db.all(Municipality, Municipality.code == "PAG")
    assert resident.municipality_id == pag.id
    assert resident.channel == Channel.MESSENGER and resident.external_id == "7001"
    all_titles_fit(ona)
    assert messenger.graph.violations == 0


async def test_the_municipality_can_be_typed(messenger: MessengerHarness, db: Database) -> None:
    jonas = messenger.user("7002")
    await jonas.send("Labas")
    await jonas.tap("Sutinku")
    await jonas.send("Nežinoma vieta")
    assert jonas.reply_texts[0].startswith("Tokiu pavadinimu savivaldybės neradome.")
    await jonas.send("Vilnius")
    assert jonas.reply_texts == ["Kurią turite omenyje?"]
    assert jonas.quick_reply_titles() == ["Vilniaus m.", "Vilniaus r."]
    await jonas.send("pagegiai")
    assert jonas.reply_texts[0].startswith("Jūsų savivaldybė: Pagėgių sav.")
    await jonas.tap("Nenoriu nurodyti")
    resident = await resident_of(db, "7002")
    assert resident is not None and resident.onboarded_at is not None
    assert resident.age_group is None
    assert messenger.graph.violations == 0


async def test_whatever_someone_not_consented_writes_leads_to_the_privacy_notice(
    messenger: MessengerHarness, db: Database
) -> None:
    petras = messenger.user("7003")
    await petras.send("Kada bus susirinkimas?")
    assert petras.reply_texts[0].startswith("Sveiki! Aš – „Dalyvauk“")
    assert "Ar sutinkate?" in petras.reply_texts[1]
    await petras.postback("polls", "Apklausos")  # the persistent menu before consenting
    assert "Ar sutinkate?" in petras.last_text
    await petras.tap("Nesutinku")
    assert petras.reply_texts[0].startswith("Be jūsų sutikimo negalime saugoti")
    assert "Sutinku" in petras.quick_reply_titles()
    resident = await resident_of(db, "7003")
    assert resident is not None and resident.consented_at is None
    await petras.tap("Privatumo pranešimas")
    assert petras.reply_texts[0].startswith("Privatumo pranešimas")
    assert "<b>" not in petras.reply_texts[0]


async def test_language_switch(messenger: MessengerHarness, db: Database) -> None:
    user = messenger.user("7004")
    await user.postback("get_started")
    await user.tap("English")
    assert user.reply_texts[0] == "Language: English"
    assert "Do you agree?" in user.reply_texts[1]
    await user.tap("I agree")
    assert "Which municipality do you live in?" in user.last_text
    await user.send("Pagegiu")
    await user.tap("I'd rather not say")
    assert user.quick_reply_titles()[0] == "Polls"
    resident = await resident_of(db, "7004")
    assert resident is not None and resident.language == "en"

    await user.tap("Settings")
    await user.tap("Language")
    assert user.quick_reply_titles() == ["Lietuvių", "English"]
    await user.tap("Lietuvių")
    assert user.reply_texts[0].startswith("Kalba: Lietuvių")
    assert user.quick_reply_titles() == MENU
    resident = await resident_of(db, "7004")
    assert resident is not None and resident.language == "lt"


async def test_onboarded_resident_gets_the_menu_and_a_polite_word_for_unknown_text(
    messenger: MessengerHarness,
) -> None:
    user = messenger.user("7005")
    await user.onboard()
    await user.postback("get_started")
    assert user.reply_texts[0].startswith("Sveiki sugrįžę!")
    await user.send("kažkas nesuprantamo")
    assert user.reply_texts[0].startswith("Atsiprašome, nesupratome.")
    assert user.quick_reply_titles() == MENU
    await user.send("Meniu")
    assert user.reply_texts[0] == "Ką norėtumėte daryti? Pasirinkite žemiau."
    await user.postback("nothing:here")
    assert user.reply_texts[0].startswith("Šis mygtukas nebegalioja.")
    all_titles_fit(user)
    assert messenger.graph.violations == 0
