"""The shipped lifecycle.yaml: summarizer/live rolls out as a canary in staging and prod,
all at once in dev, with the file's thresholds (uses the session's one synth)."""

from __future__ import annotations

import pytest

ENVIRONMENTS = ("dev", "staging", "prod")


def resource(synthesized, env: str, construct) -> dict:
    stack = synthesized.stacks[env]
    logical = stack.resolve(construct.node.default_child.logical_id)
    return synthesized.template_json(env)["Resources"][logical]


@pytest.mark.parametrize(
    ("env", "config", "post_hook"),
    [
        ("dev", "CodeDeployDefault.LambdaAllAtOnce", False),
        ("staging", "CodeDeployDefault.LambdaCanary10Percent10Minutes", True),
        ("prod", "CodeDeployDefault.LambdaCanary10Percent10Minutes", True),
    ],
)
def test_summarizer_live_rolls_out_per_environment(synthesized, env, config, post_hook):
    stack = synthesized.stacks[env]
    rollouts = stack.rollouts
    rollout = rollouts.rollouts["summarizer/live"]
    group = resource(synthesized, env, rollout.deployment_group)["Properties"]
    assert group["DeploymentConfigName"] == config
    assert "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"]
    # Regression (5 terms: baseline_output_tokens is declared) and LambdaErrors
    assert group["AlarmConfiguration"]["Alarms"] == [
        {"Name": {"Ref": stack.resolve(alarm.node.default_child.logical_id)}}
        for alarm in (rollout.regression_alarms.regression, rollout.regression_alarms.lambda_errors)
    ]
    assert len(rollout.regression_alarms.terms) == 5
    update = resource(synthesized, env, stack.aliases["summarizer/live"].alias)["UpdatePolicy"]
    hooks = update["CodeDeployLambdaAliasUpdate"]
    assert hooks["DeploymentGroupName"] == stack.resolve(
        rollout.deployment_group.deployment_group_name
    )
    assert hooks["BeforeAllowTrafficHook"] == stack.resolve(
        rollouts.hooks.gate.function.function_name
    )
    if post_hook:
        assert hooks["AfterAllowTrafficHook"] == stack.resolve(
            rollouts.hooks.analysis.function.function_name
        )
    else:
        assert "AfterAllowTrafficHook" not in hooks


def test_prod_alarms_use_prods_thresholds(synthesized):
    alarms = synthesized.stacks["prod"].rollouts.rollouts["summarizer/live"].regression_alarms
    metrics = resource(synthesized, "prod", alarms.regression)["Properties"]["Metrics"]
    expressions = {q["Id"]: q["Expression"] for q in metrics if "Expression" in q}
    assert expressions["error_rate"].endswith("/ invocations) / 2")
    assert expressions["latency_p99"] == "latency / 12000"
    assert expressions["alias_error_rate"].endswith("/ all_invocations) / 2")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_alias_has_a_group_with_at_most_ten_alarms(synthesized, env):
    stack = synthesized.stacks[env]
    assert set(stack.rollouts.rollouts) == set(stack.aliases)
    for rollout in stack.rollouts.rollouts.values():
        group = resource(synthesized, env, rollout.deployment_group)["Properties"]
        assert 1 <= len(group["AlarmConfiguration"]["Alarms"]) <= 10
    for logical, alarm in (
        synthesized.template(env).find_resources("AWS::CloudWatch::Alarm").items()
    ):
        assert "TreatMissingData" in alarm["Properties"], logical


def test_prod_gates_every_alias(synthesized):
    # prod requires an evaluation gate: every group has golden prompts in the settings layer.
    import json

    hooks = synthesized.stacks["prod"].rollouts.hooks
    settings = json.loads((hooks.settings_folder / "rollout/settings.json").read_text())
    assert all(group["evaluation"] is not None for group in settings["groups"].values())
