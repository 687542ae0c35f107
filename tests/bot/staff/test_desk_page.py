"""The team desk in a real browser (headless Chromium): a resident asks for a person on the web chat, a
member sees the case arrive without reloading, claims it and answers with a quick reply, the resident
sees the answer; another team's member gets 403; a POST without the CSRF token is refused; logging out
ends the session; a photo sent from the chat page shows at the desk (and is 403 for another team); the desk
on a phone keeps its controls tappable."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.app import Services
from bot.handoff.files import CaseFiles
from bot.handoff.uploads import ResidentFiles
from bot.history import ChatHistory
from bot.staff.desk import attach_desk
from bot.storage.residents import Residents
from integrations.web.chat import FloodLimiter, WebLimits, make_web_app
from integrations.web.upload import add_upload_route
from kernel.settings import Settings, replace
from nlu.interpreter import EmbeddedInterpreter
from tests.bot.handoff.test_case_files import photo
from tests.fakes.browser import ARGS
from tests.fakes.commune import write_commune
from tests.fakes.services import build_services

pytestmark = pytest.mark.browser
PASSWORD = "mật-khẩu-của-tổ-42"
PHONE: Any = {"width": 360, "height": 740}
DESKTOP: Any = {"width": 1280, "height": 800}
# Every visible control's size, for the 44×44 px rule.
SIZES = """() => Array.from(document.querySelectorAll("button, input, a, select, textarea"))
  .filter(e => e.offsetParent !== null)
  .map(e => { const r = e.getBoundingClientRect();
              return { what: e.id || e.className || e.textContent, w: r.width, h: r.height }; })"""
FETCH = """async ([path, headers]) => {
  const r = await fetch(path, { method: headers ? "POST" : "GET", headers: headers || {},
                                credentials: "same-origin", body: headers ? "{}" : undefined });
  return r.status; }"""


@pytest_asyncio.fixture
async def site(aiohttp_server: Any, settings: Settings, interpreter: EmbeddedInterpreter, tmp_path: Path
               ) -> AsyncIterator[tuple[str, Services]]:
    services = await build_services(replace(settings, commune_dir=write_commune(tmp_path / "commune")),
                                    interpreter=interpreter)
    app = make_web_app(services.pipeline, services.store, Residents(services.store),
                       WebLimits(resident=FloodLimiter(100, 10)), services.mailboxes, ChatHistory(services.pipeline),
                       services.catalogs)
    accounts = attach_desk(app, services)
    services.escalation.files = CaseFiles(tmp_path / "files")
    add_upload_route(app, ResidentFiles(services.escalation, services.escalation.files))
    await accounts.add("lan", "member", ["dai-cuong"], PASSWORD)
    await accounts.add("minh", "member", ["commune"], PASSWORD)
    server = await aiohttp_server(app)
    yield f"http://127.0.0.1:{server.port}", services
    await services.close()


@asynccontextmanager
async def chromium_pages(chromium: str, *sizes: Any, locale: str = "vi-VN") -> AsyncIterator[list[Any]]:
    """One page per size, each in its own browser context (its own cookies)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=ARGS)
        pages = []
        for size in sizes:
            page = await (await browser.new_context(viewport=size, locale=locale)).new_page()
            page.set_default_timeout(20_000)
            pages.append(page)
        try:
            yield pages
        finally:
            await browser.close()


async def log_in(page: Any, base: str, username: str) -> None:
    await page.goto(f"{base}/staff/")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-button")
    await page.wait_for_selector("#desk:not([hidden])")


async def test_a_case_from_the_web_chat_is_worked_at_the_desk(site: tuple[str, Services], chromium: str) -> None:
    base, _ = site
    async with chromium_pages(chromium, DESKTOP, PHONE, DESKTOP) as (desk, resident, stranger):
        await log_in(desk, base, "lan")
        assert await desk.locator(".case-row").count() == 0

        await resident.goto(f"{base}/")
        await resident.wait_for_selector(".msg.bot")
        await resident.fill("#text", "tôi muốn gặp người hỗ trợ")
        await resident.click("#send")
        await resident.click(".buttons >> nth=-1 >> text=Đại Cường")
        opened = await resident.wait_for_selector(".msg.bot >> text=/yêu cầu số \\d+/")
        said = await opened.inner_text()
        case_id = int(re.search(r"yêu cầu số (\d+)", said).group(1))  # type: ignore[union-attr]
        assert "sẽ trả lời bạn ngay tại đây" in said and "Gặp tổ tại: nhà văn hoá thôn" in said  # and contacts

        # The case arrives at the desk without a reload, marked new.
        row = await desk.wait_for_selector(f".case-row.new[data-id='{case_id}']", timeout=10_000)
        assert "Đại Cường" in await row.inner_text() and "chưa ai nhận" in await row.inner_text()
        await row.click()
        await desk.wait_for_selector("#case-facts >> text=xã cũ Đại Cường")
        await desk.click("#claim")
        await desk.wait_for_selector("#case-state >> text=đã nhận: lan")
        assert await desk.is_hidden("#claim")
        await desk.click("#quick >> text=Chào, đang xem")
        assert (await desk.input_value("#reply-text")).startswith("Chào bạn, mình ở tổ công nghệ số")
        await desk.fill("#reply-text", "Chào bạn, bạn đang vướng ở bước nào?")
        await desk.click("#reply-send")
        await desk.wait_for_selector("#thread .from-staff >> text=bạn đang vướng ở bước nào")
        assert await desk.input_value("#reply-text") == ""

        # The resident sees the claim and the answer, each once.
        await resident.wait_for_selector(".msg.bot >> text=bạn đang vướng ở bước nào", timeout=15_000)
        await resident.wait_for_timeout(4500)  # one more poll: nothing comes twice
        texts = await resident.locator(".msg.bot").all_inner_texts()
        assert sum("bạn đang vướng ở bước nào" in t for t in texts) == 1
        # ... and answers; the desk shows it without a reload.
        await resident.fill("#text", "Mình không thấy nút đăng ký")
        await resident.click("#send")
        await desk.wait_for_selector("#thread .from-resident >> text=Mình không thấy nút đăng ký", timeout=10_000)
        # A photo of the screen from the chat page's 📎 button: the member sees it.
        await resident.set_input_files("#file", files=[{"name": "man-hinh.jpg", "mimeType": "image/jpeg",
                                                        "buffer": photo()}])
        await resident.wait_for_selector(f".msg.bot >> text=Đã gửi tới tổ công nghệ số (yêu cầu số {case_id})")
        image = await desk.wait_for_selector("#thread img.photo", timeout=10_000)
        assert await image.evaluate("i => i.complete && i.naturalWidth") == 64
        photo_url = await image.evaluate("i => i.src")
        # A file over 10 MB: the page says so in the resident's words (not "the network is slow").
        await resident.set_input_files("#file", files=[{"name": "video.mp4", "mimeType": "video/mp4",
                                                        "buffer": b"\0" * (10 * 1024 * 1024 + 1)}])
        await resident.wait_for_selector(".error >> text=Tệp này lớn quá (tối đa 10 MB)")

        # Another team's member: 403 for the case, and the page says so.
        await log_in(stranger, base, "minh")
        assert await stranger.evaluate(FETCH, [f"/staff/api/cases/{case_id}", None]) == 403
        assert await stranger.evaluate(FETCH, [photo_url, None]) == 403
        await stranger.goto(f"{base}/staff/#case/{case_id}")
        await stranger.wait_for_selector("#case-error >> text=Yêu cầu này thuộc tổ khác.")
        assert await stranger.locator(".case-row").count() == 0

        # A POST without the CSRF header is refused, with the right one it passes.
        path = f"/staff/api/cases/{case_id}/resolve"
        assert await desk.evaluate(FETCH, [path, {"Content-Type": "application/json"}]) == 403
        csrf = await desk.evaluate("window.desk.me.csrf")
        assert await desk.evaluate(FETCH, [path, {"Content-Type": "application/json", "X-CSRF-Token": csrf}]) == 200

        # Logging out ends the session.
        await desk.click("#logout-button")
        await desk.wait_for_selector("#login:not([hidden])")
        assert await desk.evaluate(FETCH, ["/staff/api/me", None]) == 401


async def test_the_desk_on_a_phone_in_english(site: tuple[str, Services], chromium: str) -> None:
    from axe_playwright_python.async_playwright import Axe  # type: ignore[import-untyped]

    from tests.bot.handoff.test_escalation import open_case

    base, services = site
    case_id = await open_case(services)
    async with chromium_pages(chromium, PHONE, locale="en-US") as (page,):
        outside: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(base) else outside.append(r.url))
        await page.goto(f"{base}/staff/")
        assert await page.inner_text("#login-button") == "Log in"
        await log_in(page, base, "lan")
        await page.wait_for_selector(f".case-row[data-id='{case_id}']")
        assert await page.inner_text("#tab-open") == "New (1)"
        small = [s for s in await page.evaluate(SIZES) if s["w"] < 44 or s["h"] < 44]
        assert small == []
        await page.click(f".case-row[data-id='{case_id}'] a")
        await page.wait_for_selector("#case-facts >> text=Resident's language")
        assert await page.is_hidden("#inbox")  # a phone shows one case at a time
        assert "Hello, looking into it" in await page.inner_text("#quick")
        small = [s for s in await page.evaluate(SIZES) if s["w"] < 44 or s["h"] < 44]
        assert small == []
        results = await Axe().run(page)
        serious = [(v["id"], [n["target"] for n in v["nodes"]])
                   for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == []
        wide = await page.evaluate("""() => Array.from(document.querySelectorAll("*"))
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .map(e => (e.id || e.tagName) + ":" + Math.round(e.getBoundingClientRect().right))""")
        assert wide == []  # no sideways scroll
        assert outside == []  # nothing loaded from elsewhere
        await page.click("#back")
        await page.wait_for_selector("#inbox", state="visible")
