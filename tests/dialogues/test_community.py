"""The menu, small answers, language, announcements with consent, the resident's data, and the commune's
own files (schedule, classes, teams) reloaded when the commune edits them."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest_asyncio
import yaml

from bot.app import Services
from dialogues.engine import Context, Pressed, Resident, Said, advance
from dialogues.state import DialogueState
from kernel.commune import CommuneSource, load_commune
from kernel.settings import ROOT, Settings, replace
from nlu.types import Entity, Parse
from tests.fakes.driver import Conversation, assistant, payloads, texts
from tests.fakes.services import project_library

SOON = date.today() + timedelta(days=3)
WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _day(offset: int) -> str:
    return (SOON + timedelta(days=offset)).isoformat()


@pytest_asyncio.fixture
async def commune_dir(tmp_path: Path) -> Path:
    """A copy of the commune's files the test may edit, with a schedule and classes in the coming days."""
    target = tmp_path / "commune"
    shutil.copytree(ROOT / "communes/ung-hoa", target)
    visits = [{"date": _day(0), "start": "08:00", "end": "11:00", "villages": ["dai-cuong", "dai-hung"],
               "place": "Nhà văn hoá thôn Đại Cường"},
              {"date": _day(2), "start": "14:00", "end": "17:00", "villages": ["dong-lo"],
               "place": "Nhà văn hoá thôn Đông Lỗ", "place_en": "Đông Lỗ village cultural house"},
              {"date": _day(5), "start": "08:00", "end": "11:00", "villages": ["kim-duong"],
               "place": "Nhà văn hoá thôn Kim Đường"}]
    classes = [{"date": _day(1), "start": "19:00", "end": "20:30", "place": "Nhà văn hoá thôn Đại Hùng",
                "topic": "Cài và dùng VNeID an toàn", "topic_en": "Installing and using VNeID safely"}]
    (target / "schedule.yml").write_text(yaml.safe_dump({"visits": visits}, allow_unicode=True), encoding="utf-8")
    (target / "classes.yml").write_text(yaml.safe_dump({"classes": classes}, allow_unicode=True), encoding="utf-8")
    # Hours as a commune would confirm them (the shipped file has none until the commune gives them).
    teams = yaml.safe_load((target / "teams.yml").read_text(encoding="utf-8"))
    for team in teams["teams"]:
        if team["id"] == "dai-cuong":
            team["hours"] = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                             "start": "07:00", "end": "20:00"}
    (target / "teams.yml").write_text(yaml.safe_dump(teams, allow_unicode=True), encoding="utf-8")
    return target


def test_the_commune_files_in_the_repository_load_and_invent_nothing() -> None:
    """The shipped files hold no dates, hours or phone numbers the commune has not given (issue 15)."""
    commune = load_commune(ROOT / "communes/ung-hoa")
    assert commune.villages and commune.teams.teams
    assert commune.schedule == () and commune.classes == ()
    for team in commune.teams.teams:
        assert not team.hours_known and not team.phone, team.id
        assert not re.search(r"\d", team.contact + team.contact_en + team.place + team.place_en), team.id


@pytest_asyncio.fixture
async def local(settings: Settings, commune_dir: Path) -> AsyncIterator[Services]:
    async with assistant(replace(settings, commune_dir=commune_dir)) as services:
        yield services


async def test_menu_lists_every_topic_and_every_guide(local: Services) -> None:
    conv = Conversation(local, "menu")
    replies = await conv.press("menu")
    topics = [p for p in payloads(replies) if p.startswith("topic:")]
    assert topics == [f"topic:{t.id}" for t in local.library.topics]
    offered: list[str] = []
    for topic in topics:
        replies = await conv.press(topic)
        offered += [p.removeprefix("flow:") for p in payloads(replies) if p.startswith("flow:")]
        assert "menu" in payloads(replies)
    assert sorted(offered) == sorted(local.library.flows)
    replies = await conv.press("topic:community")
    assert {"intent:contact_support_team", "intent:mobile_service_schedule", "intent:digital_skills_class",
            "intent:subscribe", "intent:unsubscribe"} <= set(payloads(replies))
    replies = await conv.press("topic:settings")
    assert {"intent:change_language", "mydata"} <= set(payloads(replies))


async def test_small_talk_answers(local: Services) -> None:
    conv = Conversation(local, "talk")
    assert "Trợ lý số của xã Ứng Hòa" in texts(await conv.press("intent:greet"))
    assert "Tạm biệt" in texts(await conv.press("intent:goodbye"))
    assert "Không có gì" in texts(await conv.press("intent:thank"))
    assert "không phải người thật" in texts(await conv.press("intent:bot_challenge"))
    assert "Bạn cần hướng dẫn về chủ đề nào?" in texts(await conv.press("intent:help"))
    assert "Việc này tôi chưa giúp được" in texts(await conv.press("intent:out_of_scope"))


async def test_changing_language_changes_every_later_answer(local: Services) -> None:
    conv = Conversation(local, "lang")
    replies = await conv.press("intent:change_language")
    assert {"lang:vi", "lang:en"} <= set(payloads(replies))
    assert "Switched to English." in texts(await conv.press("lang:en"))
    replies = await conv.press("flow:vneid_install")
    assert replies[-1].text.startswith("Step 1/4: Open CH Play")
    assert conv.last is not None and conv.last.state.language == "en"
    assert "Đã chuyển sang tiếng Việt." in texts(await conv.press("lang:vi"))
    replies = await conv.press("resume")
    assert replies[-1].text.startswith("Bước 1/4: Mở CH Play")


async def test_subscribing_keeps_village_and_language_only_after_consent(local: Services) -> None:
    conv = Conversation(local, "sub")
    replies = await conv.press("unsub")  # not subscribed: nothing happens, and it says so
    assert "không nhận thông báo của xã, nên không có gì để huỷ" in texts(replies)
    replies = await conv.press("intent:subscribe")
    assert "Bạn ở thôn nào?" in texts(replies)
    replies = await conv.press("village:minh-duc")
    assert "trợ lý lưu thôn và ngôn ngữ của bạn" in texts(replies)
    assert "kể cả tin nhắn" in texts(replies)  # it says what "Xem thông tin của tôi" will list
    resident = await local.store.find(conv.who)
    assert resident is not None and not resident.subscribed
    await conv.press("sub:no")
    resident = await local.store.find(conv.who)
    assert resident is not None and not resident.subscribed
    await conv.press("intent:subscribe")
    replies = await conv.press("sub:yes")
    assert "unsub" in payloads(replies)
    resident = await local.store.find(conv.who)
    assert resident is not None and resident.subscribed and resident.village == "minh-duc"
    await conv.press("unsub")
    resident = await local.store.find(conv.who)
    assert resident is not None and not resident.subscribed


async def test_a_resident_sees_and_deletes_what_is_stored(local: Services) -> None:
    conv = Conversation(local, "mine", language="en")
    await conv.press("village:trung-tu")
    replies = await conv.press("mydata")
    assert "Village: Trung Tú (former commune)" in texts(replies)
    assert "forget" in payloads(replies)
    replies = await conv.press("forget")
    assert "forget:yes" in payloads(replies)
    assert await local.store.find(conv.who) is not None
    await conv.press("forget:yes")
    assert await local.store.find(conv.who) is None


async def test_schedule_for_the_residents_village_and_reloaded_on_edit(local: Services, commune_dir: Path) -> None:
    conv = Conversation(local, "sched")
    replies = await conv.press("intent:mobile_service_schedule")
    assert "Nhà văn hoá thôn Đại Cường" in texts(replies) and "Nhà văn hoá thôn Đông Lỗ" in texts(replies)
    assert "ask:mobile_service_schedule" in payloads(replies)
    replies = await conv.press("ask:mobile_service_schedule")
    replies = await conv.press("village:dong-lo")  # the answer again, for that village only
    assert "cho thôn của bạn" in texts(replies)
    assert "Nhà văn hoá thôn Đông Lỗ" in texts(replies) and "Đại Cường" not in texts(replies)
    day = SOON + timedelta(days=2)
    assert f"{WEEKDAYS_VI[day.weekday()]} {day:%d/%m}, 14:00–17:00" in texts(replies)
    # The commune edits the file: the next answer uses it, without a restart.
    path = commune_dir / "schedule.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    new = SOON + timedelta(days=6)
    data["visits"].append({"date": new.isoformat(), "start": "07:30", "end": "10:00", "villages": ["dong-lo"],
                           "place": "Sân đình Đông Lỗ", "place_en": "Đông Lỗ communal house yard"})
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    replies = await conv.press("intent:mobile_service_schedule")
    assert f"{WEEKDAYS_VI[new.weekday()]} {new:%d/%m}, 07:30–10:00: Sân đình Đông Lỗ" in texts(replies)
    conv.language = "en"
    replies = await conv.press("intent:mobile_service_schedule")
    assert f"{WEEKDAYS_EN[new.weekday()]} {new:%d/%m}, 07:30–10:00: Đông Lỗ communal house yard" in texts(replies)


async def test_a_broken_edit_keeps_the_last_good_data(commune_dir: Path) -> None:
    source = CommuneSource(commune_dir)
    before = source.current().schedule
    (commune_dir / "schedule.yml").write_text("visits:\n  - date: not-a-date\n    place: x\n", encoding="utf-8")
    assert source.current().schedule == before
    (commune_dir / "schedule.yml").write_text("visits:\n  - date: 2026-12-20\n    place: x\n"
                                              "    villages: [nowhere]\n", encoding="utf-8")
    assert source.current().schedule == before
    (commune_dir / "schedule.yml").write_text("visits: []\n", encoding="utf-8")
    assert source.current().schedule == ()


async def test_classes_and_the_village_team(local: Services) -> None:
    conv = Conversation(local, "class", language="en")
    replies = await conv.press("intent:digital_skills_class")
    assert "Installing and using VNeID safely" in texts(replies)
    replies = await conv.press("intent:contact_support_team")
    assert "Tổ công nghệ số xã Ứng Hòa" in texts(replies)  # no village yet: the commune's team
    await conv.press("ask:contact_support_team")
    replies = await conv.press("village:dai-cuong")
    assert "Tổ công nghệ số Đại Cường" in texts(replies)
    assert "Support hours: 07:00–20:00, every day" in texts(replies)
    assert "Meet them in person: the village cultural house" in texts(replies)
    assert "human" in payloads(replies)


def test_past_days_are_not_shown(settings: Settings, commune_dir: Path) -> None:
    """advance() is pure: the caller gives the date, and days before it are left out."""
    from kernel.i18n import Catalogs

    ctx = Context(library=project_library(),
                  catalogs=Catalogs(settings.locales_dir, settings.languages, settings.default_language),
                  commune=load_commune(commune_dir), resident=Resident("vi", "dai-cuong"),
                  today=SOON + timedelta(days=1))
    out = advance(ctx, DialogueState(), Pressed("intent:mobile_service_schedule"))
    text = "\n".join(r.text for r in out.replies)
    assert "Nhà văn hoá thôn Đại Cường" not in text  # its visit was the day before
    assert text.startswith("Chưa có lịch cho xã cũ Đại Cường.")
    assert "Xã chưa công bố lịch" not in text and "Kim Đường" in text  # other villages' visits are shown instead
    later = advance(replace(ctx, today=SOON + timedelta(days=30)), DialogueState(),
                    Pressed("intent:mobile_service_schedule"))
    assert "Xã chưa công bố lịch điểm dịch vụ công lưu động" in later.replies[0].text
    assert out.effects == () and later.effects == ()


def _ctx(settings: Settings, commune_dir: Path, village: str | None, language: str = "vi") -> Context:
    from kernel.i18n import Catalogs

    return Context(library=project_library(),
                   catalogs=Catalogs(settings.locales_dir, settings.languages, settings.default_language),
                   commune=load_commune(commune_dir), resident=Resident(language, village), today=SOON)


def _asked(intent: str, text: str, village: str | None = None) -> Said:
    entities = (Entity("village", village, 0, len(village)),) if village else ()
    return Said(Parse(text, intent, 1.0, ((intent, 1.0),), entities))


def test_without_confirmed_dates_residents_are_told_so_and_whom_to_ask(settings: Settings) -> None:
    """The shipped files have no dates: no example is shown as fact; the answer names the place asked about and
    the team that serves it (teams.yml), and offers announcements."""
    shipped = ROOT / "communes/ung-hoa"
    out = advance(_ctx(settings, shipped, None), DialogueState(),
                  _asked("mobile_service_schedule", "khi nào xe lưu động về thôn Đông Lỗ", "Đông Lỗ"))
    text = out.replies[0].text
    assert text.startswith("Xã chưa công bố lịch điểm dịch vụ công lưu động cho xã cũ Đông Lỗ.")
    assert "Hỏi Tổ công nghệ số xã Ứng Hòa (Điểm phục vụ hành chính công của xã)." in text
    assert not re.search(r"\d{1,2}/\d{1,2}|\d:\d\d", text)  # no date or hour of any kind
    assert "intent:subscribe" in [b.payload for row in out.replies[0].buttons for b in row]
    assert out.effects == ()  # naming a village in a question does not save it as the resident's
    mine = advance(_ctx(settings, shipped, "dai-cuong", "en"), DialogueState(), Pressed("intent:digital_skills_class"))
    assert mine.replies[0].text == ("The commune has not published a schedule of “Bình dân học vụ số” (digital skills "
                                    "for all) classes yet. Ask Tổ công nghệ số Đại Cường (the village cultural house).")
    nowhere = advance(_ctx(settings, shipped, None), DialogueState(), Pressed("intent:mobile_service_schedule"))
    assert "Hỏi tổ công nghệ số của thôn hoặc Điểm phục vụ hành chính công của xã." in nowhere.replies[0].text
    assert "ask:mobile_service_schedule" in [b.payload for row in nowhere.replies[0].buttons for b in row]


def test_a_village_named_in_the_question_gets_its_own_visits(settings: Settings, commune_dir: Path) -> None:
    out = advance(_ctx(settings, commune_dir, "dai-cuong"), DialogueState(),
                  _asked("mobile_service_schedule", "lịch xe lưu động ở Đông Lỗ", "Đông Lỗ"))
    text = out.replies[0].text
    assert text.startswith("Lịch điểm dịch vụ công lưu động cho xã cũ Đông Lỗ:")
    assert "Nhà văn hoá thôn Đông Lỗ" in text and "Đại Cường" not in text
    other = advance(_ctx(settings, commune_dir, None), DialogueState(),
                    _asked("mobile_service_schedule", "lịch xe lưu động ở Trung Tú", "Trung Tú"))
    assert other.replies[0].text.startswith("Chưa có lịch cho xã cũ Trung Tú. Lịch điểm dịch vụ công lưu động ở nơi "
                                            "khác:")
    assert "Nhà văn hoá thôn Kim Đường" in other.replies[0].text
