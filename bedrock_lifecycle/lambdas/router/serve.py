"""The Router: validates a request, calls Bedrock once, writes one audit record and one EMF
document, and answers; every expected failure goes through ``errors.classify``."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import contract
from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricResolution, MetricUnit
from config import CONFIG_ENV, RouterConfig, new_bedrock_client
from errors import INTERNAL, classify
from output import (
    AUDIT_RECORD,
    AUDIT_SCHEMA,
    call_fields,
    json_safe,
    sha256_json,
    with_alias_wide_metrics,
)
from request import converse_params, embedding_params
from response import converse_usage, embedding_answer

NAMESPACE = contract.ROUTER_NAMESPACE

logger = Logger()


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
        values = (config.environment, config.family, config.alias, config.version_id)
        self.dimensions = dict(zip(contract.ROUTER_DIMENSIONS, values, strict=True))
        self.metrics.set_default_dimensions(**self.dimensions)
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
        self.metrics.clear_metrics()  # this request's metrics only, whatever came before
        self._count("Invocations")
        try:
            result = self._call(event, request_id, audit)
            audit["outcome"] = "success"
            called = True
        except Exception as exc:
            failure = classify(exc)
            if failure.code == INTERNAL:
                # A bug: still one answer, one audit record, one metrics document.
                logger.exception("router failed unexpectedly")
            result = {"error": failure.answer(), **self.identity}
            self._count(failure.metric)
            audit.update(failure.audit())
            called = failure.called
        latency_ms = (self.clock() - started) * 1000
        if called:
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

    def _call(self, event: Any, request_id: str, audit: dict[str, Any]) -> dict[str, Any]:
        if self.config.kind == "embedding":
            return self._embed(embedding_params(self.config, event, request_id), audit)
        return self._converse(converse_params(self.config, event, request_id), audit)

    def _converse(self, params: dict[str, Any], audit: dict[str, Any]) -> dict[str, Any]:
        response = self.bedrock.converse(**params)
        meta = response.pop("ResponseMetadata", {}) if isinstance(response, dict) else {}
        input_tokens, output_tokens, stop_reason = converse_usage(response)
        self._usage(audit, meta, input_tokens, output_tokens, stop_reason)
        return {**json_safe(response), **self.identity}

    def _embed(self, params: dict[str, Any], audit: dict[str, Any]) -> dict[str, Any]:
        response = self.bedrock.invoke_model(**params)
        meta = response.get("ResponseMetadata", {})
        embedding, input_tokens = embedding_answer(response["body"].read())
        self._usage(audit, meta, input_tokens, None, None)
        return {"embedding": embedding, "inputTextTokenCount": input_tokens, **self.identity}

    def _usage(
        self,
        audit: dict[str, Any],
        meta: Mapping[str, Any],
        input_tokens: int,
        output_tokens: int | None,
        stop_reason: str | None,
    ) -> None:
        """Token metrics (no OutputTokens for embeddings) and the call's audit fields."""
        self._add("InputTokens", MetricUnit.Count, input_tokens)
        if output_tokens is not None:
            self._add("OutputTokens", MetricUnit.Count, output_tokens)
        audit.update(
            input_tokens=input_tokens,
            output_tokens=output_tokens or 0,
            stop_reason=stop_reason,
            **call_fields(meta),
        )

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


def router_from_environment(environ: Mapping[str, str] = os.environ) -> Router:
    """The router described by ``ROUTER_CONFIG``, with a new Bedrock client."""
    return Router(RouterConfig.from_json(environ[CONFIG_ENV]), new_bedrock_client())


def serve(router: Router | None, event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point's work: ``router`` handles the request; only bugs escape."""
    if router is None:
        raise RuntimeError(f"{CONFIG_ENV} is not set; the function was not deployed by ModelAlias")
    try:
        return router.handle(event, context)
    except Exception:
        # Only a bug gets here: every expected failure is a structured response.
        logger.exception("router failed unexpectedly")
        raise
