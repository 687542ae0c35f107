"""The commune's schedule and teams' contacts edited in a real browser (headless Chromium): an invalid date or phone
is refused with a clear message and the previous file stays; a corrected one is saved, listed in the history, kept
on reload, and a resident asking for a person is given the new contacts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
import yaml

from kernel.messages import Incoming
from kernel.settings import Settings
from nlu.interpreter import EmbeddedInterpreter
from tests.bot.handoff.test_escalation import WHO
from tests.bot.staff.test_dashboard_page import _log_in
from tests.bot.staff.test_desk_page import DESKTOP, chromium_pages
from tests.fakes.services import build_services

pytestmark = pytest.mark.browser
SOON = (date.today() + timedelta(days=5)).isoformat()


async def _wait_for(page: Any, attribute: str, before: str | None) -> None:
    for _ in range(200):  # polled from here: the page's CSP forbids the eval wait_for_function would use
        now = await page.get_attribute("body", attribute)
        if now is not None and now != before:
            return
        await page.wait_for_timeout(100)
    raise AssertionError(f"no {attribute}")


async def test_a_schedule_edit_in_the_browser(community: Any, chromium: str) -> None:
    base = str(community.make_url("")).rstrip("/")
    schedule = community.directory / "schedule.yml"
    async with chromium_pages(chromium, DESKTOP) as (page,):
        await _log_in(page, base, "minh")
        await page.goto(f"{base}/staff/community")
        await _wait_for(page, "data-loaded", None)
        section = page.locator("[data-list=schedule]")
        await section.locator(".add").click()
        entry = section.locator(".entry").last
        await entry.locator("input[name=date]").fill("2026-02-30")
        await entry.locator("input[name=start]").fill("08:00")
        await entry.locator("input[name=end]").fill("11:00")
        await entry.locator("input[name=place]").fill("Nhà văn hoá thôn Đại Cường")
        await entry.locator("input[name=villages]").fill("dai-cuong")
        before = schedule.read_bytes()
        await section.locator(".save").click()
        await page.wait_for_selector("[data-list=schedule] .result.error")
        message = await section.locator(".result").inner_text()
        assert "Không lưu (lịch cũ vẫn giữ nguyên)" in message and "2026-02-30" in message
        assert schedule.read_bytes() == before

        await entry.locator("input[name=date]").fill(SOON)
        await section.locator(".save").click()
        await _wait_for(page, "data-saved", None)
        assert "Đã lưu" in await section.locator(".result").inner_text()
        saved = yaml.safe_load(schedule.read_text(encoding="utf-8"))["visits"]
        assert [(str(v["date"]), v["place"], v["villages"]) for v in saved] == [
            (SOON, "Nhà văn hoá thôn Đại Cường", ["dai-cuong"])]
        assert "minh" in await page.inner_text("#t-history")

        await page.reload()
        await _wait_for(page, "data-loaded", None)
        assert await page.locator("[data-list=schedule] .entry input[name=date]").input_value() == SOON


async def test_team_contacts_in_the_browser_reach_a_resident_on_hand_off(community: Any, chromium: str,
                                                                          settings: Settings,
                                                                          interpreter: EmbeddedInterpreter) -> None:
    base = str(community.make_url("")).rstrip("/")
    teams = community.directory / "teams.yml"
    async with chromium_pages(chromium, DESKTOP) as (page,):
        await _log_in(page, base, "minh")
        await page.goto(f"{base}/staff/community")
        await _wait_for(page, "data-loaded", None)
        team = page.locator("#teams [data-team=dai-cuong]")
        assert await team.locator("legend").inner_text() == "Tổ công nghệ số Đại Cường"
        await team.locator("input[name=phone]").fill("0912 34")
        await team.locator("input[name=place]").fill("Nhà văn hoá thôn Đại Cường")
        before = teams.read_bytes()
        await page.locator("#teams .save").click()
        await page.wait_for_selector("#teams .result.error")
        message = await page.locator("#teams .result").inner_text()
        assert message.startswith("Không lưu (liên hệ cũ vẫn giữ nguyên): Tổ công nghệ số Đại Cường: số điện thoại "
                                  "không đúng dạng số Việt Nam")
        assert teams.read_bytes() == before

        await team.locator("input[name=phone]").fill("0912 345 678")
        for day in ("mon", "tue", "wed", "thu", "fri"):
            await team.locator(f"input[name=day][value={day}]").check()
        await team.locator("input[name=hours_start]").fill("07:30")
        await team.locator("input[name=hours_end]").fill("17:00")
        await page.locator("#teams .save").click()
        await _wait_for(page, "data-saved", None)
        assert "Đã lưu" in await page.locator("#teams .result").inner_text()
        assert "teams.yml" in await page.inner_text("#t-history")

    # A resident of Đại Cường who asks for a person is given the new contacts.
    services = await build_services(replace(settings, commune_dir=community.directory), interpreter=interpreter)
    try:
        await services.pipeline.handle(Incoming(WHO, payload="human"))
        said = (await services.pipeline.handle(Incoming(WHO, payload="village:dai-cuong"))).replies[-1].text
    finally:
        await services.close()
    assert "Điện thoại của tổ: 0912 345 678" in said.splitlines()
    assert "Gặp tổ tại: Nhà văn hoá thôn Đại Cường" in said.splitlines()
    assert "Giờ làm việc: 07:30–17:00, thứ Hai đến thứ Sáu" in said.splitlines()
