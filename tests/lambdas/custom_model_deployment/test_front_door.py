"""The front door of the custom model deployment handler: every malformed event is refused
with the handler's own one-line message, before any Bedrock call, in a short answer; and
whatever properties come, the handler answers (a dict, or its own DeploymentError)."""

from __future__ import annotations

import json
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.lambdas.provisioned_throughput.cfn_fuzz import (
    HOSTILE,
    assert_own_failure,
    framework_body,
    invalid_events,
    json_values,
    no_aws_calls,
    non_strings,
)
from tests.support import lambda_assets
from tests.support.lambda_assets import stubbed_clients

from .conftest import (
    ARN,
    CREATE_FAILED_MARKER,
    MODEL_ARN,
    MODEL_ARN_2,
    NEW_ARN,
    NOW,
    event,
    fake_bedrock,
    props,
)

PREFIXES = ("invalid request: ", "invalid resource properties: ")
# Description takes "a b" and "é", which the shared hostile values hold: it has its own.
SHARED_FUZZED = ("DeploymentName", "ModelArn", "Tags")
FUZZ = settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
WAIT_OF = {"Create": "Active", "Update": "Active", "Delete": "Deleted"}
OWNER = {"Key": "bedrock-lifecycle:environment", "Value": "prod"}


@pytest.fixture(scope="module")
def quiet_bedrock():
    """A client with nothing stubbed, made once: any call raises, and is recorded."""
    with stubbed_clients("bedrock") as [(client, _stub)], no_aws_calls(client) as calls:
        yield client, calls


@pytest.fixture(scope="module")
def answering_bedrock():
    """A real botocore client that answers every call (what it was asked is recorded)."""
    client = lambda_assets.fake_client("bedrock")
    with fake_bedrock(client) as fake:
        yield client, fake


def refused_everywhere(app, client, bad: object) -> None:
    """Both handlers refuse ``bad`` with their own short sentence (is_complete as the
    framework would call it after on_event)."""
    for handle in (app.handle_on_event, app.handle_is_complete):
        if handle is app.handle_is_complete and isinstance(bad, dict):
            bad = {**bad, "Wait": WAIT_OF.get(str(bad.get("RequestType")), "Active")}
        with pytest.raises(app.DeploymentError) as raised:
            handle(bad, client, now=lambda: NOW, sleep=pytest.fail)
        message = str(raised.value)
        assert_own_failure(message, PREFIXES)
        assert len(message.encode()) <= 1000
        assert len(framework_body(bad, message)) < 4096


@FUZZ
@given(bad=invalid_events(event("Create"), SHARED_FUZZED, ARN))
def test_no_malformed_event_reaches_bedrock(app, quiet_bedrock, bad):
    client, calls = quiet_bedrock
    refused_everywhere(app, client, bad)
    assert calls == []


BAD_DESCRIPTIONS = st.sampled_from(
    ["", "x" * 201, "a\nb", "line\r\n", "\u2028", "nul\x00", "\t", "\x85", "\x7f"]
) | non_strings.filter(lambda v: v is not None)


@FUZZ
@given(description=BAD_DESCRIPTIONS, request_type=st.sampled_from(["Create", "Update"]))
def test_no_bad_description_reaches_bedrock(app, quiet_bedrock, description, request_type):
    client, calls = quiet_bedrock
    bad = event(
        request_type,
        physical_id=ARN if request_type == "Update" else None,
        old=props() if request_type == "Update" else None,
        Description=description,
    )
    refused_everywhere(app, client, bad)
    assert calls == []


# ---------------------------------------------------------------- properties of any shape

tag_text = st.text(alphabet="abcXYZ019 ._:/=+@-", max_size=12)
valid_tags = st.lists(
    # (the alphabet cannot spell the owner tag's key)
    st.fixed_dictionaries(
        {"Key": st.text(alphabet="abcXYZ019 ._:/=+@-", min_size=1, max_size=12), "Value": tag_text}
    ),
    max_size=3,
    unique_by=lambda tag: tag["Key"],
).map(lambda tags: [OWNER, *tags])
any_tag = st.one_of(
    st.fixed_dictionaries({"Key": tag_text, "Value": tag_text}),
    st.fixed_dictionaries({"Key": st.sampled_from(HOSTILE), "Value": st.just("v")}),
    st.fixed_dictionaries({"Key": st.just("k"), "Value": st.sampled_from(HOSTILE) | non_strings}),
    st.just({"Key": "aws:owner", "Value": "x"}),
    json_values,
)
# (valid values, invalid values) of each property
PROPERTY_VALUES = {
    "DeploymentName": (
        st.from_regex(r"([0-9a-zA-Z][_-]?){1,27}", fullmatch=True)
        | st.sampled_from(["a" * 54, "a-", "b_"]),
        st.sampled_from(["a" * 55, "", "a--b", "a_-b", "-a", *HOSTILE]) | non_strings,
    ),
    "ModelArn": (
        st.sampled_from([MODEL_ARN, MODEL_ARN_2]),
        st.sampled_from(
            [ARN, MODEL_ARN + "x", MODEL_ARN.replace("custom-model", "base-model"), *HOSTILE]
        )
        | non_strings,
    ),
    "Description": (
        st.text(
            st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=200
        ),
        st.text(max_size=220) | non_strings.filter(lambda v: v is not None),
    ),
    "Tags": (
        valid_tags,
        st.lists(any_tag, min_size=1, max_size=4).map(lambda tags: [OWNER, *tags])
        | st.lists(any_tag, max_size=3)
        | json_values,
    ),
}


@st.composite
def any_properties(draw: st.DrawFn) -> dict[str, Any]:
    """Properties where each one is valid (mostly), invalid or absent (and now and then
    an unknown one): about one draw in three is valid throughout."""
    out: dict[str, Any] = {"ServiceToken": "arn:aws:lambda:us-east-1:222222222222:function:f"}
    for name, (valid, invalid) in PROPERTY_VALUES.items():
        pick = draw(st.integers(0, 9))
        if pick < 8:
            out[name] = draw(valid)
        elif pick < 9:
            out[name] = draw(invalid)
    if draw(st.integers(0, 19)) == 0:
        out[draw(st.sampled_from(["Colour", "deploymentName", ""]))] = draw(json_values)
    return out


def acceptable(app, raw: dict[str, Any]) -> bool:
    """Whether Bedrock would take these properties: an oracle written from its service
    model and the handler's documented limits, not from the handler's own checks."""
    contract = app.contract
    prefix, model = raw.get("DeploymentName"), raw.get("ModelArn")
    description, tags = raw.get("Description", "."), raw.get("Tags", [])
    if set(raw) - {"ServiceToken", "DeploymentName", "ModelArn", "Description", "Tags"}:
        return False
    if not (isinstance(prefix, str) and 1 <= len(prefix) <= 54):
        return False
    if not all(c.isascii() and (c.isalnum() or c in "-_") for c in prefix):
        return False
    if not prefix[0].isalnum() or "--" in prefix or "__" in prefix or "-_" in prefix:
        return False
    if "_-" in prefix:
        return False
    if not (isinstance(model, str) and contract.CUSTOM_MODEL_ARN.fullmatch(model)):
        return False
    if not (isinstance(description, str) and 1 <= len(description) <= 200):
        return False
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" for c in description):
        return False
    if not isinstance(tags, list) or len(tags) > 200:
        return False
    keys = []
    for tag in tags:
        if not (isinstance(tag, dict) and set(tag) == {"Key", "Value"}):
            return False
        if contract.tag_errors(tag["Key"], tag["Value"]):
            return False
        keys.append(tag["Key"])
    return len(keys) == len(set(keys)) and OWNER["Key"] in keys


@settings(FUZZ, max_examples=60)
@given(
    properties=any_properties(),
    old=st.none() | any_properties(),
    request_type=st.sampled_from(["Create", "Update", "Delete"]),
    physical_id=st.sampled_from([ARN, CREATE_FAILED_MARKER, "never-created"]),
)
def test_the_handler_always_answers_whatever_the_properties(
    app, answering_bedrock, properties, old, request_type, physical_id
):
    client, fake = answering_bedrock
    fake.calls.clear()
    request = {**event("Create"), "RequestType": request_type, "ResourceProperties": properties}
    if request_type != "Create":
        request["PhysicalResourceId"] = physical_id
    if request_type == "Update":
        request["OldResourceProperties"] = old if old is not None else props()
    valid = acceptable(app, properties)
    hypothesis.event(f"{'valid' if valid else 'invalid'} {request_type}")
    try:
        answer = app.handle_on_event(request, client, now=lambda: NOW, sleep=pytest.fail)
    except app.DeploymentError as error:
        assert_own_failure(str(error), PREFIXES)
        assert request_type != "Delete" and not valid, str(error)
        assert fake.calls == []
        return
    assert request_type == "Delete" or valid, properties
    assert set(answer) <= {"PhysicalResourceId", "Wait", "Data"}
    assert len(json.dumps(answer).encode()) < 3000
    if request_type == "Delete":
        expected = [("DeleteCustomModelDeployment", {"customModelDeploymentIdentifier": ARN})]
        assert fake.calls == (expected if physical_id == ARN else [])
        assert answer["PhysicalResourceId"] == physical_id
        return
    if fake.calls:  # a create (botocore checked every parameter on the way)
        [(operation, params)] = fake.calls
        assert operation == "CreateCustomModelDeployment"
        assert app.contract.PROVISIONED_MODEL_NAME.fullmatch(params["modelDeploymentName"])
        assert len(params["modelDeploymentName"]) <= 63
        assert answer == {"PhysicalResourceId": NEW_ARN, "Wait": "Active"}
    else:  # an unchanged update
        assert request_type == "Update" and answer["PhysicalResourceId"] == physical_id
        assert app.parse_properties(request["OldResourceProperties"]) == app.parse_properties(
            properties
        )


# ---------------------------------------------------------------- one-line reasons


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
        ({"ResourceType": "AWS::Bedrock::Thing"}, "ResourceType must be Custom::<name>"),
    ],
)
def test_each_field_is_named_with_its_value(app, bedrock, change, message):
    with pytest.raises(app.DeploymentError, match=message):
        app.handle_on_event({**event("Create"), **change}, bedrock[0])


def test_not_an_object_is_refused(app, bedrock):
    with pytest.raises(app.DeploymentError, match="invalid request: expected a CloudFormation"):
        app.handle_on_event(["Create"], bedrock[0])


def test_a_missing_field_says_so(app, bedrock):
    request = event("Create")
    del request["RequestId"]
    with pytest.raises(app.DeploymentError, match=r"RequestId must be .*, got nothing$"):
        app.handle_on_event(request, bedrock[0])


@pytest.mark.parametrize("request_type", ["Update", "Delete"])
def test_update_and_delete_need_a_physical_id(app, bedrock, request_type):
    request = event(request_type, old=props())
    with pytest.raises(app.DeploymentError, match=r"PhysicalResourceId must be .*, got nothing"):
        app.handle_on_event(request, bedrock[0])


def test_an_update_without_old_properties_is_refused(app, bedrock):
    with pytest.raises(app.DeploymentError, match="OldResourceProperties must be an object"):
        app.handle_on_event(event("Update", physical_id=ARN), bedrock[0])


def test_unknown_properties_are_listed_with_the_allowed_ones(app, bedrock):
    with pytest.raises(app.DeploymentError) as raised:
        app.handle_on_event(event("Create", Colour="blue", Size="L"), bedrock[0])
    assert str(raised.value) == (
        "invalid request: ResourceProperties has unknown properties 'Colour', 'Size' "
        "(allowed: DeploymentName, ModelArn, Description, Tags)"
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DeploymentName": None}, r"DeploymentName must be 1-54 letters and digits, .* got None"),
        ({"DeploymentName": 12}, r"DeploymentName must be 1-54 letters and digits, .* got 12"),
        ({"DeploymentName": "a" * 55}, r"DeploymentName must be 1-54 .* got 'aaaa"),
        ({"DeploymentName": "a--b"}, r"DeploymentName must be .* got 'a--b'"),
        ({"DeploymentName": "-a"}, r"DeploymentName must be .* got '-a'"),
        ({"DeploymentName": "acme assistant"}, r"got 'acme assistant'"),
        ({"DeploymentName": "\uff41"}, r"DeploymentName must be .* got '\uff41'"),
        ({"ModelArn": None}, r"ModelArn must be a custom-model ARN, got None"),
        ({"ModelArn": ARN}, r"ModelArn must be a custom-model ARN, got 'arn:.*deployment"),
        (
            {"ModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0"},
            r"ModelArn must be a custom-model ARN",
        ),
        ({"Description": ""}, r"Description must be 1-200 characters .* got ''"),
        ({"Description": "x" * 201}, r"Description must be 1-200 characters"),
        ({"Description": "two\nlines"}, r"without line breaks or control characters"),
        ({"Description": 7}, r"Description must be .* got 7"),
        ({"Tags": "env=prod"}, r"Tags must be a list of \{Key, Value\}, got 'env=prod'"),
        ({"Tags": [{"Key": "a"}]}, r"each tag must be \{Key, Value\}, got \{'Key': 'a'\}"),
        ({"Tags": [OWNER, {"Key": "AWS:x", "Value": "1"}]}, "tag keys must not start with aws:"),
        ({"Tags": [OWNER, {"Key": "k", "Value": "a\nb"}]}, "tag values must be ASCII letters"),
        ({"Tags": [OWNER, OWNER]}, "tag 'bedrock-lifecycle:environment' is given twice"),
        ({"Tags": [OWNER] * 201}, "Tags must hold at most 200 tags, got 201"),
        (
            {"Tags": [{"Key": "team", "Value": "ml"}]},
            r"Tags must carry bedrock-lifecycle:environment \(every grant",
        ),
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
    for handle in (app.handle_on_event, app.handle_is_complete):
        with pytest.raises(app.DeploymentError, match=message) as raised:
            handle(
                {**request, "PhysicalResourceId": ARN, "Wait": "Active"}
                if handle is app.handle_is_complete
                else request,
                client,
                now=lambda: NOW,
                sleep=pytest.fail,
            )
        assert str(raised.value).startswith("invalid resource properties: ")
        assert "\n" not in str(raised.value)


def test_every_problem_is_listed_together(app, bedrock):
    request = event("Create")
    request["ResourceProperties"] = {"ServiceToken": "x", "Description": ""}
    with pytest.raises(app.DeploymentError) as raised:
        app.handle_on_event(request, bedrock[0])
    assert str(raised.value) == (
        "invalid resource properties: DeploymentName must be 1-54 letters and digits, each "
        "optionally followed by one - or _, got None; ModelArn must be a custom-model ARN, got "
        "None; Description must be 1-200 characters without line breaks or control characters, "
        "got ''"
    )


def test_a_3000_character_physical_id_on_delete_is_refused_in_a_short_answer(app, bedrock):
    with pytest.raises(app.DeploymentError) as raised:
        app.handle_on_event(event("Delete", physical_id="x" * 3000), bedrock[0])
    message = str(raised.value)
    assert message.startswith("invalid request: PhysicalResourceId must be 1-1024 ASCII")
    assert len(message) < 200


def test_a_delete_tolerates_unknown_and_invalid_properties(app, bedrock):
    # A stack must stay deletable: a Delete of a non-ARN id answers at once.
    request = event("Delete", physical_id="never-created", Colour="blue", ModelArn=7)
    assert app.handle_on_event(request, bedrock[0]) == {"PhysicalResourceId": "never-created"}


@pytest.mark.parametrize(
    ("request_type", "change", "message"),
    [
        ("Create", {"Wait": "Forever"}, "invalid request: Wait must be Active or Deleted"),
        ("Create", {"Wait": ["Active"]}, r"Wait must be Active or Deleted .* got \['Active'\]"),
        ("Create", {"Wait": "Deleted"}, "Wait Deleted is never asked on a Create"),
        ("Delete", {"Wait": "Active"}, "Wait Active is never asked on a Delete"),
        (
            "Create",
            {"Wait": "Active", "PhysicalResourceId": None},
            "PhysicalResourceId must be a custom-model-deployment ARN to wait for, got None",
        ),
        (
            "Delete",
            {"Wait": "Deleted", "PhysicalResourceId": CREATE_FAILED_MARKER},
            "PhysicalResourceId must be a custom-model-deployment ARN to wait for",
        ),
    ],
)
def test_is_complete_refuses_what_on_event_never_asks(app, bedrock, request_type, change, message):
    request = {**event(request_type), "PhysicalResourceId": ARN, **change}
    if request["PhysicalResourceId"] is None:
        del request["PhysicalResourceId"]
    with pytest.raises(app.DeploymentError, match=message):
        app.handle_is_complete(request, bedrock[0], sleep=pytest.fail)


def test_nothing_to_wait_for_completes_without_calls(app, bedrock):
    for request_type in ("Create", "Update", "Delete"):
        request = {**event(request_type), "PhysicalResourceId": ARN}
        assert app.handle_is_complete(request, bedrock[0]) == {"IsComplete": True}


def test_the_entry_point_answers_a_bug_with_its_own_sentence(app, monkeypatch):
    def broken(event, client):
        raise KeyError("RequestId")

    monkeypatch.setattr(app, "bedrock_client", lambda: None)
    with pytest.raises(app.DeploymentError) as raised:
        app.answered(broken, {})
    assert "RequestId" not in str(raised.value)
    assert str(raised.value) == (
        "the custom model deployment handler failed unexpectedly (KeyError); its CloudWatch "
        "log has the details: retry the stack operation"
    )
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_the_entry_point_passes_its_own_errors_on_short(app, monkeypatch):
    def refused(event, client):
        raise app.DeploymentError("refused\nbecause " + "x" * 3000)

    monkeypatch.setattr(app, "bedrock_client", lambda: None)
    with pytest.raises(app.DeploymentError) as raised:
        app.answered(refused, {})
    assert str(raised.value).startswith("refused because xxx")
    assert len(str(raised.value).encode()) <= 1000
