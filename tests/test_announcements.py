"""Organizers compose, preview, send and schedule announcements; residents get them once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from bot.channels.telegram.announcing import normalize_url, parse_local_moment
from bot.channels.telegram.audience_picker import (
    AudienceAgeCb,
    AudienceCb,
    AudienceMunicipalityCb,
    AudiencePageCb,
    Flow,
)
from bot.channels.telegram.callbacks import BroadcastCancelCb
from bot.channels.telegram.progress import progress_text
from bot.i18n import create_i18n, date_and_time
from bot.localapi.server import LocalBotAPI, StoredMessage
from bot.services import broadcasts
from bot.services.audiences import Audience
from bot.services.broadcasts import Progress
from bot.services.quiet_hours import QuietHours
from models import (
    AgeGroup,
    Broadcast,
    BroadcastStatus,
    FsmRecord,
    MessageCategory,
    OutboxMessage,
    OutboxStatus,
    utcnow,
)
from tests.conftest import make_settings
from tests.support.db import Database
from tests.support.harness import ADMIN_ID, BotHarness, Chat, Mode, harness_settings
from tests.support.residents import add_residents
from tests.test_onboarding import onboard

VILNIUS = ZoneInfo("Europe/Vilnius")
ORGANIZER_ID = 5001
STALE = "Šis mygtukas nebegalioja."
FAST = {"rate_per_second": 30, "progress_interval": 0.2}
NO_QUIET_HOURS = {"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"}


@pytest.fixture
async def harness(
    database_url: str, local_api: LocalBotAPI, mode: Mode
) -> AsyncIterator[BotHarness]:
    """The bot with quiet hours off (tests run at any hour) and fast progress reports."""
    settings = harness_settings(database_url, local_api, mode, delivery=FAST, **NO_QUIET_HOURS)
    bot_harness = BotHarness(
        local_api, settings, mode=mode, webhook_port=settings.webhook.listen_port
    )
    await bot_harness.start()
    yield bot_harness
    await bot_harness.stop()


async def organizer(harness: BotHarness) -> Chat:
    admin = harness.chat(ADMIN_ID, "Admin")
    await admin.send(f"/organizer_add {ORGANIZER_ID}")
    return harness.chat(ORGANIZER_ID, "Tomas")


async def write(chat: Chat, text: str) -> None:
    """/announce, the text, no button: the audience question is the last message."""
    await chat.send("/announce")
    assert chat.last_text.startswith("Naujas pranešimas")
    await chat.send(text)
    assert chat.last_text == "Ar po pranešimu pridėti mygtuką su nuoroda?"
    await chat.click("Be mygtuko")
    assert chat.last_text.startswith("Kam siųsti pranešimą?")


async def choose_municipality(chat: Chat, name: str) -> None:
    """Page through the municipality list until ``name`` is on it, and press it."""
    for _ in range(10):
        message = chat.message_with_button("▶")
        if any(name in label for label in message.button_texts()):
            await chat.click(name, message)
            return
        await chat.click("▶", message)
    raise AssertionError(f"{name} is not on any page")


def audience_count(chat: Chat) -> str:
    """The "Pranešimą gaus …" line of the message being edited."""
    lines = [line for line in chat.last_text.splitlines() if line.startswith("Pranešimą gaus")]
    assert len(lines) == 1, chat.last_text
    return lines[0]


def texts_received(harness: BotHarness, chat_id: int) -> list[str]:
    return [m.text for m in harness.api.bot_messages(chat_id)]


def progress_messages(chat: Chat) -> list[StoredMessage]:
    return [m for m in chat.messages if "Išsiųsta:" in m.text]


async def wait_sent(harness: BotHarness, chat: Chat, count: int = 1) -> StoredMessage:
    """Until the organizer's ``count``-th progress message shows the final report."""

    def finished() -> bool:
        done = [m for m in progress_messages(chat) if m.text.startswith("Pranešimas išsiųstas")]
        return len(done) >= count

    await harness.api.wait_for(finished, timeout=15, description="the final progress report")
    return progress_messages(chat)[count - 1]


@pytest.mark.parametrize("mode", ["polling", "webhook"], indirect=True)
async def test_organizer_announces_to_a_chosen_audience_and_sees_the_progress(
    harness: BotHarness, db: Database
) -> None:
    api = harness.api
    pag = await add_residents(db.sessions, api, 2, first_chat_id=100_000)  # 30–44
    young = await add_residents(
        db.sessions, api, 1, age_group=AgeGroup.AGE_18_29, first_chat_id=100_010
    )
    old = await add_residents(
        db.sessions, api, 1, age_group=AgeGroup.AGE_65_PLUS, first_chat_id=100_020
    )
    birzai = await add_residents(db.sessions, api, 1, municipality="BRZ", first_chat_id=100_030)
    not_wanted = await add_residents(
        db.sessions, api, 1, first_chat_id=100_040, wants_announcements=False
    )
    muted = await add_residents(db.sessions, api, 1, first_chat_id=100_050, muted=True)
    blocked = await add_residents(db.sessions, api, 1, first_chat_id=100_060)
    api.block_chat(blocked[0])
    ona = harness.chat(1001, "Ona")
    await onboard(ona)  # Pagėgių sav., 30–44
    petras = harness.chat(1003, "Petras")
    await onboard(petras)
    await petras.tap_menu("Mano duomenys ir nustatymai")
    await petras.click("Pranešimų nustatymai")
    await petras.click("Pranešimai")  # turns announcements off
    newcomer = harness.chat(1002, "Jonas")
    await newcomer.send("/start")  # has not agreed yet

    chat = await organizer(harness)
    text = "Kviečiame į susitikimą <seniūnijoje> & aptarimą!"
    await write(chat, text)
    assert "Savivaldybės: visos\nAmžiaus grupės: visos" in chat.last_text

    await chat.click("Pasirinkti savivaldybes")
    assert chat.replies == []  # the same message shows the list
    await choose_municipality(chat, "Pagėgių sav.")
    assert "✓ Pagėgių sav." in chat.last.button_texts()
    assert audience_count(chat) == "Pranešimą gaus 6 gyventojai."
    await chat.click("Toliau")
    await chat.click("Pasirinkti amžiaus grupes")
    await chat.click("18–29 m.")
    assert audience_count(chat) == "Pranešimą gaus 1 gyventojas."
    await chat.click("30–44 m.")
    assert audience_count(chat) == "Pranešimą gaus 5 gyventojai."
    assert "Amžiaus grupės: 18–29 m., 30–44 m." in chat.last_text
    await chat.click("Toliau")
    assert "Savivaldybės: Pagėgių sav." in chat.last_text

    await chat.click("Toliau")  # to the preview
    assert chat.reply_texts == [
        "Peržiūra – taip gyventojai matys pranešimą:",
        text,
        "Siųsti šį pranešimą? Jį gaus 5 gyventojai.",
    ]
    assert chat.replies[1].button_texts() == []
    assert chat.last.button_texts() == ["Siųsti dabar", "Suplanuoti", "Atšaukti"]

    await chat.click("Siųsti dabar")
    assert chat.callback_answer()["text"] == "Siunčiama."  # type: ignore[index]
    assert chat.last_text == "Pranešimas siunčiamas. Eigą matysite žemiau."
    report = await wait_sent(harness, chat)

    audience = [*pag, *young, ona.chat_id]
    for chat_id in audience:
        assert texts_received(harness, chat_id).count(text) == 1, chat_id
    for chat_id in [*old, *birzai, *not_wanted, *muted, *blocked]:
        assert texts_received(harness, chat_id) == [], chat_id
    for person in (petras, newcomer):
        assert text not in texts_received(harness, person.chat_id)

    outbox = await db.all(OutboxMessage)
    assert sorted((int(row.chat_id), row.status) for row in outbox) == sorted(
        [(chat_id, OutboxStatus.SENT) for chat_id in audience]
        + [(blocked[0], OutboxStatus.BLOCKED)]
    )
    [broadcast] = await db.all(Broadcast)
    assert broadcast.status is BroadcastStatus.DONE
    assert broadcast.created_by == ORGANIZER_ID
    assert broadcast.progress_message_id == report.message_id

    assert len(progress_messages(chat)) == 1  # one message, edited as sending went on
    lines = report.text.replace("\xa0", " ").splitlines()
    assert lines[0] == "Pranešimas išsiųstas"
    assert lines[1].startswith("„Kviečiame į susitikimą <seniūnijoje>")
    assert lines[3:7] == [
        "▓▓▓▓▓▓▓▓▓▓ 100 %",
        "Išsiųsta: 4 / 5",
        "Nepavyko: 0",
        "Užblokavę robotą: 1",
    ]
    assert lines[7].startswith("Baigta: ")
    assert await db.all(FsmRecord, FsmRecord.key.contains(str(ORGANIZER_ID))) == []


async def test_photo_announcement_with_a_caption_and_a_link_button(
    harness: BotHarness, db: Database
) -> None:
    residents = await add_residents(db.sessions, harness.api, 2)
    chat = await organizer(harness)
    await chat.send("/announce")
    await chat.send_photo(caption="Šeštadienį – talka prie ežero")
    photo = [m for m in harness.api.messages(ORGANIZER_ID) if m.kind == "photo"][-1]
    await chat.click("Pridėti mygtuką su nuoroda")
    assert chat.last_text.startswith("Parašykite mygtuko tekstą (iki 64 simbolių)")
    await chat.send("R" * 65)
    assert chat.last_text.startswith("Mygtuko tekstas gali turėti iki 64 simbolių, o jūsų – 65.")
    await chat.send("Registruotis")
    assert chat.last_text.startswith("Atsiųskite nuorodą")
    await chat.send("pagegiai lt")
    assert chat.last_text.startswith("Tai nepanašu į nuorodą.")
    await chat.send("t.me/dalyvauk_test_bot?start=evt_12")
    assert chat.last_text.startswith("Kam siųsti pranešimą?")
    await chat.click("Visiems gyventojams")

    preview = chat.replies[1]
    assert (preview.kind, preview.text, preview.file_id) == (
        "photo",
        "Šeštadienį – talka prie ežero",
        photo.file_id,
    )
    url = "https://t.me/dalyvauk_test_bot?start=evt_12"
    assert preview.inline_buttons() == [{"text": "Registruotis", "url": url}]
    assert chat.last_text == "Siųsti šį pranešimą? Jį gaus 2 gyventojai."
    await chat.click("Siųsti dabar")
    await wait_sent(harness, chat)

    for chat_id in residents:
        [received] = harness.api.bot_messages(chat_id)
        assert (received.kind, received.text, received.file_id) == (
            preview.kind,
            preview.text,
            preview.file_id,
        )
        assert received.inline_buttons() == preview.inline_buttons()
    [broadcast] = await db.all(Broadcast)
    assert (broadcast.photo_file_id, broadcast.button_text, broadcast.button_url) == (
        photo.file_id,
        "Registruotis",
        url,
    )


async def test_scheduled_announcement_is_listed_cancelled_and_never_sent(
    harness: BotHarness, db: Database
) -> None:
    [resident] = await add_residents(db.sessions, harness.api, 1)
    chat = await organizer(harness)
    await write(chat, "Susirinkimas bendruomenės namuose")
    await chat.click("Visiems gyventojams")
    await chat.click("Suplanuoti")
    assert chat.last_text.startswith("Kada išsiųsti? Parašykite datą ir laiką (Lietuvos laiku)")

    await chat.send("rytoj vakare")
    assert chat.last_text.startswith("Nesupratau šios datos ir laiko. Parašykite taip: ")
    await chat.send("2020-01-01 10:00")
    assert chat.last_text == "Šis laikas jau praėjo. Parašykite būsimą laiką."
    day = (utcnow().astimezone(VILNIUS) + timedelta(days=2)).date()
    moment = datetime.combine(day, time(18, 0), tzinfo=VILNIUS).astimezone(UTC)
    await chat.send(f"  {day:%Y-%m-%d}   18:00 ")
    when = date_and_time(moment, VILNIUS, "lt")
    assert chat.last_text.startswith(f"Pranešimas suplanuotas: {when}")
    assert await db.count(Broadcast) == 1
    [broadcast] = await db.all(Broadcast)
    assert (broadcast.status, broadcast.scheduled_at) == (BroadcastStatus.SCHEDULED, moment)

    await chat.send("/announcements")
    listing = chat.last
    assert f"1. Susirinkimas bendruomenės namuose\nsuplanuotas: {when}" in listing.text
    assert listing.button_texts() == ["Atšaukti 1. Susirinkimas bendruomenės…"]
    cancel = listing.button_data("Atšaukti 1.")
    await chat.click("Atšaukti 1.")
    assert chat.callback_answer()["text"] == "Pranešimas atšauktas."  # type: ignore[index]
    assert "1. Susirinkimas bendruomenės namuose\natšauktas" in chat.last_text
    assert chat.last.button_texts() == []
    [broadcast] = await db.all(Broadcast)
    assert broadcast.status is BroadcastStatus.CANCELLED

    await chat.press(listing.message_id, cancel)  # a second tap on the old button
    assert chat.callback_answer()["text"] == "Šio pranešimo atšaukti nebegalima."  # type: ignore[index]
    await chat.press(listing.message_id, "bcx:999999")
    assert chat.callback_answer()["text"] == "Šio pranešimo atšaukti nebegalima."  # type: ignore[index]

    # Even once its time has come, a cancelled announcement is not sent: the next one is.
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Broadcast).values(scheduled_at=utcnow() - timedelta(minutes=1))
        )
    await write(chat, "Antras pranešimas")
    await chat.click("Visiems gyventojams")
    await chat.click("Siųsti dabar")
    await wait_sent(harness, chat)
    assert texts_received(harness, resident) == ["Antras pranešimas"]
    cancelled = await db.all(Broadcast, Broadcast.status == BroadcastStatus.CANCELLED)
    assert len(cancelled) == 1
    assert await db.count(OutboxMessage, OutboxMessage.broadcast_id == cancelled[0].id) == 0


async def test_the_list_shows_and_cancels_announcements_only(
    harness: BotHarness, db: Database
) -> None:
    """Poll invitations, poll results (and event messages) are broadcasts of the organizer
    too, but /announcements neither lists them nor cancels them."""
    chat = await organizer(harness)
    later = utcnow() + timedelta(days=2)
    async with db.sessions() as session, session.begin():
        ids = {
            category: (
                await broadcasts.create(
                    session,
                    created_by=ORGANIZER_ID,
                    text=f"Žinutė: {category.value}",
                    audience=Audience(),
                    category=category,
                    send_at=later,
                )
            ).id
            for category in MessageCategory
        }
    await chat.send("/announcements")
    listing = chat.last
    assert "1. Žinutė: announcement\nsuplanuotas: " in listing.text
    assert "poll" not in listing.text and "event" not in listing.text
    assert "\n2. " not in listing.text
    assert listing.button_texts() == ["Atšaukti 1. Žinutė: announcement"]

    for category in (MessageCategory.POLL, MessageCategory.EVENT):
        await chat.press(listing.message_id, BroadcastCancelCb(id=ids[category]).pack())
        assert chat.callback_answer()["text"] == "Šio pranešimo atšaukti nebegalima."  # type: ignore[index]
    statuses = {b.category: b.status for b in await db.all(Broadcast)}
    assert set(statuses.values()) == {BroadcastStatus.SCHEDULED}

    await chat.click("Atšaukti 1.", listing)
    assert chat.callback_answer()["text"] == "Pranešimas atšauktas."  # type: ignore[index]
    statuses = {b.category: b.status for b in await db.all(Broadcast)}
    assert statuses == {
        MessageCategory.ANNOUNCEMENT: BroadcastStatus.CANCELLED,
        MessageCategory.POLL: BroadcastStatus.SCHEDULED,
        MessageCategory.EVENT: BroadcastStatus.SCHEDULED,
    }


async def test_a_resident_cannot_announce(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(1005)
    await onboard(chat)
    await chat.send("/announce")
    assert chat.reply_texts == ["Atsiprašome, tai gali daryti tik organizatoriai."]
    await chat.send("/announcements")
    assert chat.reply_texts == ["Atsiprašome, tai gali daryti tik organizatoriai."]
    await chat.press(chat.last.message_id, "ann:1:send")
    assert chat.callback_answer()["text"] == STALE  # type: ignore[index]
    await chat.send("Kviečiame visus!")
    assert chat.reply_texts[0].startswith("Atsiprašome, nesupratau.")
    assert await db.count(Broadcast) == 0


async def test_too_long_text_is_refused_politely_and_the_step_is_kept(
    harness: BotHarness, db: Database
) -> None:
    chat = await organizer(harness)
    await chat.send("/announce")
    await chat.send("ą" * 5000)
    assert chat.last_text.replace("\xa0", " ") == (
        "Tekstas per ilgas: 5 000 simbolių, galima 4 096. Sutrumpinkite jį ir atsiųskite dar kartą."
    )
    await chat.send_sticker()
    assert chat.last_text.startswith("Pranešimas gali būti tik tekstas arba nuotrauka su aprašu.")
    await chat.send("Trumpas tekstas")
    assert chat.last_text == "Ar po pranešimu pridėti mygtuką su nuoroda?"
    assert await db.count(Broadcast) == 0


async def test_composing_can_be_stopped(harness: BotHarness, db: Database) -> None:
    chat = await organizer(harness)
    await chat.send("/announce")
    await chat.send_sticker()
    assert chat.last_text.startswith("Pranešimas gali būti tik tekstas")
    await chat.send("Tekstas")
    await chat.send("Ne mygtukas, o tekstas")
    assert chat.reply_texts == ["Atsakykite paspausdami vieną iš mygtukų."]
    await chat.send("/cancel")
    assert chat.last_text == "Pranešimo kūrimas nutrauktas. Niekas neišsiųsta."
    await chat.send("Ar dar girdite?")
    assert not chat.last_text.startswith("Ar po pranešimu")
    assert await db.count(Broadcast) == 0


async def test_stale_and_forged_buttons_change_nothing(harness: BotHarness, db: Database) -> None:
    await add_residents(db.sessions, harness.api, 1)
    chat = await organizer(harness)
    await write(chat, "Pirmas juodraštis")
    first_audience = chat.last
    everyone = first_audience.button_data("Visiems gyventojams")
    await chat.click("Visiems gyventojams")
    first = chat.last
    first_send = first.button_data("Siųsti dabar")

    await write(chat, "Antras juodraštis")  # a new draft: the first one's buttons are stale
    await chat.press(first.message_id, first_send)
    assert chat.callback_answer()["text"] == STALE  # type: ignore[index]
    await chat.press(first_audience.message_id, everyone)
    assert chat.callback_answer()["text"] == STALE  # type: ignore[index]
    hub = chat.last
    choose = AudienceCb.unpack(hub.button_data("Pasirinkti savivaldybes"))
    draft = choose.draft
    await chat.click("Pasirinkti savivaldybes")
    await chat.press(hub.message_id, f"audm:a:{draft}:999999:0")
    assert chat.callback_answer()["text"] == (  # type: ignore[index]
        "Šios savivaldybės pasirinkti negalima. Pasirinkite kitą."
    )
    await chat.press(hub.message_id, f"auda:a:{draft}:over_9000")
    assert chat.callback_answer()["text"] == STALE  # type: ignore[index]
    await chat.press(hub.message_id, f"audm:p:{draft}:1:0")  # the poll flow's button
    assert chat.callback_answer()["text"] == STALE  # type: ignore[index]
    await chat.press(hub.message_id, f"ann:{draft}:send")  # not at that step yet
    assert chat.callback_answer()["text"] == STALE  # type: ignore[index]
    assert await db.count(Broadcast) == 0

    await chat.click("Toliau")
    await chat.click("Visiems gyventojams")
    await chat.click("Atšaukti")
    assert chat.last_text == "Pranešimo kūrimas nutrauktas. Niekas neišsiųsta."
    await chat.press(chat.last.message_id, f"ann:{draft}:send")
    assert chat.callback_answer()["text"] == STALE  # type: ignore[index]
    assert await db.count(Broadcast) == 0


@pytest.mark.parametrize("mode", ["polling", "webhook"], indirect=True)
async def test_double_tap_on_send_now_creates_one_broadcast(
    harness: BotHarness, db: Database
) -> None:
    [resident] = await add_residents(db.sessions, harness.api, 1)
    chat = await organizer(harness)
    await write(chat, "Vienas kartas")
    await chat.click("Visiems gyventojams")
    confirm = chat.last
    data = confirm.button_data("Siųsti dabar")
    first = await harness.api.press_button(ORGANIZER_ID, confirm.message_id, data)
    second = await harness.api.press_button(ORGANIZER_ID, confirm.message_id, data)
    await harness.handled(first)
    await harness.handled(second)
    answers = [a.get("text") for a in harness.api.callback_answers[-2:]]
    assert sorted(answers) == sorted(["Siunčiama.", STALE])
    await wait_sent(harness, chat)
    assert await db.count(Broadcast) == 1
    assert texts_received(harness, resident) == ["Vienas kartas"]


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "1 gyventojas"),
        (2, "2 gyventojai"),
        (10, "10 gyventojų"),
        (21, "21 gyventojas"),
        (22, "22 gyventojai"),
        (111, "111 gyventojų"),
        (0, "0 gyventojų"),
    ],
)
def test_resident_counts_use_lithuanian_plurals(count: int, expected: str) -> None:
    i18n = create_i18n("lt")
    text = i18n.gettext("{count} resident", "{count} residents", count, locale="lt")
    assert text.format(count=count) == expected


@pytest.mark.parametrize("flow", list(Flow))
def test_audience_buttons_fit_in_callback_data(flow: Flow) -> None:
    """Telegram allows 64 bytes; pack() refuses more. Draft ids are message ids."""
    big = 2**31 - 1
    longest_group = max((g.value for g in AgeGroup), key=len)
    for data in (
        AudienceCb(flow=flow, draft=big, action="municipalities"),
        AudienceMunicipalityCb(flow=flow, draft=big, id=big, page=99),
        AudiencePageCb(flow=flow, draft=big, page=99),
        AudienceAgeCb(flow=flow, draft=big, group=longest_group),
    ):
        assert len(data.pack().encode()) <= 64


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-12-01 18:00", datetime(2026, 12, 1, 16, 0, tzinfo=UTC)),  # winter: UTC+2
        ("2026-07-01 18:00", datetime(2026, 7, 1, 15, 0, tzinfo=UTC)),  # summer: UTC+3
        ("  2026.12.01   18.00 ", datetime(2026, 12, 1, 16, 0, tzinfo=UTC)),
        ("2026-12-1 9:05", datetime(2026, 12, 1, 7, 5, tzinfo=UTC)),
        ("2026-02-30 10:00", None),
        ("2026-12-01 25:00", None),
        ("rytoj 18:00", None),
        ("2026-12-01", None),
    ],
)
def test_schedule_time_is_read_in_vilnius_time(typed: str, expected: datetime | None) -> None:
    assert parse_local_moment(typed, VILNIUS) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("https://www.pagegiai.lt/renginiai", "https://www.pagegiai.lt/renginiai"),
        (" t.me/dalyvauk_bot?start=evt_1 ", "https://t.me/dalyvauk_bot?start=evt_1"),
        ("http://pagegiai.lt", None),
        ("pagegiai lt", None),
        ("https://", None),
        ("javascript:alert(1)", None),
    ],
)
def test_button_links(typed: str, expected: str | None) -> None:
    assert normalize_url(typed) == expected


def _progress(**values: object) -> Progress:
    now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    fields: dict[str, object] = {
        "broadcast_id": 1,
        "total": 240,
        "sent": 118,
        "failed": 1,
        "blocked": 1,
        "waiting": 120,
        "started_at": now - timedelta(minutes=2),
        "finished": False,
    }
    fields.update(values)
    return Progress(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "lt",
            [
                "<b>Pranešimas siunčiamas</b>",
                "„Kviečiame į susitikimą“",
                "",
                "▓▓▓▓▓░░░░░ 50 %",
                "Išsiųsta: 118 / 240",
                "Nepavyko: 1",
                "Užblokavę robotą: 1",
                "Liko apie 2 min.",
            ],
        ),
        (
            "en",
            [
                "<b>Sending the announcement</b>",
                "“Kviečiame į susitikimą”",
                "",
                "▓▓▓▓▓░░░░░ 50%",
                "Sent: 118 / 240",
                "Failed: 1",
                "Have blocked the bot: 1",
                "About 2 min. left.",
            ],
        ),
    ],
)
def test_progress_message_shows_a_bar_counts_and_time_left(
    locale: str, expected: list[str]
) -> None:
    settings = make_settings("sqlite+aiosqlite:///unused.sqlite3")
    broadcast = Broadcast(text="<b>Kviečiame</b> į susitikimą", urgent=False)
    now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # 12:00 in Vilnius: not quiet hours
    quiet = QuietHours(settings.quiet_hours_start, settings.quiet_hours_end, VILNIUS)
    i18n = create_i18n("lt")
    with i18n.context(), i18n.use_locale(locale):
        text = progress_text(broadcast, _progress(), now, quiet, settings, locale)
    assert text.replace("\xa0", " ").splitlines() == expected


def test_progress_message_explains_quiet_hours() -> None:
    settings = make_settings("sqlite+aiosqlite:///unused.sqlite3")
    broadcast = Broadcast(text="Kviečiame", urgent=False)
    now = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)  # 22:00 in Vilnius
    quiet = QuietHours(settings.quiet_hours_start, settings.quiet_hours_end, VILNIUS)
    i18n = create_i18n("lt")
    with i18n.context(), i18n.use_locale("lt"):
        text = progress_text(broadcast, _progress(), now, quiet, settings, "lt")
    assert text.splitlines()[-1] == "Ramios valandos: siuntimas tęsis 08:00."
