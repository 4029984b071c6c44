"""The sandbox page in a real headless Chromium, driven by Playwright.

Browsers cannot be downloaded here, so Playwright drives Debian's ``chromium`` through
``executable_path``. Without it the test is skipped (and fails under
``DALYVAUK_REQUIRE_BROWSER=1``, as in CI). Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.sandbox.runner import RunningSandbox, running_sandbox
from bot.sandbox.world import DEMO_POLL
from models import Resident

playwright_api = pytest.importorskip("playwright.async_api")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "Debian's chromium is not installed (apt-get install chromium)"
    if os.environ.get("DALYVAUK_REQUIRE_BROWSER"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(port=0, database=tmp_path / "sandbox.sqlite3") as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    executable = chromium_path()
    async with playwright_api.async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def test_resident_completes_onboarding_in_the_page(
    sandbox: RunningSandbox, browser: object
) -> None:
    expect = playwright_api.expect
    page = await browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(sandbox.url)
    resident = page.locator('section.chat[data-chat="resident"]')

    await resident.locator("button.start-button").click()
    await expect(
        resident.locator(".message.from-bot .text").filter(has_text="Ar sutinkate?")
    ).to_be_visible()
    await resident.locator("button.inline-button", has_text="Sutinku").click()
    await expect(resident.locator(".toast", has_text="Ačiū!")).to_be_visible()
    await resident.locator("button.inline-button", has_text="Pagėgių sav.").click()
    await expect(
        resident.locator(".message .text").filter(has_text="Jūsų savivaldybė: Pagėgių sav.")
    ).to_be_visible()
    await resident.locator("button.inline-button", has_text="30–44 m.").click()
    await expect(resident.locator("button.reply-button", has_text="Apklausos")).to_be_visible()

    await resident.locator("button.reply-button", has_text="Apklausos").click()
    await resident.locator("button.inline-button", has_text=DEMO_POLL[:25]).click()
    await resident.locator("button.inline-button", has_text="Dar nežinau").click()
    await expect(
        resident.locator(".message.from-bot .text").filter(has_text="Atsakė 1 gyventojas.")
    ).to_be_visible()

    await resident.locator("button.reply-button", has_text="Renginiai").click()
    await expect(
        resident.locator(".message.from-bot .text").filter(has_text="Liko 3 vietos")
    ).to_be_visible()

    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "sandbox-onboarding.png"), full_page=True)
    assert errors == []

    async with sandbox.app.session_factory() as session:
        stored = await session.scalar(select(Resident).where(Resident.external_id == "7001"))
    assert stored is not None
    assert stored.is_onboarded
    assert stored.municipality is not None and stored.municipality.code == "PAG"


async def test_typing_in_the_organizer_chat_and_switching_residents(
    sandbox: RunningSandbox, browser: object
) -> None:
    expect = playwright_api.expect
    page = await browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    await page.goto(sandbox.url)
    organizer = page.locator('section.chat[data-chat="organizer"]')
    await organizer.locator("input.message-input").fill("/roles")
    await organizer.locator("button.send-button").click()
    await expect(
        organizer.locator(".message.from-bot .text").filter(has_text="1 organizatorius")
    ).to_be_visible()

    resident = page.locator('section.chat[data-chat="resident"]')
    await resident.locator("button.start-button").click()
    await expect(resident.locator(".message.from-bot")).to_have_count(2)
    await page.select_option("select#resident-select", "7002")
    await expect(resident.locator(".message")).to_have_count(0)
    await expect(resident.locator("button.start-button")).to_be_visible()


async def test_page_fits_a_phone(sandbox: RunningSandbox, browser: object) -> None:
    expect = playwright_api.expect
    page = await browser.new_page(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    await page.goto(sandbox.url)
    resident = page.locator('section.chat[data-chat="resident"]')
    await expect(resident).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways on a phone"
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "sandbox-phone.png"))
