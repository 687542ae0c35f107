"""The commune's five files as types: places (xã cũ and thôn), teams, schedule, classes, staff.

A bad edit of any file is refused with a log line naming the file and the key, and that file's last
good version keeps serving; the other files still reload.
"""

from __future__ import annotations

import logging
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from bot.handoff.models import Case, Outbox
from kernel.commune import CommuneError, CommuneSource, load_commune
from kernel.messages import Incoming, ResidentKey
from kernel.settings import ROOT, Settings, replace
from tests.fakes.commune import TEAM_CHAT, write_commune
from tests.fakes.services import build_services


def _copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(ROOT / "communes/ung-hoa", tmp_path / "commune"))


def _edit(path: Path, change: Any) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _add_thon(data: dict[str, Any]) -> None:
    unit = next(u for u in data["former_units"] if u["code"] == "dai-cuong")
    unit["villages"] = [{"code": "thon-a", "name": "Thôn thử A", "aliases": ["xom thu"]}]


# (file, a bad edit, the key path the refusal names, what of the snapshot the file feeds)
BAD_EDITS = [
    ("villages.yml", lambda d: d["former_units"][0].pop("name"), "former_units[0].name", "villages"),
    ("teams.yml", lambda d: d["teams"][0].update(telegram_chat_id="-100abc"), "teams[0].telegram_chat_id", "teams"),
    ("schedule.yml", lambda d: d.update(visits=[{"date": "not-a-date", "place": "x"}]), "visits[0].date", "schedule"),
    ("classes.yml", lambda d: d.update(classes=[{"date": "2026-12-20", "place": "x", "plase": "y"}]),
     "classes[0].plase", "classes"),
    ("staff.yml", lambda d: d["staff"][0].update(telegram_user_id="abc"), "staff[0].telegram_user_id", "staff"),
    ("replies.yml", lambda d: d["replies"][0].pop("text_en"), "replies[0].text_en", "replies"),
    ("replies.yml", lambda d: d["replies"][1].update(id=d["replies"][0]["id"]), "an id is used twice", "replies"),
    ("replies.yml", lambda d: d["replies"][2].update(text="x" * 1001), "replies[2].text is 1001", "replies"),
]


@pytest.mark.parametrize(("name", "bad", "key", "part"), BAD_EDITS, ids=[b[0] for b in BAD_EDITS])
def test_a_bad_edit_is_refused_naming_file_and_key_and_the_last_good_version_kept(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, bad: Any, key: str, part: str) -> None:
    directory = _copy(tmp_path)
    source = CommuneSource(directory)
    before = getattr(source.current(), part)
    _edit(directory / name, bad)
    with caplog.at_level(logging.ERROR, logger="kernel.commune"):
        after = source.current()
    assert getattr(after, part) == before
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert name in line and key in line
    with pytest.raises(CommuneError, match=key.replace("[", r"\[").replace("]", r"\]")):
        load_commune(directory)  # at start-up the same edit stops the assistant with that message
    # Another file still reloads while this one is refused.
    other = "schedule.yml" if name != "schedule.yml" else "classes.yml"
    _edit(directory / other, lambda d: d.update({"visits" if other == "schedule.yml" else "classes": []}))
    assert getattr(source.current(), "schedule" if other == "schedule.yml" else "classes") == ()
    assert getattr(source.current(), part) == before
    # Fixing the file applies at once.
    shutil.copy(ROOT / "communes/ung-hoa" / name, directory / name)
    assert getattr(source.current(), part) == before


async def test_the_hand_off_keeps_working_after_a_bad_teams_edit(settings: Settings, interpreter: Any,
                                                                   tmp_path: Path) -> None:
    directory = write_commune(tmp_path / "commune")
    services = await build_services(replace(settings, commune_dir=directory), interpreter=interpreter)
    try:
        _edit(directory / "teams.yml", lambda d: d["teams"][1].update(telegram_chat_id="-100abc"))
        who = ResidentKey("web", "after-bad-edit")
        await services.pipeline.handle(Incoming(who, payload="human"))
        result = await services.pipeline.handle(Incoming(who, payload="village:dai-cuong"))
        async with services.store.session() as s:
            case = (await s.execute(select(Case))).scalar_one()
            card = (await s.execute(select(Outbox).where(Outbox.audience == "team"))).scalar_one()
        assert str(case.id) in result.replies[-1].text and case.team == "dai-cuong"
        assert card.chat_id == str(TEAM_CHAT)  # the last good teams.yml still routes it
    finally:
        await services.close()


def test_places_as_residents_say_them(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    commune = load_commune(directory)
    assert [u.code for u in commune.units] == ["dai-cuong", "dai-hung", "dong-lo", "dong-tan", "kim-duong",
                                              "minh-duc", "tram-long", "trung-tu"]
    assert commune.village("dai-cuong").label == "xã cũ Đại Cường"  # type: ignore[union-attr]
    assert commune.villages_of("dai-cuong") == ()  # the commune has not listed its thôn: none invented
    _edit(directory / "villages.yml", _add_thon)
    commune = load_commune(directory)
    thon = commune.village("thon-a")
    assert thon is not None and thon.label == "thôn Thôn thử A, xã cũ Đại Cường" and thon.unit == "dai-cuong"
    assert commune.find_village("toi o xom thu") == thon
    assert commune.find_village("xã Hòa Lâm cũ").code == "tram-long"  # type: ignore[union-attr]
    assert commune.codes("thon-a") == ("thon-a", "dai-cuong")


def test_a_thon_is_served_by_its_former_communes_team_and_visits(tmp_path: Path) -> None:
    directory = write_commune(tmp_path / "commune")
    _edit(directory / "villages.yml", _add_thon)
    _edit(directory / "schedule.yml", lambda d: d.update(visits=[
        {"date": "2026-12-02", "place": "Nhà văn hoá", "villages": ["dai-cuong"]}]))
    _edit(directory / "teams.yml", lambda d: d["teams"][1].update(phone="0243 000 000", place="UBND xã"))
    commune = load_commune(directory)
    team = commune.teams.route("thon-a")
    assert team is not None and team.id == "dai-cuong" and (team.phone, team.place) == ("0243 000 000", "UBND xã")
    assert commune.teams.route("dai-hung").id == "commune"  # type: ignore[union-attr]
    (visit,) = commune.schedule
    assert visit.day == date(2026, 12, 2) and visit.serves(*commune.codes("thon-a"))
    assert not visit.serves(*commune.codes("dai-hung"))


def test_the_older_flat_village_list_still_loads(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    (directory / "villages.yml").write_text("commune: {code: x, name: X}\nvillages:\n"
                                            "  - {code: dai-cuong, name: Đại Cường}\n", encoding="utf-8")
    for name in ("teams.yml", "schedule.yml", "classes.yml", "staff.yml"):
        (directory / name).unlink()
    commune = load_commune(directory)
    assert commune.village("dai-cuong").label == "thôn Đại Cường"  # type: ignore[union-attr]
    assert commune.teams.teams == () and commune.staff.staff == () and commune.schedule == ()


@pytest.mark.parametrize(("name", "text", "message"), [
    ("villages.yml", "former_units:\n  - {code: a, name: A}\n  - {code: a, name: B}\n", "code 'a' is used twice"),
    ("teams.yml", "fallback: nobody\nteams: []\n", "fallback 'nobody'"),
    ("teams.yml", "teams:\n  - {id: t, villages: [atlantis]}\n", r"teams\[0\].villages: unknown village codes"),
    ("teams.yml", "timezone: Mars/Olympus\n", "timezone"),
    ("teams.yml", "teams:\n  - {id: t, hours: {days: [someday]}}\n", r"teams\[0\].hours.days\[0\]"),
    ("teams.yml", "teams:\n  - {id: t, members: [12ab]}\n", r"teams\[0\].members\[0\]"),
    ("staff.yml", "staff:\n  - {id: s, broadcast_to: [atlantis]}\n", r"staff\[0\].broadcast_to"),
    ("staff.yml", "approval_required: maybe\n", "approval_required"),
    ("schedule.yml", "visit: []\n", "schedule.yml: unknown key visit"),
    ("teams.yml", "teams:\n  - {id: t, phon: 1}\n", r"teams.yml: unknown key teams\[0\].phon"),
])
def test_each_mistake_names_its_key(tmp_path: Path, name: str, text: str, message: str) -> None:
    directory = _copy(tmp_path)
    (directory / name).write_text(text, encoding="utf-8")
    with pytest.raises(CommuneError, match=message):
        load_commune(directory)
