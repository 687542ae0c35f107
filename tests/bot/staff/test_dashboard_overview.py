"""GET /staff/api/dashboard and its CSV on a known history: every table's figures for a period and a place,
unanswered messages grouped and marked handled, CSV cells a spreadsheet cannot run, roles."""

from __future__ import annotations

import csv
import io
from typing import Any

from bot.storage.db import Message
from tests.bot.staff.conftest import login
from tests.fakes.history import DECEMBER, DECEMBER_BROADCASTS, DECEMBER_HANDOFF, DECEMBER_REACH, local

DECEMBER_PERIOD = "from=2026-12-01&to=2026-12-31"
DECEMBER_STEPS: list[dict[str, int]] = DECEMBER["steps"]  # type: ignore[assignment]


async def _overview(client: Any, query: str = DECEMBER_PERIOD) -> dict[str, Any]:
    r = await client.get(f"/staff/api/dashboard?{query}")
    assert r.status == 200, await r.text()
    return dict(await r.json())


async def test_every_table_for_december(dashboard: Any) -> None:
    await login(dashboard, "minh")
    body = await _overview(dashboard)
    assert (body["from"], body["to"], body["village"]) == ("2026-12-01", "2026-12-31", None)
    guides = {g["flow"]: g for g in body["funnels"]}
    install = guides["vneid_install"]
    assert install["title"] == "Cài ứng dụng VNeID chính thức"
    assert {k: install[k] for k in ("started", "completed", "handoff", "cancelled")} == {
        "started": 4, "completed": 1, "handoff": 1, "cancelled": 1}
    # Each step's name; its figures come from GET /staff/api/funnel (and the funnel CSV, below).
    assert [s["step"] for s in install["steps"]] == [1, 2, 3, 4] and "reached" not in install["steps"][0]
    assert install["steps"][1]["label"].startswith("2. ")
    assert guides["pay_qr"]["started"] == 1 and body["funnels"][0]["flow"] == "vneid_install"  # most started first
    assert [(s["flow"], s["step"], s["stuck"]) for s in body["stuck"]] == [("vneid_install", 2, 2)]
    assert [(r["village"], r["channel"], r["residents"], r["new"], r["active"], r["subscribed"])
            for r in body["reach"]] == DECEMBER_REACH
    assert body["reach"][0]["place"] == "xã cũ Đại Cường"
    assert body["languages"] == [{"language": "", "residents": 5}, {"language": "en", "residents": 1}]
    assert [(h["village"], h["team"], h["opened"], h["claimed"], h["resolved"], h["solved"], h["not_solved"],
             h["minutes_to_claim"]) for h in body["handoff"]] == DECEMBER_HANDOFF
    # Worded alike (case, diacritics, spacing, punctuation): one group; January's message is not in December.
    assert [(u["text"], u["count"], u["kinds"]) for u in body["unanswered"]] == [
        ("Cách đổi ảnh  đại diện Zalo?", 2, ["out_of_scope"]), ("mua vé tàu ở đâu [phone]", 1, ["low_confidence"])]
    assert {v["code"] for v in body["villages"]} >= {"dai-cuong", "dong-lo", "kim-duong"}
    # December's two announcements, newest first (November's is left out).
    assert [(b["recipients"], b["sent"], b["failed"], b["waiting"], b["skipped"], b["unsubscribed"])
            for b in body["broadcasts"]] == DECEMBER_BROADCASTS
    assert body["broadcasts"][1]["villages"] == ["dai-cuong"]


async def test_one_village_and_the_default_period(dashboard: Any) -> None:
    await login(dashboard, "hoa")
    body = await _overview(dashboard, DECEMBER_PERIOD + "&village=dai-cuong")
    assert [(r["channel"], r["residents"], r["active"]) for r in body["reach"]] == [("telegram", 2, 1), ("web", 1, 1)]
    assert [h["opened"] for h in body["handoff"]] == [2]
    assert [u["count"] for u in body["unanswered"]] == [1, 1]  # an's message and chi's
    assert {g["flow"]: g["started"] for g in body["funnels"]} == {"vneid_install": 2}
    # Announcements as the place's residents got them: none of the second reached Đại Cường.
    assert [(b["recipients"], b["sent"], b["failed"], b["unsubscribed"]) for b in body["broadcasts"]] == [
        (0, 0, 0, 0), (3, 2, 1, 1)]
    default = await _overview(dashboard, "lang=en")  # the last 30 days, today included
    assert default["from"] < default["to"] and default["village"] is None
    english = await _overview(dashboard, DECEMBER_PERIOD + "&lang=en")
    assert english["reach"][0]["place"] == "Đại Cường (former commune)"
    bad = await dashboard.get("/staff/api/dashboard?from=2026-12-01")
    assert bad.status == 400 and "both from and to" in (await bad.json())["error"]


async def test_a_handled_group_stays_away_until_a_new_message_joins_it(dashboard: Any) -> None:
    await login(dashboard, "minh")
    group = (await _overview(dashboard))["unanswered"][0]
    me = await (await dashboard.get("/staff/api/me")).json()
    mark = {"key": group["key"], "last": group["last"]}
    assert (await dashboard.post("/staff/api/unanswered/handled", json=mark)).status == 403  # no CSRF token
    r = await dashboard.post("/staff/api/unanswered/handled", json=mark, headers={"X-CSRF-Token": me["csrf"]})
    assert r.status == 200
    assert [u["count"] for u in (await _overview(dashboard))["unanswered"]] == [1]
    async with dashboard.store.writing() as s:
        s.add(Message(resident_id=dashboard.ids["giang"], direction="in", text="Cách đổi ảnh đại diện zalo",
                      intent="out_of_scope", created_at=local("2026-12-20 09:00")))
    again = (await _overview(dashboard))["unanswered"][0]
    assert (again["key"], again["count"]) == (group["key"], 3)
    for wrong in ({"key": "abc", "last": group["last"]}, {"key": group["key"], "last": "yesterday"},
                  {"key": group["key"], "last": "2026-12-20T09:00:00"}):  # no time zone
        r = await dashboard.post("/staff/api/unanswered/handled", json=wrong, headers={"X-CSRF-Token": me["csrf"]})
        assert r.status == 400


async def test_csv_has_the_same_numbers_and_no_formulas(dashboard: Any) -> None:
    await login(dashboard, "minh")
    async with dashboard.store.writing() as s:
        s.add(Message(resident_id=dashboard.ids["giang"], direction="in", text="=HYPERLINK(\"http://x\")",
                      intent="out_of_scope", created_at=local("2026-12-21 09:00")))
    r = await dashboard.get(f"/staff/api/dashboard.csv?table=funnel&{DECEMBER_PERIOD}")
    assert r.status == 200 and r.content_type == "text/csv"
    assert 'filename="funnel-2026-12-01-2026-12-31.csv"' in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO((await r.text()).lstrip("\ufeff"))))
    install = [row for row in rows if row["flow"] == "vneid_install"]
    assert [(row["step"], row["reached"], row["stuck"]) for row in install] == [
        (str(s["step"]), str(s["reached"]), str(s["stuck"])) for s in DECEMBER_STEPS]
    assert install[0]["started"] == "4" and install[0]["title"] == "Cài ứng dụng VNeID chính thức"
    reach = list(csv.DictReader(io.StringIO((await (await dashboard.get(
        f"/staff/api/dashboard.csv?table=reach&{DECEMBER_PERIOD}")).text()).lstrip("\ufeff"))))
    assert [(row["village"], row["channel"], row["residents"], row["active"]) for row in reach][0] == \
        ("dai-cuong", "telegram", "2", "1")
    text = await (await dashboard.get(f"/staff/api/dashboard.csv?table=unanswered&{DECEMBER_PERIOD}")).text()
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text
    assert (await dashboard.get(f"/staff/api/dashboard.csv?table=secrets&{DECEMBER_PERIOD}")).status == 400


async def test_members_get_403_everywhere_and_the_page_is_served(dashboard: Any) -> None:
    assert (await dashboard.get("/staff/api/dashboard")).status == 401
    await login(dashboard, "lan")
    for path in ("/staff/api/dashboard", f"/staff/api/dashboard.csv?table=reach&{DECEMBER_PERIOD}"):
        assert (await dashboard.get(path)).status == 403
    me = await (await dashboard.get("/staff/api/me")).json()
    mark = {"key": "0" * 64, "last": "2026-12-01T00:00:00+00:00"}
    r = await dashboard.post("/staff/api/unanswered/handled", json=mark, headers={"X-CSRF-Token": me["csrf"]})
    assert r.status == 403
    page = await dashboard.get("/staff/dashboard")
    assert page.status == 200 and "/static/vendor/chart-4.6.2.umd.min.js" in await page.text()
