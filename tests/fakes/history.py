"""A known history of residents and analytics events, for the dashboard's tests (figures worked out by hand).

Times are written in the commune's time zone (Asia/Ho_Chi_Minh, UTC+7) and stored in UTC, as the assistant
stores them; several sit near midnight, where a day in UTC and a day in the commune differ.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.storage.db import AnalyticsEvent, Resident
from bot.storage.store import Store

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
FLOW = "vneid_install"  # steps: open_store, search, install, open_app


def local(text: str) -> datetime:
    """'2026-12-01 00:30' in the commune's time zone, as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=ZONE).astimezone(UTC)


# name -> (channel, village)
RESIDENTS = {
    "an": ("telegram", "dai-cuong"), "binh": ("zalo", "dong-lo"), "chi": ("web", "dai-cuong"),
    "dung": ("telegram", "dai-cuong"), "em": ("web", None), "giang": ("telegram", "kim-duong"),
}

# (resident, local time, kind, flow, step)
EVENTS: list[tuple[str, str, str, str | None, str | None]] = [
    # an: starts twice on 1 December just after midnight (30 November in UTC), stuck twice, completes.
    ("an", "2026-12-01 00:30", "flow_start", FLOW, "open_store"),
    ("an", "2026-12-01 00:40", "flow_start", FLOW, "open_store"),
    ("an", "2026-12-01 00:41", "step", FLOW, "search"),
    ("an", "2026-12-01 00:42", "stuck", FLOW, "search"),
    ("an", "2026-12-01 00:43", "stuck", FLOW, "search"),
    ("an", "2026-12-01 00:44", "step", FLOW, "install"),
    ("an", "2026-12-01 00:45", "step", FLOW, "open_app"),
    ("an", "2026-12-01 00:46", "complete", FLOW, "open_app"),
    # binh: stuck at the search, asks for a person.
    ("binh", "2026-12-10 09:00", "flow_start", FLOW, "open_store"),
    ("binh", "2026-12-10 09:01", "step", FLOW, "search"),
    ("binh", "2026-12-10 09:02", "stuck", FLOW, "search"),
    ("binh", "2026-12-10 09:03", "handoff", FLOW, "search"),
    # chi: starts on the last evening of December (still 31 December in UTC too), stops at step 1.
    ("chi", "2026-12-31 23:30", "flow_start", FLOW, "open_store"),
    # dung: 1 January just after midnight (still 31 December in UTC): outside December.
    ("dung", "2027-01-01 00:10", "flow_start", FLOW, "open_store"),
    ("dung", "2027-01-01 00:11", "step", FLOW, "search"),
    # em: 30 November just before midnight: outside December; then another guide in December.
    ("em", "2026-11-30 23:50", "flow_start", FLOW, "open_store"),
    ("em", "2026-12-05 10:00", "flow_start", "pay_qr", None),
    # giang: in December, cancels at step 2.
    ("giang", "2026-12-20 15:00", "flow_start", FLOW, "open_store"),
    ("giang", "2026-12-20 15:01", "step", FLOW, "search"),
    ("giang", "2026-12-20 15:02", "cancel", FLOW, "search"),
    # Not funnel events: never counted in it.
    ("giang", "2026-12-20 15:03", "misunderstood", FLOW, "search"),
    ("binh", "2026-12-10 09:04", "handoff_open", FLOW, "search"),
]

# GET /staff/api/funnel?flow=vneid_install&from=2026-12-01&to=2026-12-31 (an, binh, chi, giang)
DECEMBER = {"flow": FLOW, "started": 4,
            "steps": [{"step": 1, "reached": 4, "stuck": 0}, {"step": 2, "reached": 3, "stuck": 2},
                      {"step": 3, "reached": 1, "stuck": 0}, {"step": 4, "reached": 1, "stuck": 0}],
            "handoff": 1, "completed": 1}
# ... &village=dai-cuong (an, chi)
DECEMBER_DAI_CUONG = {"flow": FLOW, "started": 2,
                      "steps": [{"step": 1, "reached": 2, "stuck": 0}, {"step": 2, "reached": 1, "stuck": 1},
                                {"step": 3, "reached": 1, "stuck": 0}, {"step": 4, "reached": 1, "stuck": 0}],
                      "handoff": 0, "completed": 1}


async def seed_history(store: Store) -> dict[str, int]:
    """Write RESIDENTS and EVENTS; returns the residents' ids by name."""
    ids: dict[str, int] = {}
    async with store.writing() as s:
        for name, (channel, village) in RESIDENTS.items():
            row = Resident(channel=channel, platform_id=f"seed-{name}", village=village,
                           created_at=local("2026-11-01 08:00"))
            s.add(row)
            await s.flush()
            ids[name] = row.id
        for name, when, kind, flow, step in EVENTS:
            s.add(AnalyticsEvent(resident_id=ids[name], kind=kind, flow=flow, step=step, created_at=local(when)))
    return ids


# The dashboard's other tables: messages (what residents wrote), hand-off cases, and residents' details.
# (resident, local time, intent as logged, text): inbound messages.
MESSAGES: list[tuple[str, str, str | None, str]] = [
    ("an", "2026-12-02 10:00", "out_of_scope", "cách đổi ảnh đại diện zalo"),
    ("binh", "2026-12-11 10:00", "out_of_scope", "Cách đổi ảnh  đại diện Zalo?"),
    ("chi", "2026-12-15 20:00", "low_confidence", "mua vé tàu ở đâu [phone]"),
    ("dung", "2027-01-01 00:20", "out_of_scope", "cách đổi ảnh đại diện zalo"),  # January
    ("giang", "2026-12-20 15:00", "vneid_install", "cài vneid"),
]
# (resident, team, status, opened, claimed or None, solved)
CASES: list[tuple[str, str, str, str, str | None, bool | None]] = [
    ("an", "dai-cuong", "claimed", "2026-12-01 01:00", "2026-12-01 01:30", None),
    ("binh", "commune", "resolved", "2026-12-10 09:04", "2026-12-10 09:14", True),
    ("chi", "dai-cuong", "open", "2026-12-31 23:40", None, None),
    ("dung", "dai-cuong", "open", "2027-01-01 00:30", None, None),  # January
]

# Announcements: (created, started, villages, {resident: delivery status}); November's is outside December.
BROADCASTS: list[tuple[str, str, list[str], dict[str, str]]] = [
    ("2026-11-20 08:00", "2026-11-20 08:00", [], {"an": "sent"}),
    ("2026-12-05 08:00", "2026-12-05 08:01", ["dai-cuong"], {"an": "sent", "chi": "sent", "dung": "failed"}),
    ("2026-12-06 09:00", "2026-12-06 09:00", [], {"binh": "sent", "giang": "pending", "em": "skipped"}),
]
# Unsubscribes: an's within 48 hours of the first December one (before the next), binh's after the second,
# giang's three days later (counted for none).
UNSUBSCRIBES = [("an", "2026-12-05 10:00"), ("binh", "2026-12-06 12:00"), ("giang", "2026-12-09 12:00")]
# (recipients, sent, failed, waiting, skipped, unsubscribed), newest first
DECEMBER_BROADCASTS = [(3, 1, 0, 1, 1, 1), (3, 2, 1, 0, 0, 1)]

# GET /staff/api/dashboard?from=2026-12-01&to=2026-12-31: (place code, channel, residents, new, active, subscribed)
DECEMBER_REACH = [("dai-cuong", "telegram", 2, 0, 1, 0), ("dai-cuong", "web", 1, 0, 1, 0),
                  ("dong-lo", "zalo", 1, 0, 1, 1), ("kim-duong", "telegram", 1, 1, 1, 0), ("", "web", 1, 0, 0, 0)]
# (place code, team, opened, claimed, resolved, solved, not solved, median minutes to claim)
DECEMBER_HANDOFF = [("dai-cuong", "dai-cuong", 2, 1, 0, 0, 0, 30.0), ("dong-lo", "commune", 1, 1, 1, 1, 0, 10.0)]


async def seed_dashboard(store: Store) -> dict[str, int]:
    """seed_history, plus MESSAGES (and an answer to each), CASES, giang new in December, binh subscribed in
    English."""
    from bot.broadcast.models import Broadcast, Delivery
    from bot.handoff.models import Case
    from bot.storage.db import Message

    ids = await seed_history(store)
    async with store.writing() as s:
        for name, when, intent, text in MESSAGES:
            s.add(Message(resident_id=ids[name], direction="in", text=text, intent=intent, created_at=local(when)))
            s.add(Message(resident_id=ids[name], direction="out", text="…", created_at=local(when)))
        for name, team, status, opened, claimed, solved in CASES:
            channel, village = RESIDENTS[name]
            s.add(Case(resident_id=ids[name], status=status, team=team, village=village, language="vi",
                       channel=channel, reason="asked", flow=FLOW, step="search", tried=[], history=[],
                       opened_at=local(opened), due_at=local(opened), claimed_at=local(claimed) if claimed else None,
                       solved=solved))
        for created, started, villages, deliveries in BROADCASTS:
            b = Broadcast(author="ubnd-xa", topic="class", text_vi="Lớp kỹ năng số", villages=villages, buttons=[],
                          status="done", due_at=local(created).timestamp(), created_at=local(created).timestamp(),
                          approved_by="ubnd-xa", started_at=local(started).timestamp(), recipients=len(deliveries))
            s.add(b)
            await s.flush()
            for name, status in deliveries.items():
                s.add(Delivery(broadcast_id=b.id, resident_id=ids[name], channel=RESIDENTS[name][0], status=status,
                               attempts=1, available_at=b.due_at, in_doubt=False,
                               sent_at=b.due_at if status == "sent" else None))
        for name, when in UNSUBSCRIBES:
            s.add(AnalyticsEvent(resident_id=ids[name], kind="unsubscribe", created_at=local(when)))
        giang = await s.get(Resident, ids["giang"])
        binh = await s.get(Resident, ids["binh"])
        assert giang is not None and binh is not None
        giang.created_at = local("2026-12-05 08:00")
        binh.subscribed, binh.language = True, "en"
    return ids
