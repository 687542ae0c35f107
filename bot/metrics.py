"""Prometheus metrics at `GET /metrics`: turns, their latency, NLU confidence, hand-off cases, queues, deliveries.

One registry per server (no process-wide state). Turns and NLU confidence are counted by wrappers around
the pipeline and the interpreter; queue depths and cases are read from the database at each scrape, so
they hold for every process sharing it; deliveries and 429 answers come from the channels' senders.
Under `run --workers N` the supervisor sets PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess
mode: each process writes its counters and histograms to files there), and a scrape, whichever worker
answers it, sums the turns, latencies and confidences of all of them; deliveries stay the answering
process's own.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlalchemy.exc import SQLAlchemyError

from bot.broadcast.models import CLAIMED as BROADCAST_SENDING
from bot.broadcast.models import PENDING as BROADCAST_PENDING
from bot.broadcast.models import Delivery
from bot.handoff.models import PENDING as OUTBOX_PENDING
from bot.handoff.models import Case, Outbox
from bot.replies import PULL
from bot.storage.outbox import REPLY
from bot.storage.store import Store
from kernel.deliveries import DeliveryCount
from kernel.messages import Incoming, TurnResult
from kernel.ports import Turns
from nlu.types import Interpreter, Parse

log = logging.getLogger(__name__)
WEB_REPLY = "web_reply"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)


class Metrics:
    """The server's metrics and their registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.turns = Counter("assistant_turns", "Turns by channel and outcome (answered, duplicate, stale, "
                             "forgotten, error)", ["channel", "outcome"], registry=r)
        self.turn_seconds = Histogram("assistant_turn_seconds", "Time to process one turn, by channel",
                                      ["channel"], buckets=LATENCY_BUCKETS, registry=r)
        self.confidence = Histogram("assistant_nlu_confidence", "Confidence of the NLU's best intent per parse",
                                    buckets=CONFIDENCE_BUCKETS, registry=r)
        # Read from the database at each scrape: plain values, not Gauges (a multiprocess Gauge cannot drop a
        # label that has no rows left, and these are the same whichever process reads them).
        self.database = DatabaseGauges((
            ("assistant_handoff_cases", "Hand-off cases by status", "status"),
            ("assistant_outbox_pending", "Outbox messages waiting, by audience (team, resident: a team's "
             "answer; reply: a turn's own reply not yet delivered; web_reply: one the chat page has not "
             "acknowledged yet)", "audience"),
            ("assistant_broadcast_queue", "Announcement deliveries waiting or being sent, by channel", "channel")))
        r.register(self.database)
        self.senders = SenderCollector()
        r.register(self.senders)
        # prometheus-client's own variable (it reads it at import to write values to files): set for workers.
        self.shared_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None

    def wrap_turns(self, turns: Turns) -> MeteredTurns:
        return MeteredTurns(turns, self)

    def wrap_interpreter(self, interpreter: Interpreter) -> MeteredInterpreter:
        return MeteredInterpreter(interpreter, self)

    async def refresh(self, store: Store) -> None:
        """Read the depths and case counts from the database (skipped with a warning when it is down)."""
        try:
            async with store.session() as s:
                cases = (await s.execute(select(Case.status, func.count()).group_by(Case.status))).all()
                # A web chat's turn replies wait for the page's acknowledgement (a closed page's, for a day):
                # counted apart, so `reply` stays the push channels' backlog.
                audience = case(((Outbox.kind == REPLY) & Outbox.channel.in_(PULL), WEB_REPLY),
                                (Outbox.kind == REPLY, REPLY), else_=Outbox.audience)
                outbox = (await s.execute(select(audience, func.count()).where(Outbox.status == OUTBOX_PENDING)
                                          .group_by(audience))).all()
                queue = (await s.execute(select(Delivery.channel, func.count())
                                         .where(Delivery.status.in_((BROADCAST_PENDING, BROADCAST_SENDING)))
                                         .group_by(Delivery.channel))).all()
        except (SQLAlchemyError, OSError) as exc:
            log.warning("metrics: database not readable (%s)", type(exc).__name__)
            return
        self.database.values = {  # a status with no rows left has no line
            name: [(str(label), float(count)) for label, count in rows]
            for name, rows in (("assistant_handoff_cases", cases), ("assistant_outbox_pending", outbox),
                               ("assistant_broadcast_queue", queue))}

    def exposition(self) -> bytes:
        if self.shared_dir is None:
            return generate_latest(self.registry)
        return generate_latest(_Workers(self.shared_dir, self.registry))


class MeteredTurns:
    """The pipeline with each turn counted by outcome and timed (the Turns port)."""

    def __init__(self, turns: Turns, metrics: Metrics) -> None:
        self.inner = turns
        self.metrics = metrics

    async def handle(self, incoming: Incoming) -> TurnResult:
        channel = incoming.who.channel
        started = time.perf_counter()
        try:
            result = await self.inner.handle(incoming)
        except BaseException:
            self.metrics.turns.labels(channel, "error").inc()
            raise
        self.metrics.turn_seconds.labels(channel).observe(time.perf_counter() - started)
        outcome = ("duplicate" if result.duplicate else "stale" if result.stale
                   else "forgotten" if result.forgotten else "answered")
        self.metrics.turns.labels(channel, outcome).inc()
        return result

    def __getattr__(self, name: str) -> Any:  # what else a channel reads of the pipeline
        return getattr(self.inner, name)


class MeteredInterpreter:
    """An interpreter whose parses' confidence is observed."""

    def __init__(self, interpreter: Interpreter, metrics: Metrics) -> None:
        self.inner = interpreter
        self.metrics = metrics

    async def parse(self, text: str) -> Parse:
        parse = await self.inner.parse(text)
        self.metrics.confidence.observe(parse.confidence)
        return parse

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class DatabaseGauges(Collector):
    """Gauges whose values the last `Metrics.refresh` read from the database: (name, help, label) each."""

    def __init__(self, gauges: Sequence[tuple[str, str, str]]) -> None:
        self.gauges = tuple(gauges)
        self.values: dict[str, list[tuple[str, float]]] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, text, label in self.gauges:
            family = GaugeMetricFamily(name, text, labels=[label])
            for value, count in self.values.get(name, ()):
                family.add_metric([value], count)
            yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


class SenderCollector(Collector):
    """Deliveries and 429 answers by platform, read from the channels' senders at each scrape."""

    def __init__(self) -> None:
        self.senders: Sequence[object] = ()

    def collect(self) -> Iterator[CounterMetricFamily]:
        deliveries = CounterMetricFamily("assistant_deliveries", "Messages sent to a platform, by result",
                                         labels=["platform", "result"])
        limited = CounterMetricFamily("assistant_rate_limited", "429 (flood limit) answers by platform",
                                      labels=["platform"])
        for sender in self.senders:
            count = getattr(sender, "deliveries", None)
            if not isinstance(count, DeliveryCount):
                continue
            deliveries.add_metric([count.platform, "delivered"], count.delivered)
            deliveries.add_metric([count.platform, "failed"], count.failed)
            limited.add_metric([count.platform], count.rate_limited)
        yield deliveries
        yield limited

    def describe(self) -> Iterator[CounterMetricFamily]:
        return iter(())


# Read by the answering process for itself (from the database, or its senders), never summed over workers.
_OWN = frozenset({"assistant_handoff_cases", "assistant_outbox_pending", "assistant_broadcast_queue",
                  "assistant_deliveries", "assistant_rate_limited"})


class _Workers:
    """What a scrape shows under `run --workers N`: every worker's turns, latencies and confidences summed
    from the shared files, with the database's figures and the deliveries as this process reads them."""

    def __init__(self, path: str, own: CollectorRegistry) -> None:
        self.path = path
        self.own = own

    def collect(self) -> Iterable[Metric]:
        for family in MultiProcessCollector(None, self.path).collect():
            if family.name not in _OWN:
                yield family
        for family in self.own.collect():
            if family.name in _OWN:
                yield family


def attach_metrics(app: web.Application, metrics: Metrics, store: Store, channels: Sequence[object] = ()) -> None:
    """Serve `GET /metrics`, counting the deliveries of every channel whose sender keeps a DeliveryCount."""
    metrics.senders.senders = [sender for sender in (getattr(ch, "sender", None) for ch in channels) if sender]

    async def scrape(request: web.Request) -> web.Response:
        await metrics.refresh(store)
        return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", scrape)


__all__ = ["Metrics", "MeteredTurns", "MeteredInterpreter", "attach_metrics"]
