"""The commune dashboard in a real browser (headless Chromium) on a known history: the right numbers in its
tables and its chart, the village filter, a CSV download, a group of unanswered questions marked handled, no
error under the page's CSP; a village team member gets 403."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.bot.staff.conftest import PASSWORD
from tests.bot.staff.test_desk_page import DESKTOP, chromium_pages

pytestmark = pytest.mark.browser
CHART = "() => Chart.getChart('funnel-chart').data.datasets.map(d => d.data)"


async def _log_in(page: Any, base: str, username: str) -> None:
    await page.goto(f"{base}/staff/")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-button")
    await page.wait_for_selector("#desk:not([hidden])")  # logged in (this server has no case routes)
    await page.goto(f"{base}/staff/dashboard")


async def _loaded_after(page: Any, before: str | None) -> None:
    """Wait until the page has drawn figures newer than `before` (polled from here: the page's CSP forbids the
    eval that wait_for_function would use)."""
    for _ in range(200):
        now = await page.get_attribute("body", "data-loaded")
        if now is not None and now != before:
            return
        await page.wait_for_timeout(100)
    raise AssertionError("the dashboard did not load its figures")


async def _show(page: Any, since: str, until: str, village: str = "") -> None:
    before = await page.get_attribute("body", "data-loaded")
    await page.fill("#f-from", since)
    await page.fill("#f-to", until)
    await page.select_option("#f-village", village)
    await page.click("#filters button[type=submit]")
    await _loaded_after(page, before)


async def _rows(page: Any, table: str) -> list[list[str]]:
    return list(await page.eval_on_selector_all(
        f"#{table} tbody tr", "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))"))


async def test_the_dashboard_shows_the_known_history(dashboard: Any, chromium: str, tmp_path: Any) -> None:
    base = str(dashboard.make_url("")).rstrip("/")
    async with chromium_pages(chromium, DESKTOP, DESKTOP) as (staff, member):
        errors: list[str] = []
        staff.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        staff.on("pageerror", lambda e: errors.append(str(e)))
        await _log_in(staff, base, "minh")
        errors.clear()  # the desk page's own calls (no case routes here); from now on the dashboard's
        await staff.wait_for_selector("#board:not([hidden])")
        await _loaded_after(staff, None)
        await _show(staff, "2026-12-01", "2026-12-31")

        assert await staff.input_value("#f-guide") == "vneid_install"  # the most started guide first
        assert await staff.evaluate(CHART) == [[4, 3, 1, 1], [0, 2, 0, 0]]  # reached, stuck per step
        assert [r[1:] for r in await _rows(staff, "t-steps")] == [["4", "0"], ["3", "2"], ["1", "0"], ["1", "0"]]
        funnels = await _rows(staff, "t-funnels")
        assert funnels[0] == ["Cài ứng dụng VNeID chính thức", "4", "1", "1", "1"]
        stuck = await _rows(staff, "t-stuck")
        assert len(stuck) == 1 and stuck[0][0] == "Cài ứng dụng VNeID chính thức" and stuck[0][2:] == ["2"]
        assert await _rows(staff, "t-reach") == [
            ["xã cũ Đại Cường", "telegram", "2", "0", "1", "0"], ["xã cũ Đại Cường", "web", "1", "0", "1", "0"],
            ["xã cũ Đông Lỗ", "zalo", "1", "0", "1", "1"], ["xã cũ Kim Đường", "telegram", "1", "1", "1", "0"],
            ["(chưa rõ)", "web", "1", "0", "0", "0"]]
        assert await _rows(staff, "t-handoff") == [
            ["xã cũ Đại Cường", "dai-cuong", "2", "1", "0", "0", "0", "30"],
            ["xã cũ Đông Lỗ", "commune", "1", "1", "1", "1", "0", "10"]]
        assert [r[4:] for r in await _rows(staff, "t-broadcasts")] == [
            ["3", "1", "0", "1", "1", "1"], ["3", "2", "1", "0", "0", "1"]]
        unanswered = await _rows(staff, "t-unanswered")
        assert [r[:3] for r in unanswered] == [["Cách đổi ảnh  đại diện Zalo?", "2", "ngoài phạm vi"],
                                              ["mua vé tàu ở đâu [phone]", "1", "chưa chắc hiểu"]]

        # CSV of a table: the same numbers.
        async with staff.expect_download() as download:
            await staff.click("a.csv[data-table=reach]")
        path = tmp_path / "reach.csv"
        await (await download.value).save_as(path)
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
        assert (rows[0]["place"], rows[0]["channel"], rows[0]["residents"], rows[0]["active"]) == \
            ("xã cũ Đại Cường", "telegram", "2", "1")

        # The first group of unanswered questions is handled: it leaves the list.
        before = await staff.get_attribute("body", "data-loaded")
        await staff.click("#t-unanswered tbody tr:first-child button")
        await _loaded_after(staff, before)
        assert [r[0] for r in await _rows(staff, "t-unanswered")] == ["mua vé tàu ở đâu [phone]"]

        # One village: its residents only, in the tables and the chart.
        await _show(staff, "2026-12-01", "2026-12-31", "dai-cuong")
        assert await staff.evaluate(CHART) == [[2, 1, 1, 1], [0, 1, 0, 0]]
        assert [r[0] for r in await _rows(staff, "t-reach")] == ["xã cũ Đại Cường", "xã cũ Đại Cường"]
        assert errors == []  # Chart.js and the page run under the CSP without an error

        # A village team member: the page says it is not for them, the API answers 403.
        await _log_in(member, base, "lan")
        await member.wait_for_selector("#notice:not([hidden])")
        assert "dành cho cán bộ xã" in await member.inner_text("#notice")
        assert await member.is_hidden("#board")
        status = await member.evaluate("async () => (await fetch('/staff/api/dashboard')).status")
        assert status == 403
