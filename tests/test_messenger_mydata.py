"""Mano duomenys on Messenger: what is kept, the full export, and erasure."""

from __future__ import annotations

import json

from models import Channel, FsmRecord, Resident, ResidentAccount
from tests.support.db import Database
from tests.support.messenger import MessengerHarness


async def test_summary_and_full_export(messenger: MessengerHarness, db: Database) -> None:
    ona = messenger.user("8001")
    await ona.onboard(municipality="PAG")
    await ona.tap("Mano duomenys")
    [summary] = ona.reply_texts
    assert summary.startswith("Ką apie jus saugome:")
    assert "• Kalba: Lietuvių" in summary
    assert "• Savivaldybė: Pagėgių sav." in summary
    assert "• Amžiaus grupė: nenurodyta" in summary
    assert "• Programėlės: Messenger" in summary
    assert "• Registracijos į renginius: 0" in summary
    assert ona.quick_reply_titles() == ["Visi duomenys (JSON)", "Ištrinti duomenis", "Meniu"]

    await ona.tap("Visi duomenys (JSON)")
    texts = ona.reply_texts
    assert texts[0] == "Čia – viskas, ką apie jus saugome."
    export = json.loads("\n".join(texts[1:-1]))
    assert export["resident"]["channel"] == "messenger"
    assert export["resident"]["chat_id"] == "8001"
    assert export["resident"]["municipality"]["code"] == "PAG"
    assert all(len(text) <= 2000 for text in texts)
    assert messenger.graph.violations == 0


async def test_forget_asks_then_erases_everything(
    messenger: MessengerHarness, db: Database
) -> None:
    jonas = messenger.user("8002")
    await jonas.onboard()
    await jonas.tap("Mano duomenys")
    await jonas.tap("Ištrinti duomenis")
    assert jonas.reply_texts[0].startswith("Ar tikrai norite ištrinti visus savo duomenis?")
    assert jonas.quick_reply_titles() == ["Taip, ištrinti", "Ne, palikti"]
    await jonas.tap("Ne, palikti")
    assert jonas.reply_texts[0].startswith("Niekas neištrinta.")
    assert await db.count(Resident) == 1

    await jonas.send("/forget")
    await jonas.tap("Taip, ištrinti")
    assert jonas.reply_texts == [
        "Jūsų duomenys ištrinti. Viso gero! Jei norėsite vėl dalyvauti, tiesiog parašykite mums."
    ]
    assert await db.count(Resident) == 0
    assert await db.count(ResidentAccount, ResidentAccount.channel == Channel.MESSENGER) == 0
    assert await db.count(FsmRecord, FsmRecord.key == "messenger:8002") == 0

    await jonas.send("Labas")  # a new start: nothing kept but what the notice needs
    assert "Ar sutinkate?" in jonas.last_text
    [resident] = await db.all(Resident)
    assert resident.consented_at is None and resident.municipality_id is None
