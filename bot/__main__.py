"""Command line: `python -m bot run | chat | stats` (and the tools integrations add)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from kernel.commune import CommuneError
from kernel.logs import quiet_libraries
from kernel.settings import ConfigError, load_settings


async def _run(args: argparse.Namespace) -> int:
    from bot.app import build
    from bot.server import serve
    from bot.supervisor import WorkersRefused, check_workers, supervise, worker_command

    settings = load_settings(args.config)
    try:
        check_workers(settings, args.workers)
    except WorkersRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.workers > 1:
        return await supervise(settings, args.workers, worker_command(args.config, args.verbose))
    services = await build(settings)
    try:
        await serve(services, reuse_port=args.reuse_port)
    finally:
        await services.close()
    return 0


async def _chat(args: argparse.Namespace) -> int:
    from bot.app import build
    from bot.cli import chat

    services = await build(load_settings(args.config))
    try:
        await chat(services.pipeline, user=args.user)
    finally:
        await services.close()
    return 0


async def _stats(args: argparse.Namespace) -> int:
    # Only the database and the guides: the funnel needs no NLU model and no channels.
    from bot.stats import ScopeError, print_funnel, stats_scope
    from bot.storage.db import make_engine, migrate
    from bot.storage.store import Store
    from dialogues.flows import load_library
    from kernel.commune import load_commune

    settings = load_settings(args.config)
    try:
        scope = stats_scope(load_commune(settings.commune_dir), args.since, args.until, args.village)
    except ScopeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    try:
        await migrate(engine)
        await print_funnel(Store(engine), load_library(settings.flows_dir), scope)
    finally:
        await engine.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Trợ lý số, the commune's assistant.")
    parser.add_argument("--config", default=None, help="path to config.yml (default: the project's)")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve the web chat and every configured channel")
    run.add_argument("--workers", type=int, default=1, metavar="N",
                     help="N server processes sharing the port, a dead one restarted (PostgreSQL only)")
    run.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)  # a worker of --workers
    chat = sub.add_parser("chat", help="talk to the assistant in the terminal")
    chat.add_argument("--user", default="terminal", help="who you are (a new name starts a new conversation)")
    stats = sub.add_parser("stats", help="per guide: how many started, where they got stuck, how many completed")
    stats.add_argument("--from", dest="since", metavar="YYYY-MM-DD", help="first day (the commune's time zone)")
    stats.add_argument("--to", dest="until", metavar="YYYY-MM-DD", help="last day, included")
    stats.add_argument("--village", metavar="CODE", help="residents of this place (a xã cũ includes its thôn)")
    from bot.app import command_line
    from bot.converse_run import add_parser as add_converse
    from bot.converse_run import run as _converse

    add_converse(sub)
    from bot.posters import add_commands as add_posters

    commands = {"run": _run, "chat": _chat, "stats": _stats, "converse": _converse, **add_posters(sub),
                **command_line(sub)}
    args, _rest = parser.parse_known_args(argv)
    # Quiet for the interactive commands and broadcast send/status/...; the servers log at INFO.
    quiet = args.command in ("chat", "converse", "posters") or getattr(args, "action", "work") != "work"
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING if quiet
                        else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_libraries()  # -v is DEBUG for our modules; libraries that log URLs or bodies stay at WARNING
    try:
        return asyncio.run(commands[args.command](args))
    except (ConfigError, CommuneError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if not _unusable_setup(exc):
            raise
        print(f"error: {exc}", file=sys.stderr)  # one line, no traceback: the message names what to fix
        return 2


def _unusable_setup(exc: Exception) -> bool:
    """A missing NLU model or a broken guide: start-up stops with its message (imported late: heavy)."""
    from dialogues.flows import FlowError
    from nlu.interpreter import ModelMissing

    return isinstance(exc, (ModelMissing, FlowError))


if __name__ == "__main__":
    raise SystemExit(main())
