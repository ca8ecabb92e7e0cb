"""LifecycleWatcher: schedule, dead letters, least-privilege reads, metrics and alarms."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from bedrock_lifecycle.constructs import lifecycle_watcher as lw
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
    assert app.NAMESPACE == lw.NAMESPACE
    assert (app.METRIC_IS_LEGACY, app.METRIC_DAYS_UNTIL_END_OF_LIFE) == (
        "IsLegacy",
        "DaysUntilEndOfLife",
    )


# -- the shipped example ----------------------------------------------------------------------


def _config(template: Template) -> dict:
    functions = template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Environment": {"Variables": {lw.CONFIG_ENV: Match.any_value()}}}},
    )
    (function,) = functions.values()
    return json.loads(function["Properties"]["Environment"]["Variables"][lw.CONFIG_ENV])


def test_prod_watches_every_alias_with_the_models_behind_profiles_and_throughputs(synthesized):
    assert _config(synthesized.template("prod")) == {
        "environment": "prod",
        "namespace": lw.NAMESPACE,
        "aliases": {
            "summarizer/live": [HAIKU45],  # us. profile -> its model
            "summarizer/pinned-v1": [HAIKU3],
            "embedder/live": [TITAN],
            "assistant/live": [NOVA],  # the 300k throughput -> its model
        },
    }


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
            "Dimensions": Match.array_with([{"Name": "Alias", "Value": "summarizer/pinned-v1"}]),
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


def test_legacy_alarm_per_alias_notifies_the_topic(synthesized):
    template = synthesized.template("prod")
    alarms = template.find_resources(
        "AWS::CloudWatch::Alarm",
        {"Properties": {"Namespace": lw.NAMESPACE, "MetricName": "IsLegacy"}},
    )
    aliases = sorted(
        d["Value"]
        for a in alarms.values()
        for d in a["Properties"]["Dimensions"]
        if d["Name"] == "Alias"
    )
    assert aliases == ["assistant/live", "embedder/live", "summarizer/live", "summarizer/pinned-v1"]
    for alarm in alarms.values():
        props = alarm["Properties"]
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert props["Threshold"] == 1 and props["Statistic"] == "Maximum"
        assert props["OKActions"] == props["AlarmActions"] != []


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
        stack, "Watcher", environment="qa", aliases={"f/live": [NOVA, NOVA]}
    )
    return watcher, Template.from_stack(stack)


def test_defaults_without_topic_have_no_actions_and_90_days(isolated):
    watcher, template = isolated
    assert watcher.aliases == {"f/live": (NOVA,)}
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "DaysUntilEndOfLife", "Threshold": 90, "AlarmActions": Match.absent()},
    )
    assert set(watcher.legacy_invocation_alarms) == {NOVA}


def test_alarm_ids_come_from_names_so_a_new_alias_leaves_the_others_in_place():
    def alarm_ids(aliases: dict[str, list[str]]) -> set[str]:
        stack = cdk.Stack(cdk.App(), "S")
        watcher = lw.LifecycleWatcher(stack, "W", environment="qa", aliases=aliases)
        return set(watcher.alarms)

    before = alarm_ids({"summarizer/live": [NOVA]})
    assert before == {
        "LegacySummarizerLive",
        "EndOfLifeSummarizerLive",
        "LegacyInvocationsAmazonNovaProV10",
        "WatcherErrors",
    }
    # "answers" sorts first: with positional ids it took summarizer's ids.
    after = alarm_ids({"answers/live": [HAIKU45], "summarizer/live": [NOVA]})
    assert before < after


def test_two_aliases_that_make_one_alarm_id_are_refused():
    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(
        ValueError,
        match=r"aliases 'f/pinned-v1' and 'f/pinned\.v1' both make alarm id part 'FPinnedV1'; ",
    ):
        lw.LifecycleWatcher(
            stack, "W", environment="qa", aliases={"f/pinned-v1": [NOVA], "f/pinned.v1": [NOVA]}
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


def test_metric_of_an_unwatched_alias_is_refused(isolated):
    watcher, _ = isolated
    with pytest.raises(ValueError, match="'f/other' is not watched here"):
        watcher.metric_is_legacy("f/other")


def test_a_configuration_lambda_cannot_hold_is_refused_at_synth():
    stack = cdk.Stack(cdk.App(), "S")
    many = {f"family{i:03}/live": [NOVA] for i in range(120)}  # about 40 bytes each
    with pytest.raises(ValueError, match=r"of 120 aliases must fit in 3900 bytes .* got \d{4}; "):
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
