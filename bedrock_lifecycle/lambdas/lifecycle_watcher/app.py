"""Daily check of Bedrock's own lifecycle of every model an environment's aliases use.

For each model, ``GetFoundationModel`` returns ``modelDetails.modelLifecycle``
(``status`` ACTIVE | LEGACY, ``legacyTime``, ``publicExtendedAccessTime``,
``endOfLifeTime``). After its end of life Bedrock answers ResourceNotFound: that
is the most urgent state (every call of the alias fails), reported as Legacy
with 0 days left, never as a crash of the watcher.

Per model, once however many aliases run on it, it publishes to CloudWatch
(namespace ``contract.WATCHER_NAMESPACE``, dimensions ``contract.WATCHER_DIMENSIONS``:
``Environment`` and ``ModelId``):

- ``IsLegacy``: 1 when the model is Legacy or ended, else 0;
- ``DaysUntilEndOfLife``: whole days to its published end of life (0 once
  reached); not published while it has no end-of-life date.

Every log line about a model names the aliases that run on it. A model it could
not check (throttled past the retries, access denied) is logged, the others are
still published, and the invocation then fails, so the asynchronous retries and
the dead-letter queue (and the watcher's error alarm) show it.

Configuration (environment variable ``WATCHER_CONFIG``, JSON)::

    {"environment": "prod", "namespace": "...",
     "models": {"model id": ["family/alias", ...]},
     "more": {"model id": 3}}

``more`` (absent when empty) counts the aliases of a model that the construct
left unnamed to fit Lambda's 4 KB of environment variables.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import contract
from aws_lambda_powertools import Logger
from botocore.config import Config
from botocore.exceptions import ClientError

logger = Logger()  # Powertools: the layer of every LifecycleFunction

NAMESPACE = contract.WATCHER_NAMESPACE
CONFIG_ENV = contract.WATCHER_CONFIG_ENV
METRIC_IS_LEGACY = contract.WATCHER_IS_LEGACY
METRIC_DAYS_UNTIL_END_OF_LIFE = contract.WATCHER_DAYS_UNTIL_END_OF_LIFE
DIMENSIONS = contract.WATCHER_DIMENSIONS
METRICS = contract.WATCHER_METRICS


class ConfigurationError(ValueError):
    """WATCHER_CONFIG is not what the construct writes."""


@dataclass(frozen=True)
class ModelState:
    """What Bedrock says about one model today."""

    model_id: str
    status: str  # ACTIVE | LEGACY | ENDED (ResourceNotFound: end of life reached)
    end_of_life: dt.datetime | None = None

    @property
    def is_legacy(self) -> bool:
        return self.status in ("LEGACY", "ENDED")

    def days_until_end_of_life(self, now: dt.datetime) -> int | None:
        if self.status == "ENDED":
            return 0
        if self.end_of_life is None:
            return None
        return max(0, math.ceil((self.end_of_life - now).total_seconds() / 86400))


class InvalidEvent(ValueError):
    """The invocation is not EventBridge's scheduled event; nothing was called."""


# The front door: what EventBridge's schedule sends (a rule target without custom input).
SCHEDULED_SOURCE = "aws.events"
SCHEDULED_DETAIL_TYPE = "Scheduled Event"


def check_event(event: object) -> None:
    """Refuse anything but EventBridge's scheduled event, before any AWS call.

    :raises InvalidEvent: one line naming the field, the value and what is allowed.
    """
    if not isinstance(event, Mapping):
        raise InvalidEvent(
            f"expected EventBridge's scheduled event (an object), got {contract.shown(event)}"
        )
    for key, expected in (("source", SCHEDULED_SOURCE), ("detail-type", SCHEDULED_DETAIL_TYPE)):
        value = event.get(key)
        if value != expected or not isinstance(value, str):
            got = contract.shown(value) if key in event else "nothing"
            raise InvalidEvent(f"{key} must be {expected!r} (the daily schedule), got {got}")


class ModelCheckFailed(RuntimeError):
    """Some models could not be checked; the others were published."""


def parse_config(text: str | None) -> dict[str, Any]:
    """Validate WATCHER_CONFIG before any AWS call."""
    try:
        config = json.loads(text or "")
    except json.JSONDecodeError:
        raise ConfigurationError(
            f"WATCHER_CONFIG must be JSON, got {contract.shown(text)}"
        ) from None
    except RecursionError:
        raise ConfigurationError("WATCHER_CONFIG is nested too deeply") from None
    if not isinstance(config, dict):
        raise ConfigurationError(
            f"WATCHER_CONFIG must be a JSON object, got {contract.shown(text)}"
        )
    env = config.get("environment")
    models = config.get("models")
    more = config.setdefault("more", {})
    if not isinstance(env, str) or not env:
        raise ConfigurationError(
            f"environment must be a non-empty string, got {contract.shown(env)}"
        )
    if not isinstance(models, dict) or not all(
        isinstance(k, str) and k and isinstance(v, list) and all(isinstance(a, str) for a in v)
        for k, v in models.items()
    ):
        raise ConfigurationError(
            f"models must map model ids to a list of 'family/alias', got {contract.shown(models)}"
        )
    if not isinstance(more, dict) or not all(
        k in models and isinstance(v, int) and not isinstance(v, bool) and v > 0
        for k, v in more.items()
    ):
        raise ConfigurationError(
            "more must map model ids of models to a count of unnamed aliases, "
            f"got {contract.shown(more)}"
        )
    config.setdefault("namespace", NAMESPACE)
    return config


def alias_fields(config: Mapping[str, Any], model_id: str) -> dict[str, Any]:
    """The log fields naming the aliases that run on ``model_id``: ``aliases`` (those the
    configuration names) and ``alias_count`` (all of them)."""
    named = list(config["models"].get(model_id, ()))
    unnamed = (config.get("more") or {}).get(model_id, 0)
    return {"aliases": named, "alias_count": len(named) + unnamed}


def model_state(bedrock: Any, model_id: str, sleep: Callable[[float], None]) -> ModelState:
    """GetFoundationModel for one model; ResourceNotFound means its end of life is reached.

    Throttling and server faults are retried by the handlers' one policy
    (``contract.RETRY_POLICY``); the last error is raised as it is.
    """
    try:
        response = contract.call_with_retries(
            bedrock.get_foundation_model, sleep=sleep, modelIdentifier=model_id
        )
    except ClientError as exc:
        if contract.error_code(exc) != "ResourceNotFoundException":
            raise
        logger.error(
            "model no longer answers: end of life reached",
            extra={"model_id": model_id, "error": str(exc)},
        )
        return ModelState(model_id, "ENDED")
    lifecycle = response["modelDetails"].get("modelLifecycle") or {}
    end = lifecycle.get("endOfLifeTime")
    if isinstance(end, dt.datetime) and end.tzinfo is None:
        end = end.replace(tzinfo=dt.UTC)
    return ModelState(model_id, str(lifecycle.get("status", "ACTIVE")), end)


def model_metrics(
    environment: str, states: Mapping[str, ModelState], now: dt.datetime
) -> list[dict[str, Any]]:
    """The MetricData of every checked model, in model id order: ``IsLegacy``, then
    ``DaysUntilEndOfLife`` when the model has an end of life."""
    data: list[dict[str, Any]] = []
    for model_id, state in sorted(states.items()):
        dims = [
            {"Name": name, "Value": value}
            for name, value in zip(DIMENSIONS, (environment, model_id), strict=True)
        ]
        values = {METRIC_IS_LEGACY: 1.0 if state.is_legacy else 0.0}
        days = state.days_until_end_of_life(now)
        if days is not None:
            values[METRIC_DAYS_UNTIL_END_OF_LIFE] = float(days)
        for name, value in values.items():
            data.append(
                {
                    "MetricName": name,
                    "Dimensions": dims,
                    "Timestamp": now,
                    "Value": value,
                    "Unit": METRICS[name][0],
                }
            )
    return data


def check(
    config: Mapping[str, Any],
    bedrock: Any,
    cloudwatch: Any,
    *,
    now: dt.datetime,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Check every model once, publish per model, then fail if any model could not be checked."""
    states: dict[str, ModelState] = {}
    failed: dict[str, str] = {}
    for model_id in sorted(config["models"]):
        try:
            states[model_id] = model_state(bedrock, model_id, sleep)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            failed[model_id] = f"{error.get('Code')}: {error.get('Message')}"
            logger.error(
                "model could not be checked",
                extra={
                    "model_id": model_id,
                    "error": failed[model_id],
                    **alias_fields(config, model_id),
                },
            )
    data = model_metrics(config["environment"], states, now)
    for start in range(0, len(data), 1000):  # PutMetricData takes at most 1000 values
        contract.call_with_retries(
            cloudwatch.put_metric_data,
            sleep=sleep,
            Namespace=config["namespace"],
            MetricData=data[start : start + 1000],
        )
    for state in states.values():
        if state.is_legacy:
            logger.warning(
                "model is Legacy",
                extra={
                    "model_id": state.model_id,
                    "status": state.status,
                    "days_until_end_of_life": state.days_until_end_of_life(now),
                    **alias_fields(config, state.model_id),
                },
            )
    if failed:
        raise ModelCheckFailed(
            "could not check " + "; ".join(f"{m} ({why})" for m, why in sorted(failed.items()))
        )
    return {
        "models": {m: s.status for m, s in sorted(states.items())},
        "published": len(data),
    }


def run(
    event: object,
    *,
    config_text: str | None,
    bedrock: Any,
    cloudwatch: Any,
    now: dt.datetime,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """One invocation: the front door (``check_event``), the configuration, then ``check``."""
    check_event(event)
    return check(parse_config(config_text), bedrock, cloudwatch, now=now, sleep=sleep)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (thin adapter): EventBridge's daily schedule invokes it."""
    import os

    import boto3

    single = Config(retries=dict(contract.BOTOCORE_SINGLE_ATTEMPT))
    return run(
        event,
        config_text=os.environ.get(CONFIG_ENV),
        bedrock=boto3.client("bedrock", config=single),
        cloudwatch=boto3.client("cloudwatch", config=single),
        now=dt.datetime.now(dt.UTC),
    )
