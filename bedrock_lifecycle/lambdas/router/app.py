"""The router of one model alias: one request in, one Bedrock call, one audit record out.

The function serves exactly one version, named by the JSON in the
``ROUTER_CONFIG`` environment variable (written by the ``ModelAlias``
construct), so a Lambda version snapshots one model version. Chat families call
Bedrock Runtime ``Converse``; embedding families call ``InvokeModel`` with the
Titan text embeddings body.

Contract (docs/aliases.md):

- request: ``{"messages": [...], "system": [...], "inferenceConfig": {...}}`` for
  chat, ``{"inputText": "..."}`` for embeddings; ``inferenceConfig`` may hold only
  the keys the alias allows.
- response: Bedrock's response plus ``alias``, ``version_id``, ``model_arn`` and
  ``request_id``; or ``{"error": {"type": "ClientError" | "ServerError", "code",
  "message", "field"?, "retryable"}, ...same fields}``.
- metrics: EMF, namespace ``BedrockLifecycle/Router``, dimensions exactly
  Environment, Family, Alias, Version, high resolution; Invocations,
  ServerErrors and Throttles also with Environment, Family, Alias only.
- audit: one JSON line per request with ``"record": "bedrock-lifecycle.router.audit"``.

This folder is zipped alone: it imports nothing from the package.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricResolution, MetricUnit
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)

CONFIG_ENV = "ROUTER_CONFIG"
NAMESPACE = "BedrockLifecycle/Router"
AUDIT_RECORD = "bedrock-lifecycle.router.audit"
# Also published per alias across its versions (ModelAlias.metric_all_versions).
ALIAS_WIDE_METRICS = ("Invocations", "ServerErrors", "Throttles")
ALIAS_WIDE_DIMENSIONS = ("Environment", "Family", "Alias")
AUDIT_SCHEMA = 1

# Timeouts and retries. The construct sizes the Lambda timeout from these:
# MAX_ATTEMPTS * (CONNECT + READ) plus backoff must fit, so the router always
# answers with a structured error before Lambda kills it.
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 60
MAX_ATTEMPTS = 3

# Inference overrides: the lifecycle file's names -> Converse's names.
OVERRIDE_KEYS = {
    "max_tokens": "maxTokens",
    "temperature": "temperature",
    "top_p": "topP",
    "stop_sequences": "stopSequences",
}
CHAT_FIELDS = ("messages", "system", "inferenceConfig")
EMBEDDING_FIELDS = ("inputText",)
ROLES = ("user", "assistant")
MAX_STOP_SEQUENCES = 2500  # botocore's model limit for stopSequences
MAX_EMBEDDING_CHARACTERS = 50000  # Titan Text Embeddings V2 input limit

# Bedrock errors that are the caller's to fix. Everything else that Bedrock
# returns (AccessDenied, ResourceNotFound at end of life, model errors, 5xx) is
# a fault of the version or the service: a server error, which the rollout
# alarms count, so a broken new version rolls back.
CALLER_FAULT_CODES = frozenset({"ValidationException"})

# Bedrock's pattern for requestMetadata values (botocore model, bedrock-runtime
# 2023-09-30, RequestMetadataValueString); botocore does not check it, Bedrock
# refuses the whole request.
METADATA_VALUE_RE = re.compile(r"[a-zA-Z0-9\s:_@$#=/+,\-.]{0,256}")
THROTTLE_CODES = frozenset({"ThrottlingException"})

logger = Logger()


class RequestError(Exception):
    """A malformed request: names the field; Bedrock is not called."""

    def __init__(self, field_path: str, message: str) -> None:
        super().__init__(f"{field_path}: {message}")
        self.field = field_path
        self.message = message


@dataclass(frozen=True)
class RouterConfig:
    """The version this function serves, from ``ROUTER_CONFIG``."""

    environment: str
    family: str
    alias: str
    kind: str
    version_id: str
    model_id: str
    model_arn: str
    inference: Mapping[str, Any] = field(default_factory=dict)
    system: str | None = None
    guardrail: Mapping[str, str] | None = None
    embedding: Mapping[str, Any] = field(default_factory=dict)
    allowed_overrides: tuple[str, ...] = ()
    prompt_logging: bool = False

    @property
    def qualified_alias(self) -> str:
        """``family/alias``."""
        return f"{self.family}/{self.alias}"

    @classmethod
    def from_json(cls, text: str) -> RouterConfig:
        """Parse and check the configuration; raise ValueError naming what is wrong."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"{CONFIG_ENV} must be a JSON object")
        required = ("environment", "family", "alias", "kind", "version_id", "model_id", "model_arn")
        missing = [k for k in required if not isinstance(data.get(k), str) or not data[k]]
        if missing:
            raise ValueError(f"{CONFIG_ENV} lacks {', '.join(missing)}")
        unknown = sorted(set(data) - {f.name for f in cls.__dataclass_fields__.values()})
        if unknown:
            raise ValueError(f"{CONFIG_ENV} has unknown keys {', '.join(unknown)}")
        if data["kind"] not in ("chat", "embedding"):
            raise ValueError(f"{CONFIG_ENV} kind must be chat or embedding, got {data['kind']!r}")
        bad = sorted(set(data.get("allowed_overrides", ())) - set(OVERRIDE_KEYS.values()))
        if bad:
            raise ValueError(f"{CONFIG_ENV} allowed_overrides has unknown keys {', '.join(bad)}")
        data["allowed_overrides"] = tuple(data.get("allowed_overrides", ()))
        config = cls(**data)
        for key, value in (
            ("environment", config.environment),
            ("family/alias", config.qualified_alias),
            ("version_id", config.version_id),
        ):
            if not METADATA_VALUE_RE.fullmatch(value):
                raise ValueError(
                    f"{CONFIG_ENV} {key} {value!r} cannot be sent as Bedrock requestMetadata "
                    "(at most 256 letters, digits, spaces and :_@$#=/+,-.)"
                )
        return config


def new_bedrock_client(session: boto3.session.Session | None = None, **config: Any) -> Any:
    """A Bedrock Runtime client: standard retry mode, bounded timeouts.

    :param session: Default: boto3's default session (the function's role).
    :param config: override the defaults (tests pass ``endpoint_url``,
        ``region_name`` and shorter timeouts).
    """
    endpoint_url = config.pop("endpoint_url", None)
    region = config.pop("region_name", None)
    settings = {
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "read_timeout": READ_TIMEOUT_SECONDS,
        "retries": {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        "tcp_keepalive": True,
        **config,
    }
    factory = session.client if session is not None else boto3.client
    return factory(
        "bedrock-runtime",
        endpoint_url=endpoint_url,
        region_name=region,
        config=Config(**settings),
    )


def sha256_json(value: Any) -> str:
    """sha256 of canonical JSON (sorted keys, no whitespace): stable across key order."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _number(value: Any, path: str, *, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RequestError(path, f"must be a number, got {type(value).__name__}")
    if not low <= value <= high:
        raise RequestError(path, f"must be between {low:g} and {high:g}, got {value}")
    return value


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise RequestError("messages", "must be a non-empty list of {role, content} objects")
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise RequestError(where, f"must be an object, got {type(message).__name__}")
        unknown = sorted(set(message) - {"role", "content"})
        if unknown:
            raise RequestError(f"{where}.{unknown[0]}", "unknown field; allowed: role, content")
        if message.get("role") not in ROLES:
            raise RequestError(
                f"{where}.role", f"must be user or assistant, got {message.get('role')!r}"
            )
        content = message.get("content")
        if not isinstance(content, list) or not content:
            raise RequestError(f"{where}.content", "must be a non-empty list of content blocks")
        for j, block in enumerate(content):
            if not isinstance(block, dict) or not block:
                raise RequestError(f"{where}.content[{j}]", "must be a non-empty object")
            if "text" in block and not isinstance(block["text"], str):
                raise RequestError(f"{where}.content[{j}].text", "must be a string")


def _check_system(system: Any) -> list[dict[str, Any]]:
    if not isinstance(system, list):
        raise RequestError("system", "must be a list of {text} blocks")
    for i, block in enumerate(system):
        if not isinstance(block, dict) or not block:
            raise RequestError(f"system[{i}]", "must be a non-empty object")
        if "text" in block and not isinstance(block["text"], str):
            raise RequestError(f"system[{i}].text", "must be a string")
    return system


def _check_overrides(overrides: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(overrides, dict):
        raise RequestError("inferenceConfig", "must be an object")
    for key in overrides:
        if key not in allowed:
            allowed_text = ", ".join(allowed) if allowed else "none"
            raise RequestError(
                f"inferenceConfig.{key}",
                f"this alias does not allow overriding it (allowed: {allowed_text})",
            )
    path = "inferenceConfig."
    if "maxTokens" in overrides:
        value = overrides["maxTokens"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise RequestError(path + "maxTokens", f"must be an integer, got {value!r}")
        _number(value, path + "maxTokens", low=1, high=200000)
    for key in ("temperature", "topP"):
        if key in overrides:
            _number(overrides[key], path + key, low=0, high=1)
    if "stopSequences" in overrides:
        value = overrides["stopSequences"]
        if (
            not isinstance(value, list)
            or len(value) > MAX_STOP_SEQUENCES
            or not all(isinstance(s, str) and s for s in value)
        ):
            raise RequestError(path + "stopSequences", "must be a list of non-empty strings")
    return overrides


def with_alias_wide_metrics(document: dict[str, Any]) -> dict[str, Any]:
    """Add a second EMF directive: ``ALIAS_WIDE_METRICS`` without the Version dimension.

    The same values, published once more per alias across all versions, which
    the alias-wide rollout alarm watches: during a canary the version still
    serving most callers must stay healthy too, and its id is not known when the
    alarm is synthesized. Values are shared by both directives (EMF).
    """
    directives = document.get("_aws", {}).get("CloudWatchMetrics") or []
    if not directives:
        return document
    first = directives[0]
    wide = [m for m in first.get("Metrics", []) if m.get("Name") in ALIAS_WIDE_METRICS]
    if wide:
        directives.append(
            {
                "Namespace": first["Namespace"],
                "Dimensions": [list(ALIAS_WIDE_DIMENSIONS)],
                "Metrics": wide,
            }
        )
    return document


def _check_fields(event: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise RequestError("$", f"the request must be a JSON object, got {type(event).__name__}")
    for key in event:
        if key not in allowed:
            raise RequestError(key, f"unknown field; allowed: {', '.join(allowed)}")
    return event


class Router:
    """Serves one version. Takes its Bedrock client; prints EMF and audit lines.

    :param config: the version served.
    :param bedrock: a ``bedrock-runtime`` client.
    :param clock: monotonic seconds. Default: ``time.perf_counter``.
    :param write: where EMF and audit lines go. Default: standard output (Lambda
        sends it to the function's log group).
    """

    def __init__(
        self,
        config: RouterConfig,
        bedrock: Any,
        *,
        clock: Callable[[], float] = time.perf_counter,
        write: Callable[[str], Any] | None = None,
    ) -> None:
        self.config = config
        self.bedrock = bedrock
        self.clock = clock
        self.write = write
        # No service dimension: the dimension set must be exactly these four,
        # which ModelAlias.metric_* and the alarms use.
        self.metrics = EphemeralMetrics(namespace=NAMESPACE, service="")
        self.dimensions = {
            "Environment": config.environment,
            "Family": config.family,
            "Alias": config.alias,
            "Version": config.version_id,
        }
        self.metrics.set_default_dimensions(**self.dimensions)
        self.request_metadata = {
            "alias": config.qualified_alias,
            "version_id": config.version_id,
            "environment": config.environment,
        }
        self.identity = {
            "alias": config.qualified_alias,
            "version_id": config.version_id,
            "model_arn": config.model_arn,
        }

    # -- request handling --------------------------------------------------

    def handle(self, event: Any, context: Any = None) -> dict[str, Any]:
        """One request: validate, call Bedrock, emit metrics and the audit record."""
        started = self.clock()
        request_id = str(getattr(context, "aws_request_id", "local"))
        audit: dict[str, Any] = {
            "record": AUDIT_RECORD,
            "schema": AUDIT_SCHEMA,
            "request_id": request_id,
            "environment": self.config.environment,
            **self.identity,
            "lambda_version": str(getattr(context, "function_version", "$LATEST")),
            "request_sha256": sha256_json(event),
        }
        self._count("Invocations")
        reached_bedrock = False
        try:
            if self.config.kind == "embedding":
                params = self._embedding_params(event, request_id)
                reached_bedrock = True
                result = self._embed(params, audit)
            else:
                params = self._converse_params(event, request_id)
                reached_bedrock = True
                result = self._converse(params, audit)
            audit["outcome"] = "success"
        except RequestError as exc:
            result = self._error("ClientError", "InvalidRequest", exc.message, field=exc.field)
            self._count("ClientErrors")
            audit.update(outcome="client_error", error_code="InvalidRequest")
        except ParamValidationError as exc:
            # botocore checks the request against Bedrock's model before sending.
            reached_bedrock = False
            result = self._error("ClientError", "InvalidRequest", _one_line(exc))
            self._count("ClientErrors")
            audit.update(outcome="client_error", error_code="InvalidRequest")
        except ClientError as exc:
            result = self._bedrock_error(exc, audit)
        except (ReadTimeoutError, ConnectTimeoutError) as exc:
            result = self._error("ServerError", "Timeout", _one_line(exc), retryable=True)
            self._count("ServerErrors")
            audit.update(outcome="server_error", error_code="Timeout")
        except (EndpointConnectionError, ConnectionClosedError) as exc:
            result = self._error("ServerError", "ConnectionError", _one_line(exc), retryable=True)
            self._count("ServerErrors")
            audit.update(outcome="server_error", error_code="ConnectionError")
        except BotoCoreError as exc:
            result = self._error("ServerError", type(exc).__name__, _one_line(exc))
            self._count("ServerErrors")
            audit.update(outcome="server_error", error_code=type(exc).__name__)
        latency_ms = (self.clock() - started) * 1000
        if reached_bedrock:
            self._add("Latency", MetricUnit.Milliseconds, latency_ms)
        result["request_id"] = request_id
        audit["latency_ms"] = round(latency_ms, 3)
        audit["response_sha256"] = sha256_json(result)
        if self.config.prompt_logging:
            audit["request"] = event
            audit["response"] = result
        self._emit(json.dumps(audit, separators=(",", ":"), ensure_ascii=False, default=str))
        self._flush_metrics()
        return result

    def _converse_params(self, event: Any, request_id: str) -> dict[str, Any]:
        event = _check_fields(event, CHAT_FIELDS)
        if "messages" not in event:
            raise RequestError("messages", "is required")
        _check_messages(event["messages"])
        system: list[dict[str, Any]] = []
        if self.config.system is not None:
            system.append({"text": self.config.system})
        if "system" in event:
            system += _check_system(event["system"])
        inference = dict(self.config.inference)
        if "inferenceConfig" in event:
            inference.update(
                _check_overrides(event["inferenceConfig"], self.config.allowed_overrides)
            )
        params: dict[str, Any] = {
            "modelId": self.config.model_id,
            "messages": event["messages"],
            "requestMetadata": {**self.request_metadata, "request_id": request_id},
        }
        if system:
            params["system"] = system
        if inference:
            params["inferenceConfig"] = inference
        if self.config.guardrail is not None:
            params["guardrailConfig"] = dict(self.config.guardrail)
        return params

    def _embedding_params(self, event: Any, request_id: str) -> dict[str, Any]:
        event = _check_fields(event, EMBEDDING_FIELDS)
        text = event.get("inputText")
        if not isinstance(text, str) or not text:
            raise RequestError("inputText", "must be a non-empty string")
        if len(text) > MAX_EMBEDDING_CHARACTERS:
            raise RequestError(
                "inputText",
                f"must be at most {MAX_EMBEDDING_CHARACTERS} characters, got {len(text)}",
            )
        body = {"inputText": text, **self.config.embedding}
        params: dict[str, Any] = {
            "modelId": self.config.model_id,
            "body": json.dumps(body, separators=(",", ":")),
            "contentType": "application/json",
            "accept": "application/json",
            # InvokeModel takes the map as one string (the X-Amzn-Bedrock-Request-Metadata
            # header): the same keys as Converse, JSON-encoded.
            "requestMetadata": json.dumps(
                {**self.request_metadata, "request_id": request_id}, separators=(",", ":")
            ),
        }
        if self.config.guardrail is not None:
            params.update(self.config.guardrail)
        return params

    def _converse(self, params: dict[str, Any], audit: dict[str, Any]) -> dict[str, Any]:
        response = self.bedrock.converse(**params)
        meta = response.pop("ResponseMetadata", {})
        usage = response.get("usage", {})
        input_tokens = int(usage.get("inputTokens", 0))
        output_tokens = int(usage.get("outputTokens", 0))
        self._add("InputTokens", MetricUnit.Count, input_tokens)
        self._add("OutputTokens", MetricUnit.Count, output_tokens)
        audit.update(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            stop_reason=response.get("stopReason"),
            bedrock_request_id=meta.get("RequestId"),
            retry_attempts=meta.get("RetryAttempts", 0),
        )
        return {**_json_safe(response), **self.identity}

    def _embed(self, params: dict[str, Any], audit: dict[str, Any]) -> dict[str, Any]:
        response = self.bedrock.invoke_model(**params)
        meta = response.get("ResponseMetadata", {})
        payload = json.loads(response["body"].read())
        input_tokens = int(payload.get("inputTextTokenCount", 0))
        self._add("InputTokens", MetricUnit.Count, input_tokens)
        audit.update(
            input_tokens=input_tokens,
            output_tokens=0,
            stop_reason=None,
            bedrock_request_id=meta.get("RequestId"),
            retry_attempts=meta.get("RetryAttempts", 0),
        )
        return {
            "embedding": payload.get("embedding"),
            "inputTextTokenCount": input_tokens,
            **self.identity,
        }

    def _bedrock_error(self, exc: ClientError, audit: dict[str, Any]) -> dict[str, Any]:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        audit["bedrock_request_id"] = exc.response.get("ResponseMetadata", {}).get("RequestId")
        audit["retry_attempts"] = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        if code in THROTTLE_CODES:
            self._count("Throttles")
            audit.update(outcome="throttled", error_code=code)
            return self._error("ServerError", code, message, retryable=True)
        if code in CALLER_FAULT_CODES:
            self._count("ClientErrors")
            audit.update(outcome="client_error", error_code=code)
            return self._error("ClientError", code, message)
        self._count("ServerErrors")
        audit.update(outcome="server_error", error_code=code)
        return self._error("ServerError", code, message, retryable=status >= 500 or status == 429)

    def _error(
        self,
        kind: str,
        code: str,
        message: str,
        *,
        field: str | None = None,
        retryable: bool = False,
    ) -> dict[str, Any]:
        error: dict[str, Any] = {"type": kind, "code": code, "message": message}
        if field is not None:
            error["field"] = field
        error["retryable"] = retryable
        return {"error": error, **self.identity}

    # -- output ------------------------------------------------------------

    def _count(self, name: str) -> None:
        self._add(name, MetricUnit.Count, 1)

    def _add(self, name: str, unit: MetricUnit, value: float) -> None:
        self.metrics.add_metric(name=name, unit=unit, value=value, resolution=MetricResolution.High)

    def _flush_metrics(self) -> None:
        document: dict[str, Any] = dict(self.metrics.serialize_metric_set())
        self.metrics.clear_metrics()
        self._emit(json.dumps(with_alias_wide_metrics(document), separators=(",", ":")))

    def _emit(self, line: str) -> None:
        if self.write is not None:
            self.write(line)
        else:
            sys.stdout.write(line + "\n")


def _json_safe(value: Any) -> Any:
    """Blobs (for example redacted reasoning) as base64 text: Lambda returns JSON only."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return value


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def router_from_environment(environ: Mapping[str, str] = os.environ) -> Router:
    """The router described by ``ROUTER_CONFIG``, with a new Bedrock client."""
    return Router(RouterConfig.from_json(environ[CONFIG_ENV]), new_bedrock_client())


# Cold start: parse the configuration and create the client once, at init
# (outside Lambda, for example when tests import this module, nothing happens).
ROUTER: Router | None = router_from_environment() if CONFIG_ENV in os.environ else None


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point: the module's router handles the request."""
    if ROUTER is None:
        raise RuntimeError(f"{CONFIG_ENV} is not set; the function was not deployed by ModelAlias")
    try:
        return ROUTER.handle(event, context)
    except Exception:
        # Only a bug gets here: every expected failure is a structured response.
        logger.exception("router failed unexpectedly")
        raise
