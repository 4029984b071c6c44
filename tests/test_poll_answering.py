"""Residents answer polls and surveys in Telegram: every question kind, surveys with skips,
leaving and resuming (also after a restart), deep links, results, and bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.channels.telegram.poll_callbacks import (
    PollChoiceCb,
    PollOpenCb,
    PollScaleCb,
    PollToggleCb,
)
from bot.services import polls
from bot.services.audiences import Audience
from bot.services.polls import QuestionSpec, SkipIf
from models import (
    Municipality,
    Poll,
    PollAnswer,
    PollAnswerChoice,
    PollProgress,
    QuestionKind,
    ResultsVisibility,
    utcnow,
)
from tests.support.db import Database
from tests.support.harness import BotHarness, Chat
from tests.test_onboarding import onboard

COLOURS = QuestionSpec("Kokia spalva gražiausia?", QuestionKind.SINGLE, ("Raudona", "Žalia"))
STALE = "Šis mygtukas nebegalioja."
NBSP = "\xa0"


async def make_poll(db: Database, *questions: QuestionSpec, **kwargs: Any) -> Poll:
    kwargs.setdefault("audience", Audience())
    async with db.sessions() as session, session.begin():
        return await polls.create_poll(
            session, created_by=42, questions=list(questions) or [COLOURS], **kwargs
        )


async def answers(db: Database, poll: Poll) -> list[PollAnswer]:
    rows = await db.all(PollAnswer, PollAnswer.poll_id == poll.id)
    return sorted(rows, key=lambda a: (a.resident_id, a.question_id))


async def choices(db: Database, answer: PollAnswer) -> set[int]:
    rows = await db.all(PollAnswerChoice, PollAnswerChoice.answer_id == answer.id)
    return {row.option_id for row in rows}


def option_id(poll: Poll, text: str, question: int = 0) -> int:
    return next(o.id for o in poll.questions[question].options if o.text == text)


def toast(chat: Chat) -> str:
    answer = chat.callback_answer()
    assert answer is not None
    return str(answer.get("text", ""))


async def ready(harness: BotHarness, user_id: int = 1001, name: str = "Ona") -> Chat:
    chat = harness.chat(user_id, name)
    await onboard(chat)
    return chat


# -- the menu and single choice --------------------------------------------------------


async def test_single_choice_from_the_menu_with_results_and_a_change(
    harness: BotHarness, db: Database
) -> None:
    chat = await ready(harness)
    await chat.tap_menu("Apklausos")
    assert chat.reply_texts == [
        "Šiuo metu atvirų apklausų nėra. Kai savivaldybė paskelbs apklausą, ją rasite čia."
    ]

    poll = await make_poll(db, visibility=ResultsVisibility.AFTER_ANSWER)
    await chat.tap_menu("Apklausos")
    assert chat.last_text.startswith(
        "Atviros apklausos\n\n1. Kokia spalva gražiausia? – atvira iki"
    )
    assert chat.last.button_texts() == ["1. Kokia spalva gražiausia?"]

    await chat.click("1. Kokia spalva gražiausia?")
    assert chat.reply_texts == ["Kokia spalva gražiausia?\n\nPasirinkite vieną atsakymą."]
    question = chat.last
    assert question.button_texts() == ["Raudona", "Žalia"]

    await chat.click("Žalia")
    assert chat.api.message(chat.chat_id, question.message_id).button_texts() == [
        "Raudona",
        "✓ Žalia",
    ]
    texts = chat.reply_texts
    assert len(texts) == 2
    assert texts[0].startswith("Ačiū, jūsų atsakymas išsaugotas.\n\nAtsakymą galite pakeisti iki")
    assert texts[1] == (
        "Rezultatai\nAtsakė 1 gyventojas.\n\nKokia spalva gražiausia?\n"
        f"Raudona – 0 balsų, 0{NBSP}%\nŽalia – 1 balsas, 100{NBSP}%"
    )
    [answer] = await answers(db, poll)
    assert answer.option_id == option_id(poll, "Žalia")

    # The same option again (a double tap): nothing new is sent or written.
    await chat.click("Žalia", chat.api.message(chat.chat_id, question.message_id))
    assert toast(chat) == "Šis atsakymas jau išsaugotas."
    assert chat.replies == []

    # Another option of the still-open poll changes the answer.
    await chat.click("Raudona", chat.api.message(chat.chat_id, question.message_id))
    assert toast(chat) == "Atsakymas pakeistas."
    assert chat.replies == []
    assert chat.api.message(chat.chat_id, question.message_id).button_texts() == [
        "✓ Raudona",
        "Žalia",
    ]
    [answer] = await answers(db, poll)
    assert answer.option_id == option_id(poll, "Raudona")

    await chat.tap_menu("Apklausos")
    assert chat.last.button_texts() == ["✓ 1. Kokia spalva gražiausia?"]
    assert "1. Kokia spalva gražiausia? – atsakyta" in chat.last_text

    # Reopening a one-question poll offers the question again, to change the answer.
    await chat.click("1. Kokia spalva gražiausia?")
    assert chat.reply_texts[0] == (
        "Į šią apklausą jau atsakėte. Jei norite pakeisti atsakymą, pasirinkite iš naujo:"
    )
    assert chat.last.button_texts() == ["✓ Raudona", "Žalia"]  # the current answer is marked


async def test_results_are_not_shown_before_closing_by_default(
    harness: BotHarness, db: Database
) -> None:
    chat = await ready(harness)
    poll = await make_poll(db)  # results after closing (the default)
    await chat.tap_menu("Apklausos")
    await chat.click("Kokia spalva")
    await chat.click("Raudona")
    assert len(chat.replies) == 1
    assert chat.last_text.startswith("Ačiū, jūsų atsakymas išsaugotas.")
    assert "Rezultatai" not in chat.last_text
    assert len(await answers(db, poll)) == 1


# -- multiple choice, scale, free text ------------------------------------------------


async def test_multiple_choice_toggles_and_submits(harness: BotHarness, db: Database) -> None:
    chat = await ready(harness)
    poll = await make_poll(
        db,
        QuestionSpec(
            "Ko trūksta jūsų seniūnijoje?",
            QuestionKind.MULTIPLE,
            ("Suoliukų", "Apšvietimo", "Dviračių takų"),
        ),
    )
    await chat.tap_menu("Apklausos")
    await chat.click("Ko trūksta")
    question = chat.last
    assert question.text == (
        "Ko trūksta jūsų seniūnijoje?\n\n"
        "Pasirinkite vieną ar kelis atsakymus, tada paspauskite „Pateikti“."
    )
    assert question.button_texts() == ["Suoliukų", "Apšvietimo", "Dviračių takų", "Pateikti"]

    await chat.click("Pateikti")
    assert toast(chat) == "Pasirinkite bent vieną atsakymą."
    assert await answers(db, poll) == []

    await chat.click("Suoliukų")
    await chat.click("Dviračių takų")
    current = chat.api.message(chat.chat_id, question.message_id)
    assert current.button_texts() == ["✓ Suoliukų", "Apšvietimo", "✓ Dviračių takų", "Pateikti"]
    assert chat.replies == []  # the keyboard is edited in place
    # A double tap on a toggle sets the same state twice: unticked once and for all.
    untick = current.button_data("Suoliukų")
    await chat.press(question.message_id, untick)
    await chat.press(question.message_id, untick)
    current = chat.api.message(chat.chat_id, question.message_id)
    assert current.button_texts() == ["Suoliukų", "Apšvietimo", "✓ Dviračių takų", "Pateikti"]
    await chat.click("Suoliukų", current)
    assert await answers(db, poll) == []  # toggles are a draft, not an answer

    await chat.click("Pateikti")
    assert chat.last_text.startswith("Ačiū, jūsų atsakymas išsaugotas.")
    [answer] = await answers(db, poll)
    assert await choices(db, answer) == {
        option_id(poll, "Suoliukų"),
        option_id(poll, "Dviračių takų"),
    }
    await chat.click("Pateikti")  # a double tap
    assert toast(chat) == "Šis atsakymas jau išsaugotas."
    assert chat.replies == []
    assert len(await answers(db, poll)) == 1


async def test_scale_is_one_row_of_five(harness: BotHarness, db: Database) -> None:
    chat = await ready(harness)
    poll = await make_poll(
        db,
        QuestionSpec("Kaip vertinate parko tvarką?", QuestionKind.SCALE),
        visibility=ResultsVisibility.AFTER_ANSWER,
    )
    await chat.tap_menu("Apklausos")
    await chat.click("Kaip vertinate")
    assert chat.last.reply_markup is not None
    assert [[b["text"] for b in row] for row in chat.last.reply_markup["inline_keyboard"]] == [
        ["1", "2", "3", "4", "5"]
    ]
    assert "Įvertinkite nuo 1 (mažiausiai) iki 5 (daugiausiai)." in chat.last_text
    await chat.click("4")
    assert "4 – 1 balsas, 100" in chat.last_text
    assert "Vidurkis: 4" in chat.last_text
    [answer] = await answers(db, poll)
    assert answer.scale_value == 4

    # Opened again (here with /polls, the command residents may type): 4 is marked.
    await chat.send("/polls")
    await chat.click("Kaip vertinate")
    assert chat.last.button_texts() == ["1", "2", "3", "✓ 4", "5"]


async def test_residents_polls_command_lists_open_polls(harness: BotHarness, db: Database) -> None:
    chat = await ready(harness)
    await chat.send("/polls")
    assert chat.reply_texts == [
        "Šiuo metu atvirų apklausų nėra. Kai savivaldybė paskelbs apklausą, ją rasite čia."
    ]
    await make_poll(db)
    await chat.send("/polls")
    assert chat.last_text.startswith("Atviros apklausos\n\n1. Kokia spalva gražiausia?")
    assert chat.last.button_texts() == ["1. Kokia spalva gražiausia?"]


async def test_free_text_too_long_then_shortened(harness: BotHarness, db: Database) -> None:
    chat = await ready(harness)
    poll = await make_poll(db, QuestionSpec("Ką pakeistumėte mieste?", QuestionKind.TEXT))
    await chat.tap_menu("Apklausos")
    await chat.click("Ką pakeistumėte")
    assert chat.last_text == (
        "Ką pakeistumėte mieste?\n\n"
        f"Parašykite atsakymą viena žinute, ne ilgesnį kaip 1{NBSP}000 simbolių."
    )

    await chat.send_sticker()
    assert chat.reply_texts == [
        "Parašykite atsakymą tekstu. Lipdukų, nuotraukų ir kitokių žinučių negalima "
        "išsaugoti kaip atsakymo."
    ]
    await chat.send_photo("nuotrauka")
    assert chat.reply_texts[0].startswith("Parašykite atsakymą tekstu.")

    draft = "Daugiau suoliukų ir medžių. " * 40  # 1 120 characters
    await chat.send(draft)
    assert chat.reply_texts == [
        f"Atsakymas per ilgas: 1{NBSP}119 simbolių, o galima ne daugiau kaip 1{NBSP}000. "
        "Sutrumpinkite jį ir atsiųskite dar kartą. Štai jūsų tekstas, kad niekas nedingtų:",
        draft.strip(),
    ]
    assert await answers(db, poll) == []

    # The menu keeps its meaning while the question waits.
    await chat.tap_menu("Renginiai")
    assert await answers(db, poll) == []

    await chat.send("Daugiau suoliukų ir medžių.")
    assert chat.reply_texts[0].startswith("Ačiū, jūsų atsakymas išsaugotas.")
    [answer] = await answers(db, poll)
    assert answer.text == "Daugiau suoliukų ir medžių."

    # The question no longer waits: the next text is not an answer.
    await chat.send("Labas")
    assert (await answers(db, poll))[0].text == "Daugiau suoliukų ir medžių."


# -- surveys ---------------------------------------------------------------------------

SURVEY = (
    QuestionSpec("Ar turite vaikų?", QuestionKind.SINGLE, ("Taip", "Ne")),
    QuestionSpec(
        "Ko trūksta vaikų žaidimų aikštelėse?",
        QuestionKind.TEXT,
        skip_if=SkipIf(question=1, options=frozenset({2})),
    ),
    QuestionSpec("Ar dalyvautumėte susitikime?", QuestionKind.SINGLE, ("Taip", "Ne", "Nežinau")),
)


async def make_survey(db: Database) -> Poll:
    return await make_poll(
        db,
        *SURVEY,
        title="Gyventojų apklausa",
        intro={"lt": "Sveiki! Tai trumpa apklausa apie jūsų miestą.", "en": "Hello!"},
        thanks={"lt": "Labai ačiū už atsakymus!"},
    )


async def test_survey_skips_and_resumes_after_a_restart(harness: BotHarness, db: Database) -> None:
    poll = await make_survey(db)
    chat = await ready(harness)
    await chat.tap_menu("Apklausos")
    await chat.click("Gyventojų apklausa")
    assert chat.reply_texts == [
        "Gyventojų apklausa\n\nSveiki! Tai trumpa apklausa apie jūsų miestą.\n\n"
        "Apklausoje yra 3 klausimai. Galite bet kada sustoti ir tęsti vėliau – paspaudę "
        "mygtuką „Apklausos“.",
        "Gyventojų apklausa\nKlausimas 1 iš 3\n\nAr turite vaikų?\n\nPasirinkite vieną atsakymą.",
    ]
    await chat.click("Ne")
    assert chat.reply_texts == [
        "Gyventojų apklausa\nKlausimas 3 iš 3\n\nAr dalyvautumėte susitikime?\n\n"
        "Pasirinkite vieną atsakymą."
    ]

    # The resident leaves; the bot restarts; the list offers to continue.
    await harness.restart()
    await chat.tap_menu("Apklausos")
    assert chat.last.button_texts() == ["1. Gyventojų apklausa – tęsti"]
    assert "1. Gyventojų apklausa – pradėta – galite tęsti" in chat.last_text
    await chat.click("Gyventojų apklausa")
    assert chat.reply_texts == [  # no intro the second time
        "Gyventojų apklausa\nKlausimas 3 iš 3\n\nAr dalyvautumėte susitikime?\n\n"
        "Pasirinkite vieną atsakymą."
    ]
    await chat.click("Nežinau")
    assert chat.reply_texts[0].startswith(
        "Labai ačiū už atsakymus!\n\nAtsakymus galite pakeisti iki"
    )
    rows = await answers(db, poll)
    assert [(a.question_id, a.option_id) for a in rows] == [
        (poll.questions[0].id, option_id(poll, "Ne", 0)),
        (poll.questions[2].id, option_id(poll, "Nežinau", 2)),
    ]

    await chat.tap_menu("Apklausos")
    await chat.click("Gyventojų apklausa")
    assert chat.reply_texts == ["Į šią apklausą jau atsakėte. Ačiū!"]


async def test_survey_free_text_question_waits_through_a_restart(
    harness: BotHarness, db: Database
) -> None:
    poll = await make_survey(db)
    chat = await ready(harness, 1002, "Jonas")
    await chat.tap_menu("Apklausos")
    await chat.click("Gyventojų apklausa")
    await chat.click("Taip")
    assert chat.reply_texts == [
        "Gyventojų apklausa\nKlausimas 2 iš 3\n\nKo trūksta vaikų žaidimų aikštelėse?\n\n"
        f"Parašykite atsakymą viena žinute, ne ilgesnį kaip 1{NBSP}000 simbolių."
    ]
    await harness.restart()
    await chat.send("Sūpynių ir smėlio dėžės.")
    assert chat.reply_texts == [
        "Gyventojų apklausa\nKlausimas 3 iš 3\n\nAr dalyvautumėte susitikime?\n\n"
        "Pasirinkite vieną atsakymą."
    ]
    await chat.click("Taip")
    rows = await answers(db, poll)
    assert [a.text for a in rows] == [None, "Sūpynių ir smėlio dėžės.", None]
    progress = await db.all(PollProgress)
    assert [p.completed_at is not None for p in progress] == [True]


# -- deep links --------------------------------------------------------------------------


async def test_deep_link_opens_the_poll_for_an_onboarded_resident(
    harness: BotHarness, db: Database
) -> None:
    poll = await make_poll(db)
    chat = await ready(harness)
    await chat.send(f"/start poll_{poll.id}")
    assert chat.reply_texts[0].startswith("Sveiki sugrįžę")
    assert chat.reply_texts[1] == "Kokia spalva gražiausia?\n\nPasirinkite vieną atsakymą."
    await chat.click("Žalia")
    assert len(await answers(db, poll)) == 1

    await chat.send("/start poll_999999")
    assert chat.reply_texts[1] == "Šios apklausos nepavyko rasti."


async def test_deep_link_opens_the_poll_after_onboarding(harness: BotHarness, db: Database) -> None:
    poll = await make_poll(db)
    chat = harness.chat(1003, "Aldona")
    await chat.send(f"/start poll_{poll.id}")
    await chat.click("Sutinku")
    while "Pagėgių sav." not in (message := chat.message_with_button("Toliau")).button_texts():
        await chat.click("Toliau", message)
    await chat.click("Pagėgių sav.")
    await chat.click("30–44 m.")
    assert chat.reply_texts[-2].startswith("Ačiū, viskas paruošta!")
    assert chat.reply_texts[-1] == "Kokia spalva gražiausia?\n\nPasirinkite vieną atsakymą."
    await chat.click("Raudona")
    [answer] = await answers(db, poll)
    assert answer.option_id == option_id(poll, "Raudona")
    resident = await db.resident(1003)
    assert resident is not None and resident.source == f"poll_{poll.id}"


# -- bad input -------------------------------------------------------------------------


async def test_closed_not_yet_open_and_outside_the_audience(
    harness: BotHarness, db: Database
) -> None:
    chat = await ready(harness)
    poll = await make_poll(db)
    await chat.tap_menu("Apklausos")
    await chat.click("Kokia spalva")
    question = chat.last
    async with db.sessions() as session, session.begin():
        assert await polls.close_early(session, poll.id, 42)
    await chat.click("Raudona", question)
    assert toast(chat) == "Ši apklausa jau baigėsi."
    assert chat.replies == []
    await chat.press(question.message_id, PollOpenCb(poll=poll.id).pack())
    assert chat.reply_texts[0] == "Ši apklausa jau baigėsi."
    assert chat.reply_texts[1].startswith("Rezultatai\nAtsakė 0 gyventojų.")  # closed: visible

    later = await make_poll(
        db,
        QuestionSpec("Vėlesnis klausimas?", QuestionKind.SINGLE, ("A", "B")),
        opens_at=utcnow() + timedelta(days=1),
    )
    await chat.press(question.message_id, PollOpenCb(poll=later.id).pack())
    assert chat.reply_texts == ["Ši apklausa dar neprasidėjo."]
    await chat.press(
        question.message_id,
        PollChoiceCb(question=later.questions[0].id, option=option_id(later, "A")).pack(),
    )
    assert toast(chat) == "Ši apklausa dar neprasidėjo."

    async with db.sessions() as session:
        birzai = await session.scalar(select(Municipality.id).where(Municipality.code == "BRZ"))
    assert birzai is not None
    elsewhere = await make_poll(
        db,
        QuestionSpec("Biržų klausimas?", QuestionKind.SCALE),
        audience=Audience(municipality_ids=frozenset({birzai})),
    )
    await chat.press(
        question.message_id, PollScaleCb(question=elsewhere.questions[0].id, value=3).pack()
    )
    assert toast(chat) == "Ši apklausa skirta kitiems gyventojams, todėl į ją atsakyti negalite."
    await chat.tap_menu("Apklausos")  # neither appears in the list
    assert chat.reply_texts == [
        "Šiuo metu atvirų apklausų nėra. Kai savivaldybė paskelbs apklausą, ją rasite čia."
    ]
    for each in (poll, later, elsewhere):
        assert await answers(db, each) == []


async def test_forged_and_stale_buttons_change_nothing(harness: BotHarness, db: Database) -> None:
    chat = await ready(harness)
    colours = await make_poll(db)
    other = await make_poll(
        db,
        QuestionSpec("Kitas klausimas?", QuestionKind.MULTIPLE, ("Vienas", "Du")),
    )
    await chat.tap_menu("Apklausos")
    message_id = chat.last.message_id
    forged = [
        # an option of another poll
        PollChoiceCb(question=colours.questions[0].id, option=option_id(other, "Vienas")),
        # a scale value for a choice question
        PollScaleCb(question=colours.questions[0].id, value=2),
        # a toggle of another question's option
        PollToggleCb(question=other.questions[0].id, option=option_id(colours, "Žalia"), on=1),
        # a scale value out of range
        PollScaleCb(question=colours.questions[0].id, value=9),
    ]
    for data in forged:
        await chat.press(message_id, data.pack())
        assert toast(chat) == STALE, data
        assert chat.replies == []
    await chat.press(message_id, PollChoiceCb(question=999_999, option=1).pack())
    assert toast(chat) == "Šios apklausos nepavyko rasti."
    await chat.press(message_id, PollOpenCb(poll=999_999).pack())
    assert chat.reply_texts == ["Šios apklausos nepavyko rasti."]
    await chat.press(message_id, "pc:not-a-number:1")
    assert toast(chat) == STALE
    assert await answers(db, colours) == [] and await answers(db, other) == []


async def test_double_taps_record_one_answer_and_send_one_question(
    harness: BotHarness, db: Database
) -> None:
    poll = await make_survey(db)
    chat = await ready(harness)
    await chat.tap_menu("Apklausos")
    await chat.click("Gyventojų apklausa")
    first = chat.last
    await chat.click("Ne", first)
    assert len(chat.replies) == 1  # question 3
    await chat.click("Ne", first)
    assert toast(chat) == "Šis atsakymas jau išsaugotas."
    assert chat.replies == []
    # Two taps arriving together on the last question: one answer, one thank-you.
    last = chat.last
    data = last.button_data("Taip")
    before = len(chat.messages)
    first_tap = await harness.api.press_button(chat.user_id, last.message_id, data)
    second_tap = await harness.api.press_button(chat.user_id, last.message_id, data)
    await harness.handled(first_tap)
    await harness.handled(second_tap)
    assert len(chat.messages) == before + 1  # one thank-you
    assert len(await answers(db, poll)) == 2


async def test_a_new_resident_cannot_answer_before_onboarding(
    harness: BotHarness, db: Database
) -> None:
    poll = await make_poll(db)
    chat = harness.chat(1004, "Petras")
    await chat.send("/start")
    await chat.press(
        chat.last.message_id,
        PollChoiceCb(question=poll.questions[0].id, option=option_id(poll, "Žalia")).pack(),
    )
    assert toast(chat) == "Prieš atsakydami užbaikite pirmuosius žingsnius: paspauskite /start."
    assert await answers(db, poll) == []
