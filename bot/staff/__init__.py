"""Team desk accounts: staff who log in to the web desk (created by `python -m bot staff`, never by default)."""

from __future__ import annotations

from bot.staff.cli import add_commands
from bot.staff.rollups import RollupWorker
from bot.storage.store import Store
from kernel.commune import CommuneSource
from kernel.feature import Feature


def feature(store: Store, commune: CommuneSource) -> Feature:
    """The staff's part of the assistant: the `python -m bot staff ...` commands, and the worker that keeps the
    dashboard's daily roll-up up to date."""
    return Feature(name="staff", cli=add_commands, workers=(RollupWorker(store, commune),))


__all__ = ["feature"]
