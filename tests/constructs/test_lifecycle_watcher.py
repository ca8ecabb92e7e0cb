"""LifecycleWatcher: schedule, dead letters, least-privilege reads, metrics and alarms per model."""

from __future__ import annotations

import json
import re

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from bedrock_lifecycle.constructs import lifecycle_watcher as lw
from bedrock_lifecycle.shared import contract
from tests.conftest import new_app
from tests.support.lambda_assets import load_asset_module

HAIKU3 = "anthropic.claude-3-haiku-20240307-v1:0"
HAIKU45 = "anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "amazon.nova-pro-v1:0"
TITAN = "amazon.titan-embed-text-v2:0"


def _lambda_module():
    return load_asset_module("lifecycle_watcher", unique_name="lifecycle_watcher_contract")


def test_construct_and_lambda_agree_on_the_contract():
    app = _lambda_module()
    assert app.NAMESPACE == lw.NAMESPACE == "BedrockLifecycle/ModelLifecycle"
    assert app.METRIC_IS_LEGACY == lw.METRIC_IS_LEGACY == "IsLegacy"
    assert app.METRIC_DAYS_UNTIL_END_OF_LIFE == lw.METRIC_DAYS_UNTIL_END_OF_LIFE
    assert lw.METRIC_DAYS_UNTIL_END_OF_LIFE == "DaysUntilEndOfLife"
    assert app.DIMENSIONS == lw.DIMENSIONS == ("Environment", "ModelId")
    assert app.METRICS == contract.WATCHER_METRICS
    assert set(contract.WATCHER_METRICS) == {"IsLegacy", "DaysUntilEndOfLife"}


# -- the shipped example ----------------------------------------------------------------------


def _config_text(template: Template) -> str:
    functions = template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Environment": {"Variables": {lw.CONFIG_ENV: Match.any_value()}}}},
    )
    (function,) = functions.values()
    return function["Properties"]["Environment"]["Variables"][lw.CONFIG_ENV]


def _config(template: Template) -> dict:
    return json.loads(_config_text(template))


def test_prod_watches_every_model_with_the_aliases_on_it(synthesized):
    config = _config(synthesized.template("prod"))
    assert config == {
        "environment": "prod",
        "namespace": lw.NAMESPACE,
        "models": {
            NOVA: ["assistant/live"],  # the 300k throughput -> its model
            HAIKU3: ["summarizer/pinned-v1"],
            HAIKU45: ["summarizer/live"],  # us. profile -> its model
            TITAN: ["embedder/live"],
        },
    }
    # What the construct writes is what the function reads.
    assert _lambda_module().parse_config(json.dumps(config))["models"] == config["models"]


def test_runs_daily_with_retries_and_a_dead_letter_queue(synthesized):
    template = synthesized.template("prod")
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(1 day)",
            "Targets": [
                Match.object_like(
                    {
                        "RetryPolicy": {"MaximumRetryAttempts": 2},
                        "DeadLetterConfig": {"Arn": Match.any_value()},
                    }
                )
            ],
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {"Variables": {lw.CONFIG_ENV: Match.any_value()}},
            "DeadLetterConfig": {"TargetArn": Match.any_value()},
        },
    )


def test_reads_exactly_the_models_it_watches(synthesized):
    template = synthesized.template("prod")
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "ReadTheModelsLifecycle",
                            "Effect": "Allow",
                            "Action": "bedrock:GetFoundationModel",
                            "Resource": [
                                f"arn:aws:bedrock:us-east-1::foundation-model/{model}"
                                for model in sorted([HAIKU3, HAIKU45, NOVA, TITAN])
                            ],
                        },
                        {
                            "Sid": "PublishLifecycleMetrics",
                            "Effect": "Allow",
                            "Action": "cloudwatch:PutMetricData",
                            "Resource": "*",
                            "Condition": {"StringEquals": {"cloudwatch:namespace": lw.NAMESPACE}},
                        },
                    ]
                )
            }
        },
    )


def test_prod_end_of_life_alarm_uses_the_environments_threshold(synthesized):
    synthesized.template("prod").has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": lw.NAMESPACE,
            "MetricName": "DaysUntilEndOfLife",
            "Dimensions": [
                {"Name": "Environment", "Value": "prod"},
                {"Name": "ModelId", "Value": HAIKU3},
            ],
            "Statistic": "Minimum",
            "Period": 86400,
            "Threshold": 120,  # environments.prod.lifecycle_watcher.end_of_life_warning_days
            "ComparisonOperator": "LessThanThreshold",
            "TreatMissingData": "ignore",
            "AlarmActions": [{"Ref": Match.string_like_regexp("^AlarmTopic")}],
        },
    )
    # dev keeps the default of 90 days.
    synthesized.template("dev").has_resource_properties(
        "AWS::CloudWatch::Alarm", {"MetricName": "DaysUntilEndOfLife", "Threshold": 90}
    )


def test_legacy_alarm_per_model_names_its_aliases_and_notifies_the_topic(synthesized):
    template = synthesized.template("prod")
    alarms = template.find_resources(
        "AWS::CloudWatch::Alarm",
        {"Properties": {"Namespace": lw.NAMESPACE, "MetricName": "IsLegacy"}},
    )
    dimensions = sorted(
        tuple((d["Name"], d["Value"]) for d in a["Properties"]["Dimensions"])
        for a in alarms.values()
    )
    assert dimensions == [
        (("Environment", "prod"), ("ModelId", model))
        for model in sorted([HAIKU3, HAIKU45, NOVA, TITAN])
    ]
    for alarm in alarms.values():
        props = alarm["Properties"]
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert props["Threshold"] == 1 and props["Statistic"] == "Maximum"
        assert props["OKActions"] == props["AlarmActions"] != []
        assert props["TreatMissingData"] == "ignore"
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "IsLegacy",
            "AlarmDescription": f"prod {HAIKU3}: Bedrock marks this model Legacy, or it reached "
            "its end of life; used by 1 alias: summarizer/pinned-v1. See docs/governance.md",
        },
    )


def test_no_watcher_alarm_is_per_alias_any_more(synthesized):
    for environment in ("dev", "staging", "prod"):
        alarms = synthesized.template(environment).find_resources(
            "AWS::CloudWatch::Alarm", {"Properties": {"Namespace": lw.NAMESPACE}}
        )
        assert alarms
        for alarm in alarms.values():
            names = [d["Name"] for d in alarm["Properties"]["Dimensions"]]
            assert names == ["Environment", "ModelId"]


def test_bedrock_legacy_invocations_alarm_per_model_and_profile(synthesized):
    template = synthesized.template("prod")
    alarms = template.find_resources(
        "AWS::CloudWatch::Alarm",
        {"Properties": {"Namespace": "AWS/Bedrock", "MetricName": "LegacyModelInvocations"}},
    )
    model_ids = sorted(a["Properties"]["Dimensions"][0]["Value"] for a in alarms.values())
    assert model_ids == sorted([HAIKU3, HAIKU45, NOVA, TITAN, f"us.{HAIKU45}"])
    for alarm in alarms.values():
        assert alarm["Properties"]["Dimensions"][0]["Name"] == "ModelId"
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching"


def test_watcher_errors_alarm(synthesized):
    synthesized.template("staging").has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "AlarmDescription": Match.string_like_regexp("lifecycle watcher could not check"),
        },
    )


# -- in isolation -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def isolated(tmp_path_factory):
    app = new_app(tmp_path_factory.mktemp("watcher"))
    stack = cdk.Stack(app, "W", env=cdk.Environment(account="333333333333", region="eu-west-1"))
    watcher = lw.LifecycleWatcher(
        stack,
        "Watcher",
        environment="qa",
        aliases={"f/live": [NOVA, NOVA], "f/pinned-v1": [NOVA], "g/live": [HAIKU45], "h/x": []},
    )
    return watcher, Template.from_stack(stack)


def test_defaults_without_topic_have_no_actions_and_90_days(isolated):
    watcher, template = isolated
    assert watcher.aliases == {
        "f/live": (NOVA,),
        "f/pinned-v1": (NOVA,),
        "g/live": (HAIKU45,),
        "h/x": (),
    }
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "DaysUntilEndOfLife", "Threshold": 90, "AlarmActions": Match.absent()},
    )
    assert set(watcher.legacy_invocation_alarms) == {NOVA, HAIKU45}


def test_aliases_that_share_a_model_share_its_alarms(isolated):
    watcher, template = isolated
    assert watcher.models == {NOVA: ("f/live", "f/pinned-v1"), HAIKU45: ("g/live",)}
    assert set(watcher.legacy_alarms) == set(watcher.end_of_life_alarms) == {NOVA, HAIKU45}
    # 2 per model, 1 per invoked model id, WatcherErrors.
    template.resource_count_is("AWS::CloudWatch::Alarm", 2 * 2 + 2 + 1)
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "DaysUntilEndOfLife",
            "Dimensions": [
                {"Name": "Environment", "Value": "qa"},
                {"Name": "ModelId", "Value": NOVA},
            ],
            "AlarmDescription": f"qa {NOVA}: fewer than 90 days until this model reaches its "
            "end of life (0: reached); used by 2 aliases: f/live, f/pinned-v1. "
            "See docs/governance.md",
        },
    )
    assert _config(template)["models"] == {HAIKU45: ["g/live"], NOVA: ["f/live", "f/pinned-v1"]}


def test_two_hundred_aliases_on_five_models_make_sixteen_alarms():
    models = [NOVA, HAIKU3, HAIKU45, TITAN, "meta.llama3-70b-instruct-v1:0"]
    aliases = {f"family-{i:03}/live": [models[i % 5]] for i in range(200)}
    stack = cdk.Stack(cdk.App(), "S")
    watcher = lw.LifecycleWatcher(stack, "W", environment="qa", aliases=aliases)
    template = Template.from_stack(stack)
    # 2 per model (Legacy, EndOfLife), 1 per invoked model id, WatcherErrors; not 2 x 200.
    template.resource_count_is("AWS::CloudWatch::Alarm", 2 * 5 + 5 + 1)
    assert {len(users) for users in watcher.models.values()} == {40}
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        assert len(alarm["Properties"]["AlarmDescription"]) <= lw.MAX_ALARM_DESCRIPTION


def test_alarm_ids_come_from_model_ids_so_a_new_alias_leaves_the_alarms_in_place():
    def alarm_ids(aliases: dict[str, list[str]]) -> set[str]:
        stack = cdk.Stack(cdk.App(), "S")
        watcher = lw.LifecycleWatcher(stack, "W", environment="qa", aliases=aliases)
        return set(watcher.alarms)

    before = alarm_ids({"summarizer/live": [NOVA]})
    assert before == {
        "LegacyAmazonNovaProV10",
        "EndOfLifeAmazonNovaProV10",
        "LegacyInvocationsAmazonNovaProV10",
        "WatcherErrors",
    }
    # A new alias on the same model changes nothing; one on a new model adds its alarms.
    assert alarm_ids({"answers/live": [NOVA], "summarizer/live": [NOVA]}) == before
    after = alarm_ids({"answers/live": [HAIKU45], "summarizer/live": [NOVA]})
    assert after - before == {
        "LegacyAnthropicClaudeHaiku4520251001V10",
        "EndOfLifeAnthropicClaudeHaiku4520251001V10",
        "LegacyInvocationsAnthropicClaudeHaiku4520251001V10",
    }


def test_a_long_list_of_aliases_is_counted_not_named_in_the_description():
    aliases = [f"family-{i:03}/live" for i in range(100)]
    text = lw.alarm_description("prod m.x: Legacy", aliases, "See docs/governance.md")
    assert len(text) <= lw.MAX_ALARM_DESCRIPTION == 1024
    assert text.startswith("prod m.x: Legacy; used by 100 aliases: family-000/live, ")
    named = text.split(": ", 2)[2].split(" and ")[0].split(", ")
    assert named == aliases[: len(named)] and 40 < len(named) < 100
    assert text.endswith(f" and {100 - len(named)} more. See docs/governance.md")
    assert lw.alarm_description("w", ["f/a", "f/b"], "t") == "w; used by 2 aliases: f/a, f/b. t"


def test_a_watched_model_whose_legacy_id_is_another_ones_invocations_id_is_refused():
    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(
        ValueError,
        match=r"model ids 'invocations\.amazon-nova-pro-v1:0' and 'amazon\.nova-pro-v1:0' both "
        r"make alarm id 'LegacyInvocationsAmazonNovaProV10'; rename one",
    ):
        lw.LifecycleWatcher(
            stack,
            "W",
            environment="qa",
            aliases={"f/live": ["invocations.amazon-nova-pro-v1:0"]},
            invoked_model_ids=[NOVA],
        )


def test_two_model_ids_that_make_one_alarm_id_are_refused():
    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(
        ValueError,
        match=r"model ids 'amazon\.nova-pro-v10' and 'amazon\.nova-pro-v1:0' both make alarm id ",
    ):
        lw.LifecycleWatcher(
            stack,
            "W",
            environment="qa",
            aliases={"f/live": [NOVA]},
            invoked_model_ids=[NOVA, "amazon.nova-pro-v10"],
        )


def test_metrics_are_per_model(isolated):
    watcher, _ = isolated
    metric = watcher.metric_days_until_end_of_life(NOVA)
    assert (metric.namespace, metric.metric_name, metric.statistic) == (
        "BedrockLifecycle/ModelLifecycle",
        "DaysUntilEndOfLife",
        "Minimum",
    )
    assert metric.dimensions == {"Environment": "qa", "ModelId": NOVA}
    assert watcher.metric_is_legacy(NOVA, statistic="Average").statistic == "Average"


def test_metric_of_an_unwatched_model_is_refused(isolated):
    watcher, _ = isolated
    with pytest.raises(ValueError, match=r"'m\.other' is not a model watched here \(watched: "):
        watcher.metric_is_legacy("m.other")
    with pytest.raises(
        ValueError,
        match=rf"'f/live' is an alias, and the watcher's metrics are per model: use one of "
        rf"its models \({re.escape(NOVA)}\)",
    ):
        watcher.metric_days_until_end_of_life("f/live")


def test_aliases_beyond_lambdas_4_kb_are_counted_not_named_in_the_configuration():
    stack = cdk.Stack(cdk.App(), "S")
    names = [f"a-rather-long-family-name-{i:03}/live" for i in range(300)]
    many = {name: [NOVA if i % 3 else HAIKU45] for i, name in enumerate(names)}
    lw.LifecycleWatcher(stack, "W", environment="qa", aliases=many)
    text = _config_text(Template.from_stack(stack))
    assert len(lw.CONFIG_ENV) + len(text.encode()) <= lw.MAX_CONFIG_BYTES
    config = _lambda_module().parse_config(text)
    # The longest list lost names first; every alias is still counted.
    assert {m: len(a) + config["more"].get(m, 0) for m, a in config["models"].items()} == {
        NOVA: 200,
        HAIKU45: 100,
    }
    assert 0 < len(config["models"][HAIKU45]) <= len(config["models"][NOVA]) < 200
    assert all(alias in many for aliases in config["models"].values() for alias in aliases)


def test_a_configuration_lambda_cannot_hold_is_refused_at_synth():
    stack = cdk.Stack(cdk.App(), "S")
    many = {f"f/a{i:03}": [f"vendor.model-number-{i:03}-v1:0"] for i in range(120)}
    with pytest.raises(ValueError, match=r"of 120 models must fit in 3900 bytes .* got \d{4}; "):
        lw.LifecycleWatcher(stack, "W", environment="qa", aliases=many)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"end_of_life_warning_days": 0}, "end_of_life_warning_days must be between 1 and 3650"),
        ({"aliases": {"live": [NOVA]}}, "aliases keys must be 'family/alias', got 'live'"),
    ],
)
def test_invalid_props_are_refused(kwargs, message):
    stack = cdk.Stack(cdk.App(), "S")
    props = {"environment": "qa", "aliases": {"f/live": [NOVA]}, **kwargs}
    with pytest.raises(ValueError, match=message):
        lw.LifecycleWatcher(stack, "W", **props)
