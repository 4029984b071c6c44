"""Organizers create polls in the chat, list, close and cancel them; polls open and close on
time through the scheduler job, invitations go to the audience, results to the organizer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.channels.telegram.poll_admin import NewPollCb, PollManageCb
from bot.channels.telegram.poll_jobs import PollJobs
from bot.localapi.server import LocalBotAPI, StoredMessage
from bot.services import polls
from bot.services.audiences import Audience
from bot.services.polls import QuestionSpec
from models import (
    AgeGroup,
    Broadcast,
    BroadcastStatus,
    MessageCategory,
    OutboxMessage,
    OutboxStatus,
    Poll,
    PollStatus,
    QuestionKind,
    Resident,
    ResultsVisibility,
    utcnow,
)
from tests.support.db import Database
from tests.support.harness import BotHarness, Chat, Mode, harness_settings
from tests.support.residents import add_residents
from tests.test_announcements import (
    FAST,
    NO_QUIET_HOURS,
    ORGANIZER_ID,
    STALE,
    choose_municipality,
    organizer,
)
from tests.test_onboarding import onboard

VILNIUS = ZoneInfo("Europe/Vilnius")
REFUSAL = "Atsiprašome, tai gali daryti tik organizatoriai."


@pytest.fixture
async def harness(
    database_url: str, local_api: LocalBotAPI, mode: Mode
) -> AsyncIterator[BotHarness]:
    """The bot with quiet hours off (tests run at any hour) and fast delivery."""
    settings = harness_settings(database_url, local_api, mode, delivery=FAST, **NO_QUIET_HOURS)
    bot_harness = BotHarness(
        local_api, settings, mode=mode, webhook_port=settings.webhook.listen_port
    )
    await bot_harness.start()
    yield bot_harness
    await bot_harness.stop()


def jobs(harness: BotHarness) -> PollJobs:
    app = harness.app
    assert app is not None
    return PollJobs(app.session_factory, app.bot, app.i18n, app.settings, app.delivery)


def local(moment: datetime) -> str:
    return moment.astimezone(VILNIUS).strftime("%Y-%m-%d %H:%M")


def minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


async def create(
    chat: Chat,
    question: str,
    kind: str,
    options: list[str] | None = None,
    *,
    opening: datetime | None = None,
    closing: datetime | None = None,
    visibility: str = "Po apklausos pabaigos",
    municipality: str | None = None,
) -> None:
    """/newpoll through to "Sukurti apklausą"."""
    await chat.send("/newpoll")
    assert chat.last_text.startswith("Nauja apklausa\nParašykite klausimą")
    await chat.send(question)
    assert chat.last_text == f"„{question}“\n\nKaip gyventojai atsakys?"
    assert chat.last.button_texts() == [
        "Vienas atsakymas",
        "Keli atsakymai",
        "Skalė 1–5",
        "Laisvas tekstas",
    ]
    await chat.click(kind)
    if options is not None:
        assert chat.last_text.startswith("Parašykite atsakymų variantus – nuo 2 iki 12")
        await chat.send("\n".join(options))
        assert chat.last_text.startswith("Atsakymų variantai\n1. ")
        await chat.click("Baigti")
    assert chat.last_text.startswith("Ką pakviesti atsakyti?")
    if municipality is not None:
        await chat.click("Pasirinkti savivaldybes")
        await choose_municipality(chat, municipality)
        await chat.click("Toliau")
        await chat.click("Toliau")
    else:
        await chat.click("Visiems gyventojams")
    assert chat.last_text.startswith("Kada apklausą pradėti?")
    if opening is None:
        await chat.click("Dabar")
    else:
        await chat.send(local(opening))
    assert chat.last_text.startswith("Kada apklausą uždaryti?")
    if closing is None:
        await chat.click("Po savaitės")
    else:
        await chat.send(local(closing))
    assert chat.last_text == "Kada atsakę gyventojai gali matyti rezultatus?"
    await chat.click(visibility)
    assert chat.last_text.startswith("Patikrinkite apklausą")
    assert chat.last.button_texts() == ["Sukurti apklausą", "Atšaukti"]
    await chat.click("Sukurti apklausą")


def texts_received(harness: BotHarness, chat_id: int) -> list[str]:
    return [m.text for m in harness.api.bot_messages(chat_id)]


async def wait_invited(harness: BotHarness, chat_ids: list[int]) -> None:
    await harness.api.wait_for(
        lambda: all(
            any(t.startswith("Nauja apklausa") for t in texts_received(harness, c))
            for c in chat_ids
        ),
        timeout=15,
        description="the invitations",
    )


async def wait_delivered(db: Database) -> None:
    """Until every broadcast has been sent and recorded."""
    for _ in range(300):
        if all(b.status is BroadcastStatus.DONE for b in await db.all(Broadcast)):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the invitations were not all recorded as sent")


def invitation(harness: BotHarness, chat_id: int) -> StoredMessage:
    [message] = [
        m for m in harness.api.bot_messages(chat_id) if m.text.startswith("Nauja apklausa")
    ]
    return message


@pytest.mark.parametrize("mode", ["polling", "webhook"], indirect=True)
async def test_a_poll_opening_now_invites_its_audience_only(
    harness: BotHarness, db: Database
) -> None:
    api = harness.api
    pag = await add_residents(db.sessions, api, 2, first_chat_id=100_000)
    birzai = await add_residents(db.sessions, api, 1, municipality="BRZ", first_chat_id=100_010)
    no_polls = await add_residents(db.sessions, api, 1, first_chat_id=100_020, wants_polls=False)
    chat = await organizer(harness)

    await chat.send("/newpoll")
    await chat.send("Ar reikia naujos žaidimų aikštelės prie mokyklos?")
    await chat.click("Vienas atsakymas")
    await chat.send("Taip")
    assert chat.last_text == (
        "Atsakymų variantai\n1. Taip\n\nParašykite dar vieną variantą: apklausai reikia bent 2."
    )
    assert chat.last.button_texts() == []
    await chat.send("Ne\n\n  Nežinau  ")
    assert chat.last_text == (
        "Atsakymų variantai\n1. Taip\n2. Ne\n3. Nežinau\n\n"
        "Parašykite dar vieną variantą arba paspauskite „Baigti“, jei tai viskas."
    )
    await chat.click("Baigti")
    await chat.click("Pasirinkti savivaldybes")
    await choose_municipality(chat, "Pagėgių sav.")
    assert "Kvietimą į apklausą gaus 2 gyventojai." in chat.last_text
    await chat.click("Toliau")
    await chat.click("Toliau")
    await chat.click("Dabar")
    await chat.click("Po savaitės")
    await chat.click("Po atsakymo")
    summary = chat.last_text
    assert "Klausimas: „Ar reikia naujos žaidimų aikštelės prie mokyklos?“" in summary
    assert "Atsakymas: Vienas atsakymas" in summary
    assert "Atsakymų variantai:\n1. Taip\n2. Ne\n3. Nežinau" in summary
    assert "Savivaldybės: Pagėgių sav." in summary
    assert "Pradedama: dabar" in summary
    assert "Gyventojai mato rezultatus: po atsakymo" in summary
    await chat.click("Sukurti apklausą")
    assert chat.last_text.startswith("Apklausa pradėta. Kvietimas siunčiamas: 2 gyventojai.")

    [poll] = await db.all(Poll)
    assert poll.status is PollStatus.OPEN
    assert poll.created_by == ORGANIZER_ID
    assert poll.results_visibility is ResultsVisibility.AFTER_ANSWER
    assert timedelta(days=7) - (poll.closes_at - poll.opens_at) < timedelta(seconds=1)
    [question] = poll.questions
    assert question.kind is QuestionKind.SINGLE
    assert [o.text for o in question.options] == ["Taip", "Ne", "Nežinau"]

    await wait_invited(harness, pag)
    for chat_id in pag:
        message = invitation(harness, chat_id)
        assert "„Ar reikia naujos žaidimų aikštelės prie mokyklos?“" in message.text
        [button] = message.inline_buttons()
        assert button["text"] == "Atsakyti"
        assert button["url"] == f"https://t.me/{api.bot_username}?start=poll_{poll.id}"
    for chat_id in [*birzai, *no_polls]:
        assert texts_received(harness, chat_id) == []
    await wait_delivered(db)
    [broadcast] = await db.all(Broadcast)
    assert broadcast.category is MessageCategory.POLL
    assert broadcast.created_by == ORGANIZER_ID
    assert broadcast.progress_chat_id is None
    outbox = await db.all(OutboxMessage)
    assert sorted(int(row.chat_id) for row in outbox) == pag
    assert {row.status for row in outbox} == {OutboxStatus.SENT}

    # The running job changes nothing about an open poll: no second invitation.
    assert await jobs(harness).run() == ([], [])
    assert len(await db.all(Broadcast)) == 1


async def test_organizer_creates_each_kind(harness: BotHarness, db: Database) -> None:
    chat = await organizer(harness)
    start = minute(utcnow()) + timedelta(days=2)
    await create(
        chat,
        "Kurias veiklas norėtumėte turėti bendruomenės namuose?",
        "Keli atsakymai",
        ["Mokymai", "Koncertai", "Sporto būreliai"],
        opening=start,
        closing=start + timedelta(days=3),
        visibility="Niekada",
    )
    assert chat.last_text.startswith("Apklausa suplanuota: ji prasidės 20")
    assert "Jūsų apklausos: /polls" in chat.last_text
    await create(chat, "Kaip vertinate seniūnijos darbą?", "Skalė 1–5", opening=start)
    await create(chat, "Ką pasiūlytumėte pakeisti savo gyvenvietėje?", "Laisvas tekstas")
    assert chat.last_text.startswith("Apklausa pradėta. Kvietimas siunčiamas: 0 gyventojų.")

    multiple, scale, text = sorted(await db.all(Poll), key=lambda p: p.id)
    assert (multiple.status, scale.status, text.status) == (
        PollStatus.SCHEDULED,
        PollStatus.SCHEDULED,
        PollStatus.OPEN,
    )
    assert multiple.questions[0].kind is QuestionKind.MULTIPLE
    assert [o.text for o in multiple.questions[0].options] == [
        "Mokymai",
        "Koncertai",
        "Sporto būreliai",
    ]
    assert multiple.opens_at == start
    assert multiple.closes_at == start + timedelta(days=3)
    assert multiple.results_visibility is ResultsVisibility.NEVER
    assert scale.questions[0].kind is QuestionKind.SCALE
    assert scale.questions[0].options == []
    assert scale.closes_at == start + timedelta(weeks=1)  # one week after opening
    assert scale.results_visibility is ResultsVisibility.AFTER_CLOSE
    assert text.questions[0].kind is QuestionKind.TEXT
    assert [p.audience for p in (multiple, scale, text)] == [Audience().to_json()] * 3
    assert await db.all(Broadcast, Broadcast.category == MessageCategory.POLL) != []


async def test_invalid_inputs_keep_the_step(harness: BotHarness, db: Database) -> None:
    chat = await organizer(harness)
    await chat.send("/newpoll")
    await chat.send("K" * 301)
    assert chat.reply_texts == ["Klausimas gali būti iki 300 ženklų. Parašykite trumpesnį."]
    await chat.send_sticker()
    assert chat.reply_texts == ["Atsakykite tekstu."]
    await chat.send("K" * 300)
    kind_message = chat.last
    scale_data = kind_message.button_data("Skalė 1–5")
    draft_id = int(scale_data.split(":")[1])
    await chat.click("Vienas atsakymas")

    await chat.send("V" * 101)
    assert chat.reply_texts == [
        "Atsakymo variantas gali būti iki 100 ženklų, o 1-asis ilgesnis. Parašykite trumpesnį."
    ]
    await chat.send("Pirmas")
    assert chat.last.button_texts() == []  # one option: no "Baigti"
    await chat.press(chat.last.message_id, NewPollCb(draft=draft_id, action="done").pack())
    assert chat.reply_texts == ["Apklausai reikia bent 2 atsakymų variantų. Parašykite dar vieną."]
    await chat.send("pirmas")
    assert chat.reply_texts == ["2-asis variantas jau yra sąraše. Parašykite kitokį."]
    await chat.send("\n".join(f"Variantas {n}" for n in range(2, 14)))  # 13 in all
    assert chat.reply_texts == [
        "Apklausoje gali būti ne daugiau kaip 12 atsakymų variantų. Iš šios žinutės nieko "
        "nepridėta – atsiųskite mažiau."
    ]
    await chat.send("\n".join(f"Variantas {n}" for n in range(2, 13)))  # 12 in all
    assert chat.last_text.endswith(
        "12. Variantas 12\n\nDaugiau variantų pridėti negalima. Paspauskite „Baigti“."
    )
    await chat.send("Variantas 13")
    assert chat.reply_texts[0].startswith("Apklausoje gali būti ne daugiau kaip 12")
    await chat.click("Baigti")
    await chat.click("Visiems gyventojams")

    now = utcnow()
    await chat.send("rytoj vakare")
    assert chat.reply_texts[0].startswith("Nesupratau šios datos ir laiko.")
    await chat.send(local(now - timedelta(hours=1)))
    assert chat.reply_texts == ["Šis laikas jau praėjo. Parašykite būsimą laiką."]
    opening = minute(now) + timedelta(days=3)
    await chat.send(local(opening))
    assert chat.last_text.startswith("Kada apklausą uždaryti?")
    await chat.send(local(opening - timedelta(days=1)))
    assert chat.reply_texts == [
        "Apklausa turi baigtis vėliau, nei prasideda. Parašykite vėlesnį laiką."
    ]
    await chat.send(local(opening))
    assert chat.reply_texts[0].startswith("Apklausa turi baigtis vėliau")

    # A button of an earlier step or draft changes nothing.
    await chat.press(kind_message.message_id, scale_data)
    assert chat.callback_answer()["text"] == STALE  # type: ignore[index]
    await chat.send("/cancel")
    assert chat.reply_texts == ["Apklausa atšaukta. Nieko nesukurta."]
    await chat.click("Po savaitės")
    assert chat.callback_answer()["text"] == STALE  # type: ignore[index]
    assert await db.all(Poll) == []


async def test_now_then_closing_in_the_past_is_refused(harness: BotHarness, db: Database) -> None:
    chat = await organizer(harness)
    await chat.send("/newpoll")
    await chat.send("Ar dalyvausite talkoje?")
    await chat.click("Laisvas tekstas")
    await chat.click("Visiems gyventojams")
    await chat.click("Dabar")
    await chat.send(local(utcnow() - timedelta(minutes=5)))
    assert chat.reply_texts == ["Šis laikas jau praėjo. Parašykite būsimą laiką."]
    assert await db.all(Poll) == []


async def test_a_resident_cannot_create_polls(harness: BotHarness, db: Database) -> None:
    ona = harness.chat(1001, "Ona")
    await onboard(ona)
    await ona.send("/newpoll")
    assert ona.reply_texts == [REFUSAL]
    forged = NewPollCb(draft=1, action="create").pack()
    await ona.press(ona.last.message_id, forged)
    assert await db.all(Poll) == []


async def _answer_single(
    db: Database, poll_id: int, votes: list[int], now: datetime | None = None
) -> None:
    """Onboarded residents (in id order) answer the option at each position in ``votes``."""
    async with db.sessions() as session, session.begin():
        poll = await polls.get_poll(session, poll_id)
        assert poll is not None
        question = poll.questions[0]
        people = list(
            await session.scalars(
                select(Resident).where(Resident.onboarded_at.is_not(None)).order_by(Resident.id)
            )
        )
        assert len(people) >= len(votes)
        for person, position in zip(people, votes, strict=False):
            option = question.options[position - 1]
            result = await polls.answer_single(session, question.id, person, option.id, now=now)
            assert result.ok, result


async def test_scheduled_poll_opens_and_closes_on_time_once_with_results(
    harness: BotHarness, db: Database
) -> None:
    residents = await add_residents(db.sessions, harness.api, 34, first_chat_id=200_000)
    others = await add_residents(
        db.sessions, harness.api, 2, age_group=AgeGroup.AGE_65_PLUS, first_chat_id=300_000
    )
    chat = await organizer(harness)
    opening = minute(utcnow()) + timedelta(days=1)
    closing = opening + timedelta(days=2)
    await chat.send("/newpoll")
    await chat.send("Kuri vieta tinkamiausia naujam suoliukui?")
    await chat.click("Vienas atsakymas")
    await chat.send("Parkas\nAikštė\nMokykla\nBažnyčia")
    await chat.click("Baigti")
    await chat.click("Pasirinkti amžiaus grupes")
    await chat.click("30–44 m.")
    assert "Kvietimą į apklausą gaus 34 gyventojai." in chat.last_text
    await chat.click("Toliau")
    await chat.click("Toliau")
    await chat.send(local(opening))
    await chat.send(local(closing))
    await chat.click("Po apklausos pabaigos")
    await chat.click("Sukurti apklausą")
    [poll] = await db.all(Poll)
    assert poll.status is PollStatus.SCHEDULED

    assert await jobs(harness).run(now=opening - timedelta(minutes=1)) == ([], [])
    assert await db.all(Broadcast) == []
    assert await jobs(harness).run(now=opening + timedelta(seconds=5)) == ([], [poll.id])
    assert await jobs(harness).run(now=opening + timedelta(seconds=20)) == ([], [])
    await wait_invited(harness, residents)
    await wait_delivered(db)
    for chat_id in others:
        assert texts_received(harness, chat_id) == []
    [broadcast] = await db.all(Broadcast)
    assert broadcast.button_url is not None
    assert broadcast.button_url.endswith(f"?start=poll_{poll.id}")
    [reopened] = await db.all(Poll)
    assert reopened.status is PollStatus.OPEN

    # 21, 10, 2 and 1 votes: every Lithuanian plural form.
    votes = [1] * 21 + [2] * 10 + [3] * 2 + [4]
    await _answer_single(db, poll.id, votes, now=opening + timedelta(hours=1))

    await harness.restart()
    before = len(chat.messages)
    assert await jobs(harness).run(now=closing + timedelta(seconds=1)) == ([poll.id], [])
    assert await jobs(harness).run(now=closing + timedelta(seconds=30)) == ([], [])
    await wait_delivered(db)
    await harness.restart()
    assert await jobs(harness).run(now=closing + timedelta(minutes=10)) == ([], [])
    [closed] = await db.all(Poll)
    assert closed.status is PollStatus.CLOSED

    results = chat.messages[before:]
    # Closed once: one summary and the question's chart.
    assert [(m.kind, m.text) for m in results[1:]] == [
        ("photo", "1. Kuri vieta tinkamiausia naujam suoliukui?")
    ]
    # The residents who answered get the results once, with that chart.
    await wait_delivered(db)
    for chat_id in residents:
        [result] = [m for m in harness.api.bot_messages(chat_id) if m.kind == "photo"]
        assert result.file_id == results[1].file_id
        assert result.text.startswith("📊 Apklausa „Kuri vieta tinkamiausia naujam suoliukui?“")
    for chat_id in others:
        assert texts_received(harness, chat_id) == []
    lines = results[0].text.replace("\xa0", " ").splitlines()
    assert lines[:3] == [
        "Apklausos rezultatai",
        "„Kuri vieta tinkamiausia naujam suoliukui?“",
        lines[2],
    ]
    assert lines[2].startswith("Baigta 20")
    assert lines[4:] == [
        "Atsakė 34 gyventojai",
        "Kvietimą gavo 34 gyventojai.",
        "Atsakė 100 % pakviestųjų.",
        "",
        "Į šį klausimą atsakė: 34",
        "1. Parkas – 21 balsas (61,8 %)",
        "2. Aikštė – 10 balsų (29,4 %)",
        "3. Mokykla – 2 balsai (5,9 %)",
        "4. Bažnyčia – 1 balsas (2,9 %)",
    ]


async def test_polls_list_close_early_cancel_and_stale_buttons(
    harness: BotHarness, db: Database
) -> None:
    chat = await organizer(harness)
    await chat.send("/polls")
    assert chat.reply_texts == ["Apklausų dar neturite. Norėdami sukurti, siųskite /newpoll."]

    later = utcnow() + timedelta(days=1)
    async with db.sessions() as session, session.begin():
        spec = QuestionSpec("Ar remiate projektą?", QuestionKind.SINGLE, ("Taip", "Ne"))
        open_poll = await polls.create_poll(
            session, created_by=ORGANIZER_ID, questions=[spec], audience=Audience()
        )
        scheduled = await polls.create_poll(
            session,
            created_by=ORGANIZER_ID,
            questions=[QuestionSpec("Kaip vertinate parką?", QuestionKind.SCALE)],
            audience=Audience(),
            opens_at=later,
        )
        foreign = await polls.create_poll(
            session, created_by=ORGANIZER_ID + 1, questions=[spec], audience=Audience()
        )
        ids = open_poll.id, scheduled.id, foreign.id
    open_id, scheduled_id, foreign_id = ids
    await add_residents(db.sessions, harness.api, 3, first_chat_id=400_000)
    await _answer_single(db, open_id, [1, 1, 2])

    await chat.send("/polls")
    text = chat.last_text
    assert text.startswith("Jūsų apklausos\n\n1. Kaip vertinate parką?\nsuplanuota – prasidės 20")
    assert "2. Ar remiate projektą?\nvyksta iki 20" in text
    assert "– Atsakė 3 gyventojai" in text
    assert chat.last.button_texts() == [
        "Atšaukti 1. Kaip vertinate parką?",
        "Baigti 2. Ar remiate projektą?",
    ]
    listing = chat.last
    close_data = listing.button_data("Baigti 2.")
    cancel_data = listing.button_data("Atšaukti 1.")

    await chat.press(listing.message_id, close_data)
    assert chat.callback_answer()["text"] == "Apklausa baigta."  # type: ignore[index]
    assert "2. Ar remiate projektą?\nbaigta 20" in chat.messages[-3].text
    assert (chat.last.kind, chat.last_text) == ("photo", "1. Ar remiate projektą?")
    result = chat.messages[-2].text.replace("\xa0", " ")
    assert result.startswith("Apklausos rezultatai\n„Ar remiate projektą?“\nBaigta 20")
    assert "1. Taip – 2 balsai (66,7 %)\n2. Ne – 1 balsas (33,3 %)" in result
    sent = len(chat.messages)

    await chat.press(listing.message_id, close_data)  # the stale button of the old list
    assert chat.callback_answer()["text"] == "Ši apklausa jau baigta."  # type: ignore[index]
    assert len(chat.messages) == sent  # no second results

    await chat.press(listing.message_id, cancel_data)
    assert chat.callback_answer()["text"] == "Apklausa atšaukta."  # type: ignore[index]
    await chat.press(listing.message_id, cancel_data)
    assert chat.callback_answer()["text"] == "Ši apklausa jau atšaukta."  # type: ignore[index]

    not_open = "Ši apklausa nevyksta, todėl jos baigti negalima."
    started = "Ši apklausa jau prasidėjo, todėl jos atšaukti negalima."
    forged = [
        (PollManageCb(poll=foreign_id, action="close"), "Šios apklausos nepavyko rasti."),
        (PollManageCb(poll=999_999, action="close"), "Šios apklausos nepavyko rasti."),
        (PollManageCb(poll=scheduled_id, action="close"), not_open),
        (PollManageCb(poll=open_id, action="cancel"), started),
        (PollManageCb(poll=foreign_id, action="delete"), STALE),
    ]
    for data, answer in forged:
        await chat.press(listing.message_id, data.pack())
        assert chat.callback_answer()["text"] == answer  # type: ignore[index]
    statuses = {p.id: p.status for p in await db.all(Poll)}
    assert statuses == {
        open_id: PollStatus.CLOSED,
        scheduled_id: PollStatus.CANCELLED,
        foreign_id: PollStatus.OPEN,
    }

    resident = harness.chat(1001, "Ona")
    await onboard(resident)
    await resident.press(
        resident.last.message_id, PollManageCb(poll=foreign_id, action="close").pack()
    )
    assert (await db.all(Poll, Poll.id == foreign_id))[0].status is PollStatus.OPEN
