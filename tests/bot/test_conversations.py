"""The conversation suite (issue 16): every scenario of tests/conversations/*.yml played over the web chat's
HTTP API on a fresh SQLite database with the real trained model. Scenarios whose behaviour is not built yet
are listed in tests/conversations/known_failing.txt and expected to fail (strict: one that starts passing
fails the suite until its line is removed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.converse import load_scenarios
from bot.converse_run import SUITE, play_one
from dialogues.flows import Library
from kernel.settings import Settings

SCENARIOS = load_scenarios(SUITE)


def _known_failing() -> dict[str, str]:
    known: dict[str, str] = {}
    for line in (SUITE / "known_failing.txt").read_text(encoding="utf-8").splitlines():
        ident = line.split("#", 1)[0].strip()
        if ident:
            known[ident] = line.split("#", 1)[1].strip() if "#" in line else ""
    return known


KNOWN_FAILING = _known_failing()


def _param(scenario):  # type: ignore[no-untyped-def]
    marks = []
    if scenario.id in KNOWN_FAILING:
        marks.append(pytest.mark.xfail(strict=True, reason=f"issue 16, not built yet: {scenario.bullet}"))
    return pytest.param(scenario, id=scenario.id, marks=marks)


def test_the_suite_is_large_and_covers_every_style() -> None:
    assert len(SCENARIOS) >= 120
    assert {s.style for s in SCENARIOS} >= {"vi", "plain", "teen", "en", "long"}
    assert not set(KNOWN_FAILING) - {s.id for s in SCENARIOS}, "known_failing.txt names unknown scenarios"


@pytest.mark.slow  # 170 scenarios end to end over HTTP, each on its own database (a copy of the migrated template)
@pytest.mark.parametrize("scenario", [_param(s) for s in SCENARIOS])
async def test_conversation(scenario, settings: Settings, interpreter,  # type: ignore[no-untyped-def]
                            project_library: Library) -> None:
    outcome = await play_one(scenario, settings, interpreter, project_library, database_url=settings.database_url)
    assert outcome.ok, "\n".join([*outcome.failures, "transcript:", *outcome.transcript])


def test_scenario_files_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    from bot.converse import ScenarioError

    bad = tmp_path / "bad.yml"
    bad.write_text("theme: x\nscenarios:\n  - id: a\n    turns:\n      - say: hi\n        press: Xong\n")
    with pytest.raises(ScenarioError, match="bad.yml: a, turn 1: exactly one of say / press / tap"):
        load_scenarios(bad)
    bad.write_text("theme: x\nscenarios:\n  - id: a\n    turns: [{say: hi, expect: {flows: x}}]\n")
    with pytest.raises(ScenarioError, match="unknown key"):
        load_scenarios(bad)


async def test_the_runner_catches_each_kind_of_failure() -> None:
    """The checks themselves: a scripted web chat that answers badly fails on every count it breaks."""
    from bot.converse import _scenario, play

    scenario = _scenario({
        "id": "checks", "secrets": ["Lan@1960x"],
        "turns": [{"say": "mật khẩu là Lan@1960x", "expect": {"flow": "vneid_install", "step": 2,
                                                             "says": [["1900 0368"]], "not_says": ["sẽ giúp bạn"]}},
                  {"press": "Xong rồi"}]}, "t", "inline.yml")
    answer = {"replies": [{"text": "Tổ sẽ giúp bạn.", "buttons": []}],
              "state": {"intent": None, "flow": None, "step": None, "steps": None, "language": "vi"}}

    async def post(body):  # type: ignore[no-untyped-def]
        return answer

    async def stored() -> list[str]:
        return ["mật khẩu là Lan@1960x"]

    outcome = await play(scenario, post, stored, user="u")
    joined = "\n".join(outcome.failures)
    for expected in ("guide None, expected 'vneid_install'", "step None, expected 2", "does not say '1900 0368'",
                     "says 'sẽ giúp bạn'", "no way on", "no button labelled 'Xong rồi'", "secret 'Lan@1960x'"):
        assert expected in joined, joined
    assert not outcome.ok
