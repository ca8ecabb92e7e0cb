"""The front door of the provisioned throughput handler: every malformed event is refused
with the handler's own one-line message, before any Bedrock call, in a short answer."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings

from tests.lambdas.provisioned_throughput.cfn_fuzz import (
    assert_own_failure,
    framework_body,
    invalid_events,
    no_aws_calls,
)
from tests.lambdas.provisioned_throughput.conftest import ARN, NOW, event, props
from tests.support.lambda_assets import stubbed_clients

PREFIXES = ("invalid request: ", "invalid resource properties: ")
PROPERTY_NAMES = tuple(k for k in props() if k != "ServiceToken")


@pytest.fixture(scope="module")
def quiet_bedrock():
    """A client with nothing stubbed, made once: any call raises, and is recorded."""
    with stubbed_clients("bedrock") as [(client, _stub)], no_aws_calls(client) as calls:
        yield client, calls


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad=invalid_events(event("Create"), PROPERTY_NAMES, ARN))
def test_no_malformed_event_reaches_bedrock(app, quiet_bedrock, bad):
    client, calls = quiet_bedrock
    for handle in (app.handle_on_event, app.handle_is_complete):
        if handle is app.handle_is_complete and isinstance(bad, dict):
            bad = {**bad, "Wait": "InService"}
        with pytest.raises(app.ThroughputError) as raised:
            handle(bad, client, now=lambda: NOW, sleep=pytest.fail)
        message = str(raised.value)
        assert_own_failure(message, PREFIXES)
        assert len(message.encode()) <= 1000
        assert len(framework_body(bad, message)) < 4096
    assert calls == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"RequestId": None}, "RequestId must be 1-256 ASCII characters, got None"),
        ({"RequestId": "a\nb"}, r"RequestId must be 1-256 ASCII characters, got 'a\\nb'"),
        ({"StackId": "stack"}, "StackId must be a CloudFormation stack ARN, got 'stack'"),
        ({"LogicalResourceId": "\uff11\uff12"}, "LogicalResourceId must be 1-255 ASCII letters"),
        ({"ResponseURL": "http://x"}, "ResponseURL must be an https URL"),
        ({"ResourceProperties": "{}"}, "ResourceProperties must be an object of named"),
        ({"RequestType": "Import"}, "RequestType must be Create, Update or Delete, got 'Import'"),
    ],
)
def test_each_field_is_named_with_its_value(app, bedrock, change, message):
    with pytest.raises(app.ThroughputError, match=message):
        app.handle_on_event({**event("Create"), **change}, bedrock[0])


def test_a_missing_field_says_so(app, bedrock):
    request = event("Create")
    del request["RequestId"]
    with pytest.raises(app.ThroughputError, match=r"RequestId must be .*, got nothing$"):
        app.handle_on_event(request, bedrock[0])


@pytest.mark.parametrize("request_type", ["Update", "Delete"])
def test_update_and_delete_need_a_physical_id(app, bedrock, request_type):
    request = event(request_type, old=props())
    with pytest.raises(app.ThroughputError, match=r"PhysicalResourceId must be .*, got nothing"):
        app.handle_on_event(request, bedrock[0])


def test_a_3000_character_physical_id_on_delete_is_refused_in_a_short_answer(app, bedrock):
    with pytest.raises(app.ThroughputError) as raised:
        app.handle_on_event(event("Delete", physical_id="x" * 3000), bedrock[0])
    message = str(raised.value)
    assert message.startswith("invalid request: PhysicalResourceId must be 1-1024 ASCII")
    assert len(message) < 200


def test_an_update_without_old_properties_is_refused(app, bedrock):
    request = event("Update", physical_id=ARN)
    with pytest.raises(app.ThroughputError, match="OldResourceProperties must be an object"):
        app.handle_on_event(request, bedrock[0])


def test_unknown_properties_are_listed_with_the_allowed_ones(app, bedrock):
    request = event("Create", Colour="blue", Size="L")
    with pytest.raises(app.ThroughputError) as raised:
        app.handle_on_event(request, bedrock[0])
    assert str(raised.value) == (
        "invalid request: ResourceProperties has unknown properties 'Colour', 'Size' "
        "(allowed: ProvisionedModelName, ModelId, ModelUnits, CommitmentDuration, "
        "AllowReplacement, Tags)"
    )


def test_a_delete_tolerates_an_unknown_property(app, bedrock):
    # A stack must stay deletable: a Delete of a non-ARN id answers at once.
    request = event("Delete", physical_id="never-created", Colour="blue")
    assert app.handle_on_event(request, bedrock[0]) == {"PhysicalResourceId": "never-created"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"ModelUnits": "\uff11"},
            "ModelUnits must be a whole number from 1 to 999999, got '\uff11'",
        ),
        ({"ProvisionedModelName": "name\n"}, r"ProvisionedModelName must be .* got 'name\\n'"),
        ({"Tags": [{"Key": "k", "Value": "a\nb"}]}, r"tag values must be ASCII letters"),
        ({"Tags": [{"Key": "AWS:x", "Value": "1"}]}, "tag keys must not start with aws:"),
        ({"Tags": [{"Key": "é", "Value": "1"}]}, "tag keys must be ASCII letters"),
        ({"AllowReplacement": 1}, "AllowReplacement must be 'true' or 'false', got 1"),
    ],
)
def test_hostile_property_values_are_refused(app, bedrock, overrides, message):
    with pytest.raises(app.ThroughputError, match=message):
        app.handle_on_event(event("Create", **overrides), bedrock[0])


def test_an_unknown_wait_is_refused_by_is_complete(app, bedrock):
    request = {**event("Create"), "PhysicalResourceId": ARN, "Wait": "Forever"}
    with pytest.raises(app.ThroughputError, match="Wait must be InService or Deleted"):
        app.handle_is_complete(request, bedrock[0])


def test_the_entry_point_answers_a_bug_with_its_own_sentence(app, monkeypatch):
    def broken(event, client):
        raise KeyError("RequestId")

    monkeypatch.setattr(app, "bedrock_client", lambda: None)
    with pytest.raises(app.ThroughputError) as raised:
        app.answered(broken, {})
    assert "KeyError('RequestId')" not in str(raised.value)
    assert str(raised.value).startswith("the provisioned throughput handler failed unexpectedly")
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_valid_answer_stays_short(app, bedrock):
    answer = app.handle_on_event(event("Delete", physical_id="a" * 1024), bedrock[0])
    assert len(json.dumps(answer).encode()) < 3000
