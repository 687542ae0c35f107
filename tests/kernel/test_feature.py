"""The feature contract: one table per kind of claim, a second claim refused; staff actions routed."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from kernel.feature import Feature, FeatureConflict, StaffAction, StaffRouter, claims
from kernel.messages import Reply


def action(text: str) -> StaffAction:
    return StaffAction(desk="test", place="-100", thread=None, user_id="7", user_name="Lan", text=text)


async def test_a_second_claim_of_a_staff_command_or_button_names_both_features() -> None:
    async def handler(a: StaffAction) -> Sequence[Reply] | None:
        return []

    one = Feature("handoff", staff_commands={"cases": handler}, staff_buttons={"esc": handler})
    other = Feature("broadcast", staff_commands={"announce": handler}, staff_buttons={"esc": handler})
    with pytest.raises(FeatureConflict, match="staff button prefix 'esc' is claimed by both handoff and broadcast"):
        StaffRouter.of([one, other])
    assert set(claims([one, other], lambda f: f.staff_commands, "staff command")) == {"cases", "announce"}


async def test_the_router_gives_each_action_to_its_handler_and_messages_in_order() -> None:
    seen: list[str] = []

    async def cases(a: StaffAction) -> Sequence[Reply] | None:
        seen.append(f"cases {a.args}")
        return [Reply("2 open")]

    async def button(a: StaffAction) -> Sequence[Reply] | None:
        seen.append(f"button {a.text}")
        return []

    async def not_mine(a: StaffAction) -> Sequence[Reply] | None:
        seen.append("first")
        return None

    async def mine(a: StaffAction) -> Sequence[Reply] | None:
        seen.append("second")
        return []

    router = StaffRouter.of([Feature("a", staff_commands={"cases": cases}, staff_messages=not_mine),
                             Feature("b", staff_buttons={"esc": button}, staff_messages=mine)])
    assert await router.command("CASES", action("all")) == [Reply("2 open")]
    assert await router.command("unknown", action("")) is None
    assert await router.button(action("esc:claim:3")) == []
    assert await router.button(action("bcast:send:1")) is None
    assert await router.message(action("hello")) == []
    assert seen == ["cases ('all',)", "button esc:claim:3", "first", "second"]
