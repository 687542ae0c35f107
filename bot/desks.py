"""The staff desks the channels bring (Telegram staff groups; a web desk), and the features' staff router.

The composition root builds the features, then the router from them (kernel.feature.StaffRouter),
and gives it to the registry once. The server registers each channel's desk before anything is
received; registering hands the desk the router. Features post through `get(name)`: the hand-off
outbox to the desk an outbox row names, broadcasts' reports to the desk an announcement came from.
"""

from __future__ import annotations

from collections.abc import Sequence

from kernel.feature import StaffRouter
from kernel.ports import StaffDesk


class DeskRegistry:
    """Every staff desk by name, each serving the one router."""

    def __init__(self) -> None:
        self._router: StaffRouter | None = None
        self._desks: dict[str, StaffDesk] = {}

    def route_to(self, router: StaffRouter) -> None:
        """The features' router (once: built from the features, which hold this registry)."""
        if self._router is not None:
            raise RuntimeError("the staff router is set once, at start-up")
        self._router = router

    def register(self, desk: StaffDesk) -> None:
        """Add a desk and route what staff do there to the features (before it receives anything)."""
        if self._router is None:
            raise RuntimeError("a desk registered before the features' router was built")
        desk.serve(self._router)
        self._desks[desk.name] = desk

    def get(self, name: str) -> StaffDesk | None:
        return self._desks.get(name)

    def names(self) -> Sequence[str]:
        return tuple(self._desks)
