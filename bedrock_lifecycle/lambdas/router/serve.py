"""The Router: validates a request, calls Bedrock once, writes one audit record and one EMF
document, and answers; every expected failure goes through ``errors.classify``."""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import contract
import limits
from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricResolution, MetricUnit
from blobs import SERVICE_MODEL
from botocore.exceptions import BotoCoreError, ClientError, ConnectionClosedError
from config import CONFIG_ENV, RouterConfig, new_bedrock_client
from emf import EmfMetrics
from errors import INTERNAL, classify
from output import (
    AUDIT_RECORD,
    AUDIT_SCHEMA,
    audit_line,
    call_fields,
    json_safe,
    log_safe,
    sha256_json,
)
from request import converse_params, embedding_params
from response import InvalidResponse, check_status, converse_usage, embedding_answer
from wire import AnswerWatch

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
        values = (config.environment, config.family, config.alias, config.version_id)
        self.dimensions = dict(zip(contract.ROUTER_DIMENSIONS, values, strict=True))
        # The alias-wide metrics go out a second time without the Version dimension:
        # the alias-wide rollout alarm watches them (every version the alias serves).
        self.metrics = EmfMetrics(
            NAMESPACE,
            self.dimensions,
            wide=contract.ALIAS_WIDE_METRICS,
            wide_dimensions=contract.ALIAS_WIDE_DIMENSIONS,
        )
        self.identity = {
            "alias": config.qualified_alias,
            "version_id": config.version_id,
            "model_arn": config.model_arn,
        }
        # The whole Converse answer is checked against botocore's own model: as it
        # arrived, by the watch (botocore coerces types while parsing), or, for a
        # client without botocore's events, once parsed.
        self.watch = AnswerWatch()
        watched = self.watch.register(bedrock)
        self.converse_shape = None if watched else converse_output_shape(bedrock)

    # -- request handling --------------------------------------------------

    def handle(self, event: Any, context: Any = None) -> dict[str, Any]:
        """One request: check its size, validate, call Bedrock, emit metrics and the audit
        record."""
        started = self.clock()
        request_id = str(getattr(context, "aws_request_id", "local"))
        # One serialization gives the size checked against the ceiling and the hash.
        measured = limits.measure(event)
        audit: dict[str, Any] = {
            "record": AUDIT_RECORD,
            "schema": AUDIT_SCHEMA,
            "request_id": request_id,
            "environment": self.config.environment,
            **self.identity,
            "lambda_version": str(getattr(context, "function_version", "$LATEST")),
            "request_sha256": measured.sha256,
            "request_bytes": measured.size,
        }
        self.metrics.clear_metrics()  # this request's metrics only, whatever came before
        self._count("Invocations")
        within_ceiling = False
        try:
            limits.check(event, measured)
            within_ceiling = True
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
            # A request over the ceiling is not copied into the log (its size is).
            audit["request"] = event if within_ceiling else None
            audit["response"] = result
        # One line, under the CloudWatch event limit: long prompt text is cut (output.py).
        self._emit(audit_line(audit))
        self._flush_metrics()
        return result

    def _call(self, event: Any, request_id: str, audit: dict[str, Any]) -> dict[str, Any]:
        if self.config.kind == "embedding":
            return self._embed(embedding_params(self.config, event, request_id), audit)
        return self._converse(converse_params(self.config, event, request_id), audit)

    def _converse(self, params: dict[str, Any], audit: dict[str, Any]) -> dict[str, Any]:
        response = self._send(self.bedrock.converse, params)
        meta = response.pop("ResponseMetadata", {}) if isinstance(response, dict) else {}
        self.watch.check(meta)
        check_status(meta)
        input_tokens, output_tokens, stop_reason = converse_usage(response, self.converse_shape)
        self._usage(audit, meta, input_tokens, output_tokens, stop_reason)
        return {**json_safe(response), **self.identity}

    def _embed(self, params: dict[str, Any], audit: dict[str, Any]) -> dict[str, Any]:
        response = self._send(self.bedrock.invoke_model, params)
        meta = response.get("ResponseMetadata", {})
        check_status(meta)
        # A body shorter than its Content-Length, or cut off, fails here (botocore's
        # StreamingBody checks the length): a ServerError like any broken answer.
        embedding, input_tokens = embedding_answer(self._read(response["body"], meta))
        self._usage(audit, meta, input_tokens, None, None)
        return {"embedding": embedding, "inputTextTokenCount": input_tokens, **self.identity}

    def _send(self, operation: Callable[..., Any], params: dict[str, Any]) -> Any:
        """One client call; a botocore failure to read what Bedrock answered is the answer's."""
        self.watch.reset()
        try:
            return operation(**params)
        except (BotoCoreError, ClientError):
            raise
        except Exception as exc:
            if _transport_failure(exc):
                # botocore reads an error answer's body outside its own error handling
                # (and outside its retries): a connection cut there escapes as urllib3's.
                url = str(getattr(getattr(self.bedrock, "meta", None), "endpoint_url", ""))
                raise ConnectionClosedError(endpoint_url=url) from exc
            blamed = self.watch.blame(exc)
            if blamed is exc:
                raise
            raise blamed from exc

    @staticmethod
    def _read(body: Any, meta: Mapping[str, Any]) -> bytes:
        """The streamed body; botocore failing on what arrived (a Content-Length that is no
        number) is the answer's fault, like a parse failure in :meth:`_send`."""
        try:
            data = body.read()
        except (BotoCoreError, ClientError):
            raise
        except Exception as exc:
            message = f"botocore could not read Bedrock's answer ({type(exc).__name__})"
            raise InvalidResponse(message, meta) from exc
        return data if isinstance(data, bytes) else bytes(data)

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
        document = self.metrics.serialize_metric_set()
        self.metrics.clear_metrics()
        self._emit(json.dumps(document, separators=(",", ":")))

    def _emit(self, line: str) -> None:
        line = log_safe(line)
        if self.write is not None:
            self.write(line)
        else:
            sys.stdout.write(line + "\n")


def _transport_failure(exc: BaseException) -> bool:
    """A socket, http.client or urllib3 error: the connection failed, not the router."""
    if isinstance(exc, OSError | http.client.HTTPException):
        return True
    return any(cls.__module__.split(".")[0] == "urllib3" for cls in type(exc).__mro__)


def converse_output_shape(bedrock: Any) -> Any:
    """botocore's ``ConverseResponse`` shape: the client's own model, else the installed one."""
    service_model = getattr(getattr(bedrock, "meta", None), "service_model", None)
    if service_model is None:
        service_model = SERVICE_MODEL
    return service_model.operation_model("Converse").output_shape


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
