"""With approval_required, the staff chat learns that an announcement waits: the server's worker posts it once
through the Telegram staff desk (real python-telegram-bot, fake Bot API) with an Approve button that an approver
presses there; the web page's list of what waits for an approver is in tests/bot/staff/test_announce_api.py."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from aiohttp import web

from bot.app import telegram_channel
from bot.broadcast import queue
from kernel.settings import ROOT, Settings, replace
from nlu.interpreter import EmbeddedInterpreter
from tests.fakes.pacing import TELEGRAM
from tests.fakes.services import build_services
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.slow  # the server's workers and channel on their own pace

STAFF_GROUP, OTHER_GROUP = -1007001, -1007002
APPROVER, AUTHOR = 7001, 7002
STAFF_YML = f"""approval_required: true
staff:
  - {{id: ubnd-xa, name: Văn phòng UBND xã, telegram_user_id: {APPROVER}, broadcast_to: all, approver: true}}
  - {{id: doan-thanh-nien, name: Đoàn Thanh niên xã, telegram_user_id: {AUTHOR}, web_username: thu,
     broadcast_to: [dai-cuong], approver: false}}
"""


async def test_the_staff_chat_is_told_once_and_an_approver_approves_there(
        settings: Settings, tmp_path: Path, interpreter: EmbeddedInterpreter) -> None:
    commune = tmp_path / "commune"
    shutil.copytree(ROOT / "communes/ung-hoa", commune)
    (commune / "staff.yml").write_text(STAFF_YML, encoding="utf-8")
    fake = FakeTelegram(global_per_second=30, per_chat_per_second=1)
    await fake.start()
    telegram = replace(TELEGRAM, token=fake.token, api_url=fake.base_url, poll_timeout=1,
                       staff_chat_ids=(STAFF_GROUP, OTHER_GROUP))
    services = await build_services(replace(settings, commune_dir=commune, telegram=telegram,
                                   broadcast=replace(settings.broadcast, check_seconds=0.2)), interpreter=interpreter)
    channel = telegram_channel(services, telegram)
    try:
        for group in (STAFF_GROUP, OTHER_GROUP):
            fake.add_group(group, "Văn phòng xã")
        fake.add_user(APPROVER, "Chị Hoa")
        fake.add_user(AUTHOR, "Anh Nam")
        services.attach([channel])
        await channel.start(web.Application())
        await services.start_workers()
        # Composed on the web (or the CLI): nobody has seen it yet.
        b = await queue.create(services.store, services.commune.current().staff, "doan-thanh-nien", topic="class",
                               text_vi="Lớp kỹ năng số tối thứ Sáu ở nhà văn hoá thôn", text_en=None,
                               villages=["dai-cuong"], known_villages={"dai-cuong"})
        assert b.status == "awaiting_approval"
        [notice] = await fake.wait_for(STAFF_GROUP, 1)
        assert notice.text.startswith(f"Thông báo #{b.id} của Đoàn Thanh niên xã gửi tới xã cũ Đại Cường đang chờ "
                                      "duyệt.")
        assert "Lớp kỹ năng số tối thứ Sáu" in notice.text
        assert [[x["callback_data"] for x in row] for row in notice.buttons] == [[f"bcast:approve:{b.id}"]]
        await fake.wait_for(OTHER_GROUP, 1)  # every staff chat
        await asyncio.sleep(0.8)  # several more ticks of the worker: told once
        assert len(fake.texts(STAFF_GROUP)) == 1 and len(fake.texts(OTHER_GROUP)) == 1

        fake.press_button(STAFF_GROUP, f"bcast:approve:{b.id}", from_user=AUTHOR)  # the author may not approve
        await fake.wait_idle()
        assert (await queue.get(services.store, b.id)).status == "awaiting_approval"  # type: ignore[union-attr]
        fake.press_button(STAFF_GROUP, f"bcast:approve:{b.id}", from_user=APPROVER)
        replies = await fake.wait_for(STAFF_GROUP, 2)
        assert "đã được Văn phòng UBND xã duyệt" in replies[-1].text
        assert (await queue.get(services.store, b.id)).approved_by == "ubnd-xa"  # type: ignore[union-attr]
    finally:
        await services.stop_workers()
        await channel.stop()
        await services.close()
        await fake.close()
