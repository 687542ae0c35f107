"""Telegram photos, voice notes and files from residents: fetched through the Bot API (getFile, then the file
URL) by real python-telegram-bot from the fake Bot API, into the resident's open case, seen at the web desk."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from PIL import Image
from sqlalchemy import func, select

from bot.app import Services, telegram_channel
from bot.handoff import Staff
from bot.handoff.files import CaseFiles
from bot.handoff.models import CaseMessage, Outbox
from bot.staff.desk import attach_desk
from integrations.telegram.channel import TelegramChannel
from kernel.messages import ResidentKey
from kernel.settings import Settings, replace
from nlu.interpreter import EmbeddedInterpreter
from tests.bot.handoff.test_case_files import OGG, photo
from tests.bot.handoff.test_escalation import open_case, start
from tests.bot.staff.test_desk_cases import PASSWORD, login
from tests.fakes.commune import MEMBER, Clock, write_commune
from tests.fakes.pacing import TELEGRAM
from tests.fakes.telegram_api import FakeTelegram

LAN = 1001  # a resident on Telegram
WHO = ResidentKey("telegram", str(LAN))


@dataclass
class World:
    services: Services
    fake: FakeTelegram
    desk: Any  # the web desk's test client
    accounts: Any
    folder: Path

    def stored(self) -> list[Path]:
        return sorted(self.folder.rglob("*.*")) if self.folder.exists() else []

    async def file_messages(self) -> int:
        async with self.services.store.session() as s:
            stmt = select(func.count()).select_from(CaseMessage).where(CaseMessage.source_id.like("file:%"))
            return int((await s.execute(stmt)).scalar_one())


@pytest_asyncio.fixture
async def world(aiohttp_client: Any, settings: Settings, database_url: str, interpreter: EmbeddedInterpreter,
                tmp_path: Path, fake_telegram: FakeTelegram) -> AsyncIterator[World]:
    services = await start(settings, database_url, interpreter, write_commune(tmp_path / "commune"), Clock())
    folder = tmp_path / "files"
    services.escalation.files = CaseFiles(folder, timedelta(days=30))
    fake_telegram.add_user(LAN, "Lan")
    channel: TelegramChannel = telegram_channel(services, replace(TELEGRAM, token=fake_telegram.token,
                                                                  api_url=fake_telegram.base_url, poll_timeout=1))
    app = web.Application()
    accounts = attach_desk(app, services)
    await channel.start(app)
    try:
        yield World(services, fake_telegram, await aiohttp_client(app), accounts, folder)
    finally:
        await channel.stop()
        await services.close()


async def test_a_photo_joins_the_open_case_and_the_member_sees_it_at_the_desk(world: World) -> None:
    fake, services = world.fake, world.services
    case_id = await open_case(services, who=WHO)
    before = len(fake.sent_to(LAN))
    uid = fake.inject_photo(LAN, b"", sizes=[(b"thumbnail", 32, 24), (photo(), 64, 48)],
                            caption="Máy báo lỗi này, CCCD của tôi 001203004567")
    (answer,) = [m.text for m in (await fake.wait_for(LAN, before + 1))[before:]]
    assert str(case_id) in answer and "căn cước" in answer  # joined the case; warned about ID cards
    assert fake.downloads == ["photos/file_2.jpg"] and len(fake.calls("getFile")) == 1  # the largest size
    (kept,) = world.stored()
    assert not Image.open(kept).getexif() and b"Phone X1" not in kept.read_bytes()  # metadata gone
    async with services.store.session() as s:
        told = list((await s.execute(select(Outbox.text).where(Outbox.audience == "team", Outbox.kind == "message")))
                    .scalars())
    assert any("📷 Ảnh từ người dân" in t for t in told)  # the team's Telegram group is told, as for the web
    assert any("Máy báo lỗi này" in t for t in told) and not any("001203004567" in t for t in told)  # the caption

    await world.accounts.add("lan", "member", ["dai-cuong"], PASSWORD)
    await login(world.desk, "lan")
    detail = await (await world.desk.get(f"/staff/api/cases/{case_id}")).json()
    (attachment,) = detail["attachments"]
    assert attachment["kind"] == "image" and detail["channel"] == "telegram"
    said = [m["text"] for m in detail["messages"] if m["from"] == "resident"]
    assert any("Máy báo lỗi này" in t for t in said) and not any("001203004567" in t for t in said)  # redacted
    got = await world.desk.get(attachment["url"])
    assert got.status == 200 and Image.open(io.BytesIO(await got.read())).size == (64, 48)

    # Telegram sends the same update again (our confirmation was lost): kept once.
    fake.inject_update(fake.injected[uid], update_id=uid)
    await fake.wait_until(lambda: fake.pending_updates == 0)
    await fake.wait_idle()
    assert len(world.stored()) == 1 and await world.file_messages() == 1 and len(fake.sent_to(LAN)) == before + 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the photo test covers PostgreSQL
async def test_a_voice_note_without_a_case_gets_the_offer_of_a_person_and_goes_with_the_case(world: World) -> None:
    fake = world.fake
    fake.inject_voice(LAN, OGG)
    (offer,) = await fake.wait_for(LAN, 1)
    assert "không xem được" in offer.text and "chuyển tệp này" in offer.text and "căn cước" in offer.text
    assert "Gặp người hỗ trợ" in offer.labels
    assert [p.parent.parent.name for p in world.stored()] == ["held"] and await world.file_messages() == 0
    fake.press_button(LAN, "Gặp người hỗ trợ")  # the offer opens a case (the village is asked first)
    await fake.wait_until(lambda: "Đại Cường" in fake.sent_to(LAN)[-1].labels)
    before = len(fake.sent_to(LAN))
    fake.press_button(LAN, "Đại Cường")
    opened = (await fake.wait_for(LAN, before + 1))[before].text
    assert "yêu cầu số 1" in opened.lower() and "vừa gửi đã được chuyển cho tổ" in opened, opened
    assert [p.parent.name for p in world.stored()] == ["1"] and await world.file_messages() == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_oversized_or_non_image_file_is_refused_and_nothing_is_stored(world: World) -> None:
    fake = world.fake
    await open_case(world.services, who=WHO)
    fake.inject_document(LAN, b"\xff\xd8\xff\xe0" + b"x" * (10 * 1024 * 1024), "anh.jpg", "image/jpeg")
    (too_large,) = await fake.wait_for(LAN, 1)
    assert "tối đa 10 MB" in too_large.text
    assert fake.calls("getFile") == [] and fake.downloads == []  # announced too large: never downloaded
    fake.inject_document(LAN, b"%PDF-1.4 a document renamed anh.jpg", "anh.jpg", "image/jpeg")
    (not_an_image,) = (await fake.wait_for(LAN, 2))[1:]
    assert "chỉ nhận ảnh hoặc ghi âm" in not_an_image.text
    assert world.stored() == [] and await world.file_messages() == 0
    gif = {**fake.add_file(b"GIF89a...", "animations", "mp4"), "width": 10, "height": 10, "duration": 1}
    fake.inject_update({"message": fake._message(LAN, None, animation=gif, document=gif)})  # as Telegram sends it
    await fake.wait_until(lambda: "chỉ đọc được tin nhắn chữ" in fake.sent_to(LAN)[-1].text)
    assert len(fake.calls("getFile")) == 1  # a GIF is not fetched (only the PDF was)
    await world.services.escalation.resolve(1, Staff(MEMBER, "Tuấn"))  # no case now: refused, nothing held
    fake.inject_document(LAN, b"%PDF-1.4 another document", "anh.jpg", "image/jpeg")
    await fake.wait_until(lambda: "chỉ nhận ảnh hoặc ghi âm" in fake.sent_to(LAN)[-1].text)
    assert world.stored() == [] and await world.file_messages() == 0
