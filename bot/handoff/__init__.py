"""Hand-off to the village's community tech team (Tổ công nghệ số cộng đồng), with nothing lost.

`feature(escalation, outbox)` declares what the hand-off plugs in (kernel.feature.Feature): the
Handoff effect opens a case routed by the effect's village (teams.yml); while a case is active the
resident's typed messages are relayed to the team (the interceptor); "case:" buttons (feedback, end)
are served; team members work at a staff desk (team_desk.py: card buttons, messages in the case's
thread, /cases, /case N, /reassign N TEAM). Delivery both ways goes through a durable outbox
(outbox.py), which is also the web chat's mailbox and the feature's worker; reminders and
escalation to the fallback team are computed from the database.
"""

from __future__ import annotations

from datetime import timedelta

from bot.desks import DeskRegistry
from bot.handoff.cases import PREFIX, Escalation, Outcome, Staff
from bot.handoff.files import CaseFiles
from bot.handoff.outbox import OutboxWorker
from bot.handoff.team_desk import BUTTON_PREFIX, TeamDesk
from bot.handoff.uploads import ResidentFiles
from bot.pipeline import TurnScope, without_team
from bot.senders import SenderRegistry
from bot.storage.store import Store
from dialogues.flows import Library
from kernel import effects as fx
from kernel.commune import CommuneSource
from kernel.feature import Feature
from kernel.i18n import Catalogs
from kernel.messages import MediaFile, Reply
from kernel.settings import EscalationSettings


def build(store: Store, catalogs: Catalogs, commune: CommuneSource, library: Library, senders: SenderRegistry,
          desks: DeskRegistry, settings: EscalationSettings) -> tuple[Escalation, OutboxWorker]:
    """The hand-off service and its outbox worker (delivering through `senders` and `desks` once filled)."""
    escalation = Escalation(store, catalogs, commune, library,
                            files=CaseFiles(settings.files_dir, timedelta(days=settings.files_keep_days)))
    outbox = OutboxWorker(store, escalation, senders, desks, lease=timedelta(seconds=settings.lease_seconds),
                          poll_seconds=settings.poll_seconds, tick_seconds=settings.reminder_check_seconds)
    return escalation, outbox


def feature(escalation: Escalation, outbox: OutboxWorker) -> Feature:
    """Everything the hand-off plugs into the assistant."""
    team = TeamDesk(escalation)

    async def on_handoff(scope: TurnScope, effect: fx.Handoff) -> list[Reply]:
        async def no_team() -> list[Reply]:
            return without_team(scope, escalation.commune, effect)
        return await escalation.open_case(scope, effect, no_team)

    async def on_media(scope: TurnScope, media: MediaFile) -> list[Reply]:
        if escalation.files is None:  # no folder for case files: the "text only" answer
            return [Reply(scope.tr("Trợ lý chỉ đọc được tin nhắn chữ. Bạn nhắn câu hỏi bằng chữ hoặc chọn chủ đề "
                                   "nhé."))]
        return await ResidentFiles(escalation, escalation.files).on_media(scope, media)

    return Feature(
        name="handoff",
        effects={fx.Handoff: on_handoff},
        payloads={PREFIX: escalation.on_payload},
        interceptor=escalation.relay,
        media=on_media,
        staff_commands={"cases": team.on_cases, "case": team.on_case, "reassign": team.on_reassign},
        staff_buttons={BUTTON_PREFIX: team.on_button},
        staff_messages=team.on_message,
        mailboxes=(outbox,),
        workers=(outbox,),
    )


__all__ = ["build", "feature", "Escalation", "OutboxWorker", "Staff", "Outcome"]
