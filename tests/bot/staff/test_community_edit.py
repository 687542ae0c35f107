"""The commune's schedule and classes edited over HTTP: saved as the assistant reads them (residents get them
at once), refused whole with a message naming the entry (the file untouched), every change recorded, roles."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import yaml

from dialogues.engine import Context, Pressed, Resident, advance
from dialogues.state import DialogueState
from kernel.commune import load_commune
from kernel.i18n import Catalogs
from kernel.settings import Settings
from tests.bot.staff.conftest import login
from tests.fakes.services import project_library

SOON = (date.today() + timedelta(days=5)).isoformat()
VISIT = {"date": SOON, "start": "08:00", "end": "11:00", "place": "Nhà văn hoá thôn Đại Cường",
         "place_en": "", "villages": ["dai-cuong"]}


async def _csrf(client: Any) -> dict[str, str]:
    return {"X-CSRF-Token": (await (await client.get("/staff/api/me")).json())["csrf"]}


async def test_a_saved_visit_reaches_residents_and_the_history(community: Any, settings: Settings) -> None:
    await login(community, "minh")
    start = await (await community.get("/staff/api/community")).json()
    assert (start["schedule"], start["classes"], start["history"]) == ([], [], [])
    assert {"code": "dai-cuong", "name": "xã cũ Đại Cường"} in start["villages"]
    r = await community.put("/staff/api/community/schedule", json={"entries": [VISIT]}, headers=await _csrf(community))
    assert r.status == 200, await r.text()
    body = await r.json()
    assert body["schedule"] == [{"date": SOON, "start": "08:00", "end": "11:00",
                                 "place": "Nhà văn hoá thôn Đại Cường", "villages": ["dai-cuong"]}]
    assert [(h["file"], h["who"], h["entries"]) for h in body["history"]] == [("schedule.yml", "minh", 1)]
    text = (community.directory / "schedule.yml").read_text(encoding="utf-8")
    assert text.startswith("# Mobile public service points")  # the file's explanations are kept
    assert f"date: {SOON}\n" in text  # a real date, as the commune writes it by hand
    commune = load_commune(community.directory)
    ctx = Context(library=project_library(),
                  catalogs=Catalogs(settings.locales_dir, settings.languages, settings.default_language),
                  commune=commune, resident=Resident("vi", "dai-cuong"), today=date.today())
    reply = advance(ctx, DialogueState(), Pressed("intent:mobile_service_schedule")).replies[0].text
    assert "Nhà văn hoá thôn Đại Cường" in reply and "08:00–11:00" in reply


async def test_an_invalid_entry_is_refused_whole_and_the_file_stays(community: Any) -> None:
    await login(community, "minh")
    headers = await _csrf(community)
    assert (await community.put("/staff/api/community/schedule", json={"entries": [VISIT]}, headers=headers)).ok
    before = (community.directory / "schedule.yml").read_bytes()
    for entry, says in (({**VISIT, "date": "2026-02-30"}, "entry 2.date must be a date like"),
                        ({**VISIT, "start": "10:00", "end": "08:00"}, "entry 2: end 08:00 must be after start 10:00"),
                        ({**VISIT, "start": "8h"}, "entry 2.start must be a time like 08:00"),
                        ({**VISIT, "villages": ["nowhere"]}, "nowhere"),
                        ({**VISIT, "place": ""}, "entry 2: needs at least 'date' and 'place'"),
                        ({**VISIT, "phone": "0912"}, "entry 2: unknown field(s) phone")):
        r = await community.put("/staff/api/community/schedule", json={"entries": [VISIT, entry]}, headers=headers)
        assert r.status == 400 and says in (await r.json())["error"], (entry, await r.text())
        assert (community.directory / "schedule.yml").read_bytes() == before
    history = (await (await community.get("/staff/api/community")).json())["history"]
    assert len(history) == 1  # only the saved change
    classes = [{"date": SOON, "start": "19:00", "end": "20:30", "place": "Nhà văn hoá thôn Đông Lỗ",
                "topic": "Cài VNeID", "topic_en": "Installing VNeID"}]
    r = await community.put("/staff/api/community/classes", json={"entries": classes}, headers=headers)
    assert r.status == 200
    saved = yaml.safe_load((community.directory / "classes.yml").read_text(encoding="utf-8"))["classes"]
    assert saved[0]["topic_en"] == "Installing VNeID"


async def test_only_staff_may_edit_with_the_csrf_token(community: Any) -> None:
    assert (await community.get("/staff/api/community")).status == 401
    await login(community, "lan")
    assert (await community.get("/staff/api/community")).status == 403
    r = await community.put("/staff/api/community/schedule", json={"entries": [VISIT]}, headers=await _csrf(community))
    assert r.status == 403
    await login(community, "minh")
    assert (await community.put("/staff/api/community/schedule", json={"entries": [VISIT]})).status == 403
    assert (await community.put("/staff/api/community/people", json={"entries": []},
                                headers=await _csrf(community))).status == 404
    assert yaml.safe_load((community.directory / "schedule.yml").read_text(encoding="utf-8")) == {"visits": []}
