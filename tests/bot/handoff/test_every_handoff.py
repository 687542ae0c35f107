"""Every hand-off opens a case, whatever channels are set up; the resident is told the case number, when a
person answers (only if someone can see the case: a Telegram group or a desk account) and the team's own
contacts from teams.yml, never a promise that is not kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest_asyncio
import yaml
from sqlalchemy import select

from bot.app import Services
from bot.handoff.models import Case, Outbox
from bot.staff.accounts import StaffAccounts, password_hasher
from kernel.settings import Settings
from nlu.interpreter import EmbeddedInterpreter
from tests.bot.handoff.test_escalation import rows, say, start
from tests.fakes.commune import COMMUNE_CHAT, Clock, write_commune

PASSWORD = "mật-khẩu-của-tổ-42"
WORKDAYS = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "07:30", "end": "17:00"}


def commune(directory: Path, **dai_cuong: Any) -> Path:
    """The commune's data where Đại Cường's team has no Telegram group (and the given fields), and neither
    has the commune's own team unless `commune_chat` is given."""
    commune_chat = dai_cuong.pop("commune_chat", None)
    write_commune(directory)
    path = directory / "teams.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for team in data["teams"]:
        team["telegram_chat_id"] = commune_chat if team["id"] == "commune" else None
        team.pop("hours", None)
        if team["id"] == "dai-cuong":
            team.update(dai_cuong)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return directory


@pytest_asyncio.fixture
async def make(settings: Settings, database_url: str, interpreter: EmbeddedInterpreter, tmp_path: Path
               ) -> AsyncIterator[Any]:
    built: list[Services] = []

    async def _make(clock: Clock | None = None, **dai_cuong: Any) -> Services:
        services = await start(settings, database_url, interpreter, commune(tmp_path / f"c{len(built)}", **dai_cuong),
                               clock or Clock())
        built.append(services)
        return services
    yield _make
    for services in built:
        await services.close()


async def ask(services: Services, village_known: bool = False) -> tuple[Case, str]:
    result = await say(services, payload="human")
    if not village_known:
        result = await say(services, payload="village:dai-cuong")
    async with services.store.session() as s:
        case = (await s.execute(select(Case).order_by(Case.id.desc()))).scalars().first()
    assert case is not None
    return case, result.replies[-1].text



def accounts(services: Services) -> StaffAccounts:
    """The desk's accounts with the services' password profile."""
    return StaffAccounts(services.store, password_hasher(services.settings.web.password_profile))

async def test_without_a_group_or_a_desk_account_the_case_opens_and_the_words_promise_nothing(make: Any) -> None:
    services = await make()
    case, said = await ask(services)
    assert (case.team, case.status, case.escalated_team) == ("dai-cuong", "open", None)
    assert said.startswith(f"Đã ghi lại yêu cầu số {case.id} (xã cũ Đại Cường) cho Tổ công nghệ số Đại Cường. "
                           "Hiện chưa có ai")
    assert "Gặp tổ tại: nhà văn hoá thôn" in said and "sẽ trả lời" not in said
    assert await rows(services) == []  # nothing pretends to be sent anywhere
    relayed = await say(services, text="Tôi vẫn không đăng nhập được")
    assert relayed.replies[0].text.startswith(f"Đã ghi vào yêu cầu số {case.id}. Hiện chưa có ai")
    # "When will someone answer?" (played over the web chat): each further message says where the team is.
    relayed = await say(services, text="bao giờ có người trả lời")
    assert "sẽ không có trả lời ở đây" in relayed.replies[0].text
    assert "Gặp tổ tại: nhà văn hoá thôn" in relayed.replies[0].text
    again = await say(services, payload="human")
    assert again.replies[0].text.startswith(f"Yêu cầu số {case.id} của bạn vẫn đang mở, nhưng hiện chưa có ai")

    # Once an account of the team can see it at the web desk, the resident may be told a person answers.
    await accounts(services).add("lan", "member", ["dai-cuong"], PASSWORD)
    relayed = await say(services, text="Còn ai ở đó không?")
    assert relayed.replies[0].text == f"Đã chuyển tới tổ công nghệ số (yêu cầu số {case.id})."


async def test_a_desk_account_the_teams_hours_and_its_phone_and_place(make: Any) -> None:
    clock = Clock(datetime(2026, 11, 25, 3, 0, tzinfo=UTC))  # Wednesday 10:00 in Hà Nội
    services = await make(clock, hours=WORKDAYS, phone="0243 000 000", place="Nhà văn hoá thôn Đại Cường")
    await accounts(services).add("lan", "member", ["dai-cuong"], PASSWORD)
    case, said = await ask(services)
    assert said.splitlines() == [
        f"Đã chuyển yêu cầu số {case.id} (xã cũ Đại Cường) tới Tổ công nghệ số Đại Cường. Một người trong tổ sẽ "
        "trả lời bạn ngay tại đây, thường trong khoảng 15 phút. Bạn cứ nhắn thêm, tổ sẽ đọc được.",
        "Điện thoại của tổ: 0243 000 000",
        "Gặp tổ tại: Nhà văn hoá thôn Đại Cường",
        "Giờ làm việc: 07:30–17:00, thứ Hai đến thứ Sáu"]

    clock.now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # Saturday 19:00: back on Monday morning
    await say(services, payload=f"case:end:{case.id}")
    case, said = await ask(services, village_known=True)
    assert said.splitlines()[0].endswith("Tổ đang nghỉ; một người trong tổ sẽ trả lời bạn ngay tại đây từ 07:30 "
                                         "ngày 30/11. Bạn cứ nhắn thêm, tổ sẽ đọc được.")


async def test_hours_not_given_no_time_is_promised_and_english_gets_english(make: Any) -> None:
    services = await make(name_en="Dai Cuong tech team", contact_en="the village cultural house")
    await accounts(services).add("hoa", "staff", ["commune"], PASSWORD)  # staff see every case
    await say(services, payload="lang:en")
    case, said = await ask(services)
    assert said.splitlines() == [
        f"Request number {case.id}, Đại Cường (former commune), has gone to Dai Cuong tech team. A team member will "
        "answer you right here when they read it. Feel free to write more; the team will read it.",
        "Meet the team at: the village cultural house"]


async def test_a_team_without_a_group_gets_its_card_in_the_fallback_teams_group(make: Any) -> None:
    services = await make(commune_chat=COMMUNE_CHAT)
    case, said = await ask(services)
    assert (case.team, case.escalated_team) == ("dai-cuong", "commune") and case.escalated_at is not None
    (card,) = await rows(services, audience="team")
    assert card.chat_id == str(COMMUNE_CHAT) and card.kind == "card" and "Đại Cường" in card.text
    assert "sẽ trả lời bạn ngay tại đây" in said  # the commune's group sees it
    assert await services.escalation.tick(services.escalation.clock().replace(year=2027)) == 1  # reminded only
    reminders = [r for r in await rows(services, audience="team") if r.kind == "reminder"]
    assert [r.chat_id for r in reminders] == [str(COMMUNE_CHAT)]
    async with services.store.session() as s:
        assert len((await s.execute(select(Outbox).where(Outbox.kind == "card"))).scalars().all()) == 1
