"""A team member's text is redacted like a resident's before it is stored or forwarded (issue 17, item 9)."""

from __future__ import annotations

from sqlalchemy import select

from bot.handoff import Staff
from bot.handoff.models import CaseMessage, Outbox
from tests.bot.handoff.test_escalation import desk, open_case  # noqa: F401  (fixture)
from tests.fakes.commune import MEMBER


async def test_a_members_id_phone_and_code_never_reach_storage_or_the_resident(desk) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    services, _clock = desk
    case_id = await open_case(services)
    pasted = "Số CCCD 001203004568, gọi 0912345679, mã OTP 482914 nhé\x00"
    assert (await services.escalation.reply(case_id, Staff(MEMBER, "Lan"), pasted)).ok
    async with services.store.session() as s:
        stored = [m.text for m in (await s.execute(select(CaseMessage).where(CaseMessage.direction == "out")))
                  .scalars()]
        queued = [o.text for o in (await s.execute(select(Outbox))).scalars()]
    everything = " ".join(stored + queued)
    for secret in ("001203004568", "0912345679", "482914", "\x00"):
        assert secret not in everything, secret
    assert any("[id]" in t and "[phone]" in t and "[otp]" in t for t in stored), stored
