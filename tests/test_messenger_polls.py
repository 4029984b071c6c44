"""Messenger residents answer polls and surveys with quick replies (free text typed), on the
same services as Telegram: the list, invitations, every question kind, long options,
refusals, stale and forged replies, double taps, and the paged list."""

from __future__ import annotations

from datetime import timedelta

from bot.services import account_links, polls
from bot.services.audiences import Audience
from bot.services.polls import QuestionSpec
from models import (
    Channel,
    Municipality,
    Poll,
    PollAnswer,
    PollProgress,
    QuestionKind,
    Resident,
    ResultsVisibility,
    utcnow,
)
from tests.support.db import Database
from tests.support.messenger import MessengerHarness, MessengerUser
from tests.test_messenger_onboarding import resident_of
from tests.test_onboarding import onboard
from tests.test_poll_answering import COLOURS, answers, choices, make_poll, option_id

NBSP = "\xa0"
STALE = "Šis mygtukas nebegalioja."
SAVED = "Šis atsakymas jau išsaugotas."
WRITE = f"Parašykite atsakymą viena žinute, ne ilgesnį kaip 1{NBSP}000 simbolių."


def within_limits(messenger: MessengerHarness, *users: MessengerUser) -> None:
    assert messenger.graph.violations == 0, messenger.graph.violation_messages
    for user in users:
        for message in user.messages:
            assert len(message.text or "") <= 2000
            assert len(message.quick_replies) <= 13
            for title, payload in [*message.quick_replies, *message.buttons]:
                assert 0 < len(title) <= 20, title
                assert payload is not None and len(payload) <= 1000


def payload_of(user: MessengerUser, title: str) -> str:
    for message in reversed(user.messages):
        if message.quick_replies:
            return next(payload for t, payload in message.quick_replies if t == title)
    raise AssertionError(title)


async def tap_payload(messenger: MessengerHarness, user: MessengerUser, payload: str) -> None:
    """A quick reply with this payload (an old one, a repeated one, or a forged one)."""
    user._seen = len(user.messages)
    await messenger.deliver(user.psid, text="x", quick_reply=payload)


async def ready(messenger: MessengerHarness, psid: str = "8001") -> MessengerUser:
    user = messenger.user(psid)
    await user.onboard(municipality="PAG")
    return user


# -- the list and single choice --------------------------------------------------------


async def test_open_poll_listed_and_answered_with_quick_replies(
    messenger: MessengerHarness, db: Database
) -> None:
    ona = await ready(messenger)
    await ona.postback("polls", "Apklausos")
    assert ona.reply_texts == [
        "Šiuo metu atvirų apklausų nėra. Kai savivaldybė paskelbs apklausą, ją rasite čia."
    ]

    poll = await make_poll(db, visibility=ResultsVisibility.AFTER_ANSWER)
    await ona.postback("polls", "Apklausos")
    [listing] = ona.reply_texts
    assert listing.startswith("Atviros apklausos\n\n1. Kokia spalva gražiausia? – atvira iki")
    assert listing.endswith("Pasirinkite apklausą:")
    assert ona.quick_reply_titles() == ["1. Kokia spalva gra…"]

    await ona.tap("1. Kokia spalva gra…")
    assert ona.reply_texts == ["Kokia spalva gražiausia?\n\nPasirinkite vieną atsakymą."]
    assert ona.quick_reply_titles() == ["Raudona", "Žalia"]

    await ona.tap("Žalia")
    texts = ona.reply_texts
    assert len(texts) == 3
    assert texts[0].startswith("Ačiū, jūsų atsakymas išsaugotas.\n\nAtsakymą galite pakeisti iki")
    chart = ona.replies[1]  # the chart of the results, as an image
    assert chart.kind == "image" and chart.image is not None
    assert chart.image.startswith(b"\x89PNG")
    assert texts[2] == (
        "Rezultatai\nAtsakė 1 gyventojas.\n\nKokia spalva gražiausia?\n"
        f"Raudona – 0 balsų, 0{NBSP}%\nŽalia – 1 balsas, 100{NBSP}%"
    )
    assert ona.quick_reply_titles() == ["Apklausos", "Meniu"]
    [answer] = await answers(db, poll)
    assert answer.option_id == option_id(poll, "Žalia")

    # The list marks it answered; reopening offers the question again with the answer ✓.
    await ona.postback("polls", "Apklausos")
    assert "1. Kokia spalva gražiausia? – atsakyta" in ona.reply_texts[0]
    assert ona.quick_reply_titles() == ["✓ 1. Kokia spalva g…"]
    await ona.tap("✓ 1. Kokia spalva g…")
    assert ona.reply_texts[0] == (
        "Į šią apklausą jau atsakėte. Jei norite pakeisti atsakymą, pasirinkite iš naujo:"
    )
    assert ona.quick_reply_titles() == ["Raudona", "✓ Žalia"]
    await ona.tap("Raudona")
    assert ona.reply_texts == ["Atsakymas pakeistas."]
    [answer] = await answers(db, poll)
    assert answer.option_id == option_id(poll, "Raudona")
    within_limits(messenger, ona)


async def test_invitation_postback_opens_the_poll_for_its_audience_only(
    messenger: MessengerHarness, db: Database
) -> None:
    ona = await ready(messenger)
    poll = await make_poll(db, QuestionSpec("Ar remontuoti tiltą?", options=("Taip", "Ne")))
    await ona.postback(f"start:poll_{poll.id}", "Atsakyti")
    assert ona.reply_texts == ["Ar remontuoti tiltą?\n\nPasirinkite vieną atsakymą."]
    await ona.tap("Taip")
    assert ona.reply_texts[0].startswith("Ačiū, jūsų atsakymas išsaugotas.")
    [answer] = await answers(db, poll)
    assert answer.option_id == option_id(poll, "Taip")

    # The same invitation again: already answered, the answer marked.
    await ona.postback(f"start:poll_{poll.id}", "Atsakyti")
    assert ona.reply_texts[0].startswith("Į šią apklausą jau atsakėte.")
    assert ona.quick_reply_titles() == ["✓ Taip", "Ne"]

    # A Telegram "open" button relayed as a postback works the same.
    await ona.postback(f"po:{poll.id}", "Atsakyti")
    assert ona.quick_reply_titles() == ["✓ Taip", "Ne"]

    # A poll for another municipality is neither listed nor answerable.
    [other] = await db.all(Municipality, Municipality.code == "VLN")
    elsewhere = await make_poll(
        db,
        QuestionSpec("Ar reikia naujo parko?", options=("Taip", "Ne")),
        audience=Audience(municipality_ids=frozenset({other.id})),
    )
    await ona.postback("polls", "Apklausos")
    assert "Ar reikia naujo parko?" not in ona.reply_texts[0]
    await ona.postback(f"start:poll_{elsewhere.id}", "Atsakyti")
    assert ona.reply_texts == [
        "Ši apklausa skirta kitiems gyventojams, todėl į ją atsakyti negalite."
    ]
    assert await answers(db, elsewhere) == []
    await ona.postback("start:poll_999999", "Atsakyti")
    assert ona.reply_texts == ["Šios apklausos nepavyko rasti."]
    within_limits(messenger, ona)


# -- a survey --------------------------------------------------------------------------

SURVEY = (
    QuestionSpec("Kaip vertinate parką?", QuestionKind.SCALE),
    QuestionSpec("Kas jums patinka?", QuestionKind.MULTIPLE, ("Medžiai", "Suolai", "Takai")),
    QuestionSpec("Ar lankotės kas savaitę?", QuestionKind.SINGLE, ("Taip", "Ne")),
    QuestionSpec("Ką patobulintumėte?", QuestionKind.TEXT),
)


async def test_survey_end_to_end_with_every_kind_and_resuming(
    messenger: MessengerHarness, db: Database
) -> None:
    ona = await ready(messenger)
    poll = await make_poll(db, *SURVEY, title="Parkas", visibility=ResultsVisibility.AFTER_ANSWER)
    await ona.postback(f"start:poll_{poll.id}", "Atsakyti")
    intro, first = ona.reply_texts
    assert intro.startswith("Parkas\n\nApklausoje yra 4 klausimai.")
    assert first.startswith("Parkas\nKlausimas 1 iš 4\n\nKaip vertinate parką?")
    assert ona.quick_reply_titles() == ["1", "2", "3", "4", "5"]

    await ona.tap("4")
    [second] = ona.reply_texts
    assert second.startswith("Parkas\nKlausimas 2 iš 4\n\nKas jums patinka?")
    assert ona.quick_reply_titles() == ["Medžiai", "Suolai", "Takai", "Pateikti"]

    # Submitting nothing is refused politely; the question stays.
    await ona.tap("Pateikti")
    assert ona.reply_texts[0] == "Pasirinkite bent vieną atsakymą."
    assert ona.quick_reply_titles() == ["Medžiai", "Suolai", "Takai", "Pateikti"]

    await ona.tap("Medžiai")
    assert ona.reply_texts[0].endswith("\n\n✓ Medžiai\nSuolai\nTakai")
    assert ona.quick_reply_titles() == ["✓ Medžiai", "Suolai", "Takai", "Pateikti"]
    await ona.tap("Takai")
    assert ona.quick_reply_titles() == ["✓ Medžiai", "Suolai", "✓ Takai", "Pateikti"]
    await ona.tap("✓ Medžiai")  # untick
    assert ona.quick_reply_titles() == ["Medžiai", "Suolai", "✓ Takai", "Pateikti"]
    await ona.tap("Suolai")
    await ona.tap("Pateikti")
    assert ona.reply_texts[0].startswith("Parkas\nKlausimas 3 iš 4\n\nAr lankotės kas savaitę?")

    # She leaves for the menu and comes back through the list: the survey resumes.
    await ona.tap("Taip")
    assert "Klausimas 4 iš 4" in ona.reply_texts[0]
    assert ona.reply_texts[0].endswith(WRITE)
    await ona.send("Meniu")
    assert ona.quick_reply_titles()[0] == "Apklausos"
    await ona.postback("polls", "Apklausos")
    assert "1. Parkas – pradėta – galite tęsti" in ona.reply_texts[0]
    await ona.tap("1. Parkas")
    assert ona.reply_texts == [f"Parkas\nKlausimas 4 iš 4\n\nKą patobulintumėte?\n\n{WRITE}"]

    # A photo is not an answer; the question waits.
    await ona.send_image(b"\x89PNG fake", "photo.png")
    assert ona.reply_texts[0].startswith("Parašykite atsakymą tekstu.")
    await ona.send("  Daugiau suolų prie tvenkinio.  ")
    thanks, _chart, results = ona.reply_texts
    assert ona.replies[1].kind == "image"
    assert thanks == "Ačiū, jūsų atsakymai išsaugoti."  # (no "change until": Messenger cannot)
    assert results.startswith("Rezultatai\nAtsakė 1 gyventojas.")
    assert "Ką patobulintumėte?\n1 atsakymas raštu" in results

    rows = await answers(db, poll)
    by_question = {row.question_id: row for row in rows}
    scale, multiple, single, text = (by_question[q.id] for q in poll.questions)
    assert scale.scale_value == 4
    assert await choices(db, multiple) == {
        option_id(poll, "Suolai", 1),
        option_id(poll, "Takai", 1),
    }
    assert single.option_id == option_id(poll, "Taip", 2)
    assert text.text == "Daugiau suolų prie tvenkinio."
    [progress] = await db.all(PollProgress, PollProgress.poll_id == poll.id)
    assert progress.completed_at is not None

    # Typed text after the survey is not taken as an answer.
    await ona.send("Dar vienas")
    assert len(await answers(db, poll)) == 4
    await ona.postback(f"start:poll_{poll.id}", "Atsakyti")
    assert ona.reply_texts[0] == "Į šią apklausą jau atsakėte. Ačiū!"
    within_limits(messenger, ona)


async def test_long_options_are_numbered_never_cut(
    messenger: MessengerHarness, db: Database
) -> None:
    ona = await ready(messenger)
    long_a = "Atnaujinti vaikų žaidimų aikštelę prie mokyklos"
    long_b = "Atnaujinti vaikų žaidimų aikštelę prie bibliotekos"
    poll = await make_poll(
        db,
        QuestionSpec("Ką daryti pirmiausia?", options=(long_a, long_b, "Nieko")),
        QuestionSpec("Ką dar?", QuestionKind.MULTIPLE, (long_a, long_b, "Nieko")),
        title="Aikštelės",
    )
    await ona.postback(f"start:poll_{poll.id}")
    question = ona.reply_texts[-1]
    assert question.endswith(f"\n\n1. {long_a}\n2. {long_b}\n3. Nieko")
    assert ona.quick_reply_titles() == ["1", "2", "3"]
    await ona.tap("2")
    assert ona.reply_texts[0].endswith(f"\n\n1. {long_a}\n2. {long_b}\n3. Nieko")
    assert ona.quick_reply_titles() == ["1", "2", "3", "Pateikti"]
    await ona.tap("1")
    assert ona.reply_texts[0].endswith(f"\n\n✓ 1. {long_a}\n2. {long_b}\n3. Nieko")
    assert ona.quick_reply_titles() == ["✓ 1", "2", "3", "Pateikti"]
    await ona.tap("Pateikti")
    assert ona.reply_texts[0].startswith("Ačiū, jūsų atsakymai išsaugoti.")
    first, second = await answers(db, poll)
    assert first.option_id == option_id(poll, long_b)
    assert await choices(db, second) == {option_id(poll, long_a, 1)}
    within_limits(messenger, ona)


async def test_too_long_free_text_is_refused_politely_and_the_question_waits(
    messenger: MessengerHarness, db: Database
) -> None:
    ona = await ready(messenger)
    poll = await make_poll(db, QuestionSpec("Ką pasiūlytumėte?", QuestionKind.TEXT))
    await ona.postback(f"start:poll_{poll.id}")
    long_text = "Labai ilgas pasiūlymas. " * 60
    await ona.send(long_text)
    refusal, echoed = ona.reply_texts
    assert refusal.startswith(f"Atsakymas per ilgas: 1{NBSP}439 simboliai")
    assert echoed == long_text.strip()
    assert await answers(db, poll) == []

    await ona.send("Daugiau suoliukų.")
    assert ona.reply_texts[0].startswith("Ačiū, jūsų atsakymas išsaugotas.")
    [answer] = await answers(db, poll)
    assert answer.text == "Daugiau suoliukų."
    within_limits(messenger, ona)


async def test_a_free_text_question_waits_across_a_restart(
    messenger: MessengerHarness, db: Database
) -> None:
    ona = await ready(messenger)
    poll = await make_poll(
        db, COLOURS, QuestionSpec("Ką pasiūlytumėte?", QuestionKind.TEXT), title="Spalvos"
    )
    await ona.postback(f"start:poll_{poll.id}")
    await ona.tap("Žalia")
    assert "Klausimas 2 iš 2" in ona.reply_texts[0]

    await messenger.stop()
    await messenger.start()  # a new application on the same database

    await ona.send("Daugiau žalumos.")
    assert ona.reply_texts[0].startswith("Ačiū, jūsų atsakymai išsaugoti.")
    rows = await answers(db, poll)
    assert [row.text for row in rows] == [None, "Daugiau žalumos."]
    within_limits(messenger, ona)


async def test_answered_on_telegram_by_the_linked_profile_is_answered(
    messenger: MessengerHarness, db: Database
) -> None:
    poll = await make_poll(db)
    chat = messenger.harness.chat(1001, "Ona")
    await onboard(chat)
    await chat.tap_menu("Apklausos")
    await chat.click("1. Kokia spalva gražiausia?")
    await chat.click("Žalia")
    [on_telegram] = await answers(db, poll)

    ona = await ready(messenger, "8002")
    async with db.sessions() as session, session.begin():
        telegram_resident = await session.get(Resident, on_telegram.resident_id)
        assert telegram_resident is not None
        code = await account_links.issue_code(session, telegram_resident, Channel.TELEGRAM)
    typing = await resident_of(db, "8002")
    assert typing is not None
    async with db.sessions() as session, session.begin():
        typing = await session.merge(typing)
        await account_links.link(session, typing, Channel.MESSENGER, "8002", code)

    await ona.postback(f"start:poll_{poll.id}")
    assert ona.reply_texts[0].startswith("Į šią apklausą jau atsakėte.")
    assert ona.quick_reply_titles() == ["Raudona", "✓ Žalia"]
    await tap_payload(messenger, ona, payload_of(ona, "✓ Žalia"))
    assert ona.reply_texts == [SAVED]
    [answer] = await answers(db, poll)
    assert answer.id == on_telegram.id and answer.option_id == option_id(poll, "Žalia")
    within_limits(messenger, ona)


# -- stale, forged and repeated replies ------------------------------------------------


async def test_stale_reply_of_a_closed_poll_records_nothing(
    messenger: MessengerHarness, db: Database
) -> None:
    ona = await ready(messenger)
    poll = await make_poll(db)
    await ona.postback("polls", "Apklausos")
    await ona.tap("1. Kokia spalva gra…")
    payload = payload_of(ona, "Žalia")
    async with db.sessions() as session, session.begin():
        assert await polls.close_early(session, poll.id, 42)
    await tap_payload(messenger, ona, payload)
    # Closed: said so, and (results after closing) the results, without her answer.
    assert ona.reply_texts == [
        "Ši apklausa jau baigėsi.",
        "Rezultatai\nAtsakė 0 gyventojų.\n\nKokia spalva gražiausia?\n"
        f"Raudona – 0 balsų, 0{NBSP}%\nŽalia – 0 balsų, 0{NBSP}%",
    ]
    assert ona.quick_reply_titles() == ["Apklausos", "Meniu"]
    assert await answers(db, poll) == []
    within_limits(messenger, ona)


async def test_forged_replies_record_nothing(messenger: MessengerHarness, db: Database) -> None:
    ona = await ready(messenger)
    poll = await make_poll(db)
    other = await make_poll(db, QuestionSpec("Ar remontuoti tiltą?", options=("Taip", "Ne")))
    await ona.postback(f"start:poll_{poll.id}")
    question = poll.questions[0].id
    forged = (
        f"poll:a:{poll.id}:{question}:{option_id(other, 'Taip')}",  # another poll's option
        f"poll:a:{other.id}:{question}:{option_id(poll, 'Žalia')}",  # the wrong poll
        f"poll:a:{poll.id}:{question}:abc",
        f"poll:t:{poll.id}:{question}:{option_id(poll, 'Žalia')}:1",  # not a multiple question
        f"poll:a:{poll.id}:{other.questions[0].id}:{option_id(other, 'Taip')}",
    )
    for payload in forged:
        await tap_payload(messenger, ona, payload)
        assert ona.reply_texts[0] == STALE, payload
    assert await answers(db, poll) == [] and await answers(db, other) == []
    # The question being asked comes back, so she can go on.
    await tap_payload(messenger, ona, forged[0])
    assert ona.reply_texts == [STALE, "Kokia spalva gražiausia?\n\nPasirinkite vieną atsakymą."]
    await ona.tap("Raudona")
    [answer] = await answers(db, poll)
    assert answer.option_id == option_id(poll, "Raudona")
    within_limits(messenger, ona)


async def test_double_tap_records_one_answer(messenger: MessengerHarness, db: Database) -> None:
    ona = await ready(messenger)
    poll = await make_poll(
        db,
        COLOURS,
        QuestionSpec("Ar remontuoti tiltą?", options=("Taip", "Ne")),
        title="Miestas",
    )
    await ona.postback(f"start:poll_{poll.id}")
    payload = payload_of(ona, "Žalia")
    await tap_payload(messenger, ona, payload)
    assert "Klausimas 2 iš 2" in ona.reply_texts[0]
    await tap_payload(messenger, ona, payload)  # the same quick reply again
    assert ona.reply_texts[0] == SAVED
    assert "Klausimas 2 iš 2" in ona.reply_texts[1]
    [answer] = await answers(db, poll)
    assert answer.option_id == option_id(poll, "Žalia")

    await ona.tap("Ne")
    rows = await answers(db, poll)
    assert len(rows) == 2
    assert len(await db.all(PollAnswer, PollAnswer.poll_id == poll.id)) == 2
    within_limits(messenger, ona)


# -- many polls ------------------------------------------------------------------------


async def test_more_than_twelve_open_polls_are_paged(
    messenger: MessengerHarness, db: Database
) -> None:
    ona = await ready(messenger)
    created: list[Poll] = []
    now = utcnow()
    for number in range(1, 15):
        created.append(
            await make_poll(
                db,
                QuestionSpec(f"Apklausa numeris {number}?", options=("Taip", "Ne")),
                closes_at=now + timedelta(days=number),
            )
        )
    await ona.postback("polls", "Apklausos")
    listing = ona.reply_texts[0]
    assert "14. Apklausa numeris 14? – atvira iki" in listing
    first = ona.quick_reply_titles()
    assert len(first) == 13 and first[-1] == "Daugiau"
    assert first[0] == "1. Apklausa numeris…"
    await ona.tap("Daugiau")
    assert ona.reply_texts == ["Pasirinkite apklausą:"]
    assert ona.quick_reply_titles() == ["13. Apklausa numeri…", "14. Apklausa numeri…"]
    await ona.tap("14. Apklausa numeri…")
    assert ona.reply_texts[0].startswith("Apklausa numeris 14?")
    await ona.tap("Ne")
    [answer] = await answers(db, created[13])
    assert answer.option_id == option_id(created[13], "Ne")
    within_limits(messenger, ona)


async def test_in_english(messenger: MessengerHarness, db: Database) -> None:
    john = messenger.user("8003")
    await john.onboard(municipality="PAG", language="en")
    poll = await make_poll(
        db, QuestionSpec("Kas jums patinka?", QuestionKind.MULTIPLE, ("Medžiai", "Suolai"))
    )
    await john.postback("polls", "Polls")
    assert john.reply_texts[0].startswith("Open polls\n\n1. Kas jums patinka? – open until")
    await john.tap("1. Kas jums patinka?")
    assert john.reply_texts[0].endswith("Choose one or more answers, then press “Submit”.")
    assert john.quick_reply_titles() == ["Medžiai", "Suolai", "Submit"]
    await john.tap("Suolai")
    await john.tap("Submit")
    assert john.reply_texts[0].startswith("Thank you, your answer is saved.")
    assert john.quick_reply_titles() == ["Polls", "Menu"]
    [answer] = await answers(db, poll)
    assert await choices(db, answer) == {option_id(poll, "Suolai")}
    within_limits(messenger, john)
