"""An announcement composed in a real browser (headless Chromium) reaches the fake Telegram residents of the chosen
village only, once each, through a broadcast worker running on the same database; the progress bar reaches 100%
and the final report is shown. A village team member sees the page refused (its API answers 403). With approval
required, an approver finds the announcement in their "waiting for your approval" list and approves it there."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

import pytest

from bot.broadcast import queue
from bot.broadcast.runtime import telegram_sender
from bot.broadcast.worker import Worker
from tests.bot.staff.conftest import write_staff
from tests.bot.staff.test_dashboard_page import _log_in as log_in
from tests.bot.staff.test_desk_page import DESKTOP, chromium_pages
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.browser
VI, EN = "Điểm dịch vụ công lưu động ở thôn Đại Cường sáng thứ Bảy", "Mobile public service point on Saturday"
DAI_CUONG, DONG_LO = [1000, 1002, 1004], [1001, 1003, 1005]  # conftest: residents alternate between the two


async def _body_attr(page: Any, name: str, wanted: str | None = None, tries: int = 600) -> str:
    for _ in range(tries):  # polled from here: the page's CSP forbids the eval wait_for_function would use
        value = await page.get_attribute("body", name)
        if value is not None and (wanted is None or value == wanted):
            return str(value)
        await page.wait_for_timeout(100)
    raise AssertionError(f"body[{name}] never became {wanted!r} (last {value!r})")


async def test_an_announcement_from_the_browser_reaches_its_village_once(announce: Any, chromium: str) -> None:
    fake = FakeTelegram(global_per_second=30, per_chat_per_second=1)
    await fake.start()
    for user in DAI_CUONG + DONG_LO:
        fake.add_user(user, language_code=None)
    stack, stop = AsyncExitStack(), asyncio.Event()
    worker: asyncio.Task[None] | None = None
    try:
        cfg = announce.broadcast
        sender = await telegram_sender(fake.token, fake.base_url, announce.store, cfg.max_in_flight, stack)
        base = str(announce.make_url("")).rstrip("/")
        async with chromium_pages(chromium, DESKTOP, DESKTOP) as (page, member):
            await log_in(page, base, "minh")
            await page.goto(f"{base}/staff/announce")
            await _body_attr(page, "data-loaded")
            assert "ubnd-xa" in await page.inner_text("#author")
            await page.fill("#text-vi", VI)
            await page.fill("#text-en", EN)
            await page.check("#villages input[value=dai-cuong]")
            await page.uncheck("#channels input[value=zalo]")  # no worker sends on Zalo here
            await page.click("#preview")
            await page.wait_for_selector("#preview-box:not([hidden])")
            assert await page.get_attribute("#recipients", "data-n") == "3"
            assert VI in await page.inner_text(".preview[data-language=vi]")
            english = await page.inner_text(".preview[data-language=en]")
            assert "📢 Announcement from the commune" in english and EN in english and VI not in english
            worker = asyncio.create_task(Worker(announce.store, announce.catalogs, cfg, {"telegram": sender}).run(stop))
            await page.click("#send")
            await _body_attr(page, "data-percent", "100")
            # Every delivery settled (100%) comes before the worker's next round marks the announcement done.
            assert await _body_attr(page, "data-status", "done") == "done"
            assert await page.get_attribute("#bar", "value") == "100"
            assert "đã gửi xong: 3 đã nhận, 0 không gửi được" in await page.inner_text("#report")

            await log_in(member, base, "lan")
            await member.goto(f"{base}/staff/announce")
            await member.wait_for_selector("#notice:not([hidden])")
            assert "staff hoặc admin" in await member.inner_text("#notice")
            assert await member.is_hidden("#board")
        await asyncio.sleep(0.5)  # a second send would have had time to arrive
        assert {u: len(fake.messages.get(u, [])) for u in DAI_CUONG + DONG_LO} == {
            **dict.fromkeys(DAI_CUONG, 1), **dict.fromkeys(DONG_LO, 0)}
        # conftest's residents: 1000 chose English, 1002 nothing, 1004 Vietnamese
        assert [EN in fake.messages[u][0].text for u in DAI_CUONG] == [True, False, False]
        assert all(VI in fake.messages[u][0].text for u in DAI_CUONG[1:])
    finally:
        stop.set()
        if worker is not None:
            await asyncio.wait_for(worker, 30)
        await stack.aclose()
        await fake.close()


async def test_an_approver_finds_what_waits_for_them_and_approves_it(announce: Any, chromium: str) -> None:
    write_staff(announce.directory, approval=True)
    base = str(announce.make_url("")).rstrip("/")
    async with chromium_pages(chromium, DESKTOP, DESKTOP) as (author, approver):
        await log_in(author, base, "thu")
        await author.goto(f"{base}/staff/announce")
        await _body_attr(author, "data-loaded")
        await author.fill("#text-vi", VI)
        await author.check("#villages input[value=dai-cuong]")
        await author.click("#preview")
        await author.wait_for_selector("#preview-box:not([hidden])")
        await author.click("#send")
        assert await _body_attr(author, "data-status", "awaiting_approval")
        assert await author.is_hidden("#awaiting-box")  # nothing waits for its author

        await log_in(approver, base, "minh")
        await approver.goto(f"{base}/staff/announce")
        await _body_attr(approver, "data-loaded")
        assert await approver.is_visible("#awaiting-box")
        row = approver.locator("#t-awaiting tr")
        assert await row.count() == 1 and "doan-thanh-nien" in await row.inner_text() and VI in await row.inner_text()
        await row.locator("button.approve").click()
        assert await _body_attr(approver, "data-status", "scheduled")
    [b] = await queue.recent(announce.store)
    assert (b.status, b.approved_by) == ("scheduled", "ubnd-xa")
