"""The posters button of the dashboard: GET /staff/api/posters.pdf makes `python -m bot posters`' pages as one PDF
(a village, or a page per place) whose QR codes decode back to the links; refusals say what to change; staff only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
import pytest_asyncio
import zxingcpp
from aiohttp import web

from bot.posters import WebPosters
from bot.staff.accounts import StaffAccounts, password_hasher
from bot.staff.dashboard import DashboardFigures
from bot.storage.db import make_engine, migrate
from bot.storage.store import Store
from dialogues.flows import Library
from integrations.web.dashboard_api import add_dashboard_routes
from integrations.web.desk_auth import add_login_routes
from integrations.web.guard import harden
from integrations.web.page import STATIC
from integrations.web.posters_api import add_poster_routes
from kernel.commune import CommuneSource
from kernel.i18n import Catalogs
from kernel.settings import Settings
from tests.bot.staff.conftest import PASSWORD, login
from tests.bot.staff.test_dashboard_page import _loaded_after, _log_in
from tests.bot.staff.test_desk_page import DESKTOP, chromium_pages

LINKS = {"telegram_bot": "TroLySoUngHoaBot", "zalo_oa": "1234567890123", "web_url": "https://trolyso.example.vn/"}


def _pages(pdf_bytes: bytes) -> list[set[str]]:
    """Each page rendered as a printer would (100 dpi), its QR codes read back."""
    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        out = []
        for page in pdf:
            assert page.get_size() == pytest.approx((595.28, 841.89), abs=0.5)  # A4
            image = page.render(scale=100 / 72).to_pil()
            out.append({r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode})
        return out
    finally:
        pdf.close()


@pytest_asyncio.fixture
async def posters(aiohttp_client: Any, sqlite_url: str, settings: Settings, project_library: Library
                  ) -> AsyncIterator[Any]:
    """The desk's login, the dashboard and its posters download; lan (member), minh (staff)."""
    engine = make_engine(sqlite_url)
    await migrate(engine)
    store = Store(engine)
    accounts = StaffAccounts(store, password_hasher(settings.web.password_profile))
    await accounts.add("lan", "member", ["dai-cuong"], PASSWORD)
    await accounts.add("minh", "staff", ["commune"], PASSWORD)
    catalogs = Catalogs(settings.locales_dir, settings.languages, settings.default_language)
    commune = CommuneSource(settings.commune_dir)
    app = web.Application()
    harden(app, store)
    add_login_routes(app, accounts)
    app.router.add_static("/static", STATIC)
    add_dashboard_routes(app, DashboardFigures(store, project_library, commune, catalogs), catalogs)
    add_poster_routes(app, WebPosters(commune, catalogs))
    yield await aiohttp_client(app)
    await engine.dispose()


async def test_a_villages_poster_and_every_place_as_one_pdf(posters: Any) -> None:
    await login(posters, "minh")
    r = await posters.get("/staff/api/posters.pdf", params={**LINKS, "village": "dai-cuong"})
    assert r.status == 200 and r.content_type == "application/pdf"
    assert r.headers["Content-Disposition"] == 'attachment; filename="poster-dai-cuong.pdf"'
    assert _pages(await r.read()) == [{"https://t.me/TroLySoUngHoaBot?start=dai-cuong",
                                       "https://zalo.me/1234567890123", "https://trolyso.example.vn/"}]

    r = await posters.get("/staff/api/posters.pdf", params={"web_url": "https://trolyso.example.vn/", "village": ""})
    assert r.headers["Content-Disposition"] == 'attachment; filename="poster-all.pdf"'
    pages = _pages(await r.read())
    assert len(pages) == 8 and all(p == {"https://trolyso.example.vn/"} for p in pages)  # only the channel given


async def test_refusals_say_what_to_change_and_only_staff_may_download(posters: Any) -> None:
    assert (await posters.get("/staff/api/posters.pdf", params=LINKS)).status == 401
    await login(posters, "minh")
    for params, says in (({**LINKS, "telegram_bot": "bad name!"}, "Bot Telegram: ghi tên người dùng của bot"),
                         ({**LINKS, "zalo_oa": "javascript:alert(1)"}, "Zalo OA: ghi mã số"),
                         ({**LINKS, "web_url": "trolyso"}, "Trang web: ghi địa chỉ bắt đầu bằng https://"),
                         ({"village": "dai-cuong"}, "Hãy ghi ít nhất một kênh"),
                         ({**LINKS, "village": "nowhere"}, "Không có thôn, xã cũ này."),
                         ({**LINKS, "web_url": "https://x.vn/" + "a" * 400}, "Too long.")):
        r = await posters.get("/staff/api/posters.pdf", params=params)
        assert r.status == 400 and (await r.json())["error"].startswith(says), (params, await r.text())
    r = await posters.get("/staff/api/posters.pdf", params={**LINKS, "village": "nowhere", "lang": "en"})
    assert (await r.json())["error"] == "There is no such village or former commune."
    await login(posters, "lan")
    assert (await posters.get("/staff/api/posters.pdf", params=LINKS)).status == 403


@pytest.mark.browser
async def test_the_posters_button_downloads_the_chosen_villages_pdf(posters: Any, chromium: str) -> None:
    base = str(posters.make_url("")).rstrip("/")
    async with chromium_pages(chromium, DESKTOP) as (page,):
        await _log_in(page, base, "minh")
        await _loaded_after(page, None)
        form = page.locator("#poster-form")
        assert await form.locator("input[name=web_url]").input_value() == base + "/"  # this server, by default
        await form.locator("input[name=telegram_bot]").fill("bad name!")
        await form.locator("button").click()
        await page.wait_for_selector("#poster-result.error")
        assert (await page.inner_text("#poster-result")).startswith("Bot Telegram: ghi tên người dùng của bot")

        await form.locator("input[name=telegram_bot]").fill("TroLySoUngHoaBot")
        await form.locator("input[name=web_url]").fill("https://trolyso.example.vn/")
        await form.locator("select[name=village]").select_option("dong-lo")
        async with page.expect_download() as info:
            await form.locator("button").click()
        download = await info.value
        assert download.suggested_filename == "poster-dong-lo.pdf"
        path = Path(await download.path())
        assert _pages(path.read_bytes()) == [{"https://t.me/TroLySoUngHoaBot?start=dong-lo",
                                              "https://trolyso.example.vn/"}]
        assert await page.inner_text("#poster-result") == "Đã tải áp phích."
