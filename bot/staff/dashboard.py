"""The commune's dashboard on the web server: its API and page (integrations.web.dashboard_api) on bot.stats'
funnel and bot.staff.figures."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from bot.broadcast.web import WebAnnouncements
from bot.posters import WebPosters
from bot.staff import figures
from bot.staff.community import CommunityData
from bot.stats import FlowFunnel, ScopeError, flow_funnel, funnel_table, stats_scope
from bot.storage.store import Store
from dialogues.flows import Library
from integrations.web.announce_api import add_announce_routes
from integrations.web.community_api import add_community_routes
from integrations.web.dashboard_api import BadQuery, NotFound, add_dashboard_routes
from integrations.web.posters_api import add_poster_routes
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
                       language: str | None = None, steps: bool = False) -> dict[str, object]:
        """Every table of the page for the period (default: the last 30 days in the commune's time zone). Per
        guide the totals, and each step's label; `steps` adds each step's figures (the page asks
        /staff/api/funnel for the chosen guide's instead: the costliest figures, for one guide only)."""
        commune = self.commune.current()
        if since is None or until is None:
            today = datetime.now(commune.teams.timezone).date()
            since, until = (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(), today.isoformat()
        try:
            scope = stats_scope(commune, since, until, village)
        except ScopeError as exc:
            raise BadQuery(str(exc)) from None
        funnels, reach, handoff, unanswered, broadcasts = await asyncio.gather(
            # The guides by name: the index is then read per guide and kind for the period, not whole.
            funnel_table(self.store, self.library, replace(scope, flows=tuple(self.library.flows)), stops=False,
                         reached=steps),
            figures.reach(self.store, scope),
            figures.handoff(self.store, scope), figures.unanswered(self.store, scope),
            figures.broadcasts(self.store, scope))
        tr = self._tr(language)
        names = {v.code: (place_name(tr, v) if tr else v.label) for v in commune.villages}
        guides = [self._guide(f, tr, steps) for f in sorted(funnels, key=lambda f: (-f.started, f.flow))]
        stuck = [{"flow": f.flow, "title": g["title"], "step": n, "label": label, "stuck": st.stuck}
                 for f, g in zip(sorted(funnels, key=lambda f: (-f.started, f.flow)), guides, strict=True)
                 for n, (st, label) in enumerate(zip(f.steps, self._labels(f, tr), strict=True), 1) if st.stuck]
        stuck.sort(key=lambda row: (-int(str(row["stuck"])), str(row["flow"]), int(str(row["step"]))))
        for row in (*reach["reach"], *handoff):
            row["place"] = names.get(str(row["village"]), str(row["village"]))
        return {"from": since, "to": until, "village": village,
                "villages": [{"code": code, "name": name} for code, name in names.items()],
                "funnels": guides, "stuck": stuck, **reach, "handoff": handoff, "unanswered": unanswered,
                "broadcasts": broadcasts}

    def _labels(self, f: FlowFunnel, tr: Translator | None) -> list[str]:
        """"n. the step's text, shortened" for each step of the guide."""
        flow = self.library.get(f.flow)
        texts = {st.id: st.text for st in flow.steps} if flow else {}
        labels = []
        for n, st in enumerate(f.steps, 1):
            text = tr(texts[st.step]) if tr and st.step in texts else texts.get(st.step, st.step)
            text = re.sub(r"\s+", " ", text)
            labels.append(f"{n}. " + (text if len(text) <= STEP_LABEL else text[:STEP_LABEL - 1].rstrip() + "…"))
        return labels

    def _guide(self, f: FlowFunnel, tr: Translator | None, figures_: bool) -> dict[str, object]:
        steps: list[dict[str, object]] = []
        for n, (st, label) in enumerate(zip(f.steps, self._labels(f, tr), strict=True), 1):
            step: dict[str, object] = {"step": n, "id": st.step, "label": label}
            if figures_:
                step.update(reached=st.reached, stuck=st.stuck)
            steps.append(step)
        return {"flow": f.flow, "title": tr(f.title) if tr else f.title, "started": f.started,
                "completed": f.completed, "handoff": f.handoff, "cancelled": f.cancelled, "steps": steps}

    async def mark_handled(self, key: str, through: datetime, who: str) -> None:
        await figures.mark_handled(self.store, key, through, who)


def attach_dashboard(app: web.Application, services: Services) -> DashboardFigures:
    """Add the dashboard, the community data and the announcement pages and APIs to the web app (after
    attach_desk: its login guards /staff/api/)."""
    figures_ = DashboardFigures(services.store, services.library, services.commune, services.catalogs)
    add_dashboard_routes(app, figures_, services.catalogs)
    add_community_routes(app, CommunityData(services.store, services.commune, services.catalogs), services.catalogs)
    add_poster_routes(app, WebPosters(services.commune, services.catalogs))
    add_announce_routes(app, WebAnnouncements(services.store, services.commune, services.catalogs,
                                              services.settings.broadcast), services.catalogs)
    return figures_
