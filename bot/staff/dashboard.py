"""The commune's dashboard on the web server: its API (integrations.web.dashboard_api) on bot.stats' figures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from bot.stats import ScopeError, flow_funnel, stats_scope
from bot.storage.store import Store
from dialogues.flows import Library
from integrations.web.dashboard_api import BadQuery, NotFound, add_dashboard_routes
from kernel.commune import CommuneSource

if TYPE_CHECKING:
    from bot.app import Services


class DashboardFigures:
    """The dashboard's figures, computed as `python -m bot stats` computes them."""

    def __init__(self, store: Store, library: Library, commune: CommuneSource) -> None:
        self.store, self.library, self.commune = store, library, commune

    async def funnel(self, flow: str, since: str, until: str, village: str | None) -> dict[str, object]:
        if self.library.get(flow) is None:
            raise NotFound(flow)
        try:
            scope = stats_scope(self.commune.current(), since, until, village)
        except ScopeError as exc:
            raise BadQuery(str(exc)) from None
        return (await flow_funnel(self.store, self.library, flow, scope)).as_json()


def attach_dashboard(app: web.Application, services: Services) -> DashboardFigures:
    """Add the dashboard's API to the web app (after attach_desk: its login guards /staff/api/)."""
    figures = DashboardFigures(services.store, services.library, services.commune)
    add_dashboard_routes(app, figures)
    return figures
