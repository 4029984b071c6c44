"""Nustatymai on Messenger: the municipality (paged or typed), the age group, which bulk
messages a resident gets (a poll broadcast skips who turned polls off), muting everything,
the language, and old buttons answered politely.

The real application with Messenger on, the local Graph API on 127.0.0.1; both databases.
"""

from __future__ import annotations

import asyncio

from bot.services import audiences, broadcasts
from bot.services.audiences import Audience
from models import (
    Broadcast,
    BroadcastStatus,
    Channel,
    MessageCategory,
    Municipality,
    OutboxMessage,
    Resident,
    ResidentAccount,
)
from tests.support.db import Database
from tests.support.messenger import MessengerHarness, MessengerUser

SETTINGS = ["Savivaldybė", "Amžiaus grupė", "Žinutės", "Kalba", "Meniu"]
PREFERENCES_ON = [
    "Išjungti pranešimus",
    "Išjungti apklausas",
    "Išjungti renginius",
    "Nutildyti viską",
    "Nustatymai",
    "Meniu",
]


async def resident_of(db: Database, psid: str) -> Resident:
    (account,) = await db.all(
        ResidentAccount,
        ResidentAccount.channel == Channel.MESSENGER,
        ResidentAccount.external_id == psid,
    )
    (resident,) = await db.all(Resident, Resident.id == account.resident_id)
    return resident  # type: ignore[no-any-return]


async def municipality_code(db: Database, resident: Resident) -> str:
    (row,) = await db.all(Municipality, Municipality.id == resident.municipality_id)
    return row.code  # type: ignore[no-any-return]


def all_titles_fit(messenger: MessengerHarness, *users: MessengerUser) -> None:
    for user in users:
        for message in user.messages:
            assert len(message.quick_replies) <= 13
            for title, payload in [*message.quick_replies, *message.buttons]:
                assert 0 < len(title) <= 20, title
                assert "…" not in title, title  # nothing had to be cut
                assert len(payload) <= 1000
    assert messenger.graph.violations == 0


async def test_the_summary_and_the_municipality_from_the_second_page(
    messenger: MessengerHarness, db: Database
) -> None:
    ona = messenger.user("8101")
    await ona.onboard(municipality="PAG")
    assert "Nustatymai" in ona.quick_reply_titles()
    onboarded_at = (await resident_of(db, "8101")).onboarded_at

    await ona.tap("Nustatymai")
    (summary,) = ona.reply_texts
    assert summary.startswith("Mano duomenys ir nustatymai")
    assert "<b>" not in summary
    assert "Kalba: lietuvių" in summary
    assert "Savivaldybė: Pagėgių sav." in summary
    assert "Amžiaus grupė: nenurodyta" in summary
    assert summary.endswith("Ką norėtumėte pakeisti?")
    assert ona.quick_reply_titles() == SETTINGS

    await ona.tap("Savivaldybė")
    assert ona.reply_texts == [
        "Kurioje savivaldybėje gyvenate? Pasirinkite žemiau arba įrašykite jos pavadinimą."
    ]
    first_page = ona.quick_reply_titles()
    assert len(first_page) == 13 and first_page[-1] == "Daugiau"
    await ona.tap("Daugiau")
    second_page = ona.quick_reply_titles()
    assert second_page[-1] == "Daugiau"
    assert not set(second_page[:-1]) & set(first_page[:-1])
    chosen = second_page[0]
    await ona.tap(chosen)
    (answer,) = ona.reply_texts
    assert answer.startswith(f"Jūsų savivaldybė: {chosen}")
    assert f"Savivaldybė: {chosen}" in answer
    assert ona.quick_reply_titles() == SETTINGS

    resident = await resident_of(db, "8101")
    (municipality,) = await db.all(Municipality, Municipality.id == resident.municipality_id)
    assert municipality.short_lt == chosen
    # As on Telegram: only the municipality changed; the resident stays onboarded.
    assert resident.onboarded_at == onboarded_at and resident.consented_at is not None

    # The chooser is closed: a name typed now is not taken for a municipality.
    await ona.send("Vilnius")
    assert ona.reply_texts[0].startswith("Atsiprašome, nesupratome.")
    assert await municipality_code(db, await resident_of(db, "8101")) == municipality.code
    all_titles_fit(messenger, ona)


async def test_the_municipality_can_be_typed_and_meniu_leaves_the_chooser(
    messenger: MessengerHarness, db: Database
) -> None:
    jonas = messenger.user("8102")
    await jonas.onboard(municipality="PAG")
    await jonas.send("nustatymai")  # typed, any case
    assert jonas.quick_reply_titles() == SETTINGS

    await jonas.tap("Savivaldybė")
    await jonas.send("Nežinoma vieta")
    assert jonas.reply_texts[0].startswith("Tokiu pavadinimu savivaldybės neradome.")
    assert jonas.quick_reply_titles()[-1] == "Daugiau"
    await jonas.send("Vilnius")
    assert jonas.reply_texts == ["Kurią turite omenyje?"]
    assert jonas.quick_reply_titles() == ["Vilniaus m.", "Vilniaus r."]
    await jonas.tap("Vilniaus r.")
    assert jonas.reply_texts[0].startswith("Jūsų savivaldybė: Vilniaus r.")
    assert await municipality_code(db, await resident_of(db, "8102")) != "PAG"
    (row,) = await db.all(Municipality, Municipality.short_lt == "Vilniaus r.")
    assert (await resident_of(db, "8102")).municipality_id == row.id

    await jonas.send("Settings")
    await jonas.tap("Savivaldybė")
    await jonas.send("pagegiai")
    assert jonas.reply_texts[0].startswith("Jūsų savivaldybė: Pagėgių sav.")
    assert await municipality_code(db, await resident_of(db, "8102")) == "PAG"

    await jonas.tap("Savivaldybė")
    await jonas.send("Meniu")  # a way out of the chooser
    assert jonas.reply_texts == ["Ką norėtumėte daryti? Pasirinkite žemiau."]
    await jonas.send("Vilnius")
    assert jonas.reply_texts[0].startswith("Atsiprašome, nesupratome.")
    assert await municipality_code(db, await resident_of(db, "8102")) == "PAG"
    all_titles_fit(messenger, jonas)


async def test_the_age_group(messenger: MessengerHarness, db: Database) -> None:
    ona = messenger.user("8103")
    await ona.onboard()
    await ona.tap("Nustatymai")
    await ona.tap("Amžiaus grupė")
    assert ona.reply_texts[0].startswith("Kokiai amžiaus grupei priklausote?")
    assert ona.quick_reply_titles()[-1] == "Nenoriu nurodyti"
    await ona.tap("45–64 m.")
    (answer,) = ona.reply_texts
    assert answer.startswith("Amžiaus grupė: 45–64 m.")
    assert "Mano duomenys ir nustatymai" in answer
    assert ona.quick_reply_titles() == SETTINGS
    resident = await resident_of(db, "8103")
    assert resident.age_group is not None and resident.age_group.value == "45_64"

    await ona.tap("Amžiaus grupė")
    await ona.tap("Nenoriu nurodyti")
    assert ona.reply_texts[0].startswith("Amžiaus grupė: nenurodyta")
    assert (await resident_of(db, "8103")).age_group is None
    all_titles_fit(messenger, ona)


async def wait_done(db: Database, broadcast_id: int) -> None:
    """Until the engine has finished the broadcast (the limit only stops a hung test)."""
    async with asyncio.timeout(60):
        while True:
            (row,) = await db.all(Broadcast, Broadcast.id == broadcast_id)
            if row.status == BroadcastStatus.DONE:
                return
            await asyncio.sleep(0.05)


async def test_polls_turned_off_keep_a_poll_broadcast_away(
    messenger: MessengerHarness, db: Database
) -> None:
    ona = messenger.user("8104")
    jonas = messenger.user("8105")
    await ona.onboard()
    await jonas.onboard()

    await ona.tap("Nustatymai")
    await ona.tap("Žinutės")
    (text,) = ona.reply_texts
    assert text.startswith("Pranešimų nustatymai")
    assert "✓ Pranešimai\n✓ Apklausos\n✓ Renginiai" in text
    assert ona.quick_reply_titles() == PREFERENCES_ON

    await ona.tap("Išjungti apklausas")
    (text,) = ona.reply_texts
    assert text.startswith("Išsaugota.")
    assert "✓ Pranešimai\n✗ Apklausos\n✓ Renginiai" in text
    assert ona.quick_reply_titles()[:2] == ["Išjungti pranešimus", "Įjungti apklausas"]
    resident = await resident_of(db, "8104")
    assert (resident.wants_announcements, resident.wants_polls, resident.wants_events) == (
        True,
        False,
        True,
    )
    assert resident.muted is False

    app = messenger.app
    async with app.session_factory() as session:
        assert await audiences.count(session, Audience(), MessageCategory.POLL) == 1
        assert await audiences.count(session, Audience(), MessageCategory.ANNOUNCEMENT) == 2
    async with app.session_factory() as session, session.begin():
        broadcast = await broadcasts.create(
            session,
            created_by=1,
            text="Nauja apklausa apie parką",
            audience=Audience(),
            category=MessageCategory.POLL,
            urgent=True,  # not held back by quiet hours whenever the test runs
        )
        broadcast_id = broadcast.id
    app.delivery.wake()
    await wait_done(db, broadcast_id)

    assert "Nauja apklausa apie parką" in [m.text for m in jonas.messages]
    assert "Nauja apklausa apie parką" not in [m.text for m in ona.messages]
    rows = await db.all(OutboxMessage, OutboxMessage.broadcast_id == broadcast_id)
    assert [row.chat_id for row in rows] == ["8105"]

    await ona.tap("Įjungti apklausas")
    assert "✓ Apklausos" in ona.reply_texts[0]
    assert (await resident_of(db, "8104")).wants_polls is True
    all_titles_fit(messenger, ona, jonas)


async def test_mute_everything_and_unmute(messenger: MessengerHarness, db: Database) -> None:
    ona = messenger.user("8106")
    await ona.onboard()
    await ona.send("nustatymai")
    await ona.tap("Žinutės")
    await ona.tap("Nutildyti viską")
    (text,) = ona.reply_texts
    assert text.startswith("Išsaugota.")
    assert "Dabar visi pranešimai nutildyti" in text
    assert "Atšaukti nutildymą" in ona.quick_reply_titles()
    assert (await resident_of(db, "8106")).muted is True
    async with messenger.app.session_factory() as session:
        for category in MessageCategory:
            assert await audiences.count(session, Audience(), category) == 0

    await ona.postback("settings:msg:muted:on")  # the same button again: nothing changes
    assert ona.reply_texts[0].startswith("Išsaugota.")
    assert (await resident_of(db, "8106")).muted is True

    await ona.tap("Atšaukti nutildymą")
    assert "Dabar visi pranešimai nutildyti" not in ona.reply_texts[0]
    assert "Nutildyti viską" in ona.quick_reply_titles()
    assert (await resident_of(db, "8106")).muted is False
    await ona.tap("Nustatymai")
    assert ona.quick_reply_titles() == SETTINGS
    all_titles_fit(messenger, ona)


async def test_the_language_from_settings(messenger: MessengerHarness, db: Database) -> None:
    ona = messenger.user("8107")
    await ona.onboard()
    await ona.tap("Nustatymai")
    await ona.tap("Kalba")
    assert ona.quick_reply_titles() == ["Lietuvių", "English"]
    await ona.tap("English")
    assert ona.reply_texts[0].startswith("Language: English")
    assert "Settings" in ona.quick_reply_titles()
    assert (await resident_of(db, "8107")).language == "en"

    await ona.tap("Settings")
    (summary,) = ona.reply_texts
    assert summary.startswith("My data and settings")
    assert "Language: English" in summary and "Municipality: Pagėgiai" in summary
    assert ona.quick_reply_titles() == ["Municipality", "Age group", "Messages", "Language", "Menu"]
    await ona.tap("Messages")
    assert "✓ Announcements\n✓ Polls\n✓ Events" in ona.reply_texts[0]
    assert ona.quick_reply_titles() == [
        "Stop announcements",
        "Stop polls",
        "Stop events",
        "Mute everything",
        "Settings",
        "Menu",
    ]
    await ona.tap("Stop events")
    assert ona.quick_reply_titles()[2] == "Get events"
    await ona.tap("Mute everything")
    assert ona.quick_reply_titles()[3] == "Unmute everything"
    await ona.tap("Settings")
    await ona.tap("Language")
    await ona.tap("Lietuvių")
    assert ona.reply_texts[0].startswith("Kalba: Lietuvių")
    assert (await resident_of(db, "8107")).language == "lt"
    all_titles_fit(messenger, ona)


async def test_old_and_unknown_settings_buttons_are_answered_politely(
    messenger: MessengerHarness, db: Database
) -> None:
    ona = messenger.user("8108")
    await ona.onboard(municipality="PAG")
    for payload in ("settings:nonsense", "settings:mun:abc", "settings:age:old"):
        await ona.postback(payload)
        (text,) = ona.reply_texts
        assert text.startswith("Šis mygtukas nebegalioja."), payload
        assert "Mano duomenys ir nustatymai" in text
        assert ona.quick_reply_titles() == SETTINGS
    for payload in ("settings:msg:everything:on", "settings:msg:polls:maybe"):
        await ona.postback(payload)
        assert ona.reply_texts[0].startswith("Šis mygtukas nebegalioja."), payload
        assert "✓ Apklausos" in ona.reply_texts[0]

    await ona.postback("settings:mun:999999")  # no such (or no longer active) municipality
    assert ona.reply_texts[0].startswith("Šios savivaldybės pasirinkti negalima.")
    assert ona.quick_reply_titles()[-1] == "Daugiau"
    await ona.postback("settings:munp:99")  # past the last page: the last page
    assert "Daugiau" not in ona.quick_reply_titles()

    resident = await resident_of(db, "8108")
    assert await municipality_code(db, resident) == "PAG"
    assert (resident.wants_polls, resident.muted) == (True, False)
    assert resident.age_group is None

    # Someone who has not agreed yet is led to the privacy notice, not to the settings.
    petras = messenger.user("8109")
    await petras.postback("settings", "Nustatymai")
    assert "Ar sutinkate?" in petras.last_text
    assert (await resident_of(db, "8109")).municipality_id is None
    all_titles_fit(messenger, ona, petras)
