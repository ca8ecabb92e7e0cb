"""AliasRollout, Rollouts and RolloutHooks: what CodeDeploy will do, proven from the template."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match

from bedrock_lifecycle.config import ConfigError, load_lifecycle
from bedrock_lifecycle.constructs import (
    AlarmThresholds,
    Evaluation,
    RolloutPolicy,
    RolloutStrategy,
)
from bedrock_lifecycle.constructs.model_alias import ModelAlias
from bedrock_lifecycle.constructs.rollout import AliasRollout, deployment_config_for
from bedrock_lifecycle.versions import ModelVersion
from tests.conftest import FIXED_TODAY, ROOT
from tests.constructs.rollout_fixtures import DEPLOYMENT_ARN, rollout_app_once


@pytest.fixture(scope="module")
def built(shipped_config, tmp_path_factory):
    return rollout_app_once(shipped_config, tmp_path_factory)


def resolve(stack: cdk.Stack, value):
    return stack.resolve(value)


def alias_resource(built, stack_name: str, qualified: str) -> dict:
    stack = built.stacks[stack_name]
    alias = built.aliases[stack_name][qualified].alias
    logical = resolve(stack, alias.node.default_child.logical_id)
    return built.templates[stack_name].to_json()["Resources"][logical]


def version_ref(built, stack_name: str, qualified: str) -> dict:
    """``{"Ref": <version>}``: the Lambda version the alias points at, read from the template.

    (Resolving ``alias.version`` again after synth is not stable: aws-cdk-lib hashes the
    function's current properties into the version's logical id on every resolve.)
    """
    target = alias_resource(built, stack_name, qualified)["Properties"]["FunctionVersion"]
    return {"Ref": target["Fn::GetAtt"][0]}


def group_properties(built, stack_name: str, qualified: str) -> dict:
    stack = built.stacks[stack_name]
    group = built.rollouts[stack_name].rollouts[qualified].deployment_group
    logical = resolve(stack, group.node.default_child.logical_id)
    return built.templates[stack_name].to_json()["Resources"][logical]["Properties"]


# -- CodeDeploy wiring ---------------------------------------------------------


def test_alias_update_runs_codedeploy_with_both_hooks(built):
    stack, rollouts = built.stacks["Canaries"], built.rollouts["Canaries"]
    rollout = rollouts.rollouts["summarizer/live"]
    policy = alias_resource(built, "Canaries", "summarizer/live")["UpdatePolicy"]
    assert policy == {
        "CodeDeployLambdaAliasUpdate": {
            "ApplicationName": resolve(stack, rollouts.application.application_name),
            "DeploymentGroupName": resolve(stack, rollout.deployment_group.deployment_group_name),
            "BeforeAllowTrafficHook": resolve(stack, rollouts.hooks.gate.function.function_name),
            "AfterAllowTrafficHook": resolve(stack, rollouts.hooks.analysis.function.function_name),
        }
    }


def test_alias_update_waits_for_hooks_settings_and_group(built):
    stack, rollouts = built.stacks["Canaries"], built.rollouts["Canaries"]
    depends_on = set(alias_resource(built, "Canaries", "summarizer/live")["DependsOn"])
    needed = {
        rollouts.hooks.gate.function,
        rollouts.hooks.gate.role,
        rollouts.hooks.analysis.function,
        rollouts.hooks.settings,
        rollouts.rollouts["summarizer/live"].deployment_group,
    }
    ids = {resolve(stack, c.node.default_child.logical_id) for c in needed}
    ids.add(resolve(stack, rollouts.hooks.gate.role.node.find_child("DefaultPolicy")
                    .node.default_child.logical_id))  # fmt: skip
    assert ids <= depends_on


def test_all_at_once_runs_the_gate_but_no_canary_analysis(built):
    stack, rollouts = built.stacks["AllAtOnce"], built.rollouts["AllAtOnce"]
    assert rollouts.hooks.analysis is None
    for qualified in rollouts.rollouts:
        update = alias_resource(built, "AllAtOnce", qualified)["UpdatePolicy"]
        hooks = update["CodeDeployLambdaAliasUpdate"]
        if qualified == "embedder/live":  # no golden prompts: nothing to gate
            assert "BeforeAllowTrafficHook" not in hooks
        else:
            assert hooks["BeforeAllowTrafficHook"] == resolve(
                stack, rollouts.hooks.gate.function.function_name
            )
        assert "AfterAllowTrafficHook" not in hooks
        props = group_properties(built, "AllAtOnce", qualified)
        assert props["DeploymentConfigName"] == "CodeDeployDefault.LambdaAllAtOnce"
    built.templates["AllAtOnce"].resource_properties_count_is(
        "AWS::Lambda::Function",
        {"Description": Match.string_like_regexp("AfterAllowTraffic")},
        0,
    )


@pytest.mark.parametrize("stack_name", ["Canaries", "AllAtOnce"])
def test_every_group_rolls_back_on_failure_stop_and_alarm(built, stack_name):
    for qualified in built.rollouts[stack_name].rollouts:
        props = group_properties(built, stack_name, qualified)
        assert props["AutoRollbackConfiguration"] == {
            "Enabled": True,
            "Events": [
                "DEPLOYMENT_FAILURE",
                "DEPLOYMENT_STOP_ON_REQUEST",
                "DEPLOYMENT_STOP_ON_ALARM",
            ],
        }
        assert props["DeploymentStyle"] == {
            "DeploymentOption": "WITH_TRAFFIC_CONTROL",
            "DeploymentType": "BLUE_GREEN",
        }
        family, alias = qualified.split("/")
        assert props["DeploymentGroupName"] == f"{family}.{alias}"
        # A failure to read the alarms must stop the deployment, not be ignored.
        assert props["AlarmConfiguration"].get("IgnorePollAlarmFailure") in (None, False)


def test_each_policy_synthesizes_to_its_codedeploy_configuration(built):
    stack, template = built.stacks["Canaries"], built.templates["Canaries"]
    configs = template.find_resources("AWS::CodeDeploy::DeploymentConfig")
    by_routing = {
        json.dumps(r["Properties"]["TrafficRoutingConfig"], sort_keys=True): {"Ref": logical}
        for logical, r in configs.items()
    }
    canary = {
        "TimeBasedCanary": {"CanaryInterval": 7, "CanaryPercentage": 25},
        "Type": "TimeBasedCanary",
    }
    linear = {
        "TimeBasedLinear": {"LinearInterval": 3, "LinearPercentage": 20},
        "Type": "TimeBasedLinear",
    }
    # One configuration per distinct custom shape, whatever the number of aliases using it.
    assert set(by_routing) == {
        json.dumps(canary, sort_keys=True),
        json.dumps(linear, sort_keys=True),
    }
    for props in configs.values():
        assert props["Properties"]["ComputePlatform"] == "Lambda"
    expected = {
        "summarizer/live": "CodeDeployDefault.LambdaCanary10Percent10Minutes",
        "summarizer/pinned-v1": by_routing[json.dumps(canary, sort_keys=True)],
        "embedder/live": by_routing[json.dumps(canary, sort_keys=True)],
        "assistant/live": by_routing[json.dumps(linear, sort_keys=True)],
    }
    got = {
        qualified: group_properties(built, "Canaries", qualified)["DeploymentConfigName"]
        for qualified in expected
    }
    assert got == expected
    assert stack  # the configs live in this stack


# -- alarms -------------------------------------------------------------------


@pytest.mark.parametrize("stack_name", ["Canaries", "AllAtOnce"])
def test_every_alarm_sets_treat_missing_data(built, stack_name):
    alarms = built.templates[stack_name].find_resources("AWS::CloudWatch::Alarm")
    assert alarms
    for logical, alarm in alarms.items():
        assert alarm["Properties"].get("TreatMissingData") == "notBreaching", logical


def test_groups_watch_their_alarms_and_at_most_ten(built):
    stack = built.stacks["Canaries"]
    counts = {}
    for qualified, rollout in built.rollouts["Canaries"].rollouts.items():
        props = group_properties(built, "Canaries", qualified)
        names = props["AlarmConfiguration"]["Alarms"]
        assert props["AlarmConfiguration"]["Enabled"] is True
        assert names == [{"Name": resolve(stack, a.alarm_name)} for a in rollout.alarms]
        assert len(names) <= 10
        counts[qualified] = len(names)
    # Regression and LambdaErrors, whatever the alias declares: a baseline adds a term
    # to Regression (its output tokens), not an alarm.
    assert counts == dict.fromkeys(
        ("summarizer/live", "summarizer/pinned-v1", "embedder/live", "assistant/live"), 2
    )
    terms = {
        qualified: len(rollout.regression_alarms.terms)
        for qualified, rollout in built.rollouts["Canaries"].rollouts.items()
    }
    assert terms == {
        "summarizer/live": 5,
        "summarizer/pinned-v1": 4,
        "embedder/live": 4,
        "assistant/live": 4,
    }


def test_alarms_notify_the_stack_topic(built):
    stack = built.stacks["Canaries"]
    topic = resolve(stack, stack.node.find_child("AlarmTopic").topic.topic_arn)
    for alarm in built.templates["Canaries"].find_resources("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [topic]
        assert alarm["Properties"]["OKActions"] == [topic]


def first_staging_alias(config, stack: cdk.Stack) -> ModelAlias:
    """A ModelAlias (id ``Alias``) of the shipped file's first staging alias (summarizer/live)."""
    spec = config.aliases_for("staging")[0]
    return ModelAlias(
        stack,
        "Alias",
        model_version=ModelVersion.from_spec(
            spec.family,
            spec.version_label,
            spec.version,
            deployment_arn=DEPLOYMENT_ARN if spec.version.target.custom_model else None,
        ),
        alias_name=spec.name,
        environment="staging",
    )


def test_an_eleventh_alarm_is_refused(shipped_config, tmp_path):
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "Eleven")
    alias = first_staging_alias(shipped_config, stack)
    rollout = AliasRollout(
        stack, "Rollout", model_alias=alias, alarms=AlarmThresholds(baseline_output_tokens=100)
    )
    assert len(rollout.alarms) == 2
    for _ in range(8):
        rollout.add_alarm(rollout.alarms[0])
    with pytest.raises(
        ValueError,
        match=r"^a deployment group watches at most 10 alarms, got 11 for summarizer/live$",
    ):
        rollout.add_alarm(rollout.alarms[0])


# -- hooks: permissions and settings -----------------------------------------


def statements_of(built, stack_name: str, function) -> list[dict]:
    stack = built.stacks[stack_name]
    policy = function.role.node.find_child("DefaultPolicy")
    logical = resolve(stack, policy.node.default_child.logical_id)
    resource = built.templates[stack_name].to_json()["Resources"][logical]
    return resource["Properties"]["PolicyDocument"]["Statement"]


def test_gate_may_invoke_exactly_the_new_versions(built):
    rollouts = built.rollouts["Canaries"]
    statements = statements_of(built, "Canaries", rollouts.hooks.gate)
    invoke = [s for s in statements if "lambda:InvokeFunction" in json.dumps(s["Action"])]
    versions = sorted(
        (version_ref(built, "Canaries", qualified) for qualified in built.aliases["Canaries"]),
        key=json.dumps,
    )
    assert invoke == [{"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": versions}]


def test_hooks_read_and_report_only_their_deployment_groups(built):
    stack, rollouts = built.stacks["Canaries"], built.rollouts["Canaries"]
    groups = sorted(
        (
            resolve(stack, r.deployment_group.deployment_group_arn)
            for r in rollouts.rollouts.values()
        ),
        key=json.dumps,
    )
    for hook in (rollouts.hooks.gate, rollouts.hooks.analysis):
        statements = statements_of(built, "Canaries", hook)
        codedeploy = [s for s in statements if "codedeploy:" in json.dumps(s["Action"])]
        assert codedeploy == [
            {
                "Action": [
                    "codedeploy:GetDeployment",
                    "codedeploy:GetDeploymentTarget",
                    "codedeploy:ListDeploymentTargets",
                    "codedeploy:PutLifecycleEventHookExecutionStatus",
                ],
                "Effect": "Allow",
                "Resource": groups,
            }
        ]


def test_analysis_reads_router_versions_and_metrics_only(built):
    stack, rollouts = built.stacks["Canaries"], built.rollouts["Canaries"]
    statements = statements_of(built, "Canaries", rollouts.hooks.analysis)
    config_reads = [s for s in statements if s["Action"] == "lambda:GetFunctionConfiguration"]
    functions = sorted(
        (
            {"Fn::Join": ["", [resolve(stack, a.function.function_arn), ":*"]]}
            for a in built.aliases["Canaries"].values()
        ),
        key=json.dumps,
    )
    assert config_reads == [
        {"Action": "lambda:GetFunctionConfiguration", "Effect": "Allow", "Resource": functions}
    ]
    built.templates["Canaries"].has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {"Action": "cloudwatch:GetMetricData", "Effect": "Allow", "Resource": "*"}
                ],
                "Version": "2012-10-17",
            },
            "Roles": [resolve(stack, rollouts.hooks.analysis.role.role_name)],
        },
    )
    assert not any(s["Resource"] == "*" and s["Action"] != [
        "xray:PutTelemetryRecords", "xray:PutTraceSegments"] for s in statements)  # fmt: skip


def test_hooks_read_their_settings_from_the_layer(built, shipped_config):
    stack, rollouts = built.stacks["Canaries"], built.rollouts["Canaries"]
    layer = resolve(stack, rollouts.hooks.settings.layer_version_arn)
    for hook in (rollouts.hooks.gate, rollouts.hooks.analysis):
        built.templates["Canaries"].has_resource_properties(
            "AWS::Lambda::Function",
            {
                "FunctionName": Match.absent(),
                "Description": hook.function.node.default_child.description,
                "Layers": Match.array_with([layer]),
                "Environment": {
                    "Variables": Match.object_like(
                        {"ROLLOUT_SETTINGS": "/opt/rollout/settings.json"}
                    )
                },
            },
        )
    folder = rollouts.hooks.settings_folder / "rollout"
    settings = json.loads((folder / "settings.json").read_text())
    assert set(settings["groups"]) == {
        "summarizer.live",
        "summarizer.pinned-v1",
        "embedder.live",
        "assistant.live",
    }
    live = settings["groups"]["summarizer.live"]
    alias = built.aliases["Canaries"]["summarizer/live"]
    assert live["version_id"] == alias.model_version.version_id
    assert live["evaluation"] == {"file": "golden/summarizer.jsonl", "pass_rate": 0.9}
    assert live["analysis"] == {
        "min_samples": 20,
        "error_rate_tolerance_percent": 2.0,
        "latency_tolerance_percent": 25.0,
    }
    assert live["strategy"] == "canary"
    assert (folder / "golden/summarizer.jsonl").read_bytes() == (
        ROOT / "evals/summarizer.jsonl"
    ).read_bytes()
    assert (folder / "golden/embedder.jsonl").is_file()


def test_both_hooks_run_from_the_one_evaluation_gate_asset(built):
    rollouts = built.rollouts["Canaries"]
    resources = built.templates["Canaries"].to_json()["Resources"]
    gate, analysis = (
        resources[resolve(built.stacks["Canaries"], hook.function.node.default_child.logical_id)]
        for hook in (rollouts.hooks.gate, rollouts.hooks.analysis)
    )
    assert gate["Properties"]["Handler"] == "app.handler"
    assert analysis["Properties"]["Handler"] == "canary_analysis.handler"
    assert analysis["Properties"]["Code"] == gate["Properties"]["Code"]
    # The zipped folder holds both handler modules and the hook.py they import.
    asset_hash = gate["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    asset = Path(built.app.outdir) / f"asset.{asset_hash}"
    assert {"app.py", "canary_analysis.py", "hook.py"} <= {p.name for p in asset.iterdir()}


def test_gate_and_analysis_report_within_codedeploy_limits(built):
    rollouts = built.rollouts["Canaries"]
    for hook, seconds in ((rollouts.hooks.gate, 600), (rollouts.hooks.analysis, 180)):
        assert hook.function.timeout.to_seconds() == seconds


def test_hooks_always_have_time_left_to_report(built):
    """Every call a hook makes is bounded, and all of them fit its Lambda timeout."""
    from tests.support.lambda_assets import load_asset_module

    gate = load_asset_module("evaluation_gate")
    analysis = load_asset_module("evaluation_gate", "canary_analysis")
    hook = load_asset_module("evaluation_gate", "hook")
    for client in (gate._codedeploy, analysis._codedeploy, analysis._lambda, analysis._cloudwatch):
        config = client.meta.config
        assert (config.connect_timeout, config.read_timeout) == (
            hook.CALL_CONNECT_TIMEOUT,
            hook.CALL_READ_TIMEOUT,
        )
        assert config.retries == {"mode": "standard", "total_max_attempts": hook.CALL_ATTEMPTS}
    worst_call = hook.CALL_ATTEMPTS * (hook.CALL_CONNECT_TIMEOUT + hook.CALL_READ_TIMEOUT) + 1
    rollouts = built.rollouts["Canaries"]
    assert analysis.MAX_CALLS * worst_call < rollouts.hooks.analysis.function.timeout.to_seconds()
    # A prompt started with RESERVE_MS left ends (connect + answer) before the report is sent.
    answer = gate._lambda.meta.config
    assert answer.retries == {"mode": "standard", "total_max_attempts": 1}
    assert 1000 * (answer.connect_timeout + answer.read_timeout + worst_call) <= gate.RESERVE_MS


@pytest.mark.parametrize(
    "pack_index", range(4), ids=["AwsSolutions", "Serverless", "NIST", "HIPAA"]
)
def test_no_unacknowledged_nag_findings(built, pack_index):
    pack = built.packs[pack_index]
    findings = [
        f"{v.rule_name} {r.construct_path}"
        for stack in built.stacks.values()
        for v in pack.validate_scope(stack).violations
        for r in v.violating_resources
    ]
    assert findings == []


# -- policy and file validation ------------------------------------------------


@pytest.fixture
def scratch_stack(tmp_path):
    return cdk.Stack(cdk.App(outdir=str(tmp_path)), "Scratch")


@pytest.mark.parametrize(
    ("strategy", "percent", "interval", "name"),
    [
        ("all_at_once", None, None, "CodeDeployDefault.LambdaAllAtOnce"),
        ("canary", 10, 5, "CodeDeployDefault.LambdaCanary10Percent5Minutes"),
        ("canary", 10, 10, "CodeDeployDefault.LambdaCanary10Percent10Minutes"),
        ("canary", 10, 15, "CodeDeployDefault.LambdaCanary10Percent15Minutes"),
        ("canary", 10, 30, "CodeDeployDefault.LambdaCanary10Percent30Minutes"),
        ("linear", 10, 1, "CodeDeployDefault.LambdaLinear10PercentEvery1Minute"),
        ("linear", 10, 2, "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes"),
        ("linear", 10, 3, "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes"),
        ("linear", 10, 10, "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes"),
    ],
)
def test_a_policy_of_a_predefined_shape_uses_codedeploys_configuration(
    scratch_stack, strategy, percent, interval, name
):
    policy = RolloutPolicy(
        strategy=RolloutStrategy(strategy), percent=percent, interval_minutes=interval
    )
    config = deployment_config_for(scratch_stack, policy)
    assert scratch_stack.resolve(config.deployment_config_name) == name
    # No custom configuration (they count against a quota of 50 per account and region).
    assert scratch_stack.node.try_find_child("RolloutConfigs") is None


@pytest.mark.parametrize(
    ("strategy", "percent", "interval", "message"),
    [
        ("canary", 0, 5, "percent: Input should be greater than or equal to 1 (got 0)"),
        ("canary", 100, 5, "percent: Input should be less than or equal to 99 (got 100)"),
        ("linear", 10, 0, "interval_minutes: Input should be greater than or equal to 1 (got 0)"),
        ("canary", 10, None, ": canary needs interval_minutes"),
        ("all_at_once", 10, None, ": all_at_once takes neither percent nor interval_minutes"),
    ],
)
def test_a_policy_codedeploy_cannot_run_cannot_be_made(strategy, percent, interval, message):
    with pytest.raises(ValueError) as raised:
        RolloutPolicy(
            strategy=RolloutStrategy(strategy), percent=percent, interval_minutes=interval
        )
    assert str(raised.value) == "RolloutPolicy" + ("" if message[0] == ":" else ".") + message


def test_a_policy_longer_than_codedeploy_runs_cannot_be_made():
    with pytest.raises(ValueError) as raised:
        RolloutPolicy(strategy=RolloutStrategy.LINEAR, percent=1, interval_minutes=30)
    assert str(raised.value) == (
        "RolloutPolicy: linear 1 % every 30 min reaches 100 % only after 2970 min; "
        "CodeDeploy stops a Lambda deployment after 2880 min (48 h) of shifting: use a larger "
        "percent or a shorter interval"
    )


def test_a_lifecycle_file_model_where_a_props_type_belongs_is_named(scratch_stack):
    from bedrock_lifecycle.config.schema import RolloutPolicy as FileRolloutPolicy

    file_policy = FileRolloutPolicy(strategy="canary", percent=10, interval_minutes=5)
    with pytest.raises(TypeError) as raised:
        deployment_config_for(scratch_stack, file_policy)  # type: ignore[arg-type]
    assert "bedrock_lifecycle.constructs.RolloutPolicy" in str(raised.value)


LIFECYCLE = """\
schema_version: 1
environments:
  dev:
    rollout: {rollout}
families:
  summarizer:
    evaluation:
      golden_prompts: evals/golden.jsonl
    versions:
      v1:
        target:
          foundation_model: amazon.nova-pro-v1:0
    aliases:
      live:
        version: v1
"""


def write_lifecycle(tmp_path: Path, rollout: str, prompts: str) -> Path:
    (tmp_path / "evals").mkdir()
    (tmp_path / "evals/golden.jsonl").write_text(prompts)
    path = tmp_path / "lifecycle.yaml"
    path.write_text(LIFECYCLE.format(rollout=rollout))
    return path


GOOD_PROMPT = json.dumps(
    {
        "id": "a",
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "checks": {"contains": ["x"]},
    }
)


@pytest.mark.parametrize(
    ("rollout", "line"),
    [
        (
            "{strategy: canary, percent: 0, interval_minutes: 5}",
            "environments.dev.rollout.percent: 0: input should be greater than or equal to 1",
        ),
        (
            "{strategy: canary, percent: 100, interval_minutes: 5}",
            "environments.dev.rollout.percent: 100: input should be less than or equal to 99",
        ),
        (
            "{strategy: linear, percent: 10, interval_minutes: 0}",
            "environments.dev.rollout.interval_minutes: 0: input should be greater than or equal "
            "to 1",
        ),
        (
            "{strategy: linear, percent: 1, interval_minutes: 30}",
            "environments.dev.rollout: linear 1 % every 30 min reaches 100 % only after 2970 min; "
            "CodeDeploy stops a Lambda deployment after 2880 min (48 h) of shifting: use a larger "
            "percent or a shorter interval",
        ),
    ],
)
def test_validate_refuses_a_policy_with_one_clear_line(tmp_path, rollout, line):
    path = write_lifecycle(tmp_path, rollout, GOOD_PROMPT + "\n")
    with pytest.raises(ConfigError) as caught:
        load_lifecycle(path, check_lock_file=False, clock=lambda: FIXED_TODAY)
    assert caught.value.lines() == [f"{path}: {line}"]


@pytest.mark.parametrize(
    ("prompts", "problem"),
    [
        ("", "has no prompts; expected one JSON object per line"),
        (
            GOOD_PROMPT + "\n{oops\n",
            "line 2: not valid JSON (Expecting property name enclosed in double quotes)",
        ),
        (GOOD_PROMPT + "\n" + GOOD_PROMPT, "line 2: id 'a' repeats line 1; ids must be unique"),
        (
            GOOD_PROMPT.replace('"contains": ["x"]', '"regex": "("'),
            "line 1: checks.regex '(' does not compile (missing ), unterminated subpattern at "
            "position 0)",
        ),
        (
            GOOD_PROMPT.replace('"contains": ["x"]', '"dimensions": 1024'),
            "line 1: checks.dimensions: not a check for chat (allowed: contains, max_latency_ms, "
            "max_output_tokens, not_contains, regex, valid_json)",
        ),
        (
            GOOD_PROMPT.replace('"contains": ["x"]', '"max_latency_ms": 0'),
            "line 1: checks.max_latency_ms must be a whole number of at least 1, got 0",
        ),
        (
            GOOD_PROMPT.replace('"messages"', '"input": "x", "messages"'),
            "line 1: input applies to embedding families; a chat prompt has messages",
        ),
        (
            GOOD_PROMPT.replace('"user"', '"robot"'),
            'line 1: messages[0] must have role "user" or "assistant"',
        ),
        (
            GOOD_PROMPT.replace('"checks": {"contains": ["x"]}', '"checks": {}'),
            "line 1: checks must be a non-empty object (allowed: contains, max_latency_ms, "
            "max_output_tokens, not_contains, regex, valid_json)",
        ),
    ],
)
def test_validate_reports_golden_prompt_problems_by_file_and_line(tmp_path, prompts, problem):
    path = write_lifecycle(tmp_path, "{strategy: all_at_once}", prompts)
    with pytest.raises(ConfigError) as caught:
        load_lifecycle(path, check_lock_file=False, clock=lambda: FIXED_TODAY)
    assert caught.value.lines() == [
        f"{path}: families.summarizer.evaluation.golden_prompts: evals/golden.jsonl: {problem}"
    ]


def test_shipped_golden_prompts_are_valid(shipped_config):
    # load_lifecycle (the fixture) ran every check; the files also have prompts of each kind.
    for family in ("summarizer", "assistant", "embedder"):
        lines = (ROOT / f"evals/{family}.jsonl").read_text().splitlines()
        assert len([line for line in lines if line.strip()]) >= 2


def test_gate_evaluates_every_check_the_validator_allows():
    """Each check bedrock_lifecycle.shared.golden allows fails an answer that breaks it."""
    from bedrock_lifecycle.shared import golden
    from tests.support.lambda_assets import load_asset_module

    gate = load_asset_module("evaluation_gate")
    chat = {
        "output": {"message": {"content": [{"text": "plain words"}]}},
        "usage": {"outputTokens": 5},
    }
    embedding = {"embedding": [0.1]}
    breaking = {
        golden.CHAT: {
            "contains": ["absent"],
            "not_contains": ["plain"],
            "regex": "^json$",
            "valid_json": True,
            "max_output_tokens": 1,
            "max_latency_ms": 1,
        },
        golden.EMBEDDING: {"dimensions": 3, "max_latency_ms": 1},
    }
    for kind, response in ((golden.CHAT, chat), (golden.EMBEDDING, embedding)):
        assert set(breaking[kind]) == golden.CHECKS_BY_KIND[kind], "a check with no case here"
        for name, value in breaking[kind].items():
            failures, _ = gate.check_answer({name: value}, response, latency_ms=10)
            assert [f.split(":", 1)[0] for f in failures] == [name], (kind, name, failures)


def test_construct_refuses_a_bad_golden_prompt_file(shipped_config, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n')
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "Bad")
    alias = first_staging_alias(shipped_config, stack)
    with pytest.raises(ValueError, match=r"bad.jsonl: line 1: messages must be a non-empty list"):
        AliasRollout(
            stack,
            "Rollout",
            model_alias=alias,
            evaluation=Evaluation(golden_prompts=bad),
        )
    with pytest.raises(
        ValueError, match=r"evaluation.golden_prompts .*missing.jsonl: no such file"
    ):
        AliasRollout(
            stack,
            "Rollout2",
            model_alias=alias,
            evaluation=Evaluation(golden_prompts=tmp_path / "missing.jsonl"),
        )


def test_provisioned_concurrency_on_a_shifted_alias_is_refused(shipped_config, tmp_path):
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "Pc")
    alias = first_staging_alias(shipped_config, stack)
    cfn = alias.alias.node.default_child
    assert isinstance(cfn, lambda_.CfnAlias)
    cfn.provisioned_concurrency_config = (
        lambda_.CfnAlias.ProvisionedConcurrencyConfigurationProperty(
            provisioned_concurrent_executions=2
        )
    )
    with pytest.raises(ValueError, match="cannot use provisioned concurrency"):
        AliasRollout(stack, "Rollout", model_alias=alias)


def test_plan_counts_the_alarms_and_terms_the_construct_builds(built):
    from bedrock_lifecycle.config.rollout_checks import (
        regression_alarm_count,
        regression_term_count,
    )

    for stack_rollouts in built.rollouts.values():
        for rollout in stack_rollouts.rollouts.values():
            assert len(rollout.alarms) == regression_alarm_count(rollout.thresholds)
            terms = rollout.regression_alarms.terms
            assert len(terms) == regression_term_count(rollout.thresholds)


def test_an_alias_without_golden_prompts_is_not_gated_nor_invokable(built):
    rollouts = built.rollouts["AllAtOnce"]
    statements = statements_of(built, "AllAtOnce", rollouts.hooks.gate)
    (invoke,) = [s for s in statements if s["Action"] == "lambda:InvokeFunction"]
    embedder = version_ref(built, "AllAtOnce", "embedder/live")
    assert embedder not in invoke["Resource"]
    assert len(invoke["Resource"]) == len(rollouts.rollouts) - 1
