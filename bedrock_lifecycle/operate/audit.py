"""``bedrock-lifecycle audit ENV``: which model answered a request, from the audit trail.

It runs one CloudWatch Logs Insights query over the environment's audit log group
(found through ``/bedrock-lifecycle/<project>/<env>/audit``), which holds the routers'
audit records and Bedrock's own invocation log. Per request it prints alias, version
id, model ARN, outcome, tokens, latency and time, and the S3 prefix under which
Bedrock's invocation log of the request lies: Bedrock writes it hourly, and its record
carries the router's ``requestMetadata`` (alias, version id, environment, request id).

Bounded: every filter value is checked against a strict pattern before it goes into
the query (nothing a caller types can widen it), the query waits at most ``timeout``
seconds (then it is stopped) and returns at most ``limit`` requests.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .session import OperateError

# The router's audit record (lambdas/router/output.py AUDIT_RECORD; a test keeps them equal).
ROUTER_AUDIT_RECORD = "bedrock-lifecycle.router.audit"
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000  # Logs Insights returns at most 10,000 rows
DEFAULT_TIMEOUT_SECONDS = 60
MAX_TIMEOUT_SECONDS = 900
POLL_SECONDS = 1.0
# Logs Insights queries a log group's events of the last 30 days by default here.
DEFAULT_REQUEST_LOOKBACK = dt.timedelta(days=30)
DEFAULT_LOOKBACK = dt.timedelta(hours=24)

REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
ALIAS = re.compile(r"[a-z][a-z0-9-]{0,31}/[a-z][a-z0-9-]{0,31}")
# What lifecycle.yaml allows (values.common: family, alias and version label), and no more.
VERSION_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}@[0-9a-f]{12}")
FIELDS = (
    "@timestamp",
    "request_id",
    "alias",
    "version_id",
    "model_arn",
    "outcome",
    "error_code",
    "input_tokens",
    "output_tokens",
    "latency_ms",
    "lambda_version",
    "bedrock_request_id",
    "requestMetadata.request_id",
    "requestId",
    "modelId",
)


@dataclass(frozen=True)
class Trail:
    """Where an environment's audit trail is."""

    log_group: str
    bucket: str | None = None
    invocation_log_prefix: str | None = None


@dataclass(frozen=True)
class Lookup:
    """What to look for: one request id, or every request of an alias (and version)."""

    since: dt.datetime
    until: dt.datetime
    request_id: str | None = None
    alias: str | None = None
    version_id: str | None = None
    limit: int = DEFAULT_LIMIT


@dataclass
class Answer:
    """One request as the trail tells it."""

    time: str
    request_id: str
    alias: str | None
    version_id: str | None
    model_arn: str | None
    outcome: str | None
    input_tokens: int | None
    output_tokens: int | None
    latency_ms: float | None
    bedrock_request_id: str | None = None
    invocation_log: str | None = None


def lookup_problems(lookup: Lookup) -> list[str]:
    """Why the filters would not make a safe, bounded query; ``[]`` when they do."""
    problems = []
    if lookup.request_id is None and lookup.alias is None:
        problems.append("give --request-id ID, or --alias family/alias (with --since/--until)")
    checks = (
        ("--request-id", lookup.request_id, REQUEST_ID, "1-128 letters, digits and ._:-"),
        ("--alias", lookup.alias, ALIAS, "family/alias, as in lifecycle.yaml"),
        ("--version", lookup.version_id, VERSION_ID, "a version id such as v2@0123456789ab"),
    )
    for flag, value, pattern, allowed in checks:
        if value is not None and not pattern.fullmatch(value):
            problems.append(f"{flag} {value[:80]!r} is not {allowed}")
    if lookup.until <= lookup.since:
        problems.append(f"--until {lookup.until.isoformat()} must be after --since")
    if not 1 <= lookup.limit <= MAX_LIMIT:
        problems.append(f"--limit must be 1-{MAX_LIMIT}, got {lookup.limit}")
    return problems


def rows_asked(lookup: Lookup) -> int:
    """Rows the query returns at most: a router record and Bedrock's record per request."""
    return min(2 * lookup.limit, MAX_LIMIT)


def query_string(lookup: Lookup) -> str:
    """The Logs Insights query: the router's audit records that match, and Bedrock's own
    invocation log records of the same requests (by the request id the router stamps)."""
    if lookup_problems(lookup):
        raise OperateError("; ".join(lookup_problems(lookup)))
    router = [f'record = "{ROUTER_AUDIT_RECORD}"']
    bedrock = []
    if lookup.request_id is not None:
        router.append(f'request_id = "{lookup.request_id}"')
        bedrock.append(f'requestMetadata.request_id = "{lookup.request_id}"')
    if lookup.alias is not None:
        router.append(f'alias = "{lookup.alias}"')
        bedrock.append(f'requestMetadata.alias = "{lookup.alias}"')
    if lookup.version_id is not None:
        router.append(f'version_id = "{lookup.version_id}"')
        bedrock.append(f'requestMetadata.version_id = "{lookup.version_id}"')
    condition = f"({' and '.join(router)}) or ({' and '.join(bedrock)})"
    return (
        f"fields {', '.join(FIELDS)}\n| filter {condition}\n| sort @timestamp desc\n"
        f"| limit {rows_asked(lookup)}"
    )


def run_query(
    logs: Any,
    trail: Trail,
    lookup: Lookup,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[dict[str, str]]:
    """Run the query and wait for it, at most ``timeout`` seconds; rows as dicts.

    :raises OperateError: the query failed, was cancelled or timed out (it is stopped).
    """
    query_id = logs.start_query(
        logGroupName=trail.log_group,
        startTime=int(lookup.since.timestamp()),
        endTime=int(lookup.until.timestamp()),
        queryString=query_string(lookup),
        limit=rows_asked(lookup),
    )["queryId"]
    deadline = clock() + timeout
    while True:
        answer = logs.get_query_results(queryId=query_id)
        status = answer.get("status")
        if status == "Complete":
            return [
                {f["field"]: f.get("value", "") for f in row if "field" in f}
                for row in answer.get("results", [])
            ]
        if status in ("Failed", "Cancelled", "Timeout", "Unknown"):
            raise OperateError(f"the Logs Insights query ended {status} ({query_id})")
        if clock() + POLL_SECONDS > deadline:
            # It may have just ended: the message says enough either way.
            with contextlib.suppress(Exception):
                logs.stop_query(queryId=query_id)
            raise OperateError(
                f"the query did not finish within {timeout:g} s and was stopped; narrow "
                "--since/--until or raise --timeout"
            )
        sleep(POLL_SECONDS)


def answers(
    rows: Sequence[Mapping[str, str]], trail: Trail, account: str | None, region: str | None
) -> list[Answer]:
    """One answer per router record, with Bedrock's record of the same request."""
    bedrock = {
        row["requestMetadata.request_id"]: row
        for row in rows
        if row.get("requestMetadata.request_id") and not row.get("alias")
    }
    out = []
    for row in rows:
        if not row.get("alias") or not row.get("request_id"):
            continue
        own = bedrock.get(row["request_id"], {})
        when = own.get("@timestamp") or row.get("@timestamp", "")
        out.append(
            Answer(
                time=row.get("@timestamp", ""),
                request_id=row["request_id"],
                alias=row.get("alias"),
                version_id=row.get("version_id"),
                model_arn=row.get("model_arn"),
                outcome=row.get("outcome") or row.get("error_code"),
                input_tokens=_number(row.get("input_tokens"), int),
                output_tokens=_number(row.get("output_tokens"), int),
                latency_ms=_number(row.get("latency_ms"), float),
                bedrock_request_id=row.get("bedrock_request_id") or own.get("requestId"),
                invocation_log=invocation_log_prefix(trail, account, region, when),
            )
        )
    return out


def _number(value: str | None, kind: type) -> Any:
    try:
        return kind(float(value)) if value not in (None, "") else None
    except ValueError:
        return None


def invocation_log_prefix(
    trail: Trail, account: str | None, region: str | None, when: str
) -> str | None:
    """``s3://<bucket>/<prefix>/AWSLogs/<account>/BedrockModelInvocationLogs/<region>/
    YYYY/MM/DD/HH/``: the hour under which Bedrock wrote the request's invocation log."""
    if not (trail.bucket and trail.invocation_log_prefix and account and region and when):
        return None
    try:
        moment = dt.datetime.fromisoformat(when.replace(" ", "T")).replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return (
        f"s3://{trail.bucket}/{trail.invocation_log_prefix}/AWSLogs/{account}/"
        f"BedrockModelInvocationLogs/{region}/{moment:%Y/%m/%d/%H}/"
    )


def trail_of(ssm: Any, parameter: str) -> Trail:
    """The trail an environment's stack published (``/bedrock-lifecycle/<p>/<e>/audit``)."""
    from botocore.exceptions import ClientError

    try:
        value = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except ClientError as exc:
        if (exc.response.get("Error") or {}).get("Code") == "ParameterNotFound":
            raise OperateError(
                f"{parameter} does not exist: deploy the environment's stack first, or "
                "name the log group with --log-group"
            ) from None
        raise
    try:
        data = json.loads(value)
        return Trail(data["log_group"], data.get("bucket"), data.get("invocation_log_prefix"))
    except (ValueError, KeyError, TypeError):
        raise OperateError(f"{parameter} does not name an audit log group") from None


def render_text(items: Sequence[Answer], limit: int) -> list[str]:
    """Two lines per request: what answered, then where Bedrock's own log of it is."""
    if not items:
        return ["no request matched"]
    lines = []
    for a in items[:limit]:
        tokens = f"{a.input_tokens if a.input_tokens is not None else '-'} in / " + (
            f"{a.output_tokens if a.output_tokens is not None else '-'} out"
        )
        latency = f"{a.latency_ms:.0f} ms" if a.latency_ms is not None else "- ms"
        lines.append(
            f"{a.time} {a.request_id} {a.alias} {a.version_id} {a.outcome} {tokens} {latency} "
            f"{a.model_arn}"
        )
        where = a.invocation_log or "unknown (no bucket recorded)"
        bedrock = f", Bedrock request {a.bedrock_request_id}" if a.bedrock_request_id else ""
        lines.append(
            f"  invocation log: {where} (requestMetadata.request_id = {a.request_id}{bedrock})"
        )
    if len(items) > limit:
        lines.append(f"... more than {limit} requests matched; narrow the search or raise --limit")
    return lines


def render_json(items: Sequence[Answer], limit: int) -> str:
    """``{"requests": [...], "truncated": bool}``."""
    return json.dumps(
        {"requests": [asdict(a) for a in items[:limit]], "truncated": len(items) > limit},
        indent=1,
    )
