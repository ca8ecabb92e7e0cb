"""Input validation, is_complete state sequences, the immutable-property matrix and the
Lambda entry points of the provisioned throughput handler."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from types import SimpleNamespace

import pytest

from .conftest import (
    ARN,
    CUSTOM_ARN,
    CUSTOM_ARN_2,
    FM_ARN,
    NAME,
    NEW_ARN,
    NOW,
    description,
    event,
    props,
    run_provider,
)

LATER = NOW + dt.timedelta(days=20)
EARLIER = NOW - dt.timedelta(days=2)
# botocore's pattern of clientRequestToken (bedrock 2023-04-20).
TOKEN_PATTERN = re.compile(r"[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?")


# ---------------------------------------------------------------- validation before any call


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ProvisionedModelName": ""}, r"ProvisionedModelName must be 1-63 characters .* got ''"),
        ({"ProvisionedModelName": "a" * 64}, r"ProvisionedModelName must be 1-63 characters"),
        ({"ProvisionedModelName": "bad--name"}, r"got 'bad--name'"),
        ({"ProvisionedModelName": "bad name"}, r"got 'bad name'"),
        ({"ModelId": "claude"}, r"ModelId must be a foundation model id, .* got 'claude'"),
        ({"ModelId": "arn:aws:s3:::bucket"}, r"ModelId must be .* got 'arn:aws:s3:::bucket'"),
        ({"ModelUnits": "0"}, r"ModelUnits must be a whole number from 1 to 999999, got '0'"),
        ({"ModelUnits": "-1"}, r"ModelUnits must be a whole number from 1 to 999999, got '-1'"),
        ({"ModelUnits": "1.5"}, r"ModelUnits must be a whole number from 1 to 999999, got '1.5'"),
        ({"ModelUnits": "two"}, r"ModelUnits must be a whole number from 1 to 999999, got 'two'"),
        ({"ModelUnits": "01"}, r"ModelUnits must be a whole number from 1 to 999999, got '01'"),
        (
            {"CommitmentDuration": "one_month"},
            r"CommitmentDuration must be one of None, OneMonth, SixMonths, got 'one_month'",
        ),
        ({"AllowReplacement": "yes"}, r"AllowReplacement must be 'true' or 'false', got 'yes'"),
        ({"Tags": "env=prod"}, r"Tags must be a list of \{Key, Value\}, got 'env=prod'"),
        ({"Tags": [{"Key": "a"}]}, r"each tag must be \{Key, Value\}, got \{'Key': 'a'\}"),
        (
            {"Tags": [{"Key": "aws:x", "Value": "1"}]},
            r"must not start with aws: \(AWS keeps it\), got 'aws:x'",
        ),
        ({"Tags": [{"Key": "k", "Value": "a,b"}]}, r"tag values .* got 'a,b' for 'k'"),
        (
            {"Tags": [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]},
            r"tag 'k' is given twice",
        ),
        ({"Colour": "blue"}, r"unknown properties 'Colour' \(allowed: ProvisionedModelName,"),
    ],
)
@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_invalid_properties_fail_before_any_aws_call(
    app, bedrock, overrides, message, request_type
):
    client, _stub = bedrock  # no responses queued: any AWS call would raise StubResponseError
    request = event(
        request_type,
        physical_id=ARN if request_type == "Update" else None,
        old=props() if request_type == "Update" else None,
        **overrides,
    )
    with pytest.raises(app.ThroughputError, match=message):
        app.handle_on_event(request, client, now=lambda: NOW, sleep=pytest.fail)


def test_missing_properties_are_listed_together(app, bedrock):
    client, _stub = bedrock
    request = event("Create")
    request["ResourceProperties"] = {"ServiceToken": "x"}
    with pytest.raises(app.ThroughputError) as raised:
        app.handle_on_event(request, client)
    assert str(raised.value) == (
        "invalid resource properties: ProvisionedModelName is required; ModelId is required; "
        "ModelUnits is required; CommitmentDuration is required"
    )


def test_update_with_a_physical_id_that_is_not_an_arn_fails_before_any_call(app, bedrock):
    client, _stub = bedrock
    request = event("Update", physical_id="not-an-arn", old=props(), ProvisionedModelName="x")
    with pytest.raises(app.ThroughputError, match="the physical id 'not-an-arn' is not a"):
        app.handle_on_event(request, client)


def test_unknown_request_type(app, bedrock):
    with pytest.raises(
        app.ThroughputError, match="RequestType must be Create, Update or Delete, got 'Import'"
    ):
        app.handle_on_event({**event("Create"), "RequestType": "Import"}, bedrock[0])


@pytest.mark.parametrize(
    "model",
    [
        "amazon.nova-pro-v1:0:300k",
        "anthropic.claude-3-haiku-20240307-v1:0:200k",
        FM_ARN,
        CUSTOM_ARN,
    ],
)
def test_accepted_models(app, model):
    assert app.parse_properties(props(ModelId=model)).model_id == model


def test_properties_parse_as_strings(app):
    parsed = app.parse_properties(props(ModelUnits="12", AllowReplacement="true"))
    assert (parsed.model_units, parsed.allow_replacement, parsed.committed) == (12, True, False)
    assert parsed.tags == (
        ("bedrock-lifecycle:environment", "prod"),
        ("bedrock-lifecycle:family", "assistant"),
    )


# ---------------------------------------------------------------- idempotency


def test_client_request_token_is_stable_per_request_and_valid(create_module):
    first, retried = event("Create"), event("Create")
    other = event("Create", request_id="0e0d6a3e-7c1b-4d8e-8f00-aaaaaaaaaaaa")
    token = create_module.client_request_token(first)
    assert token == create_module.client_request_token(retried)
    assert token != create_module.client_request_token(other)
    assert TOKEN_PATTERN.fullmatch(token) and len(token) <= 256


def test_a_retried_create_event_sends_the_same_token(app, create_module, bedrock):
    """Bedrock answers a repeated token with the throughput it already bought."""
    client, stub = bedrock
    request = event("Create")
    params = {
        "modelUnits": 1,
        "provisionedModelName": NAME,
        "modelId": "amazon.nova-pro-v1:0:300k",
        "clientRequestToken": create_module.client_request_token(request),
        "tags": [
            {"key": "bedrock-lifecycle:environment", "value": "prod"},
            {"key": "bedrock-lifecycle:family", "value": "assistant"},
        ],
    }
    for _ in range(2):
        stub.add_response(
            "create_provisioned_model_throughput", {"provisionedModelArn": ARN}, params
        )
    answers = [app.handle_on_event(dict(request), client) for _ in range(2)]
    assert answers[0] == answers[1] == {"PhysicalResourceId": ARN, "Wait": "InService"}


@pytest.mark.parametrize("name", [NAME, "a" * 63, "a" * 56 + "-" + "b" * 6, "x", "a_" * 31 + "a"])
def test_replacement_name_is_valid_unique_and_deterministic(update_module, name):
    request = event("Update")
    replaced = update_module.replacement_name(name, request)
    assert replaced == update_module.replacement_name(name, dict(request))
    assert replaced != name and len(replaced) <= 63
    assert update_module.contract.PROVISIONED_MODEL_NAME.fullmatch(replaced), replaced


# ---------------------------------------------------------------- is_complete sequences


def _poll(app, client, request):
    return run_provider(app, request, client, max_polls=10)


def test_creating_then_in_service(app, bedrock):
    client, stub = bedrock
    get = {"provisionedModelId": ARN}
    for status in ("Creating", "Creating", "InService"):
        stub.add_response("get_provisioned_model_throughput", description(status=status), get)
    answer = {"PhysicalResourceId": ARN, "Wait": "InService"}
    results = [app.handle_is_complete({**event("Create"), **answer}, client) for _ in range(3)]
    assert results == [
        {"IsComplete": False},
        {"IsComplete": False},
        {"IsComplete": True, "Data": {"ProvisionedModelArn": ARN}},
    ]


def test_creating_then_failed_surfaces_bedrocks_message(app, bedrock):
    client, stub = bedrock
    get = {"provisionedModelId": ARN}
    stub.add_response("get_provisioned_model_throughput", description(status="Creating"), get)
    stub.add_response(
        "get_provisioned_model_throughput",
        description(status="Failed", failure="Insufficient capacity for amazon.nova-pro"),
        get,
    )
    request = {**event("Create"), "PhysicalResourceId": ARN, "Wait": "InService"}
    assert app.handle_is_complete(request, client) == {"IsComplete": False}
    with pytest.raises(app.ThroughputError) as raised:
        app.handle_is_complete(request, client)
    assert str(raised.value) == (
        f"provisioned throughput {ARN} failed: Insufficient capacity for amazon.nova-pro"
    )


def test_a_failure_message_of_maximum_length_keeps_the_response_under_4096_bytes(app, bedrock):
    client, stub = bedrock
    longest = "x" * 2048  # Bedrock's maximum failureMessage
    stub.add_response("create_provisioned_model_throughput", {"provisionedModelArn": ARN})
    stub.add_response(
        "get_provisioned_model_throughput", description(status="Failed", failure=longest)
    )
    outcome = run_provider(app, event("Create"), client)
    assert outcome.status == "FAILED" and outcome.physical_id == ARN
    assert outcome.reason.endswith("...(truncated)")
    assert outcome.response_bytes(event("Create")) < 4096


def test_updating_then_in_service_on_the_new_model(app, bedrock):
    client, stub = bedrock
    old = props(ModelId=CUSTOM_ARN)
    request = event("Update", physical_id=ARN, old=old, ModelId=CUSTOM_ARN_2)
    stub.add_response(
        "update_provisioned_model_throughput",
        {},
        {"provisionedModelId": ARN, "desiredModelId": CUSTOM_ARN_2},
    )
    get = {"provisionedModelId": ARN}
    # Bedrock reports the switch: Updating, then InService still on the old model while
    # the desired one is the new model, then InService on the new model.
    for status, model in (
        ("Updating", CUSTOM_ARN),
        ("InService", CUSTOM_ARN),
        ("InService", CUSTOM_ARN_2),
    ):
        stub.add_response(
            "get_provisioned_model_throughput",
            description(status=status, model_arn=model, desired_model_arn=CUSTOM_ARN_2),
            get,
        )
    outcome = run_provider(app, request, client)
    assert (outcome.status, outcome.physical_id, outcome.polls) == ("SUCCESS", ARN, 3)
    assert outcome.data == {"ProvisionedModelArn": ARN}


def test_in_service_on_another_model_than_requested_fails(app, bedrock):
    client, stub = bedrock
    stub.add_response(
        "get_provisioned_model_throughput",
        description(model_arn=CUSTOM_ARN, desired_model_arn=CUSTOM_ARN),
    )
    request = {
        **event("Update"),
        "PhysicalResourceId": ARN,
        "Wait": "InService",
        "DesiredModel": CUSTOM_ARN_2,
    }
    with pytest.raises(app.ThroughputError, match=r"is InService on .*, not on the requested"):
        app.handle_is_complete(request, client)


def test_nothing_to_wait_for_completes_without_calls(app, bedrock):
    assert app.handle_is_complete({**event("Update"), "PhysicalResourceId": ARN}, bedrock[0]) == {
        "IsComplete": True
    }


# ---------------------------------------------------------------- immutable-property matrix

# (case, old properties, new properties, committed-and-unexpired?, expected)
# expected: "in-place" (same physical id), "replace" (new physical id), "refused" (fails),
# "no-op" (no Bedrock call at all).
MATRIX = [
    ("rename", {}, {"ProvisionedModelName": "renamed"}, False, "in-place"),
    (
        "rename-committed",
        {"CommitmentDuration": "OneMonth"},
        {"CommitmentDuration": "OneMonth", "ProvisionedModelName": "renamed"},
        True,
        "in-place",
    ),
    ("custom-model-change", {"ModelId": CUSTOM_ARN}, {"ModelId": CUSTOM_ARN_2}, False, "in-place"),
    (
        "custom-model-change-committed",
        {"ModelId": CUSTOM_ARN, "CommitmentDuration": "SixMonths"},
        {"ModelId": CUSTOM_ARN_2, "CommitmentDuration": "SixMonths"},
        True,
        "in-place",
    ),
    (
        "custom-model-to-base-model",
        {"ModelId": CUSTOM_ARN},
        {"ModelId": "amazon.nova-pro-v1:0:300k"},
        False,
        "in-place",
    ),
    ("tags", {}, {"Tags": [{"Key": "team", "Value": "genai"}]}, False, "in-place"),
    (
        "tags-committed",
        {"CommitmentDuration": "OneMonth"},
        {"CommitmentDuration": "OneMonth", "Tags": []},
        True,
        "in-place",
    ),
    ("allow-replacement-only", {}, {"AllowReplacement": "true"}, False, "no-op"),
    ("same-model-as-arn", {}, {"ModelId": FM_ARN}, False, "no-op"),
    ("units", {}, {"ModelUnits": "2"}, False, "replace"),
    ("commitment-none-to-one-month", {}, {"CommitmentDuration": "OneMonth"}, False, "replace"),
    ("foundation-model-change", {}, {"ModelId": "amazon.nova-lite-v1:0:300k"}, False, "replace"),
    ("foundation-to-custom-model", {}, {"ModelId": CUSTOM_ARN}, False, "replace"),
    (
        "units-committed",
        {"CommitmentDuration": "OneMonth"},
        {"CommitmentDuration": "OneMonth", "ModelUnits": "2"},
        True,
        "refused",
    ),
    (
        "commitment-one-to-six-months",
        {"CommitmentDuration": "OneMonth"},
        {"CommitmentDuration": "SixMonths"},
        True,
        "refused",
    ),
    ("commitment-to-none", {"CommitmentDuration": "SixMonths"}, {}, True, "refused"),
    (
        "foundation-model-change-committed",
        {"CommitmentDuration": "OneMonth"},
        {"CommitmentDuration": "OneMonth", "ModelId": "amazon.nova-lite-v1:0:300k"},
        True,
        "refused",
    ),
    (
        "units-committed-allowed",
        {"CommitmentDuration": "OneMonth"},
        {"CommitmentDuration": "OneMonth", "ModelUnits": "2", "AllowReplacement": "true"},
        True,
        "replace",
    ),
    (
        "units-committed-term-ended",
        {"CommitmentDuration": "OneMonth"},
        {"CommitmentDuration": "OneMonth", "ModelUnits": "2"},
        False,
        "replace",
    ),
]


@pytest.mark.parametrize(
    ("case", "old", "new", "under_term", "expected"), MATRIX, ids=[m[0] for m in MATRIX]
)
def test_immutable_property_matrix(
    app, update_module, bedrock, case, old, new, under_term, expected
):
    client, stub = bedrock
    request = event("Update", physical_id=ARN, old=props(**old), **new)
    old_props = app.parse_properties(request["OldResourceProperties"])
    new_props = app.parse_properties(request["ResourceProperties"])
    if expected in ("replace", "refused"):
        # A replacement first reads the old throughput (its commitment, what it holds).
        committed = old_props.commitment if old_props.committed else None
        stub.add_response(
            "get_provisioned_model_throughput",
            description(
                commitment=committed,
                expires=(LATER if under_term else EARLIER) if committed else None,
                model_arn=CUSTOM_ARN if old_props.custom_model else FM_ARN,
            ),
            {"provisionedModelId": ARN},
        )
    if expected == "replace":
        stub.add_response("create_provisioned_model_throughput", {"provisionedModelArn": NEW_ARN})
    elif expected == "in-place":
        plan = update_module.plan_update(old_props, new_props)
        changes = {}
        if plan.rename:
            changes["desiredProvisionedModelName"] = new_props.name
        if plan.change_model:
            changes["desiredModelId"] = new_props.model_id
        if changes:
            stub.add_response(
                "update_provisioned_model_throughput", {}, {"provisionedModelId": ARN, **changes}
            )
        if plan.tags_to_remove:
            stub.add_response(
                "untag_resource", {}, {"resourceARN": ARN, "tagKeys": list(plan.tags_to_remove)}
            )
        if plan.tags_to_set:
            stub.add_response(
                "tag_resource",
                {},
                {"resourceARN": ARN, "tags": [{"key": k, "value": v} for k, v in plan.tags_to_set]},
            )

    if expected == "refused":
        with pytest.raises(
            app.ThroughputError,
            match=r"refusing to replace committed .* set "
            r"allow_replacement: true",
        ):
            app.handle_on_event(request, client, now=lambda: NOW)
        return
    answer = app.handle_on_event(request, client, now=lambda: NOW)
    if expected == "replace":
        assert answer["PhysicalResourceId"] == NEW_ARN
        assert answer["Wait"] == "InService"
    else:
        assert answer["PhysicalResourceId"] == ARN
        if expected == "no-op":
            assert answer == {"PhysicalResourceId": ARN}


def test_replacement_reasons_are_named(app, update_module):
    old = app.parse_properties(props())
    new = app.parse_properties(props(ModelUnits="3", CommitmentDuration="SixMonths"))
    assert update_module.plan_update(old, new).replacement_reasons == (
        "ModelUnits 1 -> 3",
        "CommitmentDuration None -> SixMonths",
    )


# ---------------------------------------------------------------- Lambda entry points


def test_entry_points_log_through_powertools_without_the_response_url(app, bedrock, monkeypatch):
    client, stub = bedrock
    monkeypatch.setattr(app, "_client", client)
    written = io.StringIO()
    monkeypatch.setattr(app.logger.registered_handler, "stream", written)
    stub.add_response(
        "get_provisioned_model_throughput", description(), {"provisionedModelId": ARN}
    )
    stub.add_response("delete_provisioned_model_throughput", {}, {"provisionedModelId": ARN})
    context = SimpleNamespace(
        function_name="on-event",
        memory_limit_in_mb=256,
        function_version="$LATEST",
        invoked_function_arn="arn:aws:lambda:us-east-1:222222222222:function:on-event",
        aws_request_id="req-1",
    )
    assert app.on_event(event("Delete", physical_id=ARN), context) == {"PhysicalResourceId": ARN}
    assert app.is_complete({**event("Delete"), "PhysicalResourceId": ARN}, context) == {
        "IsComplete": True
    }
    lines = [json.loads(line) for line in written.getvalue().splitlines() if line]
    assert any(line["message"] == "provisioned throughput deleted" for line in lines)
    assert all("X-Amz-Signature" not in json.dumps(line) for line in lines)
    assert {line["function_request_id"] for line in lines} == {"req-1"}


# ---------------------------------------------------------------- retries


def test_transport_errors_are_retried_then_succeed(calls):
    from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

    failures = [
        EndpointConnectionError(endpoint_url="https://bedrock.us-east-1.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://bedrock.us-east-1.amazonaws.com"),
    ]
    attempts, sleeps = [], []

    def operation(**params):
        attempts.append(params)
        if failures:
            raise failures.pop(0)
        return {"provisionedModelArn": ARN}

    answer = calls.call_bedrock(operation, sleeps.append, modelUnits=1)
    assert answer == {"provisionedModelArn": ARN}
    assert attempts == [{"modelUnits": 1}] * 3
    policy = calls.contract.RETRY_POLICY
    assert len(sleeps) == 2 and all(0 < s <= policy.cap_seconds for s in sleeps)


def test_backoff_doubles_and_is_capped(calls, bedrock):
    client, stub = bedrock
    policy = calls.contract.RETRY_POLICY
    assert (policy.attempts, policy.base_seconds, policy.cap_seconds) == (5, 0.5, 8.0)
    for _ in range(policy.attempts):
        stub.add_client_error(
            "get_provisioned_model_throughput", "ThrottlingException", http_status_code=429
        )
    sleeps = []
    with pytest.raises(Exception, match="ThrottlingException"):
        calls.call_bedrock(
            client.get_provisioned_model_throughput, sleeps.append, provisionedModelId=ARN
        )
    ceilings = [min(policy.cap_seconds, policy.base_seconds * 2**i) for i in range(4)]
    assert len(sleeps) == policy.attempts - 1
    assert all(c / 2 <= s <= c for s, c in zip(sleeps, ceilings, strict=True))


@pytest.mark.parametrize(
    ("code", "status", "retried"),
    [
        ("ServiceQuotaExceededException", 400, False),
        ("ValidationException", 400, False),
        ("AccessDeniedException", 403, False),
        ("ConflictException", 400, False),
        ("ResourceNotFoundException", 404, False),
        ("ThrottlingException", 429, True),
        ("InternalServerException", 500, True),
        ("ServiceUnavailableException", 503, True),
    ],
)
def test_which_errors_are_retried(calls, code, status, retried):
    from botocore.exceptions import ClientError

    error = ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetProvisionedModelThroughput",
    )
    assert calls.contract.is_retryable(error) is retried
    attempts, sleeps = [], []

    def operation():
        attempts.append(1)
        raise error

    with pytest.raises(ClientError):
        calls.call_bedrock(operation, sleeps.append)
    assert len(attempts) == (calls.contract.RETRY_POLICY.attempts if retried else 1)


# ---------------------------------------------------------------- tags


def test_a_tag_change_sends_only_the_difference_in_place(app, bedrock):
    """Changed and new tags are set, dropped ones removed, unchanged ones not sent; no wait."""
    client, stub = bedrock
    old = props(
        Tags=[
            {"Key": "bedrock-lifecycle:environment", "Value": "prod"},
            {"Key": "bedrock-lifecycle:family", "Value": "assistant"},
            {"Key": "team", "Value": "ml"},
        ]
    )
    request = event(
        "Update",
        physical_id=ARN,
        old=old,
        Tags=[
            {"Key": "bedrock-lifecycle:environment", "Value": "prod"},
            {"Key": "bedrock-lifecycle:family", "Value": "assistant summarizer"},
            {"Key": "bedrock-lifecycle:version", "Value": "assistant/v1-pt"},
        ],
    )
    stub.add_response("untag_resource", {}, {"resourceARN": ARN, "tagKeys": ["team"]})
    stub.add_response(
        "tag_resource",
        {},
        {
            "resourceARN": ARN,
            "tags": [
                {"key": "bedrock-lifecycle:family", "value": "assistant summarizer"},
                {"key": "bedrock-lifecycle:version", "value": "assistant/v1-pt"},
            ],
        },
    )
    outcome = run_provider(app, request, client)
    assert (outcome.status, outcome.physical_id, outcome.polls) == ("SUCCESS", ARN, 1)
    assert outcome.on_event == {"PhysicalResourceId": ARN}
