"""The commune's dashboard on the web server: its API and page (integrations.web.dashboard_api) on bot.stats'
funnel and bot.staff.figures."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from bot.staff import figures
from bot.stats import FlowFunnel, ScopeError, flow_funnel, funnel_table, stats_scope
from bot.storage.store import Store
from dialogues.flows import Library
from integrations.web.dashboard_api import BadQuery, NotFound, add_dashboard_routes
from kernel.commune import CommuneSource, place_name
from kernel.i18n import Catalogs, Translator

DEFAULT_DAYS = 30  # the period the page opens on: the last 30 days, today included
STEP_LABEL = 48  # characters of a step's text shown as its name

if TYPE_CHECKING:
    from bot.app import Services


class DashboardFigures:
    """The dashboard's figures, the funnel computed as `python -m bot stats` computes it."""

    def __init__(self, store: Store, library: Library, commune: CommuneSource, catalogs: Catalogs | None = None
                 ) -> None:
        self.store, self.library, self.commune, self.catalogs = store, library, commune, catalogs

    def _tr(self, language: str | None) -> Translator | None:
        return self.catalogs.get(language) if self.catalogs is not None else None

    async def funnel(self, flow: str, since: str, until: str, village: str | None) -> dict[str, object]:
        if self.library.get(flow) is None:
            raise NotFound(flow)
        try:
            scope = stats_scope(self.commune.current(), since, until, village)
        except ScopeError as exc:
            raise BadQuery(str(exc)) from None
        return (await flow_funnel(self.store, self.library, flow, scope)).as_json()

    async def overview(self, since: str | None, until: str | None, village: str | None,
                       language: str | None = None) -> dict[str, object]:
        """Every table of the page for the period (default: the last 30 days in the commune's time zone)."""
        commune = self.commune.current()
        if since is None or until is None:
            today = datetime.now(commune.teams.timezone).date()
            since, until = (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(), today.isoformat()
        try:
            scope = stats_scope(commune, since, until, village)
        except ScopeError as exc:
            raise BadQuery(str(exc)) from None
        funnels, reach, handoff, unanswered = await asyncio.gather(
            funnel_table(self.store, self.library, scope, stops=False), figures.reach(self.store, scope),
            figures.handoff(self.store, scope), figures.unanswered(self.store, scope))
        tr = self._tr(language)
        names = {v.code: (place_name(tr, v) if tr else v.label) for v in commune.villages}
        guides = [self._guide(f, tr) for f in sorted(funnels, key=lambda f: (-f.started, f.flow))]
        stuck = [{"flow": g["flow"], "title": g["title"], "step": st["step"], "label": st["label"],
                  "stuck": st["stuck"], "reached": st["reached"]}
                 for g in guides for st in g["steps"] if st["stuck"]]  # type: ignore[attr-defined]
        stuck.sort(key=lambda row: (-int(row["stuck"]), -int(row["reached"]), str(row["flow"])))
        for row in (*reach["reach"], *handoff):
            row["place"] = names.get(str(row["village"]), str(row["village"]))
        return {"from": since, "to": until, "village": village,
                "villages": [{"code": code, "name": name} for code, name in names.items()],
                "funnels": guides, "stuck": stuck, **reach, "handoff": handoff, "unanswered": unanswered}

    def _guide(self, f: FlowFunnel, tr: Translator | None) -> dict[str, object]:
        flow = self.library.get(f.flow)
        texts = {st.id: st.text for st in flow.steps} if flow else {}
        steps = []
        for n, st in enumerate(f.steps, 1):
            text = tr(texts[st.step]) if tr and st.step in texts else texts.get(st.step, st.step)
            text = re.sub(r"\s+", " ", text)
            short = text if len(text) <= STEP_LABEL else text[:STEP_LABEL - 1].rstrip() + "…"
            steps.append({"step": n, "id": st.step, "label": f"{n}. {short}", "reached": st.reached,
                          "stuck": st.stuck})
        return {"flow": f.flow, "title": tr(f.title) if tr else f.title, "started": f.started,
                "completed": f.completed, "handoff": f.handoff, "cancelled": f.cancelled, "steps": steps}

    async def mark_handled(self, key: str, through: datetime, who: str) -> None:
        await figures.mark_handled(self.store, key, through, who)


def attach_dashboard(app: web.Application, services: Services) -> DashboardFigures:
    """Add the dashboard's page and API to the web app (after attach_desk: its login guards /staff/api/)."""
    figures_ = DashboardFigures(services.store, services.library, services.commune, services.catalogs)
    add_dashboard_routes(app, figures_, services.catalogs)
    return figures_
