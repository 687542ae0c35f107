"""The composition root: features built once, the pipeline's tables built from them, conflicts refused."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import pytest

from bot.app import FEATURE_COMMANDS, Services, command_line
from bot.pipeline import Pipeline, TurnScope
from kernel import effects as fx
from kernel.feature import Feature, FeatureConflict
from kernel.messages import Reply


async def reply(scope: TurnScope, payload: str) -> list[Reply]:
    return []


async def effect(scope: TurnScope, e: object) -> list[Reply]:
    return []


def pipeline_with(services: Services, features: Sequence[Feature]) -> Pipeline:
    return Pipeline(services.store, services.interpreter, services.library, services.catalogs, services.commune,
                    features=features)


async def test_two_features_claiming_one_payload_prefix_or_effect_stop_start_up(services: Services) -> None:
    with pytest.raises(FeatureConflict, match="payload prefix 'case' is claimed by both handoff and other"):
        pipeline_with(services, [*services.features, Feature("other", payloads={"case": reply})])
    # The pipeline's own effects count as claims too.
    with pytest.raises(FeatureConflict, match="effect .*SetLanguage.* is claimed by both pipeline and other"):
        pipeline_with(services, [Feature("other", effects={fx.SetLanguage: effect})])


async def test_the_built_pipeline_serves_every_feature_and_nothing_is_added_later(services: Services) -> None:
    names = [f.name for f in services.features]
    assert names == ["handoff", "broadcast", "staff"]
    assert set(services.pipeline.payloads) == {"case"}
    assert services.pipeline.handlers[fx.Handoff] is services.features[0].effects[fx.Handoff]
    assert services.pipeline.interceptors == (services.escalation.relay,)
    assert not hasattr(services.pipeline, "on") and not hasattr(services.pipeline, "payload_hooks")
    # Without features the pipeline still answers a hand-off (how to reach the team in person).
    assert fx.Handoff in pipeline_with(services, []).handlers


async def test_every_features_subcommands_are_on_the_command_line(services: Services) -> None:
    clis = [f.cli for f in services.features if f.cli is not None]
    assert clis and all(cli in FEATURE_COMMANDS for cli in clis) and len(clis) == len(FEATURE_COMMANDS)
    parser = argparse.ArgumentParser()
    runners = command_line(parser.add_subparsers(dest="command"))
    assert set(runners) == {"broadcast", "staff"}
    assert parser.parse_args(["broadcast", "list"]).action == "list"
