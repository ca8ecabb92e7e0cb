"""ModelAlias: template, exact IAM, the router contract, and metrics that match the router's EMF."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Capture, Match, Template

from bedrock_lifecycle.config.schema import FamilyKind, InferenceOverride, VersionSpec
from bedrock_lifecycle.constructs import model_alias as model_alias_module
from bedrock_lifecycle.constructs.model_alias import (
    ALIAS_WIDE_METRICS,
    ModelAlias,
    alias_construct_id,
)
from bedrock_lifecycle.nag import acknowledge, register_packs
from bedrock_lifecycle.shared import contract
from bedrock_lifecycle.stacks.builders import aliases_of_environment
from bedrock_lifecycle.versions import ModelVersion
from tests.conftest import new_app
from tests.support.bedrock_standin import converse_reply, error_reply, shared_standin
from tests.support.router import PSEUDO_PARAMETERS, harness_for, load_router, render_intrinsics

ACCOUNT, REGION = "111111111111", "us-east-1"
PROVISIONED_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/abcdef123456"
APP_PROFILE_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:application-inference-profile/a1b2c3d4e5f6"
DEPLOYMENT_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/a1b2c3d4e5f6"
HAIKU_PROFILE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "amazon.nova-pro-v1:0"


def spec(**data) -> VersionSpec:
    return VersionSpec.model_validate(data)


VERSIONS = {
    "SummarizerLive": (
        ModelVersion.from_spec(
            "summarizer",
            "v2",
            spec(
                target={"inference_profile": HAIKU_PROFILE},
                inference={"max_tokens": 512, "temperature": 0.2},
                system_prompt="You summarize tickets.",
                guardrail={"id": "abcdefghijkl", "version": "3"},
            ),
        ),
        "live",
        (InferenceOverride.MAX_TOKENS, InferenceOverride.TEMPERATURE),
    ),
    "SummarizerPinnedV1": (
        ModelVersion.from_spec(
            "summarizer",
            "v1",
            spec(target={"foundation_model": "anthropic.claude-3-haiku-20240307-v1:0"}),
        ),
        "pinned-v1",
        (),
    ),
    "AssistantLive": (
        ModelVersion.from_spec(
            "assistant",
            "v1-pt",
            spec(target={"provisioned_throughput": "assistant"}),
            provisioned_model_arn=PROVISIONED_ARN,
        ),
        "live",
        (),
    ),
    "ProfiledLive": (
        ModelVersion.from_spec(
            "profiled",
            "v1",
            spec(
                target={
                    "application_inference_profile": APP_PROFILE_ARN,
                    "model": "amazon.nova-pro-v1:0",
                }
            ),
        ),
        "live",
        (),
    ),
    "TunedLive": (
        ModelVersion.from_spec(
            "tuned", "v1", spec(target={"custom_model_deployment": DEPLOYMENT_ARN})
        ),
        "live",
        (),
    ),
    "EmbedderLive": (
        ModelVersion.from_spec(
            "embedder",
            "v1",
            spec(
                target={"foundation_model": "amazon.titan-embed-text-v2:0"},
                inference={"dimensions": 1024, "normalize": True},
            ),
            kind=FamilyKind.EMBEDDING,
        ),
        "live",
        (),
    ),
}


def arn(suffix: str) -> str:
    """``f"arn:{stack.partition}{suffix}"`` in a stack with a known region (partition aws)."""
    return f"arn:aws{suffix}"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One app with every target kind, synthesized once (cdk-nag runs on it too)."""
    app = new_app(tmp_path_factory.mktemp("model-alias"))
    register_packs(app)
    stack = cdk.Stack(app, "Aliases", env=cdk.Environment(account=ACCOUNT, region=REGION))
    aliases = {
        cid: ModelAlias(
            stack,
            cid,
            model_version=version,
            alias_name=name,
            environment="prod",
            allowed_overrides=overrides,
        )
        for cid, (version, name, overrides) in VERSIONS.items()
    }
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountPrincipal(ACCOUNT))
    grant = aliases["SummarizerLive"].grant_invoke(caller)
    for finding in ("NIST.800.53.R5-IAMNoInlinePolicy", "HIPAA.Security-IAMNoInlinePolicy"):
        acknowledge(caller, finding, "a test caller; its grant is what the test inspects")
    template = Template.from_stack(stack)  # synthesizes: nag findings would raise here
    return stack, aliases, template, grant


def lid(stack: cdk.Stack, construct) -> str:
    """The logical id CDK gave a construct's CloudFormation resource (never hard-coded)."""
    resource = construct if isinstance(construct, cdk.CfnResource) else construct.node.default_child
    return stack.resolve(resource.logical_id)


def function_id(stack, alias: ModelAlias) -> str:
    return lid(stack, alias.function)


def policy_statements(template: Template, stack: cdk.Stack, alias: ModelAlias) -> list[dict]:
    """Every statement of every policy of the router's role: one managed policy, its
    Bedrock grants with the router's own log and X-Ray statements; no default policy."""
    role_id = lid(stack, alias.router.role)
    attached = {"Properties": {"Roles": [{"Ref": role_id}]}}
    grants = template.find_resources("AWS::IAM::ManagedPolicy", attached)
    inline = template.find_resources("AWS::IAM::Policy", attached)
    assert list(grants) == [lid(stack, alias.grants)] and not inline
    assert alias.router.role.node.try_find_child("DefaultPolicy") is None
    statements = []
    for policy in grants.values():
        statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def bedrock_statements(template, stack, alias) -> list[dict]:
    return [
        s
        for s in policy_statements(template, stack, alias)
        if any(str(a).startswith("bedrock:") for a in _as_list(s["Action"]))
    ]


def _as_list(value):
    return value if isinstance(value, list) else [value]


# -- IAM: exactly the version's ARNs ----------------------------------------


def test_cross_region_profile_grants_profile_and_model_in_each_destination_region(built):
    stack, aliases, template, _ = built
    statements = bedrock_statements(template, stack, aliases["SummarizerLive"])
    assert statements == [
        {
            "Sid": "InvokeTheFamilysVersions",
            "Effect": "Allow",
            "Action": "bedrock:InvokeModel",
            "Resource": [
                arn(f":bedrock:{REGION}:{ACCOUNT}:inference-profile/{HAIKU_PROFILE}"),
                arn(f":bedrock:us-east-1::foundation-model/{HAIKU}"),
                arn(f":bedrock:us-east-2::foundation-model/{HAIKU}"),
                arn(f":bedrock:us-west-1::foundation-model/{HAIKU}"),
                arn(f":bedrock:us-west-2::foundation-model/{HAIKU}"),
            ],
        },
        {
            "Sid": "ApplyTheFamilysGuardrails",
            "Effect": "Allow",
            "Action": "bedrock:ApplyGuardrail",
            "Resource": arn(f":bedrock:{REGION}:{ACCOUNT}:guardrail/abcdefghijkl"),
        },
    ]


@pytest.mark.parametrize(
    ("construct_id", "resources"),
    [
        (
            "SummarizerPinnedV1",
            arn(":bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"),
        ),
        ("AssistantLive", PROVISIONED_ARN),
        (
            "ProfiledLive",
            [APP_PROFILE_ARN, arn(":bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0")],
        ),
        ("TunedLive", DEPLOYMENT_ARN),
        ("EmbedderLive", arn(":bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0")),
    ],
)
def test_each_target_kind_grants_exactly_its_arns(built, construct_id, resources):
    stack, aliases, template, _ = built
    assert bedrock_statements(template, stack, aliases[construct_id]) == [
        {
            "Sid": "InvokeTheFamilysVersions",
            "Effect": "Allow",
            "Action": "bedrock:InvokeModel",
            "Resource": resources,
        }
    ]


def test_bedrock_grants_have_a_policy_of_their_own_named_by_their_content(built):
    """A change of grants is a new policy: the old one lives until the deploy succeeded."""
    stack, aliases, template, _ = built
    alias = aliases["SummarizerLive"]
    resources = template.to_json()["Resources"]
    grants_id = lid(stack, alias.grants)
    assert alias.grants.node.id.startswith("Grants") and len(alias.grants.node.id) == 14
    grants = resources[grants_id]["Properties"]["PolicyDocument"]["Statement"]
    assert {a for s in grants for a in _as_list(s["Action"])} == {
        "bedrock:InvokeModel",
        "bedrock:ApplyGuardrail",
        # What the router needs to run rides along (no default policy per router).
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "kms:Decrypt",
    }
    # A managed policy without a name of its own: CloudFormation names each one anew, so a
    # new one never takes the name of the one it replaces.
    assert resources[grants_id]["Type"] == "AWS::IAM::ManagedPolicy"
    assert "ManagedPolicyName" not in resources[grants_id]["Properties"]
    # Widened before the alias moves (and the gate calls the new version).
    assert grants_id in resources[lid(stack, alias.alias)]["DependsOn"]


def test_the_grants_policy_is_the_same_while_the_granted_versions_are(shipped_config):
    """Moving an alias between granted versions changes no permission and no policy."""
    ids = []
    for label in ("v1", "v2"):
        stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account=ACCOUNT, region=REGION))
        spec = shipped_config.file.families["summarizer"].versions
        alias = ModelAlias(
            stack,
            "Alias",
            model_version=ModelVersion.from_spec("summarizer", label, spec[label]),
            standby_versions=[
                ModelVersion.from_spec("summarizer", other, spec[other])
                for other in ("v1", "v2")
                if other != label
            ],
            alias_name="live",
            environment="prod",
        )
        ids.append(alias.grants.node.id)
    assert ids[0] == ids[1]
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account=ACCOUNT, region=REGION))
    alone = ModelAlias(
        stack,
        "Alias",
        model_version=ModelVersion.from_spec("summarizer", "v2", spec["v2"]),
        alias_name="live",
        environment="prod",
    )
    assert alone.grants.node.id != ids[0]


def test_standby_versions_must_be_of_the_same_family_and_kind(shipped_config):
    spec = shipped_config.file.families
    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(
        ValueError,
        match=r"^standby_versions must be chat versions of family summarizer \(one router "
        r"serves one family\), got assistant/v1 \(chat\)$",
    ):
        ModelAlias(
            stack,
            "Alias",
            model_version=ModelVersion.from_spec(
                "summarizer", "v2", spec["summarizer"].versions["v2"]
            ),
            standby_versions=[
                ModelVersion.from_spec("assistant", "v1", spec["assistant"].versions["v1"])
            ],
            alias_name="live",
            environment="prod",
        )
    assert not stack.node.find_child("Alias").node.children  # refused before any resource


def test_role_has_nothing_but_bedrock_logs_xray_and_its_key(built):
    stack, aliases, template, _ = built
    actions = set()
    for statement in policy_statements(template, stack, aliases["SummarizerLive"]):
        actions.update(_as_list(statement["Action"]))
    assert actions == {
        "bedrock:InvokeModel",
        "bedrock:ApplyGuardrail",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "kms:Decrypt",
    }


def test_grant_invoke_names_the_alias_arn(built):
    stack, aliases, template, grant = built
    alias_id = lid(stack, aliases["SummarizerLive"].alias)
    assert grant.success
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": lid(stack, stack.node.find_child("Caller"))}],
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "lambda:InvokeFunction",
                        "Effect": "Allow",
                        "Resource": {"Ref": alias_id},
                    }
                ]
            },
        },
    )


# -- function, version, alias, parameter, log group ------------------------


def test_function_version_and_live_alias(built):
    stack, aliases, template, _ = built
    alias = aliases["SummarizerLive"]
    fn = function_id(stack, alias)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.14",
            "Handler": "app.handler",
            "Timeout": 240,
            "TracingConfig": {"Mode": "Active"},
            "Environment": {"Variables": Match.object_like({"ROUTER_CONFIG": Match.any_value()})},
        },
    )
    version_id = lid(stack, alias.version)
    template.has_resource("AWS::Lambda::Version", {"Properties": {"FunctionName": {"Ref": fn}}})
    assert version_id in template.find_resources("AWS::Lambda::Version")
    template.has_resource_properties(
        "AWS::Lambda::Alias",
        {
            "Name": "live",
            "FunctionName": {"Ref": fn},
            "FunctionVersion": {"Fn::GetAtt": [version_id, "Version"]},
        },
    )


def test_every_alias_is_independent(built):
    stack, aliases, template, _ = built
    functions = {function_id(stack, a) for a in aliases.values()}
    roles = {lid(stack, a.router.role) for a in aliases.values()}
    assert len(functions) == len(roles) == len(aliases)
    assert len(template.find_resources("AWS::Lambda::Alias", {"Properties": {"Name": "live"}})) == 6


def test_own_log_group_is_kms_encrypted_with_retention(built):
    stack, aliases, template, _ = built
    alias = aliases["SummarizerLive"]
    group_id = lid(stack, alias.router.log_group)
    template.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {
                "KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("^LogsKey"), "Arn"]},
                "RetentionInDays": 365,
            },
            "DeletionPolicy": "Retain",
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like({"ROUTER_CONFIG": Match.string_like_regexp("v2@")})
            },
            "LoggingConfig": {"LogGroup": {"Ref": group_id}},
        },
    )


def test_ssm_parameter_holds_the_current_target(built):
    _, aliases, template, _ = built
    alias = aliases["AssistantLive"]
    param = template.find_resources(
        "AWS::SSM::Parameter",
        {"Properties": {"Name": "/bedrock-lifecycle/prod/aliases/assistant/live"}},
    )
    (resource,) = param.values()
    assert resource["Properties"]["Type"] == "String"
    assert json.loads(resource["Properties"]["Value"]) == {
        "alias": "assistant/live",
        "version_id": alias.model_version.version_id,
        "model_id": PROVISIONED_ARN,
        "model_arn": PROVISIONED_ARN,
        "inference": {},
        "system": None,
        "guardrail": None,
    }


def test_output_names_the_alias_arn(built):
    stack, aliases, template, _ = built
    alias_id = lid(stack, aliases["EmbedderLive"].alias)
    outputs = template.find_outputs("*", {"Value": {"Ref": alias_id}})
    assert len(outputs) == 1


# -- the router contract -----------------------------------------------------


def router_config_of(template: Template, stack, alias: ModelAlias) -> dict:
    fn = template.to_json()["Resources"][function_id(stack, alias)]
    value = fn["Properties"]["Environment"]["Variables"]["ROUTER_CONFIG"]
    return json.loads(render_intrinsics(value))


def test_router_reads_what_the_construct_writes(built):
    stack, aliases, template, _ = built
    router = load_router()
    config = router.RouterConfig.from_json(
        json.dumps(router_config_of(template, stack, aliases["SummarizerLive"]))
    )
    assert config.version_id == aliases["SummarizerLive"].model_version.version_id
    assert config.model_id == HAIKU_PROFILE
    assert config.model_arn == (
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{HAIKU_PROFILE}"
    )
    assert dict(config.inference) == {"maxTokens": 512, "temperature": 0.2}
    assert config.system == "You summarize tickets."
    assert config.guardrail == {"guardrailIdentifier": "abcdefghijkl", "guardrailVersion": "3"}
    assert config.allowed_overrides == ("maxTokens", "temperature")
    embedder = router.RouterConfig.from_json(
        json.dumps(router_config_of(template, stack, aliases["EmbedderLive"]))
    )
    assert (embedder.kind, dict(embedder.embedding)) == (
        "embedding",
        {"dimensions": 1024, "normalize": True},
    )


def test_constants_shared_with_the_router_agree():
    router = load_router()
    assert model_alias_module.CONFIG_ENV == router.CONFIG_ENV
    assert model_alias_module.METRIC_NAMESPACE == router.NAMESPACE
    assert model_alias_module.ALIAS_WIDE_METRICS == router.ALIAS_WIDE_METRICS
    worst_case = router.MAX_ATTEMPTS * (
        router.CONNECT_TIMEOUT_SECONDS + router.READ_TIMEOUT_SECONDS
    )
    backoff = 20 * (router.MAX_ATTEMPTS - 1)  # botocore's standard mode caps each wait at 20 s
    assert model_alias_module.ROUTER_TIMEOUT.to_seconds() >= worst_case + backoff
    assert set(model_alias_module.OVERRIDE_KEYS.values()) == set(router.OVERRIDE_KEYS.values())
    assert router.METADATA_VALUE_RE.pattern == contract.METADATA_VALUE.pattern


# -- metrics: the router's EMF is what metric_* describes ------------------


def test_metrics_match_the_emf_the_router_prints(built):
    """Run the router with the construct's own configuration; compare every EMF metric."""
    stack, aliases, template, _ = built
    alias = aliases["SummarizerLive"]
    standin = shared_standin()
    standin.reset()
    harness = harness_for(standin, router_config_of(template, stack, alias))
    messages = [{"role": "user", "content": [{"text": "hi"}]}]
    standin.script(converse_reply())
    harness.invoke({"messages": messages})  # Invocations, Latency, InputTokens, OutputTokens
    harness.invoke({"messages": []})  # ClientErrors
    standin.script(*[error_reply("InternalServerException", 500)] * 3)
    harness.invoke({"messages": messages})  # ServerErrors
    standin.script(*[error_reply("ThrottlingException", 429)] * 3)
    harness.invoke({"messages": messages})  # Throttles
    standin.reset()

    emitted: dict[str, dict] = {}
    emitted_wide: dict[str, dict] = {}
    for document in harness.emf:
        directive, *wide = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "BedrockLifecycle/Router"
        assert directive["Dimensions"] == [["Environment", "Family", "Alias", "Version"]]
        for definition in directive["Metrics"]:
            emitted[definition["Name"]] = {
                "namespace": directive["Namespace"],
                "unit": definition["Unit"],
                "resolution": definition.get("StorageResolution", 60),
                "dimensions": {name: document[name] for name in directive["Dimensions"][0]},
            }
        # The alias-wide directive: the same values of the alarm metrics, no Version.
        assert len(wide) == 1
        assert wide[0]["Dimensions"] == [["Environment", "Family", "Alias"]]
        for definition in wide[0]["Metrics"]:
            emitted_wide[definition["Name"]] = {
                "namespace": wide[0]["Namespace"],
                "unit": definition["Unit"],
                "resolution": definition.get("StorageResolution", 60),
                "dimensions": {name: document[name] for name in wide[0]["Dimensions"][0]},
            }

    # What an alarm built from each metric_* method watches, as CloudFormation renders it.
    alarms = cdk.Stack(cdk.App(), "Alarms")
    methods = (
        alias.metric_invocations,
        alias.metric_client_errors,
        alias.metric_server_errors,
        alias.metric_throttles,
        alias.metric_latency,
        alias.metric_input_tokens,
        alias.metric_output_tokens,
    )
    for method in methods:
        cloudwatch.Alarm(
            alarms,
            method.__name__,
            metric=method(period=cdk.Duration.seconds(10)),
            threshold=1,
            evaluation_periods=1,
        )
    for name in ALIAS_WIDE_METRICS:
        cloudwatch.Alarm(
            alarms,
            f"wide{name}",
            metric=alias.metric_all_versions(name, period=cdk.Duration.seconds(10)),
            threshold=1,
            evaluation_periods=1,
        )
    described = {}
    described_wide = {}
    for resource in Template.from_stack(alarms).find_resources("AWS::CloudWatch::Alarm").values():
        props = resource["Properties"]
        assert props["Period"] == 10  # a 10-second period needs high-resolution data
        dimensions = {d["Name"]: d["Value"] for d in props["Dimensions"]}
        into = described if "Version" in dimensions else described_wide
        into[props["MetricName"]] = {
            "namespace": props["Namespace"],
            "unit": props["Unit"],
            "resolution": 1,
            "dimensions": dimensions,
        }
    assert len(described) == len(methods)
    assert emitted == described
    assert emitted_wide == described_wide
    assert set(described_wide) == {"Invocations", "ServerErrors", "Throttles"}
    assert described["Invocations"]["dimensions"] == {
        "Environment": "prod",
        "Family": "summarizer",
        "Alias": "live",
        "Version": alias.model_version.version_id,
    }


def test_metric_defaults_and_overrides(built):
    _, aliases, _, _ = built
    alias = aliases["SummarizerLive"]
    default = alias.metric_server_errors()
    assert default.period.to_seconds() == 60 and default.statistic == "Sum"
    assert alias.metric_latency().statistic == "Average"
    fast = alias.metric_server_errors(
        version_id="v3@0123456789ab", period=cdk.Duration.seconds(10), statistic="Maximum"
    )
    assert fast.period.to_seconds() == 10 and fast.statistic == "Maximum"
    assert fast.dimensions["Version"] == "v3@0123456789ab"
    assert alias.metric("Throttles").metric_name == "Throttles"
    with pytest.raises(
        ValueError, match=r"metric_name must be one of Invocations, .*, got 'Errors'"
    ):
        alias.metric("Errors")


# -- validation: before any resource -----------------------------------------


CHAT = VERSIONS["SummarizerPinnedV1"][0]
EMBEDDER = VERSIONS["EmbedderLive"][0]


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"alias_name": "Live"}, r"alias_name must match .*, got 'Live'"),
        ({"environment": "Prod"}, r"environment must match .*, got 'Prod'"),
        (
            {"allowed_overrides": ["max_tokens"]},
            r"allowed_overrides must be InferenceOverride \(max_tokens, .*\), got 'max_tokens'",
        ),
        (
            {"allowed_overrides": ["bogus"]},
            r"allowed_overrides must be InferenceOverride \(max_tokens, .*\), got 'bogus'",
        ),
        (
            {"allowed_overrides": [InferenceOverride.TOP_P, InferenceOverride.TOP_P]},
            "allowed_overrides has duplicates: top_p, top_p",
        ),
        (
            {"model_version": EMBEDDER, "allowed_overrides": [InferenceOverride.TEMPERATURE]},
            "allowed_overrides applies to chat families only, got temperature for embedding "
            "family embedder",
        ),
        (
            {"parameter_name": "no-slash"},
            "parameter_name must start with / .*, got 'no-slash'",
        ),
        (
            {
                "model_version": ModelVersion.from_spec(
                    "Summarizer", "v1", spec(target={"foundation_model": "amazon.nova-pro-v1:0"})
                )
            },
            r"the version's family must match .*, got 'Summarizer'",
        ),
        (
            {
                "model_version": ModelVersion.from_spec(
                    "summarizer", "v1&2", spec(target={"foundation_model": "amazon.nova-pro-v1:0"})
                )
            },
            r"the version id must be .* \(Bedrock's requestMetadata\), got 'v1&2@\w{12}'",
        ),
        (
            {
                "model_version": ModelVersion.from_spec(
                    "chatty",
                    "v1",
                    spec(
                        target={"foundation_model": "amazon.nova-pro-v1:0"},
                        system_prompt="x" * 4000,
                    ),
                )
            },
            r"version v1@\w{12} of chatty needs \d+ bytes of router configuration, at most 3584 "
            "fit in Lambda's 4 KB environment; shorten the system prompt",
        ),
    ],
)
def test_invalid_props_are_refused_before_any_resource(props, message):
    app = cdk.App()
    stack = cdk.Stack(app, "S")
    kwargs = {"model_version": CHAT, "alias_name": "live", "environment": "prod", **props}
    with pytest.raises(ValueError, match=message):
        ModelAlias(stack, "Alias", **kwargs)
    assert (
        stack.node.try_find_child("Alias") is None
        or not stack.node.find_child("Alias").node.children
    )


def test_shared_log_group_is_used_instead_of_a_new_one():
    app = cdk.App()
    stack = cdk.Stack(app, "S")
    shared = logs.LogGroup(stack, "Audit")
    alias = ModelAlias(
        stack, "A", model_version=CHAT, alias_name="live", environment="dev", log_group=shared
    )
    template = Template.from_stack(stack)
    assert alias.router.log_group is shared
    template.resource_count_is("AWS::Logs::LogGroup", 1)
    group = Capture()
    template.has_resource_properties(
        "AWS::Lambda::Function", {"LoggingConfig": {"LogGroup": group}}
    )
    assert group.as_object() == {"Ref": lid(stack, shared)}


def test_construct_ids_are_pascal_case_of_family_and_alias():
    assert alias_construct_id("summarizer", "pinned-v1") == "SummarizerPinnedV1"
    assert alias_construct_id("kb-embedder", "live") == "KbEmbedderLive"


# -- the shipped app (synthesized once per session) --------------------------

ENVIRONMENTS = ("dev", "staging", "prod")


def _statements(template_json: dict):
    for logical, resource in template_json["Resources"].items():
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                yield logical, statement


@pytest.mark.synth
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_shipped_stack_builds_every_alias_of_every_family(synthesized, environment):
    stack = synthesized.stacks[environment]
    expected = [a.qualified_name for a in synthesized.config.aliases_for(environment)]
    assert list(stack.aliases) == expected
    for name, alias in stack.aliases.items():
        family, alias_name = name.split("/")
        assert (
            alias.node.path
            == f"{stack.stack_name}/Aliases/{alias_construct_id(family, alias_name)}"
        )
    template = synthesized.template(environment)
    template.resource_count_is("AWS::Lambda::Alias", len(expected))
    for resolved in synthesized.config.aliases_for(environment):
        name = (
            f"/bedrock-lifecycle/acme-genai/{environment}/aliases/{resolved.family}/{resolved.name}"
        )
        found = template.find_resources("AWS::SSM::Parameter", {"Properties": {"Name": name}})
        (parameter,) = found.values()
        # The value may hold tokens (partition, a throughput's ARN): look for the id in it.
        assert f'\\"version_id\\":\\"{resolved.version_id}\\"' in json.dumps(
            parameter["Properties"]["Value"]
        )


@pytest.mark.synth
def test_no_wildcard_bedrock_permission_anywhere(synthesized):
    invoke_actions = {
        "bedrock:InvokeModel",
        "bedrock:InvokeModelWithResponseStream",
        "bedrock:ApplyGuardrail",
    }
    checked = 0
    for environment in ENVIRONMENTS:
        for logical, statement in _statements(synthesized.template_json(environment)):
            actions = _as_list(statement["Action"])
            for action in actions:
                assert not (action.startswith("bedrock:") and "*" in action), (logical, action)
                assert action != "*", logical
            if invoke_actions & set(actions):
                checked += 1
                assert "*" not in json.dumps(statement["Resource"]), (logical, statement)
    assert checked >= 11  # every router of every environment was looked at


@pytest.mark.synth
def test_shipped_routers_invoke_exactly_their_familys_servable_versions(synthesized):
    """The grant rule: every non-retired version of the family servable in the environment."""
    prod = synthesized.stacks["prod"]
    template = synthesized.template("prod")
    throughput_arn = prod.resolve(prod.throughputs["assistant"].provisioned_model_arn)

    def invoke_resources(alias: str) -> list:
        (statement,) = bedrock_statements(template, prod, prod.aliases[alias])
        assert statement["Sid"] == "InvokeTheFamilysVersions"
        assert statement["Action"] == "bedrock:InvokeModel"
        resources = statement["Resource"]
        return resources if isinstance(resources, list) else [resources]

    # assistant/live serves v1-pt (the throughput) in prod and may move back to v1.
    assert sorted(map(json.dumps, invoke_resources("assistant/live"))) == sorted(
        map(json.dumps, [throughput_arn, "arn:aws:bedrock:us-east-1::foundation-model/" + NOVA])
    )
    profile_regions = ("us-east-1", "us-east-2", "us-west-1", "us-west-2")
    family_arns = sorted(
        [
            f"arn:aws:bedrock:us-east-1:222222222222:inference-profile/{HAIKU_PROFILE}",
            *(f"arn:aws:bedrock:{r}::foundation-model/{HAIKU}" for r in profile_regions),
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
        ]
    )
    # Both summarizer aliases may serve v1 and v2: either could be moved to the other.
    assert sorted(invoke_resources("summarizer/live")) == family_arns
    assert sorted(invoke_resources("summarizer/pinned-v1")) == family_arns
    # In staging there is no throughput: assistant's v1-pt cannot serve there.
    staging = synthesized.stacks["staging"]
    (statement,) = bedrock_statements(
        synthesized.template("staging"), staging, staging.aliases["assistant/live"]
    )
    assert statement["Resource"] == "arn:aws:bedrock:us-east-1::foundation-model/" + NOVA
    config = router_config_of(template, prod, prod.aliases["summarizer/live"])
    assert config["allowed_overrides"] == ["maxTokens", "temperature"]
    assert config["prompt_logging"] is False


@pytest.mark.synth
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_shipped_routers_log_into_the_retained_kms_audit_log_group(synthesized, environment):
    stack = synthesized.stacks[environment]
    template = synthesized.template(environment)
    group = stack.audit.log_group
    group_id = lid(stack, group)
    resource = template.to_json()["Resources"][group_id]
    assert resource["Type"] == "AWS::Logs::LogGroup"
    assert resource["DeletionPolicy"] == "Retain"
    assert "KmsKeyId" in resource["Properties"]
    days = synthesized.config.file.environments[environment].audit.log_retention_days
    assert resource["Properties"]["RetentionInDays"] == days
    for alias in stack.aliases.values():
        fn = template.to_json()["Resources"][function_id(stack, alias)]
        assert fn["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": group_id}}


def test_powertools_layer_matches_the_router_architecture(built):
    _, _, template, _ = built
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Architectures": ["arm64"],
            "Layers": [
                Match.string_like_regexp(r":layer:AWSLambdaPowertoolsPythonV3-python314-arm64:")
            ],
        },
    )
    for fn in template.find_resources("AWS::Lambda::Function").values():
        assert all("x86_64" not in str(layer) for layer in fn["Properties"].get("Layers", []))


def test_a_throughput_version_without_its_throughput_is_refused_before_any_resource(
    shipped_config,
):
    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(
        ValueError,
        match=r"assistant/live in prod serves assistant/v1-pt, which targets provisioned "
        r"throughput 'assistant'; none is built in prod \(built: none\)",
    ):
        aliases_of_environment(stack, config=shipped_config, environment="prod", throughputs={})
    assert stack.node.try_find_child("Aliases") is None


def test_colliding_construct_ids_are_refused(tmp_path):
    from bedrock_lifecycle.config.loader import LifecycleConfig
    from bedrock_lifecycle.config.schema import LifecycleFile

    version = {"v1": {"target": {"foundation_model": "amazon.nova-pro-v1:0"}}}
    file = LifecycleFile.model_validate(
        {
            "schema_version": 1,
            "environments": {"dev": {}},
            "families": {
                "a-b": {"versions": version, "aliases": {"c": {"version": "v1"}}},
                "a": {"versions": version, "aliases": {"b-c": {"version": "v1"}}},
            },
        }
    )
    config = LifecycleConfig(file=file, path=tmp_path / "lifecycle.yaml", label="test")
    with pytest.raises(ValueError, match="aliases a-b/c and a/b-c both make construct id ABC"):
        aliases_of_environment(
            cdk.Stack(cdk.App(), "S"), config=config, environment="dev", throughputs={}
        )


@pytest.mark.synth
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_shipped_routers_send_metadata_and_model_ids_bedrock_accepts(synthesized, environment):
    """Every shipped alias's router, as deployed, against the stand-in, which refuses what
    Bedrock's patterns refuse (``modelId``, ``requestMetadata`` keys and values)."""
    stack = synthesized.stacks[environment]
    template = synthesized.template(environment)
    pseudo = dict(PSEUDO_PARAMETERS)
    for throughput in stack.throughputs.values():  # a throughput's ARN exists after deploy only
        ref = stack.resolve(throughput.provisioned_model_arn)["Ref"]
        pseudo[ref] = f"arn:aws:bedrock:us-east-1:111111111111:provisioned-model/{'a' * 12}"
    for lid, resource in template.to_json()["Resources"].items():  # so is a deployment's
        if resource["Type"] == "Custom::BedrockCustomModelDeployment":
            pseudo[lid] = (
                f"arn:aws:bedrock:us-east-1:111111111111:custom-model-deployment/{'b' * 12}"
            )
    standin = shared_standin()
    checked = []
    for name, alias in stack.aliases.items():
        fn = template.to_json()["Resources"][function_id(stack, alias)]
        config = json.loads(
            render_intrinsics(fn["Properties"]["Environment"]["Variables"]["ROUTER_CONFIG"], pseudo)
        )
        standin.reset()
        harness = harness_for(standin, config)
        request = (
            {"inputText": "hello"}
            if config["kind"] == "embedding"
            else {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}
        )
        answer = harness.invoke(request, request_id="8f14e45f-ceea-467f-a1b2-0c3d4e5f6a7b")
        assert "error" not in answer, (name, answer)
        (sent,) = standin.requests
        metadata = (
            json.loads(sent.headers["x-amzn-bedrock-request-metadata"])
            if config["kind"] == "embedding"
            else sent.json["requestMetadata"]
        )
        assert metadata == {
            "alias": name,
            "version_id": alias.model_version.version_id,
            "environment": environment,
            "request_id": "8f14e45f-ceea-467f-a1b2-0c3d4e5f6a7b",
        }
        checked.append(name)
    standin.reset()
    assert "summarizer/pinned-v1" in checked or environment == "dev", checked
    assert len(checked) == len(synthesized.config.aliases_for(environment))


# -- the grants must fit one IAM managed policy, at validate time and at synth -------------


def _many_versions(count: int) -> dict:
    return {
        f"v{i}": {"target": {"inference_profile": f"us.anthropic.model-number-{i:02d}-v1:0"}}
        for i in range(count)
    }


def _wide_versions(count: int) -> list[ModelVersion]:
    return [
        ModelVersion.from_spec("wide", label, VersionSpec.model_validate(spec))
        for label, spec in _many_versions(count).items()
    ]


def _wide_alias(stack: cdk.Stack, versions: list[ModelVersion]) -> ModelAlias:
    """wide/live on the first of ``versions``, able to move to every other."""
    return ModelAlias(
        stack,
        "Alias",
        model_version=versions[0],
        standby_versions=versions[1:],
        alias_name="live",
        environment="prod",
    )


def test_grants_larger_than_one_managed_policy_are_refused_by_validate_and_synth(tmp_path):
    import yaml

    from bedrock_lifecycle.config import ConfigError, load_lifecycle
    from bedrock_lifecycle.versions import MANAGED_POLICY_LIMIT, grants_document_size

    body = {
        "schema_version": 1,
        "environments": {"prod": {"account": ACCOUNT, "region": REGION}},
        "families": {
            "wide": {"versions": _many_versions(12), "aliases": {"live": {"version": "v0"}}}
        },
    }
    path = tmp_path / "lifecycle.yaml"
    path.write_text(yaml.safe_dump(body))
    with pytest.raises(ConfigError) as refused:
        load_lifecycle(path, check_lock_file=False)
    (line,) = refused.value.lines()
    assert line.startswith(f"{path}: families.wide.versions: the Bedrock grants of the wide ")
    assert f"more than the {MANAGED_POLICY_LIMIT} of one IAM managed policy (12 servable" in line

    versions = _wide_versions(12)
    assert grants_document_size(versions) > MANAGED_POLICY_LIMIT
    assert grants_document_size(versions[:8]) <= MANAGED_POLICY_LIMIT
    stack = cdk.Stack(cdk.App(), "Wide", env=cdk.Environment(account=ACCOUNT, region=REGION))
    with pytest.raises(ValueError, match=r"^the Bedrock grants of wide/live need \d+ characters"):
        _wide_alias(stack, versions)


def test_a_purchase_key_with_tokens_still_makes_a_version_per_purchase():
    """Units from a parameter or an imported ARN: the key is mixed in resolved."""
    stack = cdk.Stack(cdk.App(), "Tokens", env=cdk.Environment(account=ACCOUNT, region=REGION))
    arn = cdk.Fn.import_value("SharedThroughputArn")
    spec = VersionSpec(target={"provisioned_throughput": "shared"})
    ids = []
    for units in ("1", cdk.Fn.import_value("Units")):
        version = ModelVersion.from_spec(
            "answers", "v1", spec, provisioned_model_arn=arn, purchase_key=f"{arn}:{units}"
        )
        alias = ModelAlias(
            stack, f"Alias{len(ids)}", model_version=version, alias_name="live", environment="dev"
        )
        ids.append(alias.version.node.id)
    assert all(i.startswith("CurrentVersion") for i in ids)
    versions = Template.from_stack(stack).find_resources("AWS::Lambda::Version")
    assert len(versions) == 2  # synthesizes; each alias published its own version


def _widest_document(value, log_arn: str):
    """A synthesized policy document as IAM receives it in the widest partition and region."""
    from bedrock_lifecycle.versions import ROUTER_BASE_STATEMENTS

    if isinstance(value, list):
        return [_widest_document(v, log_arn) for v in value]
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        # The attributes a router's grants name: its log group's ARN and its key's.
        if value["Fn::GetAtt"][0].startswith("LogsKey"):
            return ROUTER_BASE_STATEMENTS[2]["Resource"]
        return log_arn
    if isinstance(value, dict) and set(value) & {"Ref", "Fn::Join"}:
        return render_intrinsics(
            value,
            {
                "AWS::Partition": "aws-us-gov",
                "AWS::Region": "ap-southeast-4",
                "AWS::AccountId": "123456789012",
                "AWS::URLSuffix": "amazonaws.com",
            },
        )
    if isinstance(value, dict):
        return {k: _widest_document(v, log_arn) for k, v in value.items()}
    return value


@pytest.mark.parametrize("count", [1, 4, 8])
def test_the_grants_bound_covers_the_whole_policy_document_the_router_gets(count):
    """The bound validate and synth use is of the whole document: what the router needs
    to run (its log group, X-Ray) rides in the same managed policy as its Bedrock grants."""
    from bedrock_lifecycle.versions import ROUTER_BASE_STATEMENTS, grants_document_size

    versions = _wide_versions(count)
    stack = cdk.Stack(
        cdk.App(), "Wide", env=cdk.Environment(account="123456789012", region="ap-southeast-4")
    )
    _wide_alias(stack, versions)
    (policy,) = Template.from_stack(stack).find_resources("AWS::IAM::ManagedPolicy").values()
    log_arn = ROUTER_BASE_STATEMENTS[0]["Resource"]
    document = _widest_document(policy["Properties"]["PolicyDocument"], log_arn)
    actions = {a for s in document["Statement"] for a in _as_list(s["Action"])}
    assert {
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "kms:Decrypt",
        "bedrock:InvokeModel",
    } <= actions
    assert len(json.dumps(document, separators=(",", ":"))) <= grants_document_size(versions)


def test_standby_versions_may_come_from_any_iterable():
    """A generator is read once: the type check does not use it up before the grants."""
    versions = _wide_versions(3)
    stacks = {}
    for name, standby in (("List", list(versions[1:])), ("Generator", (v for v in versions[1:]))):
        stack = cdk.Stack(cdk.App(), name, env=cdk.Environment(account=ACCOUNT, region=REGION))
        alias = ModelAlias(
            stack,
            "Alias",
            model_version=versions[0],
            standby_versions=standby,
            alias_name="live",
            environment="prod",
        )
        stacks[name] = (stack, alias)
    (_, list_alias), (_, generator_alias) = stacks["List"], stacks["Generator"]
    assert list_alias.standby_versions == generator_alias.standby_versions
    assert len(generator_alias.standby_versions) == 2  # and so granted, as from a list
    with pytest.raises(TypeError, match=r"standby_versions\[0\] must be a bedrock_lifecycle"):
        ModelAlias(
            stacks["List"][0],
            "Bad",
            model_version=versions[0],
            standby_versions=["v1"],  # type: ignore[list-item]
            alias_name="pinned",
            environment="prod",
        )
