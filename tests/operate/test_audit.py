"""``bedrock-lifecycle audit``: the Logs Insights query (Stubber with exact parameters),
its poll, timeout and failure, the trail the stack publishes, and filters that never
reach AWS unchecked."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bedrock_lifecycle.operate import audit
from bedrock_lifecycle.values.common import AliasName, FamilyName, VersionLabel
from tests.support.lambda_assets import load_asset_module

from .conftest import BUCKET, LOG_GROUP, REGION, STAGING, Aws

REQUEST = "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
MODEL = "arn:aws:bedrock:us-east-1:111111111111:inference-profile/us.anthropic.claude-haiku"


def router_row(request_id: str = REQUEST, **extra: str) -> list[dict[str, str]]:
    fields = {
        "@timestamp": "2026-11-20 10:15:03.123",
        "request_id": request_id,
        "alias": "summarizer/live",
        "version_id": "v3@03db4d4c7a66",
        "model_arn": MODEL,
        "outcome": "success",
        "input_tokens": "812",
        "output_tokens": "164",
        "latency_ms": "1432.518",
        "lambda_version": "7",
        "bedrock_request_id": "b-6c1d",
        **extra,
    }
    return [{"field": k, "value": v} for k, v in fields.items()]


def bedrock_row(request_id: str = REQUEST) -> list[dict[str, str]]:
    """Bedrock's own invocation log record of the request (no router fields)."""
    return [
        {"field": "@timestamp", "value": "2026-11-20 10:15:04.901"},
        {"field": "requestMetadata.request_id", "value": request_id},
        {"field": "requestId", "value": "b-6c1d"},
        {"field": "modelId", "value": MODEL},
    ]


EXPECTED_QUERY = (
    "fields @timestamp, request_id, alias, version_id, model_arn, outcome, error_code, "
    "input_tokens, output_tokens, latency_ms, lambda_version, bedrock_request_id, "
    "requestMetadata.request_id, requestId, modelId\n"
    f'| filter (record = "bedrock-lifecycle.router.audit" and request_id = "{REQUEST}") '
    f'or (requestMetadata.request_id = "{REQUEST}")\n'
    "| sort @timestamp desc\n| limit 200"
)


def start(aws: Aws, query: str, since: dt.datetime, until: dt.datetime, limit: int = 200) -> None:
    aws.stub("logs", REGION).add_response(
        "start_query",
        {"queryId": "q-1"},
        {
            "logGroupName": LOG_GROUP,
            "startTime": int(since.timestamp()),
            "endTime": int(until.timestamp()),
            "queryString": query,
            "limit": limit,
        },
    )


def results(aws: Aws, status: str, rows: list[list[dict[str, str]]] | None = None) -> None:
    response: dict[str, Any] = {"status": status, "results": rows or []}
    aws.stub("logs", REGION).add_response("get_query_results", response, {"queryId": "q-1"})


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "POLL_SECONDS", 0.0)


def args(project: Path, *more: str) -> list[str]:
    return ["audit", "staging", "--file", str(project), "--until", "2026-11-20T12:00:00Z", *more]


def test_one_request_with_bedrocks_own_log_of_it(aws: Aws, run, project: Path) -> None:
    aws.caller()
    aws.trail()
    start(aws, EXPECTED_QUERY, NOW - dt.timedelta(days=30), NOW)
    results(aws, "Scheduled")
    results(aws, "Running")
    results(aws, "Complete", [router_row(), bedrock_row()])
    result = run(*args(project, "--request-id", REQUEST))
    assert result.code == 0, result.err
    assert result.out == [
        f"2026-11-20 10:15:03.123 {REQUEST} summarizer/live v3@03db4d4c7a66 success "
        f"812 in / 164 out 1433 ms {MODEL}",
        f"  invocation log: s3://{BUCKET}/invocation-logs/AWSLogs/{STAGING}/"
        f"BedrockModelInvocationLogs/us-east-1/2026/11/20/10/ "
        f"(requestMetadata.request_id = {REQUEST}, Bedrock request b-6c1d)",
    ]


def test_an_alias_and_version_in_a_window_as_json(aws: Aws, run, project: Path) -> None:
    aws.caller()
    aws.trail()
    query = (
        EXPECTED_QUERY.split("| filter")[0]
        + '| filter (record = "bedrock-lifecycle.router.audit" and alias = "summarizer/live" '
        'and version_id = "v3@03db4d4c7a66") or (requestMetadata.alias = "summarizer/live" '
        'and requestMetadata.version_id = "v3@03db4d4c7a66")\n| sort @timestamp desc\n| limit 4'
    )
    since = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    start(aws, query, since, NOW, limit=4)
    failed = router_row("r-2", outcome="throttled", input_tokens="", output_tokens="")
    results(aws, "Complete", [router_row(), failed, router_row("r-3")])
    result = run(
        *args(project, "--alias", "summarizer/live", "--version", "v3@03db4d4c7a66"),
        *("--since", "2026-11-20T09:00:00+00:00", "--limit", "2", "--format", "json"),
    )
    assert result.code == 0, result.err
    answer = json.loads("\n".join(result.out))
    assert answer["truncated"] is True
    first, second = answer["requests"]
    assert first["request_id"] == REQUEST and first["input_tokens"] == 812
    assert second == {
        "time": "2026-11-20 10:15:03.123",
        "request_id": "r-2",
        "alias": "summarizer/live",
        "version_id": "v3@03db4d4c7a66",
        "model_arn": MODEL,
        "outcome": "throttled",
        "input_tokens": None,
        "output_tokens": None,
        "latency_ms": 1432.518,
        "bedrock_request_id": "b-6c1d",
        "invocation_log": f"s3://{BUCKET}/invocation-logs/AWSLogs/{STAGING}/"
        "BedrockModelInvocationLogs/us-east-1/2026/11/20/10/",
    }


def test_a_failed_query_is_one_line(aws: Aws, run, project: Path) -> None:
    aws.caller()
    aws.trail()
    start(aws, EXPECTED_QUERY, NOW - dt.timedelta(days=30), NOW)
    results(aws, "Failed")
    result = run(*args(project, "--request-id", REQUEST))
    assert result.code == 2
    assert result.err == ["audit: the Logs Insights query ended Failed (q-1)"]


def test_a_query_past_its_timeout_is_stopped(aws: Aws) -> None:
    start(aws, EXPECTED_QUERY, NOW - dt.timedelta(days=30), NOW)
    for _ in range(3):
        results(aws, "Running")
    aws.stub("logs", REGION).add_response("stop_query", {"success": True}, {"queryId": "q-1"})
    ticks = iter(range(0, 100, 2))  # two seconds pass per look at the clock
    slept: list[float] = []
    lookup = audit.Lookup(NOW - dt.timedelta(days=30), NOW, request_id=REQUEST)
    with pytest.raises(audit.OperateError, match="did not finish within 5 s and was stopped"):
        audit.run_query(
            aws(REGION).client("logs"),
            audit.Trail(LOG_GROUP),
            lookup,
            timeout=5,
            sleep=slept.append,
            clock=lambda: float(next(ticks)),
        )
    assert slept == [0.0, 0.0]


def test_without_credentials_nothing_is_asked(aws: Aws, run, project: Path) -> None:
    aws.credentials = False
    result = run(*args(project, "--request-id", REQUEST))
    assert result.code == 2
    assert len(result.err) == 1 and "no AWS credentials found" in result.err[0]
    assert aws.stubs == {}


def test_a_stack_not_deployed_names_the_way_out(aws: Aws, run, project: Path) -> None:
    aws.caller()
    aws.no_parameter("get_parameter", "/bedrock-lifecycle/acme-genai/staging/audit")
    result = run(*args(project, "--request-id", REQUEST))
    assert result.code == 2
    assert result.err == [
        "audit: /bedrock-lifecycle/acme-genai/staging/audit does not exist: deploy the "
        "environment's stack first, or name the log group with --log-group"
    ]


def test_a_named_log_group_needs_no_parameter(aws: Aws, run, project: Path) -> None:
    aws.caller()
    start(aws, EXPECTED_QUERY, NOW - dt.timedelta(days=30), NOW)
    results(aws, "Complete", [])
    result = run(*args(project, "--request-id", REQUEST, "--log-group", LOG_GROUP))
    assert (result.code, result.out) == (0, ["no request matched"])


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        ((), "give --request-id ID, or --alias family/alias"),
        (("--request-id", 'x" or 1=1'), "--request-id 'x\" or 1=1' is not 1-128 letters"),
        (("--alias", "summarizer"), "--alias 'summarizer' is not family/alias"),
        (("--alias", "a/b", "--version", "v3"), "--version 'v3' is not a version id"),
        (("--alias", "a/b", "--limit", "0"), "--limit must be 1-10000, got 0"),
        (("--alias", "a/b", "--timeout", "0"), "--timeout must be 1-900 seconds"),
        (("--alias", "a/b", "--since", "2026-11-21"), "--until 2026-11-20T12:00:00+00:00 must"),
    ],
)
def test_bad_filters_never_reach_aws(aws: Aws, run, project: Path, flags, problem) -> None:
    result = run(*args(project, *flags))
    assert result.code == 2
    assert len(result.err) == 1 and result.err[0].startswith(f"audit: {problem}"), result.err
    assert aws.stubs == {}


def test_a_time_that_is_not_one(run, project: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        run(*args(project, "--request-id", REQUEST, "--since", "yesterday"))
    assert exit_.value.code == 2


def test_the_fields_are_the_ones_the_router_writes(bedrock_standin) -> None:
    """The router's own audit record, as it prints it, has every router field queried."""
    from tests.support.router import chat_config, harness_for

    output = load_asset_module("router", "output")
    assert output.AUDIT_RECORD == audit.ROUTER_AUDIT_RECORD
    harness = harness_for(bedrock_standin, chat_config(version_id="v3@03db4d4c7a66"))
    harness.invoke({"messages": [{"role": "user", "content": [{"text": "Hi"}]}]})
    (record,) = harness.audit
    router_fields = [f for f in audit.FIELDS if not f.startswith(("@", "requestMetadata."))]
    router_fields = [f for f in router_fields if f not in ("requestId", "modelId", "error_code")]
    assert set(router_fields) <= set(record)
    assert record["version_id"] == "v3@03db4d4c7a66"


# -- the filters are fuzzed: nothing a caller types can change the query's shape --------

LABELS = st.from_regex(r"\A[a-z0-9][a-z0-9._-]{0,31}\Z")


@settings(max_examples=300, deadline=None)
@given(request_id=st.text(max_size=200), alias=st.text(max_size=80), version=st.text(max_size=80))
def test_any_filter_is_refused_or_quoted_safely(request_id: str, alias: str, version: str) -> None:
    for lookup in (
        audit.Lookup(NOW - dt.timedelta(hours=1), NOW, request_id=request_id),
        audit.Lookup(NOW - dt.timedelta(hours=1), NOW, alias=alias, version_id=version),
    ):
        if audit.lookup_problems(lookup):
            with pytest.raises(audit.OperateError):
                audit.query_string(lookup)
            continue
        query = audit.query_string(lookup)
        lines = query.split("\n")
        assert len(lines) == 4 and lines[1].startswith("| filter (") and lines[3] == "| limit 200"
        # Every value is inside its quotes: the quotes pair up and nothing escapes them.
        assert lines[1].count('"') % 2 == 0 and "\\" not in query and "|" not in lines[1][1:]


@given(
    family=st.from_regex(r"\A[a-z][a-z0-9-]{0,31}\Z"),
    name=st.from_regex(r"\A[a-z][a-z0-9-]{0,31}\Z"),
    label=LABELS,
    digest=st.from_regex(r"\A[0-9a-f]{12}\Z"),
)
def test_every_alias_and_version_the_file_allows_is_accepted(family, name, label, digest) -> None:
    """The filters take every name lifecycle.yaml allows (values.common)."""
    patterns = [p.__metadata__[0].pattern for p in (FamilyName, AliasName, VersionLabel)]
    # The strategies above are these patterns: a change there must change them too.
    assert patterns == [r"^[a-z][a-z0-9-]{0,31}$"] * 2 + [r"^[a-z0-9][a-z0-9._-]{0,31}$"]
    lookup = audit.Lookup(
        NOW - dt.timedelta(hours=1), NOW, alias=f"{family}/{name}", version_id=f"{label}@{digest}"
    )
    assert audit.lookup_problems(lookup) == []
