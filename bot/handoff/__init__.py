"""Hand-off to the village's community tech team (Tổ công nghệ số cộng đồng), with nothing lost.

`install(services)` wires it into the pipeline: the Handoff effect opens a case routed by village
(teams.yml), the resident's typed messages are relayed to the team while the case is active, and
"case:" buttons (feedback, end) are served. Team members work from their Telegram group
(telegram_team.py): case card with claim/resolve/back buttons, a forum topic per case or replies to
the card, /cases, /case N, /reassign N TEAM. Delivery both ways goes through a durable outbox
(outbox.py); reminders and escalation to the fallback team are computed from the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.handoff.cases import PREFIX, Escalation, Outcome, Staff
from bot.handoff.outbox import OutboxWorker, TeamSender
from kernel import effects as fx

if TYPE_CHECKING:
    from bot.app import Services
    from bot.pipeline import TurnScope


def install(services: Services) -> tuple[Escalation, OutboxWorker]:
    """Create the hand-off service and its outbox worker and hook them into the pipeline."""
    cfg = services.settings.escalation
    escalation = Escalation(services.store, services.catalogs, services.commune, services.library)
    worker = OutboxWorker(services.store, escalation, services.senders, lease=timedelta(seconds=cfg.lease_seconds),
                          poll_seconds=cfg.poll_seconds, tick_seconds=cfg.reminder_check_seconds)
    pipeline = services.pipeline
    without_team = pipeline.handlers[fx.Handoff]

    async def on_handoff(scope: TurnScope, effect: fx.Handoff) -> list[Any]:
        return await escalation.open_case(scope, effect, lambda: without_team(scope, effect))

    pipeline.on(fx.Handoff, on_handoff)
    pipeline.payload_hooks[PREFIX] = escalation.on_payload
    pipeline.interceptors.append(escalation.relay)
    services.senders.add_mailbox(worker)
    return escalation, worker


async def start(services: Services, channels: Sequence[object] = ()) -> None:
    """Start delivering, once the channels are up: their senders reach residents, the Telegram channel's
    bot posts into team groups and its staff hooks serve the members."""
    worker: OutboxWorker | None = services.outbox
    if worker is None or services.escalation is None:
        return
    for channel in channels:
        sender = getattr(channel, "sender", None)
        if sender is not None and getattr(sender, "channel", None):
            services.senders.register(sender)
    # Found by its sender's name: python-telegram-bot is imported only when the channel runs.
    telegram: Any = next((c for c in channels if getattr(getattr(c, "sender", None), "channel", "") == "telegram"),
                         None)
    if telegram is not None:
        from bot.handoff.telegram_team import TeamDesk, TelegramTeamSender

        TeamDesk(services.escalation).attach(telegram)
        worker.team_sender = TelegramTeamSender(telegram.bot, telegram.settings.group_per_minute)
    worker.start()
    services.stack.push_async_callback(worker.stop)


__all__ = ["install", "start", "Escalation", "OutboxWorker", "TeamSender", "Staff", "Outcome"]
