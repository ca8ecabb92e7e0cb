"""A small app with rollouts of every kind, synthesized once per test session.

``Canaries`` (staging aliases of the shipped file, with policies overridden):

- summarizer/live: canary 10 % for 10 min (CodeDeploy's predefined config), with
  a declared output-token baseline, so its Regression alarm has all five terms;
- summarizer/pinned-v1 and embedder/live: canary 25 % for 7 min (one custom config);
- assistant/live: linear 20 % every 3 min (a second custom config).

``AllAtOnce`` (dev aliases, dev's all_at_once policy): no canary analysis, and
embedder/live without golden prompts, so without any hook.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import cdk_nag
from aws_cdk.assertions import Template

from bedrock_lifecycle.config import LifecycleConfig, ResolvedAlias
from bedrock_lifecycle.config.schema import RolloutPolicy
from bedrock_lifecycle.constructs.alarm_topic import AlarmTopic
from bedrock_lifecycle.constructs.model_alias import ModelAlias, alias_construct_id
from bedrock_lifecycle.constructs.rollout import Rollouts
from bedrock_lifecycle.nag import register_packs
from bedrock_lifecycle.stacks.builders import rollout_props
from bedrock_lifecycle.versions import ModelVersion
from tests.conftest import new_app

DEPLOYMENT_ARN = "arn:aws:bedrock:us-east-1:111111111111:custom-model-deployment/a1b2c3d4e5f6"
CANARY_25_7 = RolloutPolicy(strategy="canary", percent=25, interval_minutes=7)
LINEAR_20_3 = RolloutPolicy(strategy="linear", percent=20, interval_minutes=3)
OVERRIDES = {
    "summarizer/pinned-v1": CANARY_25_7,
    "embedder/live": CANARY_25_7,
    "assistant/live": LINEAR_20_3,
}


@dataclass
class RolloutApp:
    app: cdk.App
    packs: list[cdk_nag.NagPack]
    stacks: dict[str, cdk.Stack]
    rollouts: dict[str, Rollouts]
    aliases: dict[str, dict[str, ModelAlias]]
    templates: dict[str, Template]


def _stack(app: cdk.App, name: str, resolved: list[ResolvedAlias]) -> tuple:
    stack = cdk.Stack(app, name, env=cdk.Environment(account="111111111111", region="us-east-1"))
    topic = AlarmTopic(stack, "AlarmTopic")
    aliases = {}
    for spec in resolved:
        version = ModelVersion.from_spec(
            spec.family,
            spec.version_label,
            spec.version,
            kind=spec.family_kind,
            # A custom model's deployment, as the stack would make it (ARN written out).
            deployment_arn=DEPLOYMENT_ARN if spec.version.target.custom_model else None,
        )
        aliases[spec.qualified_name] = ModelAlias(
            stack,
            alias_construct_id(spec.family, spec.name),
            model_version=version,
            alias_name=spec.name,
            environment=spec.environment,
        )
    rollouts = Rollouts(
        stack,
        "Rollouts",
        rollouts=[rollout_props(aliases[spec.qualified_name], spec) for spec in resolved],
        alarm_topic=topic,
    )
    return stack, rollouts, aliases


def build_rollout_app(config: LifecycleConfig, outdir: Path) -> RolloutApp:
    app = new_app(outdir)
    packs = register_packs(app)
    staging = [
        dataclasses.replace(a, rollout=OVERRIDES.get(a.qualified_name, a.rollout))
        for a in config.aliases_for("staging")
    ]
    dev = [
        dataclasses.replace(a, evaluation=None, evaluation_file=None)
        if a.qualified_name == "embedder/live"
        else a
        for a in config.aliases_for("dev")
    ]
    stacks, rollouts, aliases = {}, {}, {}
    for name, resolved in (("Canaries", staging), ("AllAtOnce", dev)):
        stacks[name], rollouts[name], aliases[name] = _stack(app, name, resolved)
    app.synth()  # the nag packs run here: any unacknowledged finding raises
    templates = {name: Template.from_stack(stack) for name, stack in stacks.items()}
    return RolloutApp(app, packs, stacks, rollouts, aliases, templates)


_BUILT: dict[str, RolloutApp] = {}


def rollout_app_once(config: LifecycleConfig, tmp_path_factory) -> RolloutApp:
    """The rollout app, built on first use and shared by every test module of the session."""
    if "app" not in _BUILT:
        _BUILT["app"] = build_rollout_app(config, tmp_path_factory.mktemp("rollouts.out"))
    return _BUILT["app"]
