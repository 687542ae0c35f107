"""The saved conversation state: the same text as before (positions in buttons already sent still match)."""

from __future__ import annotations

import json
from dataclasses import asdict

from dialogues.state import DialogueState


def test_the_saved_text_and_position_are_those_of_every_field_in_order() -> None:
    state = DialogueState("vneid_install", "step_2", 1, 2, "village_for_handoff", ("step_1",), "2026-12-07",
                          ("bank/step_1",), ("done", "stuck"))
    assert state.to_json() == json.dumps(asdict(state), ensure_ascii=False)
    assert DialogueState.from_json(state.to_json()) == state
    assert state.position() == DialogueState.from_json(state.to_json()).position() != DialogueState().position()
    assert DialogueState().to_json() == json.dumps(asdict(DialogueState()))
