"""BeforeAllowTraffic hook: the new version answers the family's golden prompts first.

CodeDeploy calls this function with a deployment id before any traffic moves.
It finds the new Lambda version from CodeDeploy's own records, invokes it once
per golden prompt, checks each answer, publishes the pass rate as a metric,
logs one structured report and tells CodeDeploy ``Succeeded`` or ``Failed``.
It reports on every path: a hook that never reports holds the stack update
for an hour before CodeDeploy gives up.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
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
    DeploymentTarget,
    HookEvent,
    bounded_config,
    deployment_settings,
    run_and_report,
)
from regex_check import REGEX_TIMEOUT_SECONDS, RegexTimeout, search_within

logger = Logger()

PASS_RATE_METRIC = "EvaluationPassRate"  # noqa: S105 (a metric name)
# Prompts run in parallel, but few at a time: the gate must not throttle the
# model it is about to send production traffic to.
PARALLEL_PROMPTS = 4
# One answer may take this long (connect + read); a slower one fails its prompt.
# No retry: a retried invoke would run the model twice and hide the latency.
ANSWER_TIMEOUT_SECONDS = 60
# Start no prompt with less than this left of the Lambda timeout: a prompt
# started then still ends (5 s to connect, the answer or its timeout) and the
# report (one bounded CodeDeploy call) still goes out before the function ends.
# All regex checks together may take this long after the last answer (each one at most
# REGEX_TIMEOUT_SECONDS): prompts start only while it is left too.
REGEX_BUDGET_SECONDS = 10
# The report (one bounded CodeDeploy call) and the metric, after the last check.
REPORT_RESERVE_MS = (CALL_WORST_SECONDS + 2) * 1000
RESERVE_MS = (5 + ANSWER_TIMEOUT_SECONDS + REGEX_BUDGET_SECONDS) * 1000 + REPORT_RESERVE_MS

_FENCED = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


@dataclass
class PromptResult:
    """One golden prompt's outcome; ``failures`` is empty when it passed."""

    id: str
    passed: bool
    latency_ms: int
    output_tokens: int | None = None
    failures: list[str] = field(default_factory=list)


def request_for(prompt: dict[str, Any]) -> dict[str, Any]:
    """The router request of a golden prompt: Converse-shaped, or the text to embed."""
    if "input" in prompt:
        return {"inputText": prompt["input"]}
    request: dict[str, Any] = {"messages": prompt["messages"]}
    if "system" in prompt:
        request["system"] = prompt["system"]
    return request


def answer_text(response: dict[str, Any]) -> str:
    """The text blocks of a Converse response, joined."""
    content = ((response.get("output") or {}).get("message") or {}).get("content") or []
    return "".join(block.get("text", "") for block in content if isinstance(block, dict))


def is_json(text: str) -> bool:
    """Whether the answer is JSON, bare or in one fenced ```json block."""
    stripped = text.strip()
    match = _FENCED.match(stripped)
    try:
        json.loads(match.group(1) if match else stripped)
    except ValueError:
        return False
    return True


Search = Callable[[str, str], bool]


def check_answer(
    checks: dict[str, Any],
    response: dict[str, Any],
    latency_ms: int,
    search: Search = search_within,
) -> tuple[list[str], int | None]:
    """Every failed check of one answer, and its output token count.

    :param search: decides the ``regex`` check, ``search(pattern, text)``; it may raise
        ``RegexTimeout`` (the check fails). Default: ``search_within``, 1 s at most.
    """
    failures = []
    tokens = (response.get("usage") or {}).get("outputTokens")
    if "dimensions" in checks:
        embedding = response.get("embedding")
        got = len(embedding) if isinstance(embedding, list) else None
        if got != checks["dimensions"]:
            failures.append(f"dimensions: expected {checks['dimensions']}, got {got}")
    else:
        text = answer_text(response)
        failures += [
            f"contains: {needle!r} missing"
            for needle in checks.get("contains", ())
            if needle not in text
        ]
        failures += [
            f"not_contains: {needle!r} present"
            for needle in checks.get("not_contains", ())
            if needle in text
        ]
        if "regex" in checks:
            failures += _regex_failures(checks["regex"], text, search)
        if checks.get("valid_json") and not is_json(text):
            failures.append("valid_json: the answer is not JSON")
        if "max_output_tokens" in checks:
            if tokens is None:
                failures.append("max_output_tokens: the response has no usage.outputTokens")
            elif tokens > checks["max_output_tokens"]:
                failures.append(f"max_output_tokens: {tokens} > {checks['max_output_tokens']}")
    if "max_latency_ms" in checks and latency_ms > checks["max_latency_ms"]:
        failures.append(f"max_latency_ms: {latency_ms} > {checks['max_latency_ms']}")
    return failures, tokens


def _regex_failures(pattern: str, text: str, search: Search) -> list[str]:
    shown = contract.shown(pattern)
    try:
        found = search(pattern, text)
    except RegexTimeout as exc:
        return [
            f"regex: {shown} was stopped: {exc} on a {len(text)}-character answer "
            "(catastrophic backtracking?): simplify the pattern"
        ]
    except (re.error, RuntimeError) as exc:
        return [f"regex: {shown} could not be checked ({exc})"]
    return [] if found else [f"regex: {shown} does not match"]


@dataclass
class Answered:
    """One prompt's answer, waiting for its checks (they run after every invoke)."""

    prompt: dict[str, Any]
    answer: dict[str, Any]
    latency_ms: int


def run_prompt(
    lambda_client: Any,
    target: DeploymentTarget,
    prompt: dict[str, Any],
    clock: Callable[[], float],
    search: Search = search_within,
) -> PromptResult:
    """Invoke the new version with one prompt and check its answer at once."""
    outcome = invoke_prompt(lambda_client, target, prompt, clock)
    return outcome if isinstance(outcome, PromptResult) else judge(outcome, search)


def judge(answered: Answered, search: Search = search_within) -> PromptResult:
    """The checks of one answer."""
    prompt = answered.prompt
    failures, tokens = check_answer(
        prompt.get("checks", {}), answered.answer, answered.latency_ms, search
    )
    return PromptResult(prompt["id"], not failures, answered.latency_ms, tokens, failures)


def invoke_prompt(
    lambda_client: Any, target: DeploymentTarget, prompt: dict[str, Any], clock: Callable[[], float]
) -> PromptResult | Answered:
    """Invoke the new version (by version number, not the alias) with one prompt: its
    answer, or the failed result when there is no answer to check."""
    started = clock()
    try:
        response = lambda_client.invoke(
            FunctionName=target.function_name,
            Qualifier=target.target_version,
            InvocationType="RequestResponse",
            Payload=json.dumps(request_for(prompt)).encode(),
        )
        body = response["Payload"].read()
    except Exception as exc:  # a prompt that cannot run fails; the gate goes on
        latency = round((clock() - started) * 1000)
        return PromptResult(prompt["id"], False, latency, failures=[f"invoke failed: {exc}"])
    latency = round((clock() - started) * 1000)
    if response.get("FunctionError"):
        detail = body.decode(errors="replace")[:300]
        return PromptResult(prompt["id"], False, latency, failures=[f"function error: {detail}"])
    try:
        answer = json.loads(body)
    except ValueError:
        return PromptResult(prompt["id"], False, latency, failures=["the answer is not JSON"])
    if not isinstance(answer, dict) or "error" in answer:
        error = answer.get("error") if isinstance(answer, dict) else answer
        return PromptResult(prompt["id"], False, latency, failures=[f"router error: {error}"])
    return Answered(prompt, answer, latency)


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

    def guarded(prompt: dict[str, Any]) -> PromptResult | Answered:
        # Checked when the prompt starts, not when it is queued: a prompt that
        # could outlive the function would leave CodeDeploy without a report.
        if remaining_ms() < RESERVE_MS:
            return PromptResult(prompt["id"], False, 0, failures=["not run: out of time"])
        return invoke_prompt(lambda_client, target, prompt, clock)

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        outcomes = list(pool.map(guarded, prompts))
    # The checks run here, in the main thread once the prompt threads have ended: a
    # regex check forks (regex_check.py), each one bounded by what is left.
    search = budgeted_search(remaining_ms)
    results = [o if isinstance(o, PromptResult) else judge(o, search) for o in outcomes]
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


def budgeted_search(remaining_ms: Callable[[], int]) -> Search:
    """``search_within`` limited to ``REGEX_TIMEOUT_SECONDS`` and to what is left before
    the report must go out (``REPORT_RESERVE_MS``): no check delays the report."""

    def search(pattern: str, text: str) -> bool:
        left = (remaining_ms() - REPORT_RESERVE_MS) / 1000
        return search_within(pattern, text, min(REGEX_TIMEOUT_SECONDS, left))

    return search


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
