"""BeforeAllowTraffic hook: the new version answers the family's golden prompts first.

CodeDeploy calls this function with a deployment id before any traffic moves.
It finds the new Lambda version from CodeDeploy's own records, invokes it once
per golden prompt, checks each answer, publishes the pass rate as a metric,
logs one structured report and tells CodeDeploy ``Succeeded`` or ``Failed``.
It reports on every path: a hook that never reports holds the stack update
for an hour before CodeDeploy gives up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import boto3
import contract
import golden
from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricResolution, MetricUnit, single_metric
from botocore.config import Config
from hook import (
    CALL_WORST_SECONDS,
    FAILED,
    SUCCEEDED,
    HookEvent,
    bounded_config,
    deployment_settings,
    run_and_report,
)
from prompts import (
    ANSWER_TIMEOUT_SECONDS,
    PROMPT_RESERVE_MS,
    Answered,
    PromptResult,
    check_answer,
    invoke_prompt,
    is_json,
    judge,
    run_prompts,
)
from regex_check import RegexTimeout

# Re-exported: the gate's checks are prompts.py's (the continuous evaluation's too).
__all__ = [
    "Answered",
    "PromptResult",
    "RegexTimeout",
    "check_answer",
    "evaluate",
    "handler",
    "is_json",
    "judge",
]

logger = Logger()

PASS_RATE_METRIC = contract.GATE_PASS_RATE
# Prompts run in parallel, but few at a time: the gate must not throttle the
# model it is about to send production traffic to.
PARALLEL_PROMPTS = 4
# The report (one bounded CodeDeploy call) and the metric, after the last check.
REPORT_RESERVE_MS = (CALL_WORST_SECONDS + 2) * 1000
# Start no prompt with less than this left of the Lambda timeout: a prompt started then
# still ends (prompts.PROMPT_RESERVE_MS) and the report still goes out before the
# function ends.
RESERVE_MS = PROMPT_RESERVE_MS + REPORT_RESERVE_MS


def evaluate(
    event: object,
    *,
    codedeploy: Any,
    lambda_client: Any,
    settings_file: str | None = None,
    remaining_ms: Callable[[], int] = lambda: 900_000,
    clock: Callable[[], float] = time.monotonic,
    parallel: int = PARALLEL_PROMPTS,
) -> str:
    """Run the gate for one hook event and report the verdict. Returns the status sent."""
    return run_and_report(
        event,
        codedeploy,
        lambda hook: _gate(
            hook, codedeploy, lambda_client, settings_file, remaining_ms, clock, parallel
        ),
        logger,
    )


def _gate(
    hook: HookEvent,
    codedeploy: Any,
    lambda_client: Any,
    settings_file: str | None,
    remaining_ms: Callable[[], int],
    clock: Callable[[], float],
    parallel: int,
) -> str:
    settings_file_path, target, group = deployment_settings(codedeploy, hook, settings_file)
    evaluation = group.get("evaluation")
    if evaluation is None:
        logger.info(
            "no golden prompts for this alias; the gate passes",
            extra={"deployment_group": target.deployment_group},
        )
        return SUCCEEDED
    # Validated at synth (config/rollout_checks.py), with the same golden module; read
    # again under the same caps (size before parsing, prompt count), failing the gate.
    prompts_file = settings_file_path.parent / evaluation["file"]
    prompts = golden.read_prompts(golden.read_text(prompts_file))

    results = run_prompts(
        prompts,
        lambda prompt: invoke_prompt(
            lambda_client, target.function_name, target.target_version, prompt, clock
        ),
        remaining_ms=remaining_ms,
        report_reserve_ms=REPORT_RESERVE_MS,
        parallel=parallel,
    )
    passed = sum(result.passed for result in results)
    pass_rate = passed / len(results) if results else 0.0
    required = float(evaluation["pass_rate"])
    status = SUCCEEDED if results and pass_rate >= required else FAILED
    publish_pass_rate(group, pass_rate)
    logger.info(
        "evaluation report",
        extra={
            "verdict": status,
            "deployment_id": hook.deployment_id,
            "deployment_group": target.deployment_group,
            "function_name": target.function_name,
            "current_version": target.current_version,
            "target_version": target.target_version,
            "version_id": group.get("version_id"),
            "pass_rate": round(pass_rate, 4),
            "required_pass_rate": required,
            "passed": passed,
            "prompts": len(results),
            "results": [asdict(result) for result in results],
        },
    )
    return status


def publish_pass_rate(group: dict[str, Any], pass_rate: float) -> None:
    """One EMF datapoint: the pass rate in percent, per environment, family, alias and version."""
    with single_metric(
        name=PASS_RATE_METRIC,
        unit=MetricUnit.Percent,
        value=round(pass_rate * 100, 2),
        namespace=contract.ROLLOUTS_NAMESPACE,
        resolution=MetricResolution.Standard,
    ) as metric:
        metric.add_dimension(name="Environment", value=group["environment"])
        metric.add_dimension(name="Family", value=group["family"])
        metric.add_dimension(name="Alias", value=group["alias"])
        metric.add_dimension(name="Version", value=group["version_id"])


# Clients are created once per execution environment.
_codedeploy = boto3.client("codedeploy", config=bounded_config())
_lambda = boto3.client(
    "lambda",
    config=Config(
        connect_timeout=5,
        read_timeout=ANSWER_TIMEOUT_SECONDS,
        retries={"mode": "standard", "total_max_attempts": 1},
    ),
)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    """Lambda entry point (CodeDeploy BeforeAllowTraffic hook)."""
    status = evaluate(
        event,
        codedeploy=_codedeploy,
        lambda_client=_lambda,
        remaining_ms=context.get_remaining_time_in_millis,
    )
    return {"status": status}
