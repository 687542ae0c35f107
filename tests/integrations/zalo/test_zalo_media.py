"""Zalo images and audio from residents: fetched from the event's URL (the fake Zalo's CDN on loopback) with the
channel's HTTP client, into the resident's open case; without one, the offer of a person; bad files refused."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from PIL import Image
from pytest_aiohttp import AiohttpClient
from sqlalchemy import func, select

from bot.app import Services, zalo_channel
from bot.handoff.files import CaseFiles
from bot.handoff.models import CaseMessage
from kernel.messages import ResidentKey
from tests.bot.handoff.test_case_files import OGG, photo
from tests.bot.handoff.test_escalation import open_case
from tests.fakes.zalo import WEBHOOK, Harness, bot_settings
from tests.fakes.zalo_api import FakeZalo

USER = "8100000077"
WHO = ResidentKey("zalo", USER)


def keep_files(services: Services, tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    services.escalation.files = CaseFiles(folder, timedelta(days=30))
    return folder


def stored(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.*")) if folder.exists() else []


async def file_messages(services: Services) -> int:
    async with services.store.session() as s:
        stmt = select(func.count()).select_from(CaseMessage).where(CaseMessage.source_id.like("file:%"))
        return int((await s.execute(stmt)).scalar_one())


async def test_an_image_joins_the_open_case_without_its_metadata(harness: Harness, services: Services,
                                                                 tmp_path: Path) -> None:
    fake, folder = harness.fake, keep_files(services, tmp_path)
    case_id = await open_case(services, who=WHO)
    body = fake.media_event(USER, photo(), msg_id="img-1", text="lỗi này, gọi tôi 0912345678")
    assert await harness.event(body) == 200
    answer = fake.to(USER)[-1].text
    assert str(case_id) in answer and "căn cước" in answer
    (kept,) = stored(folder)
    assert kept.parent.name == str(case_id) and not Image.open(kept).getexif()
    assert b"Phone X1" not in kept.read_bytes() and len(fake.downloads) == 1
    assert await harness.event(body) == 200  # Zalo delivers the same event again: kept once
    assert len(stored(folder)) == 1 and await file_messages(services) == 1
    async with services.store.session() as s:
        said = list((await s.execute(select(CaseMessage.text).where(CaseMessage.source_id.is_(None)))).scalars())
    assert said == [said[0]] and "lỗi này" in said[0] and "0912345678" not in said[0]  # the caption, redacted


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the image test covers PostgreSQL
async def test_audio_without_a_case_gets_the_offer_then_joins_the_case(harness: Harness, services: Services,
                                                                      tmp_path: Path) -> None:
    fake, folder = harness.fake, keep_files(services, tmp_path)
    assert await harness.event(fake.media_event(USER, OGG, kind="audio")) == 200
    offer = fake.to(USER)[-1]
    assert "không xem được" in offer.text and "căn cước" in offer.text
    assert any(b["title"] == "Gặp người hỗ trợ" for b in offer.buttons)
    assert [p.parent.parent.name for p in stored(folder)] == ["held"] and await file_messages(services) == 0
    case_id = await open_case(services, who=WHO)  # asking for a person: the held audio comes with the case
    assert [(p.parent.name, p.suffix) for p in stored(folder)] == [(str(case_id), ".ogg")]
    assert await file_messages(services) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_non_image_an_oversized_file_or_a_gone_url_is_refused_and_nothing_is_stored(
        harness: Harness, services: Services, tmp_path: Path) -> None:
    fake, folder = harness.fake, keep_files(services, tmp_path)
    await open_case(services, who=WHO)
    for data in (b"%PDF-1.4 a document, not a photo", b"\xff\xd8\xff\xe0" + b"x" * (10 * 1024 * 1024)):
        before = len(fake.to(USER))
        assert await harness.event(fake.media_event(USER, data)) == 200
        (refusal,) = fake.to(USER)[before:]
        assert "chỉ nhận ảnh hoặc ghi âm, tối đa 10 MB" in refusal.text
    fake.cdn_failures.append(404)  # the URL expired before we fetched it
    assert await harness.event(fake.media_event(USER, photo())) == 200
    assert "tối đa 10 MB" in fake.to(USER)[-1].text
    assert stored(folder) == [] and await file_messages(services) == 0
    # Zalo's server failing: the event is not acknowledged (Zalo sends it again), nothing is answered yet.
    sent = len(fake.to(USER))
    fake.cdn_failures.append(502)
    body = fake.media_event(USER, photo(), msg_id="img-9")
    assert await harness.event(body) == 503 and len(fake.to(USER)) == sent
    assert await harness.event(body) == 200 and len(stored(folder)) == 1  # the redelivery is kept


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_bot_api_photo_joins_the_case(services: Services, fake: FakeZalo, aiohttp_client: AiohttpClient,
                                              tmp_path: Path) -> None:
    folder = keep_files(services, tmp_path)
    settings = bot_settings(fake)
    app = web.Application()
    channel = zalo_channel(services, settings)
    await channel.start(app)
    client = await aiohttp_client(app)
    try:
        case_id = await open_case(services, who=ResidentKey("zalo", "chat-7"))
        status, _ = await fake.deliver_bot(client.session, str(client.make_url(WEBHOOK)),
                                           fake.bot_photo("chat-7", photo()))
        await channel.drain()
        assert status == 200 and str(case_id) in fake.to("chat-7")[-1].text
        assert [p.parent.name for p in stored(folder)] == [str(case_id)]
    finally:
        await channel.stop()
