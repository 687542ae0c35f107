"""Team desk accounts: staff who log in to the web desk (created by `python -m bot staff`, never by default)."""

from __future__ import annotations

from bot.staff.cli import add_commands
from kernel.feature import Feature


def feature() -> Feature:
    """The staff accounts' part of the assistant: the `python -m bot staff ...` commands."""
    return Feature(name="staff", cli=add_commands)


__all__ = ["feature"]
