"""What team members do at a staff desk (any desk: Telegram groups, the web desk), as the hand-off
feature's staff handlers on kernel.feature.StaffAction.

Commands: /cases (open cases), /case N (one case with its messages), /reassign N TEAM. Buttons on the
case card: `esc:claim:N`, `esc:resolve:N`, `esc:back:N` (well under Telegram's 64 bytes). Any other
message in a case's thread, or a reply to its card or to a relayed message, goes to the resident.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.handoff.cases import Escalation, Staff
from kernel.edge import ascii_id, ascii_int
from kernel.feature import StaffAction
from kernel.messages import Reply

BUTTON_PREFIX = "esc"
COMMANDS = ("cases", "case", "reassign")
# Where a staff message came from, kept with it so a redelivered one is relayed once. Telegram's were
# "tg:<chat>:<message>" before desks had names; kept so, for the rows already stored.
SOURCE_PREFIX = {"telegram": "tg"}


class TeamDesk:
    """The hand-off's staff handlers, routed to by every desk."""

    def __init__(self, escalation: Escalation) -> None:
        self.escalation = escalation

    async def on_button(self, action: StaffAction) -> Sequence[Reply] | None:
        """`esc:claim|resolve|back:N` pressed on a case card."""
        parts = action.text.split(":")
        ops = {"claim": self.escalation.claim, "resolve": self.escalation.resolve, "back": self.escalation.hand_back}
        case_id = ascii_int(parts[2]) if len(parts) == 3 else None
        if case_id is None or parts[1] not in ops:
            return None
        outcome = await ops[parts[1]](case_id, staff(action))
        if action.answer is not None:
            await action.answer(outcome.text[:200] or None, not outcome.ok)
        return []

    async def on_message(self, action: StaffAction) -> Sequence[Reply] | None:
        """A message in a case's thread, or a reply to its card or to a relayed message, goes to the resident."""
        chat_id = ascii_id(action.place)
        if chat_id is None:
            return None
        case_id = await self.escalation.case_for_message(
            chat_id, ascii_int(action.thread) if action.thread else None,
            ascii_int(action.reply_to) if action.reply_to else None)
        if case_id is None:
            return None  # the team talking among themselves
        source = f"{SOURCE_PREFIX.get(action.desk, action.desk)}:{action.place}:{action.message_id}"
        outcome = await self.escalation.reply(case_id, staff(action), action.text, source_id=source)
        return [] if outcome.ok else [Reply(outcome.text)]

    async def on_cases(self, action: StaffAction) -> Sequence[Reply] | None:
        return [Reply((await self.escalation.list_open(staff(action))).text)]

    async def on_case(self, action: StaffAction) -> Sequence[Reply] | None:
        case_id = ascii_int(action.args[0].lstrip("#")) if len(action.args) == 1 else None
        if case_id is None:
            return [Reply(self.escalation.tr("Cách dùng: /case <số yêu cầu>"))]
        return [Reply((await self.escalation.show(case_id, staff(action))).text)]

    async def on_reassign(self, action: StaffAction) -> Sequence[Reply] | None:
        case_id = ascii_int(action.args[0].lstrip("#")) if len(action.args) == 2 else None
        if case_id is None:
            return [Reply(self.escalation.tr("Cách dùng: /reassign <số yêu cầu> <mã tổ>"))]
        return [Reply((await self.escalation.reassign(case_id, staff(action), action.args[1])).text)]


def staff(action: StaffAction) -> Staff:
    """The member who acted. Teams list members by Telegram user id; an id that is not a number matches no
    member, so it may read nothing and change nothing."""
    return Staff(ascii_int(action.user_id), action.user_name or action.user_id)


__all__ = ["TeamDesk", "BUTTON_PREFIX", "COMMANDS", "staff"]
