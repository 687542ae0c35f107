"""The chat page on a phone (headless Chromium at 360×740): history after a reload, double taps and old
buttons, offline typing, the greeting in the phone's language, reading aloud, text size, tap targets,
accessibility (axe-core, run in the page) and opening offline from the service worker."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select

from bot.history import ChatHistory
from bot.storage.db import Message
from bot.storage.residents import Residents
from integrations.web.chat import FloodLimiter, WebLimits, make_web_app
from tests.fakes.browser import ARGS

pytestmark = pytest.mark.browser
PHONE: Any = {"width": 360, "height": 740}
# speechSynthesis replaced in the page: what would be spoken is recorded instead.
SPEECH_STUB = """
window.__spoken = [];
window.SpeechSynthesisUtterance = function (text) { this.text = text; this.lang = ""; };
Object.defineProperty(window, "speechSynthesis", { configurable: true, value: {
  speak: function (u) { window.__spoken.push({ text: u.text, lang: u.lang }); }, cancel: function () {} } });
"""
# Every control's size, for the 44×44 px rule (hidden ones excluded).
SIZES = """() => Array.from(document.querySelectorAll("button, input, a, select, textarea"))
  .filter(e => e.offsetParent !== null)
  .map(e => { const r = e.getBoundingClientRect();
              return { what: e.id || e.className || e.textContent, w: r.width, h: r.height }; })"""


@asynccontextmanager
async def phone(aiohttp_server: Any, services: Any, chromium: str, **context: Any) -> AsyncIterator[tuple[Any, str]]:
    """A page and the chat's address, served by the real app on loopback, in a phone-sized Chromium."""
    from playwright.async_api import async_playwright

    app = make_web_app(services.pipeline, services.store, Residents(services.store),
                       WebLimits(resident=FloodLimiter(100, 10)), services.mailboxes,
                       history=ChatHistory(services.pipeline), catalogs=services.catalogs)
    server = await aiohttp_server(app)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=ARGS)
        ctx = await browser.new_context(viewport=PHONE, **context)
        page = await ctx.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page, f"http://127.0.0.1:{server.port}/"
        finally:
            await browser.close()


async def bot_texts(page: Any) -> list[str]:
    return [t.strip() for t in await page.locator(".msg.bot > span").all_inner_texts()]


async def start_guide(page: Any) -> None:
    await page.fill("#text", "làm sao cài ứng dụng VNeID")
    await page.click("#send")
    await page.wait_for_selector(".msg.bot >> text=Bước 1/")


async def test_reload_restores_the_conversation_and_old_buttons_do_nothing(  # type: ignore[no-untyped-def]
        aiohttp_server, services, chromium: str) -> None:
    async with phone(aiohttp_server, services, chromium, locale="vi-VN") as (page, base):
        await page.goto(base)
        await page.wait_for_selector(".msg.bot >> text=không phải người thật")
        await start_guide(page)
        await page.click(".buttons >> nth=-1 >> text=Xong rồi")
        await page.wait_for_selector(".msg.bot >> text=Bước 2/")
        before = await page.locator(".msg").count()
        # Only the newest reply's buttons act.
        assert await page.locator(".buttons button:not([disabled])").count() == 4
        # Step 1's old "Xong rồi", forced to fire anyway: the server ignores it.
        await page.evaluate("""() => { const b = document.querySelectorAll(".buttons")[1]
                                         .querySelector("button"); b.disabled = false; b.click(); }""")
        await page.wait_for_selector(".error")
        assert not [t for t in await bot_texts(page) if t.startswith("Bước 3/")]

        await page.reload()
        await page.wait_for_selector(".msg.bot >> text=Bạn đang làm dở")
        texts = await bot_texts(page)
        assert texts[-1].startswith("Bạn đang làm dở: ") and texts[-1].endswith("bước 2")
        assert any(t.startswith("Bước 2/") for t in texts) and await page.locator(".msg").count() >= before
        await page.click(".buttons >> nth=-1 >> text=Tiếp tục")
        await page.locator(".msg.bot").nth(len(texts)).wait_for()
        assert (await bot_texts(page))[-1].startswith("Bước 2/")
        # A double tap on "Xong rồi" advances one step.
        await page.dblclick(".buttons >> nth=-1 >> text=Xong rồi")
        await page.wait_for_selector(".msg.bot >> text=Bước 3/")
        await page.wait_for_timeout(700)
        assert not [t for t in await bot_texts(page) if t.startswith("Bước 4/")]


async def test_offline_typing_is_delivered_once_in_order_with_a_typing_indicator(  # type: ignore[no-untyped-def]
        aiohttp_server, services, chromium: str) -> None:
    async with phone(aiohttp_server, services, chromium, locale="vi-VN") as (page, base):
        await page.goto(base)
        await page.wait_for_selector(".msg.bot")
        await page.context.set_offline(True)
        await page.wait_for_selector("#offline:not([hidden])")
        for text in ("xin chào", "làm sao cài ứng dụng VNeID"):
            await page.fill("#text", text)
            await page.click("#send")
        await page.wait_for_selector(".msg.me.queued >> nth=1")
        assert await page.is_visible("#offline")  # in view, not hidden under the input bar
        # A slow network when it comes back: the assistant is seen working after 300 ms.
        async def slow(route: Any) -> None:
            await page.wait_for_timeout(1200)
            await route.continue_()
        await page.route("**/api/chat", slow)
        await page.context.set_offline(False)
        await page.wait_for_selector("#typing:not([hidden])", timeout=5000)
        await page.wait_for_selector(".msg.bot >> text=Bước 1/", timeout=20000)
        await page.wait_for_selector("#offline", state="hidden")
        assert await page.locator(".msg.me.queued").count() == 0
        assert await page.evaluate("JSON.parse(localStorage.getItem('trolyso-outbox'))") == []
    async with services.store.session() as s:
        typed = (await s.execute(select(Message.text).where(Message.direction == "in", Message.text.is_not(None))
                                 .order_by(Message.id))).scalars().all()
    assert typed == ["xin chào", "làm sao cài ứng dụng VNeID"]


async def test_first_visit_in_the_phones_language_reading_aloud_sizes_and_accessibility(  # type: ignore[no-untyped-def]
        aiohttp_server, services, chromium: str) -> None:
    from axe_playwright_python.async_playwright import Axe  # type: ignore[import-untyped]

    async with phone(aiohttp_server, services, chromium, locale="en-US") as (page, base):
        outside: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(base) else outside.append(r.url))
        await page.add_init_script(SPEECH_STUB)
        response = await page.goto(base)
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        await page.wait_for_selector(".msg.bot >> text=not a person")
        greeting = (await bot_texts(page))[0]
        assert greeting.startswith("Hello!") and "OTP" in greeting and "Talk to a person" in greeting
        assert await page.evaluate("document.documentElement.lang") == "en"
        assert await page.inner_text("#send") == "Send"
        # "Read aloud" speaks the reply in its language.
        await page.click(".msg.bot >> nth=0 >> .read")
        assert await page.evaluate("window.__spoken") == [{"text": greeting, "lang": "en-US"}]
        await page.click("#lang")  # the resident chooses Vietnamese
        await page.wait_for_selector(".msg.bot >> text=Đã chuyển sang tiếng Việt")
        await page.click(".msg.bot >> nth=-1 >> .read")
        spoken = await page.evaluate("window.__spoken")
        assert spoken[-1]["lang"] == "vi-VN" and spoken[-1]["text"] == (await bot_texts(page))[-1]

        for size in ("112.5%", "150%"):  # the default (18 px) and larger text: every control ≥ 44×44 px
            small = [c for c in await page.evaluate(SIZES) if c["w"] < 44 or c["h"] < 44]
            assert not small, (size, small)
            assert await page.evaluate("getComputedStyle(document.documentElement).fontSize") in ("18px", "24px")
            await page.click("#larger")
            await page.click("#larger")
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
        await page.reload()  # A-/A+ and the chosen language are kept
        await page.wait_for_selector(".msg.bot >> text=Đã chuyển sang tiếng Việt")
        assert await page.evaluate("getComputedStyle(document.documentElement).fontSize") == "32px"
        assert await page.evaluate("document.documentElement.lang") == "vi"
        await page.click("#smaller")
        await page.click("#smaller")
        await page.click("#smaller")

        results = await Axe().run(page)
        serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]])
                   for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
        assert not serious, json.dumps(serious, ensure_ascii=False)
        assert outside == []  # no external resources


async def test_the_page_opens_offline_and_says_so(aiohttp_server, services, chromium: str) -> None:  # type: ignore[no-untyped-def]
    async with phone(aiohttp_server, services, chromium, locale="vi-VN") as (page, base):
        await page.goto(base)
        await page.wait_for_selector(".msg.bot")
        # Installed and in control of the page (clients.claim()); waited for without eval, which the CSP forbids.
        await page.evaluate("""() => navigator.serviceWorker.ready.then(() => new Promise(ok => {
            const check = () => navigator.serviceWorker.controller ? ok(true) : setTimeout(check, 50); check(); }))""")
        await page.context.set_offline(True)
        await page.reload()
        await page.wait_for_selector("#offline:not([hidden])")
        assert "Không có mạng" in await page.inner_text("#offline")
        assert await page.is_visible("#text") and await page.inner_text("#send") == "Gửi"


async def test_english_typed_on_a_vietnamese_phone_turns_the_page_english(  # type: ignore[no-untyped-def]
        aiohttp_server, services, chromium: str) -> None:
    """Issue 16: the page sends the phone's language (`locale`) and follows the language the resident
    writes in: English from that message on, the page's own words too, also after a reload."""
    async with phone(aiohttp_server, services, chromium, locale="vi-VN") as (page, base):
        sent: list[dict[str, Any]] = []
        page.on("request", lambda r: sent.append(json.loads(r.post_data or "{}")) if r.url.endswith("/api/chat")
                and r.method == "POST" else None)
        await page.goto(base)
        await page.wait_for_selector(".msg.bot >> text=Xin chào")
        assert await page.evaluate("document.documentElement.lang") == "vi"
        await page.fill("#text", "hello, I need help installing VNeID")
        await page.click("#send")
        await page.wait_for_selector(".msg.bot >> text=Step 1/")
        assert all(body.get("locale") == "vi-VN" for body in sent) and len(sent) >= 2
        assert "lang" not in sent[-1]  # typing is not a choice: the server reads the message
        assert await page.evaluate("document.documentElement.lang") == "en"
        assert await page.inner_text("#send") == "Send"
        await page.reload()
        await page.wait_for_selector(".msg.bot >> text=Step 1/")
        assert await page.evaluate("document.documentElement.lang") == "en"


async def test_answers_lost_or_cut_off_on_the_way_are_shown_once(  # type: ignore[no-untyped-def]
        aiohttp_server, services, chromium: str) -> None:
    """The server answered but the page never got it: the connection dropped and the page was reloaded
    before sending the message again (the history has the answer), or the answer came cut off (the page
    sends the message again with its id). Each reply and each message is shown once."""
    async with phone(aiohttp_server, services, chromium, locale="vi-VN") as (page, base):
        await page.goto(base)
        await page.wait_for_selector(".msg.bot >> text=không phải người thật")
        spoil: list[str] = ["drop"]
        answered: list[int] = []

        async def on_the_way(route: Any) -> None:
            if route.request.method != "POST" or not spoil:
                await route.continue_()
                return
            answer = await route.fetch()  # the server has it and answers
            answered.append(len((await answer.json())["replies"]))
            if spoil.pop() == "drop":
                await route.abort("connectionreset")
            else:
                await route.fulfill(status=200, content_type="application/json", body=(await answer.text())[:20])
        await page.route("**/api/chat", on_the_way)
        await page.fill("#text", "làm sao cài ứng dụng VNeID")
        await page.click("#send")
        await page.wait_for_selector(".msg.me.queued")  # the page keeps the message to send again...
        await page.reload()  # ...but is reloaded first: the history has the answer
        await page.wait_for_selector(".msg.bot >> text=Bạn đang làm dở")
        await page.wait_for_timeout(4500)  # a poll comes and goes
        restored = await bot_texts(page)
        mine = [t.strip() for t in await page.locator(".msg.me > span").all_inner_texts()]
        assert mine.count("làm sao cài ứng dụng VNeID") == 1 and len(restored) == len(set(restored)), restored
        assert len([t for t in restored if t.startswith("Bước 1/")]) == 1
        spoil.append("cut")
        await page.click(".buttons >> nth=-1 >> text=Tiếp tục")
        await page.wait_for_selector(".msg.bot >> nth=" + str(len(restored)), timeout=20_000)
        await page.wait_for_timeout(4500)
        texts = await bot_texts(page)
        assert await page.evaluate("JSON.parse(localStorage.getItem('trolyso-outbox'))") == []
    assert len(texts) == len(restored) + answered[-1] and texts[-1].startswith("Bước 1/"), texts
