"""The hand-off core on both databases: case record, routing, relaying, staff operations, reminders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest_asyncio
from sqlalchemy import func, select

from bot.app import Services
from bot.handoff import Staff
from bot.handoff.models import Case, CaseMessage, Outbox
from bot.pipeline import TurnScope
from bot.storage.db import AnalyticsEvent
from dialogues.state import DialogueState
from integrations.web.chat import resident_of
from kernel import effects as fx
from kernel.commune import load_commune
from kernel.messages import Incoming, ResidentKey, TurnResult
from kernel.settings import Settings, replace
from nlu.interpreter import EmbeddedInterpreter
from tests.fakes.commune import COMMUNE_MEMBER, MEMBER, STRANGER, Clock, write_commune
from tests.fakes.services import build_services

SESSION = "s" * 43  # the web chat session token of WHO
WHO = ResidentKey("web", resident_of(SESSION))


async def start(settings: Settings, database_url: str, interpreter: EmbeddedInterpreter, commune: Path,
                clock: Clock) -> Services:
    services = await build_services(replace(settings, database_url=database_url, commune_dir=commune),
                                    interpreter=interpreter)
    services.escalation.clock = clock
    services.outbox.clock = clock
    return services


@pytest_asyncio.fixture
async def desk(settings: Settings, database_url: str, interpreter: EmbeddedInterpreter, tmp_path: Path
               ) -> AsyncIterator[tuple[Services, Clock]]:
    clock = Clock()
    services = await start(settings, database_url, interpreter, write_commune(tmp_path / "commune"), clock)
    yield services, clock
    await services.close()


async def say(services: Services, text: str | None = None, payload: str | None = None, who: ResidentKey = WHO,
              message_id: str | None = None) -> TurnResult:
    return await services.pipeline.handle(Incoming(who, text=text, payload=payload, message_id=message_id))


async def open_case(services: Services, who: ResidentKey = WHO, village: str = "dai-cuong") -> int:
    await say(services, payload="human", who=who)  # the village is unknown: asked first
    result = await say(services, payload=f"village:{village}", who=who)
    async with services.store.session() as s:
        case = (await s.execute(select(Case).order_by(Case.id.desc()))).scalars().first()
    assert case is not None and str(case.id) in result.replies[-1].text
    return case.id


async def rows(services: Services, **where: object) -> list[Outbox]:
    """The hand-off's outbox rows (a turn's own replies have no case)."""
    async with services.store.session() as s:
        stmt = select(Outbox).filter_by(**where).where(Outbox.case_id.is_not(None)).order_by(Outbox.id)
        return list((await s.execute(stmt)).scalars())


def test_routing_by_village_with_fallback_and_hours(tmp_path: Path) -> None:
    commune = load_commune(write_commune(tmp_path, hours={"days": ["mon", "tue", "wed", "thu", "fri", "sat"],
                                                          "start": "07:30", "end": "17:00"}))
    teams = commune.teams
    assert teams.route("dai-cuong").id == "dai-cuong"  # type: ignore[union-attr]
    fallback = teams.route("dai-hung")
    assert fallback is not None and fallback.id == "commune"  # no team of its own: the fallback team
    assert teams.route(None).id == "commune"  # type: ignore[union-attr]
    team = teams.get("dai-cuong")
    assert team is not None and team.members == frozenset({7001, 7002})
    wednesday_night = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)  # 20:00 in Hà Nội
    back = teams.answer_from(team, wednesday_night)
    assert (back.day, back.hour, back.minute) == (26, 7, 30)
    saturday_evening = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # Sat 19:00; Sunday is off
    back = teams.answer_from(team, saturday_evening)
    assert (back.day, back.hour, back.minute) == (30, 7, 30)
    at_work = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    assert teams.answer_from(team, at_work) == at_work


async def test_case_records_the_whole_situation_redacted(desk: tuple[Services, Clock]) -> None:
    services, _ = desk
    await say(services, text="số của tôi là 0912345678")
    await say(services, payload="flow:vneid_install")
    await say(services, payload="done")
    await say(services, payload="stuck")  # troubleshooting first
    await say(services, payload="stuck")  # still stuck: a person offered beside "Thử tiếp"
    await say(services, payload="human:stuck")  # chosen (the village is asked first)
    result = await say(services, payload="village:dai-cuong")
    async with services.store.session() as s:
        case = (await s.execute(select(Case))).scalar_one()
    assert f"{case.id}" in result.replies[-1].text and "Tổ công nghệ số Đại Cường" in result.replies[-1].text
    assert (case.village, case.channel, case.language, case.team, case.status) == (
        "dai-cuong", "web", "vi", "dai-cuong", "open")
    assert case.flow == "vneid_install" and case.step is not None and case.step in (case.tried or [])
    history = " ".join(text for _, text in case.history or [])
    assert "[phone]" in history and "0912345678" not in history
    (card,) = await rows(services, audience="team")
    assert card.kind == "card" and card.chat_id == "-1002" and card.status == "pending"
    assert "Đại Cường" in card.text and "bước 2" in card.text.lower() and "[phone]" in card.text
    assert "0912345678" not in card.text
    assert [b[1] for row in card.buttons or [] for b in row] == [f"esc:claim:{case.id}", f"esc:resolve:{case.id}",
                                                           f"esc:back:{case.id}"]
    # Asking again points to the open case instead of opening a second one.
    await say(services, payload="human")
    async with services.store.session() as s:
        assert (await s.execute(select(func.count()).select_from(Case))).scalar_one() == 1


async def test_relay_claim_reply_resolve_and_feedback(desk: tuple[Services, Clock]) -> None:
    services, _ = desk
    esc = services.escalation
    case_id = await open_case(services)
    result = await say(services, text="Tôi đã thử cài lại, mã CCCD 001099012345", message_id="m1")
    assert str(case_id) in result.replies[0].text
    await say(services, text="Tôi đã thử cài lại, mã CCCD 001099012345", message_id="m1")  # redelivered
    relayed = [r for r in await rows(services, audience="team") if r.kind == "message"]
    assert len(relayed) == 1 and "[id]" in relayed[0].text and "001099012345" not in relayed[0].text

    refused = await esc.claim(case_id, Staff(STRANGER, "Người lạ"))
    assert not refused.ok and "thành viên" in refused.text
    assert not (await esc.reply(case_id, Staff(STRANGER, "Người lạ"), "xin chào")).ok
    assert await rows(services, audience="resident") == []

    assert (await esc.claim(case_id, Staff(MEMBER, "Lan"))).ok
    assert not (await esc.claim(case_id, Staff(MEMBER + 1, "Hùng"))).ok  # already claimed (and not a member)
    assert (await esc.reply(case_id, Staff(MEMBER, "Lan"), "Bạn mở Cài đặt giúp mình nhé", "tg:-1002:5")).ok
    assert (await esc.reply(case_id, Staff(MEMBER, "Lan"), "Bạn mở Cài đặt giúp mình nhé", "tg:-1002:5")).ok
    waiting = (await services.mailboxes.collect("web", WHO.user_id))[0]
    assert [r.text.split(" ")[0] for r in waiting] == ["Lan", "💬"]
    assert "Bạn mở Cài đặt giúp mình nhé" in waiting[1].text
    assert (await services.mailboxes.collect("web", WHO.user_id))[0] == []  # each message is taken once

    assert (await esc.resolve(case_id, Staff(MEMBER, "Lan"))).ok
    (feedback,) = (await services.mailboxes.collect("web", WHO.user_id))[0]
    assert [b.payload for b in feedback.flat_buttons()] == [f"case:fb:{case_id}:yes", f"case:fb:{case_id}:no"]
    await say(services, payload=f"case:fb:{case_id}:yes")
    # The case is closed: what the resident types goes to the assistant again, not to the team.
    before = len(await rows(services, audience="team"))
    await say(services, text="xin chào")
    assert len(await rows(services, audience="team")) == before
    async with services.store.session() as s:
        case = await s.get(Case, case_id)
        kinds = set((await s.execute(select(AnalyticsEvent.kind))).scalars())
        messages = list((await s.execute(select(CaseMessage.direction).order_by(CaseMessage.id))).scalars())
    assert case is not None and case.status == "resolved" and case.solved is True
    assert {"handoff_open", "handoff_claim", "handoff_resolve", "handoff_feedback"} <= kinds
    assert messages == ["in", "out"]


async def test_staff_commands_list_show_reassign_and_hand_back(desk: tuple[Services, Clock]) -> None:
    services, _ = desk
    esc = services.escalation
    case_id = await open_case(services)
    listing = await esc.list_open(Staff(MEMBER, "Lan"))
    assert listing.ok and f"#{case_id}" in listing.text
    assert not (await esc.list_open(Staff(STRANGER, "x"))).ok
    shown = await esc.show(case_id, Staff(MEMBER, "Lan"))
    assert shown.ok and "Đại Cường" in shown.text and "chưa ai nhận" in shown.text
    assert not (await esc.show(case_id, Staff(STRANGER, "x"))).ok
    assert not (await esc.reassign(case_id, Staff(MEMBER, "Lan"), "no-such-team")).ok
    assert (await esc.reassign(case_id, Staff(MEMBER, "Lan"), "commune")).ok
    cards = list(await rows(services, audience="team", kind="card"))
    assert [c.team for c in cards] == ["dai-cuong", "commune"]
    assert (await esc.hand_back(case_id, Staff(COMMUNE_MEMBER, "Minh"))).ok
    (notice,) = (await services.mailboxes.collect("web", WHO.user_id))[0]
    assert [b.payload for b in notice.flat_buttons()] == ["menu"]
    async with services.store.session() as s:
        case = await s.get(Case, case_id)
        assert case is not None and case.status == "returned"


async def test_reminder_then_fallback_on_time_across_a_restart(settings: Settings, database_url: str,
        interpreter: EmbeddedInterpreter, tmp_path: Path) -> None:
    commune = write_commune(tmp_path / "commune", remind=15, escalate=45)
    clock = Clock()
    services = await start(settings, database_url, interpreter, commune, clock)
    try:
        case_id = await open_case(services)
        clock.advance(minutes=14, seconds=59)
        assert await services.escalation.tick() == 0
        clock.advance(seconds=1)
        assert await services.escalation.tick() == 1
        assert await services.escalation.tick() == 0  # raised once
        reminders = await rows(services, kind="reminder")
        assert len(reminders) == 1 and reminders[0].team == "dai-cuong" and "15 phút" in reminders[0].text
    finally:
        await services.close()
    # A new process: the schedule comes from the database.
    clock.advance(minutes=29, seconds=59)
    services = await start(settings, database_url, interpreter, commune, clock)
    try:
        assert await services.escalation.tick() == 0
        clock.advance(seconds=1)
        assert await services.escalation.tick() == 1
        cards = await rows(services, kind="card")
        assert [c.team for c in cards] == ["dai-cuong", "commune"]
        assert cards[1].chat_id == "-1001" and "45 phút" in cards[1].text
        # The fallback team's member may now claim; relayed messages go to both groups.
        assert (await services.escalation.claim(case_id, Staff(COMMUNE_MEMBER, "Minh"))).ok
        await say(services, text="cảm ơn anh")
        assert {r.team for r in await rows(services, kind="message")} == {"dai-cuong", "commune"}
        clock.advance(hours=5)
        assert await services.escalation.tick() == 0  # claimed cases are not raised
    finally:
        await services.close()


async def test_outside_working_hours_the_resident_is_told_when(settings: Settings, database_url: str,
         interpreter: EmbeddedInterpreter, tmp_path: Path) -> None:
    commune = write_commune(tmp_path / "commune", hours={"days": ["mon", "tue", "wed", "thu", "fri", "sat"],
                                                         "start": "07:30", "end": "17:00"})
    clock = Clock(datetime(2026, 11, 25, 13, 0, tzinfo=UTC))  # Wednesday 20:00 in Hà Nội
    services = await start(settings, database_url, interpreter, commune, clock)
    try:
        await say(services, payload="human")
        result = await say(services, payload="village:dai-cuong")
        assert "07:30" in result.replies[-1].text and "26/11" in result.replies[-1].text
        # Reminders count from when the team is back (07:30 = 00:30 UTC), not from the night.
        clock.now = datetime(2026, 11, 26, 0, 44, tzinfo=UTC)
        assert await services.escalation.tick() == 0
        clock.now += timedelta(minutes=1)
        assert await services.escalation.tick() == 1
    finally:
        await services.close()


async def test_forgetting_the_resident_deletes_their_cases(desk: tuple[Services, Clock]) -> None:
    services, _ = desk
    await open_case(services)
    await say(services, text="tin nhắn cho tổ")
    await say(services, payload="forget:yes")
    async with services.store.session() as s:
        assert (await s.execute(select(func.count()).select_from(Case))).scalar_one() == 0
        assert (await s.execute(select(func.count()).select_from(Outbox))).scalar_one() == 0
        assert (await s.execute(select(func.count()).select_from(CaseMessage))).scalar_one() == 0


async def test_an_english_speaking_resident_is_answered_in_english(desk: tuple[Services, Clock]) -> None:
    services, _ = desk
    who = ResidentKey("web", "visitor-en")
    await services.pipeline.handle(Incoming(who, payload="human", language="en"))
    result = await services.pipeline.handle(Incoming(who, payload="village:dai-cuong"))
    assert result.replies[-1].text.startswith("Request number")
    case_id = int(result.replies[-1].text.split()[2].rstrip(","))
    assert (await services.escalation.claim(case_id, Staff(MEMBER, "Lan"))).ok
    (notice,) = (await services.mailboxes.collect("web", who.user_id))[0]
    assert "of the community tech team has taken request number" in notice.text
    async with services.store.session() as s:
        case = await s.get(Case, case_id)
    assert case is not None and case.language == "en"
    team = services.escalation.teams().get("dai-cuong")
    assert team is not None and "Ngôn ngữ: en" in services.escalation.card(case, team)


async def test_web_messages_come_again_until_acknowledged(desk: tuple[Services, Clock]) -> None:
    services, _ = desk
    case_id = await open_case(services)
    assert (await services.escalation.reply(case_id, Staff(MEMBER, "Lan"), "Bác thử lại nhé")).ok
    first, cursor = await services.mailboxes.collect("web", WHO.user_id, "")
    assert len(first) == 2 and cursor is not None and cursor.startswith("handoff=")
    # The answer was lost on the way (the page never saw the cursor): the messages come again.
    again, same = await services.mailboxes.collect("web", WHO.user_id, "")
    assert [r.text for r in again] == [r.text for r in first] and same == cursor
    assert (await services.escalation.reply(case_id, Staff(MEMBER, "Lan"), "Còn lỗi không bác?")).ok
    later, newer = await services.mailboxes.collect("web", WHO.user_id, cursor)
    assert [r.text for r in later] == ["💬 Lan (tổ công nghệ số): Còn lỗi không bác?"]
    assert (await services.mailboxes.collect("web", WHO.user_id, newer))[0] == []
    await services.replies.drain()  # the acknowledgements are written together, a moment later
    delivered = [r.status for r in await rows(services, audience="resident")]
    assert delivered == ["delivered", "delivered", "delivered"]


async def test_web_api_poll_and_post_with_ack(desk: tuple[Services, Clock]) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from bot.storage.residents import Residents
    from integrations.web.chat import FloodLimiter, WebLimits, make_web_app

    services, _ = desk
    case_id = await open_case(services)
    assert (await services.escalation.reply(case_id, Staff(MEMBER, "Lan"), "Bác thử lại nhé")).ok
    app = make_web_app(services.pipeline, services.store, Residents(services.store),
                       WebLimits(resident=FloodLimiter(50, 10)), services.mailboxes)
    async with TestClient(TestServer(app)) as web:
        r = await web.get("/api/chat/poll", params={"session": SESSION, "ack": ""})
        body = await r.json()
        assert r.status == 200 and len(body["replies"]) == 2 and body["ack"].startswith("handoff=")
        r = await web.post("/api/chat", json={"session": SESSION, "text": "vâng", "ack": 5})
        assert r.status == 400 and "ack" in (await r.json())["error"]
        # Not acknowledged yet: the next POST brings them again, before its own reply.
        r = await web.post("/api/chat", json={"session": SESSION, "text": "vâng", "ack": ""})
        body = await r.json()
        waiting, _ = await services.mailboxes.collect("web", WHO.user_id, "")
        assert [x["text"] for x in body["replies"][:2]] == [w.text for w in waiting]
        r = await web.get("/api/chat/poll", params={"session": SESSION, "ack": body["ack"]})
        assert (await r.json())["replies"] == []
        r = await web.get("/api/chat/poll", params={"session": ""})
        assert r.status == 400
        r = await web.get("/api/chat/poll", params={"session": SESSION, "ack": "handoff=²"})
        assert r.status == 400


async def test_the_resident_can_end_the_case(desk: tuple[Services, Clock]) -> None:
    services, _ = desk
    case_id = await open_case(services)
    other = ResidentKey("web", "someone-else")
    result = await say(services, payload=f"case:end:{case_id}", who=other)  # not theirs: nothing changes
    assert "không còn" in result.replies[0].text
    result = await say(services, payload=f"case:end:{case_id}")
    assert f"{case_id}" in result.replies[0].text
    notices = [r.text for r in await rows(services, audience="team", kind="notice")]
    assert notices == [f"Người dân đã kết thúc yêu cầu {case_id}."]
    before = len(await rows(services, audience="team"))
    await say(services, text="cài VNeID thế nào")  # back to the assistant, not relayed
    assert len(await rows(services, audience="team")) == before
    assert not (await services.escalation.reply(case_id, Staff(MEMBER, "Lan"), "còn đó không?")).ok
    async with services.store.session() as s:
        case = await s.get(Case, case_id)
        assert case is not None and case.status == "closed"


async def test_a_handoff_is_routed_by_the_village_it_carries(desk: tuple[Services, Clock]) -> None:
    """The effect names its village (chosen in this very turn, maybe): routing does not read the resident's
    row, so it does not depend on SetVillage having run first."""
    services, _ = desk
    async with services.store.turn() as tx:
        resident, _conv, _seen = await services.store.open_turn(tx, WHO)
        assert resident.village is None
        scope = TurnScope(tx, resident, services.catalogs.get("vi"), DialogueState(), Incoming(WHO, payload="x"))
        replies = await services.pipeline.handlers[fx.Handoff](scope, fx.Handoff("asked", village="dai-cuong"))
    async with services.store.session() as s:
        case = (await s.execute(select(Case))).scalar_one()
    assert (case.team, case.village) == ("dai-cuong", "dai-cuong") and str(case.id) in replies[-1].text
    # The dialogue engine puts the village the resident just chose on the effect.
    from dialogues.engine import Context, Pressed, advance
    from dialogues.engine import Resident as EngineResident

    commune = services.commune.current()
    ctx = Context(library=services.library, catalogs=services.catalogs, commune=commune,
                  resident=EngineResident("vi", None, False), threshold=0.45, margin=0.08, max_misunderstood=2,
                  today=datetime.now(UTC).date())
    asked = advance(ctx, DialogueState(), Pressed("human"))
    chosen = advance(ctx, asked.state, Pressed("village:dong-lo"))
    assert [e.village for e in chosen.effects if isinstance(e, fx.Handoff)] == ["dong-lo"]
