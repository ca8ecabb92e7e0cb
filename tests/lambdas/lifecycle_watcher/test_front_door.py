"""The watcher's front door: only EventBridge's scheduled event runs a check."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.lambdas.lifecycle_watcher.test_app import (
    CONFIG,
    HAIKU3,
    HAIKU45,
    NOW,
    _datum,
    _details,
    _expect_metrics,
)
from tests.lambdas.provisioned_throughput.cfn_fuzz import HOSTILE, json_values, no_aws_calls
from tests.support.lambda_assets import stubbed_clients

SCHEDULED = {
    "version": "0",
    "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-26T06:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/BedrockLifecycle-prod-Schedule"],
    "detail": {},
}
bad_values = st.sampled_from(HOSTILE) | json_values.filter(
    lambda v: v not in ("aws.events", "Scheduled Event")
)


@st.composite
def invalid_events(draw):
    kind = draw(st.sampled_from(["value", "dict", "wrong", "missing"]))
    if kind == "value":
        return draw(json_values.filter(lambda v: not isinstance(v, dict)))
    if kind == "dict":
        return draw(st.dictionaries(st.text(max_size=12), json_values, max_size=5))
    key = draw(st.sampled_from(["source", "detail-type"]))
    event = dict(SCHEDULED)
    if kind == "missing":
        del event[key]
    else:
        event[key] = draw(bad_values)
    return event


@pytest.fixture(scope="module")
def quiet_clients():
    """Clients with nothing stubbed, made once: any call raises, and is recorded."""
    with (
        stubbed_clients("bedrock", "cloudwatch") as [(bedrock, _), (cloudwatch, _)],
        no_aws_calls(bedrock, cloudwatch) as calls,
    ):
        yield bedrock, cloudwatch, calls


@settings(max_examples=150, deadline=None)
@given(bad=invalid_events())
def test_no_other_event_reaches_aws(watcher, quiet_clients, bad):
    bedrock, cloudwatch, calls = quiet_clients
    with pytest.raises(watcher.InvalidEvent) as raised:
        watcher.run(
            bad,
            config_text=json.dumps(CONFIG),
            bedrock=bedrock,
            cloudwatch=cloudwatch,
            now=NOW,
            sleep=pytest.fail,
        )
    message = str(raised.value)
    assert "\n" not in message and len(message.encode()) < 400
    assert message.startswith(("expected EventBridge's", "source must be", "detail-type must be"))
    assert calls == []


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("tick", "expected EventBridge's scheduled event (an object), got 'tick'"),
        ({}, "source must be 'aws.events' (the daily schedule), got nothing"),
        (
            {**SCHEDULED, "detail-type": "Scheduled\nEvent"},
            "detail-type must be 'Scheduled Event' (the daily schedule), got 'Scheduled\\nEvent'",
        ),
    ],
)
def test_each_refusal_names_the_field_and_value(watcher, event, message):
    with pytest.raises(watcher.InvalidEvent) as raised:
        watcher.check_event(event)
    assert str(raised.value) == message


def test_the_scheduled_event_runs_the_check(watcher, clients):
    bedrock, bstub, cloudwatch, cstub = clients
    for model in (HAIKU3, HAIKU45):
        bstub.add_response(
            "get_foundation_model", _details(model, "ACTIVE"), {"modelIdentifier": model}
        )
    _expect_metrics(cstub, _datum("IsLegacy", HAIKU3, 0.0), _datum("IsLegacy", HAIKU45, 0.0))
    answer = watcher.run(
        SCHEDULED,
        config_text=json.dumps(CONFIG),
        bedrock=bedrock,
        cloudwatch=cloudwatch,
        now=NOW,
    )
    assert answer["published"] == 2
    assert isinstance(NOW, dt.datetime)


def test_deeply_nested_configuration_is_one_line(watcher):
    with pytest.raises(watcher.ConfigurationError, match=r"^WATCHER_CONFIG is nested too deeply$"):
        watcher.parse_config("[" * 100_000 + "]" * 100_000)
