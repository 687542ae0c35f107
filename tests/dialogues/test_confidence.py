"""Confidence handling: unsure -> a clarifying question with the two likely topics; repeated
misunderstanding -> a person is offered. The engine is pure, so parses are given to it directly;
the last test goes through the real model and pipeline."""

from __future__ import annotations

from dialogues.engine import Context, Pressed, Resident, Said, advance
from dialogues.state import DialogueState
from dialogues.turn import Outcome
from kernel.commune import load_commune
from kernel.i18n import Catalogs
from kernel.settings import Settings
from nlu.interpreter import EmbeddedInterpreter
from nlu.types import Parse
from tests.fakes.driver import Conversation, assistant, payloads
from tests.fakes.services import project_library


def _ctx(settings: Settings) -> Context:
    return Context(library=project_library(),
                   catalogs=Catalogs(settings.locales_dir, settings.languages, settings.default_language),
                   commune=load_commune(settings.commune_dir), resident=Resident("vi"))


def _said(*ranking: tuple[str, float]) -> Said:
    return Said(Parse("…", ranking[0][0], ranking[0][1], tuple(ranking)))


def _buttons(outcome: Outcome) -> list[str]:
    return [b.payload for r in outcome.replies for b in r.flat_buttons()]


def test_a_confident_task_intent_starts_its_guide(settings: Settings) -> None:
    out = advance(_ctx(settings), DialogueState(), _said(("vneid_register", 0.9), ("vneid_install", 0.05)))
    assert out.state.flow == "vneid_register" and out.state.step is not None
    assert out.state.misunderstood == 0


def test_low_confidence_asks_which_of_the_two_was_meant(settings: Settings) -> None:
    ctx = _ctx(settings)
    out = advance(ctx, DialogueState(), _said(("vneid_register", 0.40), ("vneid_level2", 0.30), ("greet", 0.1)))
    assert out.state.flow is None
    assert "intent:vneid_register" in _buttons(out) and "intent:vneid_level2" in _buttons(out)
    assert "intent:greet" not in _buttons(out)
    assert any(p == "human" or p.startswith("human") for p in _buttons(out))
    chosen = advance(ctx, out.state, Pressed("intent:vneid_level2"))
    assert chosen.state.flow == "vneid_level2"


def test_two_close_intents_are_clarified_even_when_confident(settings: Settings) -> None:
    out = advance(_ctx(settings), DialogueState(), _said(("pay_utility_bill", 0.50), ("pay_public_fee", 0.46)))
    assert out.state.flow is None
    assert {"intent:pay_utility_bill", "intent:pay_public_fee"} <= set(_buttons(out))


def test_repeated_misunderstanding_offers_a_person(settings: Settings) -> None:
    ctx = _ctx(settings)
    state = DialogueState()
    offered = []
    for _ in range(settings.nlu.max_misunderstandings + 1):
        out = advance(ctx, state, _said(("vneid_register", 0.30), ("portal_login", 0.28)))
        state = out.state
        offered.append("human" in _buttons(out) and "intent:vneid_register" not in _buttons(out))
    assert offered == [False] * settings.nlu.max_misunderstandings + [True]
    assert any(getattr(e, "kind", None) == "misunderstood" for e in out.effects)


async def test_gibberish_through_the_real_model_ends_with_a_person_offered(
        settings: Settings, interpreter: EmbeddedInterpreter) -> None:
    async with assistant(settings, interpreter) as services:
        talk = Conversation(services, "gibberish")
        answers = [await talk.say("qwzx plokm brrtz") for _ in range(settings.nlu.max_misunderstandings + 1)]
        assert talk.last is not None and talk.last.state.intent == "out_of_scope"
        assert "human" not in payloads(answers[0])
        assert "human" in payloads(answers[-1])
