"""The chat page in a real browser (headless Chromium): type, get a guide step, press its buttons."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpServer

from bot.app import Services
from bot.history import ChatHistory
from bot.storage.residents import Residents
from integrations.web.chat import FloodLimiter, WebLimits, make_web_app
from tests.fakes.browser import ARGS

pytestmark = pytest.mark.browser


async def test_a_resident_follows_a_guide_on_the_page(aiohttp_server: AiohttpServer, services: Services, chromium: str,
                                                      tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    server = await aiohttp_server(make_web_app(services.pipeline, services.store, Residents(services.store),
                                                WebLimits(resident=FloodLimiter(50, 10)), services.mailboxes,
                                                history=ChatHistory(services.pipeline), catalogs=services.catalogs))
    url = f"http://127.0.0.1:{server.port}/"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=ARGS)
        page = await browser.new_page(viewport={"width": 360, "height": 740}, locale="vi-VN")  # a small phone
        await page.goto(url)
        # The page opens with the menu.
        await page.wait_for_selector(".msg.bot")
        await page.fill("#text", "làm sao cài ứng dụng VNeID")
        await page.click("#send")
        await page.wait_for_selector("text=Bước 1/")
        await page.click(".buttons >> nth=-1 >> text=Xong rồi")
        await page.wait_for_selector("text=Bước 2/")
        await page.screenshot(path=str(tmp_path / "chat.png"))
        # Switching the language re-labels the page and the assistant answers in English.
        await page.click("#lang")
        await page.wait_for_function("document.documentElement.lang === 'en'")
        await page.wait_for_selector("#send >> text=Send")
        bubbles = await page.locator(".msg.bot").all_inner_texts()
        await browser.close()
    assert any(b.startswith("Bước 2/") for b in bubbles)
    assert (tmp_path / "chat.png").stat().st_size > 1000
