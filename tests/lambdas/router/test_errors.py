"""The router's one classification table, and the constants it takes from the contract."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError, NoCredentialsError, ReadTimeoutError

from bedrock_lifecycle.shared import contract
from tests.support.router import chat_config, load_router


@pytest.fixture(scope="module")
def router():
    return load_router()


class FailingBedrock:
    """A ``bedrock-runtime`` client whose ``converse`` raises ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def converse(self, **_params):
        raise self.error


def run(router, error: BaseException, lines: list[str]) -> dict:
    """One chat request through a router whose Bedrock call raises ``error``."""
    config = router.RouterConfig.from_json(json.dumps(chat_config()))
    return router.Router(config, FailingBedrock(error), write=lines.append).handle(
        {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}
    )


def bedrock_error(code: str, status: int) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": "boom"},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "br-9", "RetryAttempts": 1},
    }
    return ClientError(response, "Converse")


def test_the_router_takes_its_constants_from_the_contract(router):
    assert router.CONFIG_ENV == contract.ROUTER_CONFIG_ENV
    assert router.NAMESPACE == contract.ROUTER_NAMESPACE
    assert router.ALIAS_WIDE_METRICS == contract.ALIAS_WIDE_METRICS
    assert router.ALIAS_WIDE_DIMENSIONS == contract.ALIAS_WIDE_DIMENSIONS
    assert dict(router.OVERRIDE_KEYS) == dict(contract.OVERRIDE_KEYS)
    assert router.METADATA_VALUE_RE.pattern == contract.METADATA_VALUE.pattern


def test_every_rule_counts_a_router_metric_and_answers_a_known_type(router):
    for rule in router.RULES:
        assert rule.metric in contract.ROUTER_METRICS
        assert rule.kind in ("ClientError", "ServerError")


def test_a_request_error_names_its_field_and_bedrock_is_not_called(router):
    failure = router.classify(router.RequestError("messages", "is required"))
    assert failure.called is False
    assert failure.answer() == {
        "type": "ClientError",
        "code": "InvalidRequest",
        "message": "is required",
        "field": "messages",
        "retryable": False,
    }
    assert failure.audit() == {"outcome": "client_error", "error_code": "InvalidRequest"}


@pytest.mark.parametrize(
    ("code", "status", "kind", "metric", "retryable", "outcome"),
    [
        ("ThrottlingException", 429, "ServerError", "Throttles", True, "throttled"),
        ("TooManyRequestsException", 429, "ServerError", "Throttles", True, "throttled"),
        ("TooManyRequestsException", 400, "ServerError", "Throttles", True, "throttled"),
        ("ValidationException", 400, "ClientError", "ClientErrors", False, "client_error"),
        # HTTP 429 without a throttle code: retryable, but not counted as throttling.
        ("ModelNotReadyException", 429, "ServerError", "ServerErrors", True, "server_error"),
        ("InternalServerException", 500, "ServerError", "ServerErrors", True, "server_error"),
        ("AccessDeniedException", 403, "ServerError", "ServerErrors", False, "server_error"),
    ],
)
def test_bedrock_errors_by_code_and_status(router, code, status, kind, metric, retryable, outcome):
    failure = router.classify(bedrock_error(code, status))
    assert (failure.kind, failure.metric, failure.retryable) == (kind, metric, retryable)
    assert failure.called is True
    assert failure.answer() == {
        "type": kind,
        "code": code,
        "message": "boom",
        "retryable": retryable,
    }
    assert failure.audit() == {
        "bedrock_request_id": "br-9",
        "retry_attempts": 1,
        "outcome": outcome,
        "error_code": code,
    }


def test_a_timeout_is_a_retryable_server_error(router):
    failure = router.classify(ReadTimeoutError(endpoint_url="http://x/converse"))
    assert failure.answer() == {
        "type": "ServerError",
        "code": "Timeout",
        "message": 'Read timeout on endpoint URL: "http://x/converse"',
        "retryable": True,
    }
    assert failure.audit() == {"outcome": "server_error", "error_code": "Timeout"}


def test_another_botocore_error_is_a_server_error_named_by_its_class(router):
    lines: list[str] = []
    answer = run(router, NoCredentialsError(), lines)
    audit, emf = (json.loads(line) for line in lines)
    assert answer["error"] == {
        "type": "ServerError",
        "code": "NoCredentialsError",
        "message": "Unable to locate credentials",
        "retryable": False,
    }
    assert (audit["outcome"], audit["error_code"]) == ("server_error", "NoCredentialsError")
    names = [m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    assert names == ["Invocations", "ServerErrors", "Latency"]


def test_anything_else_is_a_bug_answered_counted_and_audited_like_any_failure(router):
    """Even a bug ends in one answer, one audit record and one metrics document."""
    failure = router.classify(KeyError("a bug"))
    assert (failure.kind, failure.metric, failure.code) == (
        "ServerError",
        "ServerErrors",
        "InternalError",
    )
    lines: list[str] = []
    answer = run(router, KeyError("a bug"), lines)
    assert answer["error"] == {
        "type": "ServerError",
        "code": "InternalError",
        "message": "the router failed; its log has the details",
        "retryable": False,
    }
    audit, emf = (json.loads(line) for line in lines)
    assert (audit["outcome"], audit["error_code"]) == ("server_error", "InternalError")
    names = [m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    assert names == ["Invocations", "ServerErrors"]  # Bedrock's latency is unknown
