"""ProvisionedThroughput: one provider per stack, retained commitments, exact IAM, validation."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Annotations, Capture, Match, Template

from bedrock_lifecycle.config.schema import Commitment
from bedrock_lifecycle.constructs.provisioned_throughput import (
    PROVIDER_ID,
    RESOURCE_TYPE,
    ImportedProvisionedThroughput,
    ProvisionedThroughput,
    ProvisionedThroughputProvider,
)
from tests.conftest import new_app

ACCOUNT, REGION = "123456789012", "eu-west-1"
CUSTOM = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/amazon.nova-pro-v1:0:300k/a1b2c3d4e5f6"
IMPORTED = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/abcdefgh1234"
THROUGHPUTS = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/*"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One small stack with three throughputs, a grantee and an imported throughput."""
    app = new_app(tmp_path_factory.mktemp("pt"))
    stack = cdk.Stack(app, "Throughputs", env=cdk.Environment(account=ACCOUNT, region=REGION))
    hourly = ProvisionedThroughput(
        stack,
        "Hourly",
        model="amazon.nova-lite-v1:0:300k",
        model_units=2,
        provisioned_model_name="team-hourly",
        tags={"team": "genai"},
        environment="dev",
    )
    monthly = ProvisionedThroughput(
        stack,
        "Monthly",
        model="amazon.nova-pro-v1:0:300k",
        model_units=1,
        provisioned_model_name="team-monthly",
        commitment=Commitment.ONE_MONTH,
        family="assistant",
        version="assistant/v1-pt",
        environment="prod",
    )
    custom = ProvisionedThroughput(
        stack,
        "Custom",
        model=CUSTOM,
        model_units=1,
        provisioned_model_name="team_custom",
        commitment=Commitment.SIX_MONTHS,
        allow_replacement=True,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    # Same model again: no duplicate IAM resource.
    ProvisionedThroughput(
        stack,
        "HourlyToo",
        model="amazon.nova-lite-v1:0:300k",
        model_units=1,
        provisioned_model_name="team-hourly-2",
    )
    caller = iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    monthly.grant_invoke(caller)
    imported = ProvisionedThroughput.from_provisioned_model_arn(stack, "Imported", IMPORTED)
    imported.grant_invoke(caller)
    template = Template.from_stack(stack)
    return stack, template, {"hourly": hourly, "monthly": monthly, "custom": custom}, imported


def _logical_id(stack: cdk.Stack, construct) -> str:
    return stack.resolve(stack.get_logical_id(construct.node.default_child))


def _policy_of(template: Template, stack: cdk.Stack, role: iam.IRole) -> list[dict]:
    role_id = _logical_id(stack, role)
    policies = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}
    )
    (policy,) = policies.values()
    return policy["Properties"]["PolicyDocument"]["Statement"]


# -- one provider per stack ---------------------------------------------------------------------


def test_one_provider_serves_every_throughput_of_the_stack(built):
    stack, template, _, _ = built
    template.resource_count_is(RESOURCE_TYPE, 4)
    template.resource_properties_count_is("AWS::Lambda::Function", {"Handler": "app.on_event"}, 1)
    template.resource_properties_count_is(
        "AWS::Lambda::Function", {"Handler": "app.is_complete"}, 1
    )
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
    token = Capture()
    template.has_resource_properties(RESOURCE_TYPE, {"ServiceToken": token})
    for resource in template.find_resources(RESOURCE_TYPE).values():
        assert resource["Properties"]["ServiceToken"] == token.as_object()
    # Stable construct id: the service token must not move between deployments.
    provider = stack.node.find_child(PROVIDER_ID)
    assert isinstance(provider, ProvisionedThroughputProvider)
    assert ProvisionedThroughputProvider.of(stack) is provider


def test_provider_polls_every_minute_for_at_most_one_hour(built):
    _, template, _, _ = built
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    definition = json.dumps(machine["Properties"]["DefinitionString"])
    assert '\\"IntervalSeconds\\":60,\\"MaxAttempts\\":60,\\"BackoffRate\\":1' in definition
    assert machine["Properties"]["LoggingConfiguration"]["Level"] == "ALL"


def test_handlers_log_to_encrypted_log_groups_with_retention(built):
    _, template, throughputs, _ = built
    provider = throughputs["hourly"].provider
    for handler in (provider.on_event, provider.is_complete):
        function = template.find_resources(
            "AWS::Lambda::Function",
            {"Properties": {"Handler": handler.function.node.default_child.handler}},
        )
        (props,) = [f["Properties"] for f in function.values()]
        log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
        log_group = template.to_json()["Resources"][log_group_id]
        assert log_group["Properties"]["RetentionInDays"] == 365
        assert "Fn::GetAtt" in log_group["Properties"]["KmsKeyId"]
        assert props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == (
            "provisioned-throughput"
        )


# -- the resource -------------------------------------------------------------------------------


def test_resource_properties_follow_the_contract(built):
    _, template, _, _ = built
    template.has_resource_properties(
        RESOURCE_TYPE,
        {
            "ProvisionedModelName": "team-monthly",
            "ModelId": "amazon.nova-pro-v1:0:300k",
            "ModelUnits": "1",
            "CommitmentDuration": "OneMonth",
            "AllowReplacement": "false",
            "Tags": [
                {"Key": "bedrock-lifecycle:environment", "Value": "prod"},
                {"Key": "bedrock-lifecycle:family", "Value": "assistant"},
                {"Key": "bedrock-lifecycle:version", "Value": "assistant/v1-pt"},
            ],
        },
    )
    template.has_resource_properties(
        RESOURCE_TYPE,
        {
            "ProvisionedModelName": "team_custom",
            "ModelId": CUSTOM,
            "CommitmentDuration": "SixMonths",
            "AllowReplacement": "true",
            # No environment given: the owner tag is the stack's name.
            "Tags": [{"Key": "bedrock-lifecycle:environment", "Value": "Throughputs"}],
        },
    )


@pytest.mark.parametrize(
    ("name", "deletion", "replacement"),
    [
        ("team-monthly", "RetainExceptOnCreate", "Retain"),
        ("team_custom", "Retain", "Retain"),
        ("team-hourly", "Delete", "Delete"),
    ],
)
def test_committed_throughputs_are_retained(built, name, deletion, replacement):
    """Retained on delete and replacement; a failed creation is still rolled back."""
    _, template, _, _ = built
    template.has_resource(
        RESOURCE_TYPE,
        {
            "Properties": Match.object_like({"ProvisionedModelName": name}),
            "DeletionPolicy": deletion,
            "UpdateReplacePolicy": replacement,
        },
    )


def test_ref_is_the_provisioned_model_arn_and_an_imodel(built):
    stack, _, throughputs, imported = built
    monthly = throughputs["monthly"]
    ref = {"Ref": _logical_id(stack, monthly.resource)}
    assert stack.resolve(monthly.provisioned_model_arn) == ref
    assert stack.resolve(monthly.model.model_arn) == ref
    assert stack.resolve(monthly.model_arn) == ref
    assert isinstance(imported, ImportedProvisionedThroughput)
    assert imported.model.model_arn == IMPORTED == imported.provisioned_model_arn


# -- IAM ----------------------------------------------------------------------------------------


# Every environment tag a throughput of the fixture's stack carries (the stack's name for
# the one without environment).
OWNERS = ["Throughputs", "dev", "prod"]
OWNED = {"StringEquals": {"aws:ResourceTag/bedrock-lifecycle:environment": OWNERS}}
MODELS = [
    CUSTOM,
    f"arn:aws:bedrock:{REGION}::foundation-model/amazon.nova-lite-v1:0:300k",
    f"arn:aws:bedrock:{REGION}::foundation-model/amazon.nova-pro-v1:0:300k",
]


def test_on_event_role_has_exactly_the_throughput_and_model_statements(built):
    """Existing throughputs only with the stack's owner tag; buying only with it; the tag
    can be neither removed nor given another owner's value."""
    stack, template, throughputs, _ = built
    provider = throughputs["hourly"].provider
    statements = [
        s
        for s in _policy_of(template, stack, provider.on_event.role)
        if any(a.startswith("bedrock:") for a in _list(s["Action"]))
    ]
    assert statements == [
        {
            "Sid": "CreateOwnedThroughputsOfDeclaredModels",
            "Effect": "Allow",
            "Action": "bedrock:CreateProvisionedModelThroughput",
            "Condition": {"StringEquals": {"aws:RequestTag/bedrock-lifecycle:environment": OWNERS}},
            "Resource": MODELS,
        },
        {
            "Sid": "UseDeclaredModels",
            "Effect": "Allow",
            "Action": "bedrock:UpdateProvisionedModelThroughput",
            "Resource": MODELS,
        },
        {
            "Sid": "ReadThroughputs",
            "Effect": "Allow",
            "Action": "bedrock:GetProvisionedModelThroughput",
            "Resource": THROUGHPUTS,
        },
        {
            "Sid": "ManageOwnedThroughputs",
            "Effect": "Allow",
            "Action": [
                "bedrock:DeleteProvisionedModelThroughput",
                "bedrock:UpdateProvisionedModelThroughput",
            ],
            "Condition": OWNED,
            "Resource": THROUGHPUTS,
        },
        {
            "Sid": "TagOwnedThroughputs",
            "Effect": "Allow",
            "Action": "bedrock:TagResource",
            "Condition": {
                **OWNED,
                "StringEqualsIfExists": {"aws:RequestTag/bedrock-lifecycle:environment": OWNERS},
            },
            "Resource": THROUGHPUTS,
        },
        {
            "Sid": "UntagOwnedThroughputs",
            "Effect": "Allow",
            "Action": "bedrock:UntagResource",
            "Condition": {
                **OWNED,
                "ForAllValues:StringNotEqualsIgnoreCase": {
                    "aws:TagKeys": ["bedrock-lifecycle:environment"]
                },
            },
            "Resource": THROUGHPUTS,
        },
    ]


def test_no_bedrock_action_on_throughputs_goes_without_the_owner_tag(built):
    """Whatever the statements look like: every grant on provisioned-model/* but reading is
    conditioned on the owner tag, and Create on the tag in the request."""
    stack, template, throughputs, _ = built
    provider = throughputs["hourly"].provider
    for role in (provider.on_event.role, provider.is_complete.role):
        for statement in _policy_of(template, stack, role):
            actions = _list(statement["Action"])
            if not any(a.startswith("bedrock:") for a in actions):
                continue
            condition = statement.get("Condition", {})
            if statement["Resource"] == THROUGHPUTS and actions != [
                "bedrock:GetProvisionedModelThroughput"
            ]:
                assert condition["StringEquals"] == OWNED["StringEquals"], statement
            elif "bedrock:CreateProvisionedModelThroughput" in actions:
                assert condition["StringEquals"] == {
                    "aws:RequestTag/bedrock-lifecycle:environment": OWNERS
                }, statement


def test_is_complete_role_only_reads_and_deletes_owned_throughputs(built):
    stack, template, throughputs, _ = built
    provider = throughputs["hourly"].provider
    statements = [
        s
        for s in _policy_of(template, stack, provider.is_complete.role)
        if any(a.startswith("bedrock:") for a in _list(s["Action"]))
    ]
    assert statements == [
        {
            "Sid": "ReadThroughputs",
            "Effect": "Allow",
            "Action": "bedrock:GetProvisionedModelThroughput",
            "Resource": THROUGHPUTS,
        },
        {
            "Sid": "PollOwnedThroughputs",
            "Effect": "Allow",
            "Action": "bedrock:DeleteProvisionedModelThroughput",
            "Condition": OWNED,
            "Resource": THROUGHPUTS,
        },
    ]


def test_user_tags_cannot_replace_the_throughputs_own_tags(tmp_path):
    """A platform team passing bedrock-lifecycle:environment (any case) in tags gets the
    built-in value, and a warning; the IAM owner values are the built-in ones only."""
    app = new_app(tmp_path)
    stack = cdk.Stack(app, "Own", env=cdk.Environment(account=ACCOUNT, region=REGION))
    throughput = ProvisionedThroughput(
        stack,
        "Spoofed",
        model="amazon.nova-lite-v1:0:300k",
        model_units=1,
        provisioned_model_name="spoofed",
        tags={
            "bedrock-lifecycle:environment": "prod",
            "Bedrock-Lifecycle:Family": "other",
            "team": "genai",
        },
        environment="dev",
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        RESOURCE_TYPE,
        {
            "Tags": [
                {"Key": "bedrock-lifecycle:environment", "Value": "dev"},
                {"Key": "team", "Value": "genai"},
            ]
        },
    )
    statements = _policy_of(template, stack, throughput.provider.on_event.role)
    (manage,) = [s for s in statements if s.get("Sid") == "ManageOwnedThroughputs"]
    assert manage["Condition"] == {
        "StringEquals": {"aws:ResourceTag/bedrock-lifecycle:environment": ["dev"]}
    }
    Annotations.from_stack(stack).has_warning(
        "/Own/Spoofed",
        Match.string_like_regexp(
            "tags Bedrock-Lifecycle:Family, bedrock-lifecycle:environment are set by the "
            "throughput itself"
        ),
    )


def test_grant_invoke_names_the_provisioned_model_only(built):
    stack, template, throughputs, _ = built
    caller = stack.node.find_child("Caller")
    statements = _policy_of(template, stack, caller)
    assert statements == [
        {
            "Effect": "Allow",
            "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
            "Resource": [IMPORTED, {"Ref": _logical_id(stack, throughputs["monthly"].resource)}],
        }
    ]


def test_no_wildcard_actions_anywhere(built):
    _, template, _, _ = built
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            for action in _list(statement["Action"]):
                assert "*" not in action, statement


def _list(value):
    return value if isinstance(value, list) else [value]


# -- validation before any resource is made -------------------------------------------------------


@pytest.fixture
def scratch(tmp_path):
    app = new_app(tmp_path)
    return cdk.Stack(app, "Scratch", env=cdk.Environment(account=ACCOUNT, region=REGION))


VALID = {
    "model": "amazon.nova-pro-v1:0:300k",
    "model_units": 1,
    "provisioned_model_name": "ok-name",
}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model_units": 0}, "model_units must be a whole number >= 1, got 0"),
        ({"model_units": -2}, "model_units must be a whole number >= 1, got -2"),
        ({"model_units": 1.5}, "model_units must be a whole number >= 1, got 1.5"),
        ({"model_units": True}, "model_units must be a whole number >= 1, got True"),
        ({"provisioned_model_name": ""}, "provisioned_model_name must be 1-63 characters"),
        ({"provisioned_model_name": "a" * 64}, "provisioned_model_name must be 1-63 characters"),
        ({"provisioned_model_name": "two--dashes"}, "got 'two--dashes'"),
        ({"provisioned_model_name": "-leading"}, "got '-leading'"),
        ({"commitment": "one_month"}, "commitment must be a Commitment (none, one_month, "),
        ({"model": "gpt-4"}, "model must be a foundation model id .* got 'gpt-4'"),
        ({"model": "arn:aws:s3:::bucket"}, "got 'arn:aws:s3:::bucket'"),
        ({"tags": {"aws:team": "x"}}, "must not start with aws:, got 'aws:team'"),
        ({"tags": {"team": "a,b"}}, "tag values .* got 'a,b' for 'team'"),
        (
            {"commitment": Commitment.ONE_MONTH, "removal_policy": cdk.RemovalPolicy.DESTROY},
            "a throughput with commitment one_month is always retained",
        ),
    ],
)
def test_invalid_props_fail_before_any_resource(scratch, overrides, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ProvisionedThroughput(scratch, "Bad", **{**VALID, **overrides})
    assert scratch.node.try_find_child("Bad") is None
    assert scratch.node.try_find_child(PROVIDER_ID) is None


def test_every_problem_is_reported_at_once(scratch):
    with pytest.raises(ValueError) as raised:
        ProvisionedThroughput(scratch, "Bad", model="x", model_units=0, provisioned_model_name="")
    assert str(raised.value).count(";") == 2


def test_unresolved_tokens_are_not_checked(scratch):
    units = cdk.CfnParameter(scratch, "Units", type="Number")
    name = cdk.CfnParameter(scratch, "Name")
    model = cdk.CfnParameter(scratch, "Model")
    throughput = ProvisionedThroughput(
        scratch,
        "FromParameters",
        model=model.value_as_string,
        model_units=units.value_as_number,
        provisioned_model_name=name.value_as_string,
    )
    props = Template.from_stack(scratch).find_resources(RESOURCE_TYPE)
    (resource,) = props.values()
    assert resource["Properties"]["ModelUnits"] == {"Ref": "Units"}
    assert resource["Properties"]["ProvisionedModelName"] == {"Ref": "Name"}
    assert throughput.commitment is Commitment.NONE


def test_import_refuses_what_is_not_a_provisioned_model_arn(scratch):
    with pytest.raises(ValueError, match="provisioned_model_arn must be arn:<partition>"):
        ProvisionedThroughput.from_provisioned_model_arn(
            scratch, "Bad", f"arn:aws:bedrock:{REGION}::foundation-model/amazon.nova-pro-v1:0"
        )


# -- the shipped example --------------------------------------------------------------------------


def test_shipped_prod_buys_the_assistant_throughput_and_retains_it(synthesized):
    template = synthesized.template("prod")
    template.resource_count_is(RESOURCE_TYPE, 1)
    template.has_resource(
        RESOURCE_TYPE,
        {
            "Properties": {
                "ServiceToken": Match.any_value(),
                "ProvisionedModelName": "acme-genai-prod-assistant",
                "ModelId": "amazon.nova-pro-v1:0:300k",
                "ModelUnits": "1",
                "CommitmentDuration": "OneMonth",
                "AllowReplacement": "false",
                "Tags": [
                    {"Key": "bedrock-lifecycle:environment", "Value": "prod"},
                    {"Key": "bedrock-lifecycle:family", "Value": "assistant"},
                    {"Key": "bedrock-lifecycle:project", "Value": "acme-genai"},
                    {"Key": "bedrock-lifecycle:version", "Value": "assistant/v1-pt"},
                    {"Key": "cost-center", "Value": "genai-platform"},
                ],
            },
            "DeletionPolicy": "RetainExceptOnCreate",
            "UpdateReplacePolicy": "Retain",
        },
    )
    stack = synthesized.stacks["prod"]
    assert list(stack.throughputs) == ["assistant"]
    assert stack.resolve(stack.throughputs["assistant"].provisioned_model_arn) == {
        "Ref": _logical_id(stack, stack.throughputs["assistant"].resource)
    }


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_environments_without_throughput_have_no_provider(synthesized, env):
    template = synthesized.template(env)
    template.resource_count_is(RESOURCE_TYPE, 0)
    assert not [
        lid
        for lid in template.find_resources("AWS::Lambda::Function")
        if lid.startswith("ProvisionedThroughputProvider")
    ]
    assert synthesized.stacks[env].throughputs == {}
