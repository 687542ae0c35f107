"""Photos and voice notes from residents (web chat upload) into their case: type by content, images
re-encoded without metadata, seen at the desk only by those who may see the case, deleted with the case's
retention and when the resident asks to be forgotten."""

from __future__ import annotations

import io
import os
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from PIL import Image
from sqlalchemy import select

from bot.app import Services
from bot.handoff.files import CaseFiles, NotAccepted
from bot.handoff.models import Outbox
from bot.handoff.uploads import ResidentFiles
from bot.history import ChatHistory
from bot.staff.desk import attach_desk
from bot.storage.residents import Residents
from integrations.web.chat import COOKIE, FloodLimiter, WebLimits, make_web_app
from integrations.web.upload import add_upload_route
from kernel.settings import Settings
from nlu.interpreter import EmbeddedInterpreter
from tests.bot.handoff.test_escalation import SESSION, open_case, say, start
from tests.bot.staff.test_desk_cases import PASSWORD, login, post
from tests.fakes.commune import Clock, write_commune

OGG = b"OggS\x00\x02" + b"\x00" * 200


def photo(exif: bool = True) -> bytes:
    """A JPEG as a phone makes it: with EXIF (camera model and GPS position)."""
    img = Image.new("RGB", (64, 48), (200, 30, 30))
    out = io.BytesIO()
    info = Image.Exif()
    info[0x0110] = "Phone X1"  # Model
    info[0x8825] = {1: "N", 2: (21.0, 2.0, 3.0)}  # GPSInfo
    img.save(out, "JPEG", exif=info.tobytes() if exif else b"")
    return out.getvalue()


def test_files_are_typed_by_content_and_images_lose_their_metadata(tmp_path: Path) -> None:
    files = CaseFiles(tmp_path)
    original = photo()
    assert Image.open(io.BytesIO(original)).getexif()  # the phone's photo carries EXIF
    kept = files.keep(7, original)
    assert (kept.kind, kept.mime) == ("image", "image/jpeg") and kept.name.endswith(".jpg")
    stored = (tmp_path / "7" / kept.name).read_bytes()
    assert not Image.open(io.BytesIO(stored)).getexif() and b"Exif" not in stored and b"Phone X1" not in stored
    assert Image.open(io.BytesIO(stored)).size == (64, 48)
    with pytest.raises(NotAccepted):
        files.keep(7, b"%PDF-1.4 this is a document renamed photo.jpg")
    with pytest.raises(NotAccepted):
        files.keep(7, b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 10)  # a JPEG's first bytes, then garbage
    assert files.keep(7, OGG).kind == "audio"
    with pytest.raises(NotAccepted):
        files.keep(7, OGG + b"\x00" * (10 * 1024 * 1024))
    assert files.path(7, "../7/" + kept.name) is None and files.path(7, kept.name) is not None


@pytest_asyncio.fixture
async def site(aiohttp_client: Any, settings: Settings, database_url: str, interpreter: EmbeddedInterpreter,
               tmp_path: Path) -> AsyncIterator[tuple[Any, Services, Clock, Path]]:
    clock = Clock()
    services = await start(settings, database_url, interpreter, write_commune(tmp_path / "commune"), clock)
    folder = tmp_path / "files"
    services.escalation.files = CaseFiles(folder, timedelta(days=30))
    app = make_web_app(services.pipeline, services.store, Residents(services.store),
                       WebLimits(resident=FloodLimiter(100, 10)), services.mailboxes, ChatHistory(services.pipeline),
                       services.catalogs)
    accounts = attach_desk(app, services)
    add_upload_route(app, ResidentFiles(services.escalation, services.escalation.files))
    await accounts.add("lan", "member", ["dai-cuong"], PASSWORD)
    await accounts.add("minh", "member", ["commune"], PASSWORD)
    client = await aiohttp_client(app)
    yield client, services, clock, folder
    await services.close()


async def send(client: Any, data: bytes, name: str = "anh.jpg", session: str = SESSION) -> Any:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="image/jpeg")
    return await client.post("/api/chat/upload", data=form, cookies={COOKIE: session})


async def test_a_photo_joins_the_open_case_and_only_its_team_sees_it(
        site: tuple[Any, Services, Clock, Path]) -> None:
    client, services, clock, folder = site
    await say(services, text="xin chào")
    r = await send(client, photo())
    body = await r.json()
    assert r.status == 200 and body["kept"] is False  # no case yet: offered a person, the photo held for it
    assert "human" in [b["payload"] for b in body["replies"][0]["buttons"]]
    assert [p.parent.name for p in folder.rglob("*.jpg")] == [str(next((folder / "held").iterdir()).name)]

    case_id = await open_case(services)  # asking for a person: the held photo comes with the case
    assert [p.parent.name for p in folder.rglob("*.jpg")] == [str(case_id)] and not any((folder / "held").iterdir())
    r = await send(client, b"just text, named like a photo", "anh.jpg")
    assert r.status == 415 and (await r.json())["kept"] is False
    r = await send(client, photo())
    body = await r.json()
    assert r.status == 200 and body["kept"] is True and str(case_id) in body["replies"][0]["text"]
    assert "căn cước" in body["replies"][0]["text"]  # warned not to send ID cards
    async with services.store.session() as s:
        told = list((await s.execute(select(Outbox.text).where(Outbox.audience == "team", Outbox.kind == "message")))
                    .scalars())
    assert any("📷 Ảnh từ người dân" in t for t in told)  # the Telegram group knows there is a photo

    await login(client, "lan")
    detail = await (await client.get(f"/staff/api/cases/{case_id}")).json()
    held, attachment = detail["attachments"]
    assert held["kind"] == "image" and detail["messages"][-2]["file"] == held["url"]
    assert attachment["kind"] == "image" and detail["messages"][-1]["file"] == attachment["url"]
    got = await client.get(attachment["url"])
    assert got.status == 200 and got.headers["Content-Type"] == "image/jpeg"
    assert not Image.open(io.BytesIO(await got.read())).getexif()
    await login(client, "minh")  # another team: the photo is refused like the case
    assert (await client.get(attachment["url"])).status == 403

    # Resolved: kept for the retention period, then deleted.
    csrf = await login(client, "lan")
    assert (await post(client, f"/staff/api/cases/{case_id}/resolve", csrf)).status == 200
    await services.escalation.tick(clock.advance(days=29))
    assert (await client.get(attachment["url"])).status == 200
    await services.escalation.tick(clock.advance(days=2))
    assert (await client.get(attachment["url"])).status == 404 and not (folder / str(case_id)).exists()


async def test_a_screenshot_sent_mid_guide_keeps_the_way_back_to_the_step(
        site: tuple[Any, Services, Clock, Path]) -> None:
    client, services, _, _ = site
    await say(services, text="cài vneid")  # found by playing: the answer offered only the menu
    body = await (await send(client, photo())).json()
    assert [b["payload"] for b in body["replies"][0]["buttons"]] == ["human", "resume"]
    result = await say(services, payload="resume")
    assert result.state.flow == "vneid_install" and result.state.step == 1


async def test_forgetting_the_resident_deletes_their_files(site: tuple[Any, Services, Clock, Path]) -> None:
    client, services, clock, folder = site
    case_id = await open_case(services)
    assert (await send(client, OGG, "ghi-am.ogg")).status == 200
    assert [p.suffix for p in (folder / str(case_id)).iterdir()] == [".ogg"]
    await say(services, payload="forget:yes")
    await services.escalation.tick(clock.now)
    assert not (folder / str(case_id)).exists()


def test_a_file_held_without_a_case_goes_after_an_hour_or_when_the_resident_is_forgotten(tmp_path: Path) -> None:
    files = CaseFiles(tmp_path)
    files.hold(5, photo())
    files.hold(6, OGG)
    assert files.sweep_held({5, 6}) == 0 and sorted(files.held_residents()) == [5, 6]
    assert files.sweep_held({5}) == 1 and files.held_residents() == [5]  # resident 6 was forgotten
    (kept,) = (tmp_path / "held" / "5").iterdir()
    os.utime(kept, (time.time() - 3601, time.time() - 3601))  # an hour passed without a case
    assert files.sweep_held({5}) == 1 and files.held_residents() == [] and files.adopt(5, 9) == []
