"""The chat page shows a team member's answer without the resident typing anything (it polls)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpServer

from bot.handoff import Staff
from bot.storage.residents import Residents
from integrations.web.chat import COOKIE, FloodLimiter, WebLimits, make_web_app, resident_of
from kernel.messages import Incoming, ResidentKey
from kernel.settings import Settings, replace
from nlu.interpreter import EmbeddedInterpreter
from tests.fakes.browser import ARGS
from tests.fakes.commune import MEMBER, write_commune
from tests.fakes.services import build_services

pytestmark = pytest.mark.browser


async def test_the_page_receives_the_teams_answer(
        aiohttp_server: AiohttpServer, settings: Settings, interpreter: EmbeddedInterpreter,
                                                  chromium: str, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    services = await build_services(replace(settings, commune_dir=write_commune(tmp_path / "commune")),
                                    interpreter=interpreter)
    try:
        server = await aiohttp_server(make_web_app(services.pipeline, services.store, Residents(services.store),
                                                   WebLimits(resident=FloodLimiter(50, 10)), services.mailboxes))
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=ARGS)
            page = await browser.new_page(viewport={"width": 360, "height": 740})
            await page.goto(f"http://127.0.0.1:{server.port}/")
            await page.wait_for_selector(".msg.bot")
            # The page cannot read its HttpOnly session cookie; the browser can.
            (token,) = [c["value"] for c in await page.context.cookies() if c["name"] == COOKIE]
            assert await page.evaluate("document.cookie") == ""
            who = ResidentKey("web", resident_of(token))
            await services.pipeline.handle(Incoming(who, payload="human"))
            result = await services.pipeline.handle(Incoming(who, payload="village:dai-cuong"))
            case_id = int(re.search(r"yêu cầu số (\d+)", result.replies[-1].text).group(1))  # type: ignore[union-attr]
            assert (await services.escalation.reply(case_id, Staff(MEMBER, "Lan"), "Bác bấm vào nút Đăng ký nhé")).ok
            await page.wait_for_selector("text=Bác bấm vào nút Đăng ký nhé", timeout=15000)
            await browser.close()
    finally:
        await services.close()
