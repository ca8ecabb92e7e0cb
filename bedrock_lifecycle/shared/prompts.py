"""Golden prompts run through a router, and the checks of each answer: written once.

The evaluation gate (``app.py``, before traffic moves, against the new Lambda version)
and the continuous evaluation (``continuous.py``, on a schedule, against the Lambda
alias ``live`` that callers use) both run prompts with :func:`run_prompts` and judge the
answers with :func:`check_answer`; neither has checks of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import contract
from regex_check import REGEX_TIMEOUT_SECONDS, RegexTimeout, search_within

# One answer may take this long (connect + read); a slower one fails its prompt.
# No retry: a retried invoke would run the model twice and hide the latency.
ANSWER_TIMEOUT_SECONDS = 60
# All regex checks together may take this long after the last answer (each one at most
# REGEX_TIMEOUT_SECONDS): prompts start only while it is left too.
REGEX_BUDGET_SECONDS = 10
# What a prompt needs once started: 5 s to connect, the answer or its timeout, its checks.
PROMPT_RESERVE_MS = (5 + ANSWER_TIMEOUT_SECONDS + REGEX_BUDGET_SECONDS) * 1000
NOT_RUN = "not run: out of time"

_FENCED = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


@dataclass
class PromptResult:
    """One golden prompt's outcome; ``failures`` is empty when it passed.

    ``version_id`` is the model version that answered, as the router names it in every
    answer (its errors included); None when no router answered.
    """

    id: str
    passed: bool
    latency_ms: int
    output_tokens: int | None = None
    failures: list[str] = field(default_factory=list)
    version_id: str | None = None


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


def judge(answered: Answered, search: Search = search_within) -> PromptResult:
    """The checks of one answer."""
    prompt = answered.prompt
    failures, tokens = check_answer(
        prompt.get("checks", {}), answered.answer, answered.latency_ms, search
    )
    return PromptResult(
        prompt["id"],
        not failures,
        answered.latency_ms,
        tokens,
        failures,
        _version_of(answered.answer),
    )


def _version_of(answer: object) -> str | None:
    version = answer.get("version_id") if isinstance(answer, dict) else None
    return version if isinstance(version, str) and version else None


def invoke_prompt(
    lambda_client: Any,
    function_name: str,
    qualifier: str,
    prompt: dict[str, Any],
    clock: Callable[[], float],
) -> PromptResult | Answered:
    """Invoke ``function_name:qualifier`` (a version number or an alias) with one prompt:
    its answer, or the failed result when there is no answer to check."""
    started = clock()
    try:
        response = lambda_client.invoke(
            FunctionName=function_name,
            Qualifier=qualifier,
            InvocationType="RequestResponse",
            Payload=json.dumps(request_for(prompt)).encode(),
        )
        body = response["Payload"].read()
    except Exception as exc:  # a prompt that cannot run fails; the run goes on
        latency = round((clock() - started) * 1000)
        reason = contract.cfn_reason(f"invoke failed: {exc}", 300)
        return PromptResult(prompt["id"], False, latency, failures=[reason])
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
        return PromptResult(
            prompt["id"],
            False,
            latency,
            failures=[f"router error: {str(error)[:300]}"],
            version_id=_version_of(answer),
        )
    return Answered(prompt, answer, latency)


def budgeted_search(remaining_ms: Callable[[], int], reserve_ms: int) -> Search:
    """``search_within`` limited to ``REGEX_TIMEOUT_SECONDS`` and to what is left before
    the last ``reserve_ms`` (the report's): no check delays the report."""

    def search(pattern: str, text: str) -> bool:
        left = (remaining_ms() - reserve_ms) / 1000
        return search_within(pattern, text, min(REGEX_TIMEOUT_SECONDS, left))

    return search


Invoke = Callable[[dict[str, Any]], "PromptResult | Answered"]


def run_prompts(
    prompts: Sequence[dict[str, Any]],
    invoke: Invoke,
    *,
    remaining_ms: Callable[[], int],
    report_reserve_ms: int,
    parallel: int,
) -> list[PromptResult]:
    """Run ``prompts`` with ``invoke``, ``parallel`` at a time, then check every answer.

    A prompt starts only while ``PROMPT_RESERVE_MS + report_reserve_ms`` is left of the
    function's time (checked when it starts, not when it is queued): one that could
    outlive the function fails as ``not run: out of time`` instead, so a report always
    goes out. The checks run in the calling thread once every invoke has ended (a regex
    check forks, ``regex_check.py``), each one bounded by what is left.
    """

    def guarded(prompt: dict[str, Any]) -> PromptResult | Answered:
        if remaining_ms() < PROMPT_RESERVE_MS + report_reserve_ms:
            return PromptResult(prompt["id"], False, 0, failures=[NOT_RUN])
        return invoke(prompt)

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        outcomes = list(pool.map(guarded, prompts))
    search = budgeted_search(remaining_ms, report_reserve_ms)
    return [o if isinstance(o, PromptResult) else judge(o, search) for o in outcomes]
