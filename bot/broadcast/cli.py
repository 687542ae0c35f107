"""`python -m bot broadcast send | status | list | approve | cancel | work`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import signal
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.broadcast import queue
from bot.broadcast.compose import preview
from bot.broadcast.models import Broadcast
from bot.broadcast.runtime import Runtime, open_runtime, platform_senders
from bot.broadcast.worker import Worker
from kernel.feature import CliRunner
from kernel.settings import load_settings

TIMEZONE = "Asia/Ho_Chi_Minh"
log = logging.getLogger(__name__)


def commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> dict[str, CliRunner]:
    """`python -m bot broadcast ...` (the broadcast feature's command line)."""
    add_parser(sub)
    return {"broadcast": run}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("broadcast", help="announcements to subscribed residents: send, status, list, work")
    cmds = p.add_subparsers(dest="action", required=True)
    send = cmds.add_parser("send", help="compose an announcement (queued for the workers)")
    send.add_argument("--as", dest="author", required=True, help="your staff id in staff.yml")
    send.add_argument("--vi", help="the text in Vietnamese")
    send.add_argument("--en", help="the text in English (residents who chose English get this one)")
    send.add_argument("--villages", default="all", help="village codes separated by commas, or 'all'")
    send.add_argument("--topic", default="general", help="a short topic, e.g. schedule, class, scam")
    send.add_argument("--at", help=f"when to send, 'YYYY-MM-DD HH:MM' ({TIMEZONE} time); default now")
    send.add_argument("--button", action="append", default=[], metavar="PAYLOAD|VI LABEL|EN LABEL",
                      help="an extra button row, e.g. 'menu|Xem danh mục|See the menu' (repeatable)")
    send.add_argument("--wait", action="store_true", help="print the report until every delivery is settled")
    status = cmds.add_parser("status", help="delivery counts of a broadcast")
    status.add_argument("id", type=int)
    status.add_argument("--wait", action="store_true", help="repeat until it is finished")
    cmds.add_parser("list", help="the latest broadcasts")
    approve = cmds.add_parser("approve", help="approve an announcement waiting for it")
    approve.add_argument("id", type=int)
    approve.add_argument("--as", dest="author", required=True, help="your staff id (an approver)")
    cancel = cmds.add_parser("cancel", help="stop an announcement; deliveries not yet made are dropped")
    cancel.add_argument("id", type=int)
    cancel.add_argument("--as", dest="author", required=True, help="your staff id (its author or an approver)")
    work = cmds.add_parser("work", help="run a delivery worker (several may run at once)")
    work.add_argument("--until-idle", action="store_true", help="exit when nothing is due or sending")


def parse_when(text: str | None) -> float | None:
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as exc:
        raise queue.BroadcastError(f"--at {text!r}: expected 'YYYY-MM-DD HH:MM'") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(TIMEZONE))
    return dt.timestamp()


def parse_buttons(specs: list[str]) -> list[list[dict[str, str]]]:
    rows = []
    for spec in specs:
        parts = [p.strip() for p in spec.split("|")]
        if len(parts) < 2 or not parts[0] or not any(parts[1:]):
            raise queue.BroadcastError(f"--button {spec!r}: expected 'PAYLOAD|VI LABEL|EN LABEL'")
        rows.append([{"payload": parts[0], "vi": parts[1], "en": parts[2] if len(parts) > 2 else ""}])
    return rows


def _line(b: Broadcast, c: queue.Counts) -> str:
    return (f"#{b.id} {b.status} topic={b.topic} by={b.author} villages={','.join(b.villages) or 'all'}: "
            f"sent {c.sent}, failed {c.failed}, pending {c.pending}, skipped {c.skipped}, "
            f"recipients {c.recipients}")


async def run(args: argparse.Namespace) -> int:
    rt = await open_runtime(load_settings(args.config))
    try:
        return await _dispatch(rt, args)
    except queue.BroadcastError as exc:
        print(f"refused: {exc}")
        return 1
    finally:
        await rt.close()


async def _dispatch(rt: Runtime, args: argparse.Namespace) -> int:
    store = rt.store
    if args.action in ("send", "approve", "cancel"):
        # Anyone at this machine's shell can type any --as: it is checked against staff.yml (queue.py), and
        # the claim is logged with the account that ran the command, so a false one can be traced.
        log.warning("broadcast %s requested as staff %r by OS user %r", args.action, args.author, getpass.getuser())
    if args.action == "send":
        villages = [] if args.villages.strip() == "all" else [v.strip() for v in args.villages.split(",") if v.strip()]
        b = await queue.create(store, rt.roles(), args.author, topic=args.topic, text_vi=args.vi, text_en=args.en,
                               villages=villages, known_villages=rt.villages(), buttons=parse_buttons(args.button),
                               due_at=parse_when(args.at))
        tr = rt.catalogs.get(None)
        for reply in preview(b, rt.catalogs, tr, await _audience(rt, villages)):
            labels = " ".join(f"[{btn.label}]" for row in reply.buttons for btn in row)
            print(reply.text + (f"\n{labels}" if labels else "") + "\n")
        print(f"broadcast {b.id}: {b.status}")
        if args.wait:
            return await _watch(rt, b.id)
        return 0
    if args.action == "status":
        return await _watch(rt, args.id) if args.wait else await _status(rt, args.id)
    if args.action == "list":
        for b in await queue.recent(store):
            print(_line(b, await queue.counts(store, b.id)))
        return 0
    if args.action == "approve":
        b = await queue.approve(store, rt.roles(), args.id, args.author)
        print(f"broadcast {b.id}: {b.status} (approved by {b.approved_by})")
        return 0
    if args.action == "cancel":
        b = await queue.cancel(store, args.id, rt.roles(), args.author)
        print(f"broadcast {b.id}: {b.status}")
        return 0
    if args.action == "work":
        senders = await platform_senders(rt)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        worker = Worker(rt.store, rt.catalogs, rt.broadcast, senders)
        print(f"broadcast worker {worker.name} on {', '.join(senders) or 'no platform'}", flush=True)
        await worker.run(stop, until_idle=args.until_idle)
        print(f"worker {worker.name} stopped after sending {worker.sent} ({worker.rescheduled} missed their slot "
              "and took a later one)", flush=True)
        return 0
    raise AssertionError(args.action)


async def _audience(rt: Runtime, villages: list[str]) -> int:
    from sqlalchemy import func, select

    from bot.storage.db import Resident

    stmt = select(func.count()).select_from(Resident).where(
        Resident.subscribed.is_(True), Resident.blocked.is_(False), Resident.channel.in_(list(rt.broadcast.limits)))
    if villages:
        stmt = stmt.where(Resident.village.in_(villages))
    async with rt.store.session() as s:
        return int((await s.execute(stmt)).scalar_one())


async def _status(rt: Runtime, broadcast_id: int) -> int:
    b = await queue.get(rt.store, broadcast_id)
    if b is None:
        print(f"no broadcast {broadcast_id}")
        return 1
    print(_line(b, await queue.counts(rt.store, broadcast_id)), flush=True)
    return 0


async def _watch(rt: Runtime, broadcast_id: int) -> int:
    while True:
        if await _status(rt, broadcast_id):
            return 1
        b = await queue.get(rt.store, broadcast_id)
        if b is None or b.status in ("done", "cancelled"):
            return 0
        await asyncio.sleep(2.0)
