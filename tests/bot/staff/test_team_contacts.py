"""The village teams' contacts edited over HTTP (/staff/community): saved into teams.yml as the assistant reads it
(a hand-off tells residents at once), refused whole with a clear message (teams.yml untouched), recorded."""

from __future__ import annotations

from typing import Any

import yaml

from bot.handoff.words import contacts
from kernel.commune import load_commune
from kernel.i18n import Catalogs
from kernel.settings import Settings
from tests.bot.staff.conftest import login

DAI_CUONG: dict[str, Any] = {
    "id": "dai-cuong", "contact": "nhà văn hoá thôn", "contact_en": "the village cultural house",
    "phone": "024 3123 4567", "place": "Nhà văn hoá thôn Đại Cường", "place_en": "",
    "hours": {"days": ["sat", "mon", "tue"], "start": "07:30", "end": "17:00"}}


async def _csrf(client: Any) -> dict[str, str]:
    return {"X-CSRF-Token": (await (await client.get("/staff/api/me")).json())["csrf"]}


async def test_saved_contacts_reach_the_hand_off_words_and_the_history(community: Any, settings: Settings) -> None:
    await login(community, "minh")
    start = await (await community.get("/staff/api/community")).json()
    assert [t["id"] for t in start["teams"]] == ["commune", "dai-cuong"]
    assert start["teams"][1] == {"id": "dai-cuong", "name": "Tổ công nghệ số Đại Cường", "contact": "nhà văn hoá thôn",
                                 "contact_en": "the village cultural house", "phone": "", "place": "",
                                 "place_en": "", "hours": None}
    r = await community.put("/staff/api/community/teams", json={"entries": [DAI_CUONG]},
                            headers=await _csrf(community))
    assert r.status == 200, await r.text()
    body = await r.json()
    assert body["teams"][1]["phone"] == "024 3123 4567"
    assert body["teams"][1]["hours"] == {"days": ["mon", "tue", "sat"], "start": "07:30", "end": "17:00"}
    assert [(h["file"], h["who"], h["entries"]) for h in body["history"]] == [("teams.yml", "minh", 1)]

    text = (community.directory / "teams.yml").read_text(encoding="utf-8")
    assert text.startswith("# Community digital technology teams")  # the explanations are kept
    assert "remind_after_minutes: 15" in text and "fallback: commune" in text
    team = load_commune(community.directory).teams.get("dai-cuong")
    assert team is not None and team.villages == ("dai-cuong",) and team.name == "Tổ công nghệ số Đại Cường"
    tr = Catalogs(settings.locales_dir, settings.languages, settings.default_language).get("vi")
    assert contacts(tr, team) == ["Điện thoại của tổ: 024 3123 4567", "Gặp tổ tại: Nhà văn hoá thôn Đại Cường",
                                  "Giờ làm việc: 07:30–17:00, thứ Hai, thứ Ba, thứ Bảy"]

    # The same contacts again change nothing and record nothing; cleared fields and hours leave the file.
    again = await community.put("/staff/api/community/teams", json={"entries": [DAI_CUONG]},
                                headers=await _csrf(community))
    assert len((await again.json())["history"]) == 1
    cleared = {**DAI_CUONG, "phone": "", "place": " ", "hours": None}
    r = await community.put("/staff/api/community/teams", json={"entries": [cleared]}, headers=await _csrf(community))
    assert r.status == 200
    raw = yaml.safe_load((community.directory / "teams.yml").read_text(encoding="utf-8"))["teams"][1]
    assert not {"phone", "place", "hours"} & set(raw)


async def test_invalid_contacts_are_refused_whole_and_the_file_stays(community: Any) -> None:
    await login(community, "minh")
    headers = await _csrf(community)
    path = community.directory / "teams.yml"
    before = path.read_bytes()
    hours: dict[str, Any] = DAI_CUONG["hours"]
    for entry, says in (
            ({**DAI_CUONG, "phone": "0912"}, "Tổ công nghệ số Đại Cường: số điện thoại không đúng dạng số Việt Nam"),
            ({**DAI_CUONG, "phone": "gọi trưởng thôn"}, "số điện thoại không đúng dạng"),
            ({**DAI_CUONG, "phone": "0912 345 678 " * 3}, "số điện thoại không đúng dạng"),
            ({**DAI_CUONG, "contact": "x" * 201}, "mỗi ô dài tối đa 200 ký tự"),
            ({**DAI_CUONG, "hours": {**hours, "start": "17:00", "end": "07:30"}}, "giờ kết thúc phải sau giờ bắt đầu"),
            ({**DAI_CUONG, "hours": {**hours, "start": "7h30"}}, "giờ phải viết dạng HH:MM"),
            ({**DAI_CUONG, "hours": {**hours, "days": []}}, "chọn ít nhất một ngày"),
            ({**DAI_CUONG, "telegram_chat_id": 1}, "chỉ sửa được liên hệ"),
            ({**DAI_CUONG, "id": "nowhere"}, "Không có tổ “nowhere” trong teams.yml"),
            ({**DAI_CUONG, "phone": 912345678}, "mỗi ô là chữ")):
        good = {"id": "commune", "phone": "0912 345 678"}  # a valid change in the same request is not saved either
        r = await community.put("/staff/api/community/teams", json={"entries": [good, entry]}, headers=headers)
        assert r.status == 400 and says in (await r.json())["error"], (entry, await r.text())
        assert path.read_bytes() == before
    r = await community.put("/staff/api/community/teams?lang=en", json={"entries": [{**DAI_CUONG, "phone": "0912"}]},
                            headers=headers)
    assert (await r.json())["error"] == ("Tổ công nghệ số Đại Cường: the phone number is not a Vietnamese number "
                                         "(e.g. 024 3123 4567 or 0912 345 678).")
    body: Any
    for body in ({"entries": []}, {"entries": "dai-cuong"}, [], {"entries": [None]}):
        r = await community.put("/staff/api/community/teams", json=body, headers=headers)
        assert r.status == 400, body
    assert path.read_bytes() == before
    assert (await (await community.get("/staff/api/community")).json())["history"] == []


async def test_only_staff_may_edit_the_contacts(community: Any) -> None:
    await login(community, "lan")
    r = await community.put("/staff/api/community/teams", json={"entries": [DAI_CUONG]}, headers=await _csrf(community))
    assert r.status == 403
    assert "024 3123 4567" not in (community.directory / "teams.yml").read_text(encoding="utf-8")
