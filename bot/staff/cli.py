"""`python -m bot staff add | list | disable | reset-password`: the desk's accounts (there is no default one)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from bot.staff.accounts import StaffAccounts, StaffError, check_password, generate_password, password_hasher
from bot.staff.models import ROLES
from bot.storage.db import make_engine, migrate
from bot.storage.store import Store
from kernel.commune import load_commune
from kernel.feature import CliRunner
from kernel.settings import load_settings


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> dict[str, CliRunner]:
    """The parsers of `python -m bot staff ...` and its runner."""
    p = sub.add_parser("staff", help="team desk accounts: add, list, disable, reset-password")
    cmds = p.add_subparsers(dest="action", required=True)
    add = cmds.add_parser("add", help="create an account (the password is asked for, read or generated)")
    add.add_argument("name")
    add.add_argument("--team", required=True, action="append",
                     help="the team's id in teams.yml (repeat, or separate by commas, for several teams)")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    cmds.add_parser("list", help="every account, its role and teams")
    disable = cmds.add_parser("disable", help="stop an account from logging in (its sessions end)")
    disable.add_argument("name")
    reset = cmds.add_parser("reset-password", help="a new password (the account's sessions end)")
    reset.add_argument("name")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    return {"staff": run}


def _password(from_stdin: bool) -> tuple[str, bool]:
    """The password and whether it was generated (then it is printed once)."""
    if from_stdin:
        return check_password(sys.stdin.readline().rstrip("\r\n")), False
    if sys.stdin.isatty():
        typed = getpass.getpass("Password (empty: generate one): ")
        if typed:
            if getpass.getpass("Again: ") != typed:
                raise StaffError("the two passwords differ")
            return check_password(typed), False
    return generate_password(), True


async def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    engine = make_engine(settings.database_url)
    try:
        await migrate(engine)
        accounts = StaffAccounts(Store(engine), password_hasher(settings.web.password_profile))
        return await _dispatch(accounts, args, known_teams(settings.commune_dir))
    except StaffError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()


def known_teams(commune_dir: Path) -> set[str]:
    return {t.id for t in load_commune(commune_dir).teams.teams}


async def _dispatch(accounts: StaffAccounts, args: argparse.Namespace, teams: set[str]) -> int:
    if args.action == "list":
        for a in await accounts.list():
            state = " (disabled)" if a.disabled else ""
            print(f"{a.username}\t{a.role}\t{','.join(a.teams)}{state}")
        return 0
    if args.action == "disable":
        await accounts.disable(args.name)
        print(f"disabled {args.name}")
        return 0
    if args.action == "add":
        wanted = [t.strip() for spec in args.team for t in spec.split(",") if t.strip()]
        unknown = [t for t in wanted if t not in teams]
        if unknown:
            raise StaffError(f"no team {', '.join(unknown)} in teams.yml (known: {', '.join(sorted(teams))})")
    password, generated = _password(args.password_stdin)
    if args.action == "add":
        await accounts.add(args.name, args.role, wanted, password)
        print(f"added {args.name} ({args.role}, {','.join(wanted)})")
    else:
        await accounts.reset_password(args.name, password)
        print(f"new password set for {args.name}")
    if generated:
        print(f"password (shown once): {password}")
    return 0
