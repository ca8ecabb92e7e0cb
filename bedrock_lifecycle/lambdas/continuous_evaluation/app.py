"""Continuous evaluation: golden prompts on a schedule, through the path callers use.

An EventBridge rule per schedule invokes this function with ``{"schedule": KEY}``. For
each alias of that schedule it runs the family's golden prompts (or a random sample
of them) through the Lambda alias ``live``, checks every answer with the evaluation
gate's own checks (``prompts.py``, shared with the gate), and then:

- publishes, in CloudWatch's embedded metric format, ``ContinuousPassRate``,
  ``ContinuousLatency`` and ``ContinuousPrompts`` once per alias (every prompt of the
  run) and once per version that answered (a canary in progress answers with two);
- prints one report record (``record``: ``contract.CONTINUOUS_RECORD``) into the
  environment's audit log group: every prompt, its outcome and the version that
  answered.

An alias that cannot be reached (no such function, access denied, a router error)
fails each of its prompts: its pass rate is published as 0, never left out, so its
alarm is never left without data after a run. Prompts that would start without time
to end fail as ``not run: out of time``.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import boto3
import contract
import golden
from botocore.config import Config
from prompts import ANSWER_TIMEOUT_SECONDS, PromptResult, invoke_prompt, run_prompts

# Prompts run in parallel, but few at a time: an evaluation must not throttle the
# model that is serving production traffic.
PARALLEL_PROMPTS = 4
# What the report and the metrics need after the last check.
REPORT_RESERVE_MS = 5_000
# A CloudWatch Logs event holds 256 KB; the report stays well under it.
MAX_REPORT_BYTES = 200_000
MAX_FAILURE_CHARACTERS = 300
SETTINGS_FILE = "/opt/continuous/settings.json"
RECORD_SCHEMA = 1


class SettingsError(ValueError):
    """The event or the staged settings are not what the construct writes (one line)."""


@dataclass(frozen=True)
class Target:
    """One alias to evaluate."""

    key: str  # family/alias
    family: str
    alias: str
    function: str
    prompts_file: Path
    pass_rate: float
    sample: int | None


def load_targets(
    event: object, settings_file: str, environ: Mapping[str, str]
) -> tuple[str, str, list[Target]]:
    """``(environment, schedule, targets)`` of one scheduled event.

    :raises SettingsError: an event that is not ``{"schedule": KEY}`` of a known schedule,
        or an alias without a function name.
    """
    if not isinstance(event, Mapping) or not isinstance(event.get("schedule"), str):
        raise SettingsError(
            f'expected an event {{"schedule": KEY}}, got {contract.shown(event, 200)}'
        )
    path = Path(settings_file)
    settings = json.loads(path.read_text(encoding="utf-8"))
    schedule = event["schedule"]
    keys = settings["schedules"].get(schedule)
    if keys is None:
        raise SettingsError(
            f"unknown schedule {contract.shown(schedule)} "
            f"(known: {', '.join(sorted(settings['schedules']))})"
        )
    functions = dict(settings.get("functions") or {})
    functions.update(json.loads(environ.get(contract.CONTINUOUS_FUNCTIONS_ENV) or "{}"))
    targets = []
    for key in keys:
        alias = settings["aliases"][key]
        if not functions.get(key):
            raise SettingsError(f"no router function is named for {key}")
        targets.append(
            Target(
                key=key,
                family=alias["family"],
                alias=alias["alias"],
                function=functions[key],
                prompts_file=path.parent / alias["prompts"],
                pass_rate=float(alias["pass_rate"]),
                sample=alias.get("sample"),
            )
        )
    return settings["environment"], schedule, targets


def sampled(prompts: Sequence[dict[str, Any]], size: int | None, rng: random.Random) -> list:
    """``size`` prompts drawn without repeats (all of them when ``size`` is None or at
    least their number), in file order."""
    if size is None or size >= len(prompts):
        return list(prompts)
    chosen = sorted(rng.sample(range(len(prompts)), size))
    return [prompts[i] for i in chosen]


@dataclass
class AliasRun:
    """One alias's part of a run."""

    target: Target
    prompts: list[dict[str, Any]]
    available: int
    problem: str | None = None
    results: list[PromptResult] | None = None

    @property
    def pass_rate(self) -> float:
        results = self.results or []
        return sum(r.passed for r in results) / len(results) if results else 0.0


def evaluate(
    event: object,
    *,
    lambda_client: Any,
    settings_file: str = SETTINGS_FILE,
    environ: Mapping[str, str] = os.environ,
    remaining_ms: Callable[[], int] = lambda: 900_000,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], float] = time.time,
    rng: random.Random | None = None,
    write: Callable[[str], Any] | None = None,
    parallel: int = PARALLEL_PROMPTS,
) -> dict[str, Any]:
    """Run one schedule's aliases, publish their metrics and report. Returns a summary.

    :param rng: draws the samples. Default: ``random.SystemRandom()``.
    :param write: where EMF documents and the report go. Default: standard output
        (Lambda sends it to the function's log group, the audit log group).
    """
    environment, schedule, targets = load_targets(event, settings_file, environ)
    draw = rng if rng is not None else random.SystemRandom()
    out = write if write is not None else _stdout
    started = now()
    runs: list[AliasRun] = []
    for target in targets:
        try:
            prompts = golden.read_prompts(golden.read_text(target.prompts_file))
        except (OSError, golden.GoldenFileError) as exc:
            runs.append(AliasRun(target, [], 0, problem=f"golden prompts unreadable: {exc}"))
            continue
        runs.append(AliasRun(target, sampled(prompts, target.sample, draw), len(prompts)))
    # Interleaved across aliases: when time runs short, every alias loses a few prompts
    # (each one a failure), not the last aliases all of theirs.
    jobs = _interleaved(runs)
    results = run_prompts(
        [prompt for _, prompt in jobs],
        lambda prompt: invoke_prompt(
            lambda_client, runs[prompt["__run"]].target.function, contract.LIVE_ALIAS,
            prompt, clock,
        ),
        remaining_ms=remaining_ms,
        report_reserve_ms=REPORT_RESERVE_MS,
        parallel=parallel,
    )  # fmt: skip
    for run in runs:
        run.results = []
    for (index, _), result in zip(jobs, results, strict=True):
        runs[index].results.append(result)  # type: ignore[union-attr]
    timestamp = int(now() * 1000)
    for run in runs:
        for document in metric_documents(environment, run, timestamp):
            out(json.dumps(document, separators=(",", ":")))
    report = report_record(environment, schedule, started, runs)
    out(report)
    return {
        "schedule": schedule,
        "aliases": {
            run.target.key: {
                "pass_rate": round(run.pass_rate, 4),
                "required": run.target.pass_rate,
                "passed": run.problem is None and run.pass_rate >= run.target.pass_rate,
            }
            for run in runs
        },
    }


def _interleaved(runs: Sequence[AliasRun]) -> list[tuple[int, dict[str, Any]]]:
    jobs = []
    longest = max((len(run.prompts) for run in runs), default=0)
    for position in range(longest):
        for index, run in enumerate(runs):
            if position < len(run.prompts):
                jobs.append((index, {**run.prompts[position], "__run": index}))
    return jobs


def metric_documents(environment: str, run: AliasRun, timestamp: int) -> list[dict[str, Any]]:
    """The EMF documents of one alias: alias-wide, then one per version that answered.

    An alias without results (its prompts unreadable) still gets its alias-wide pass
    rate, 0: its alarm reads a failure, not missing data.
    """
    target = run.target
    results = run.results or []
    wide = {"Environment": environment, "Family": target.family, "Alias": target.alias}
    documents = [_document(wide, contract.ALIAS_WIDE_DIMENSIONS, results, timestamp)]
    by_version: dict[str, list[PromptResult]] = {}
    for result in results:
        if result.version_id is not None:
            by_version.setdefault(result.version_id, []).append(result)
    for version_id, answered in sorted(by_version.items()):
        dimensions = {**wide, "Version": version_id}
        documents.append(_document(dimensions, contract.ROUTER_DIMENSIONS, answered, timestamp))
    return documents


def _document(
    dimensions: Mapping[str, str],
    names: Sequence[str],
    results: Sequence[PromptResult],
    timestamp: int,
) -> dict[str, Any]:
    passed = sum(r.passed for r in results)
    values: dict[str, Any] = {
        contract.CONTINUOUS_PASS_RATE: round(100 * passed / len(results), 2) if results else 0.0,
        contract.CONTINUOUS_PROMPTS: len(results),
    }
    # Latency only of prompts that reached a router (an unreachable alias has none).
    latencies = [r.latency_ms for r in results if r.version_id is not None]
    if latencies:
        values[contract.CONTINUOUS_LATENCY] = latencies[:100]  # EMF: 100 values a metric
    metrics = [
        {"Name": name, "Unit": contract.CONTINUOUS_METRICS[name][0]}
        for name in contract.CONTINUOUS_METRICS
        if name in values
    ]
    return {
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [
                {
                    "Namespace": contract.EVALUATION_NAMESPACE,
                    "Dimensions": [list(names)],
                    "Metrics": metrics,
                }
            ],
        },
        **dimensions,
        **values,
    }


def report_record(environment: str, schedule: str, started: float, runs: Sequence[AliasRun]) -> str:
    """The run's one audit record, as one JSON line of at most ``MAX_REPORT_BYTES``:
    failure texts are cut first, then passing prompts are counted instead of listed."""

    def record(detail: str) -> dict[str, Any]:
        return {
            "record": contract.CONTINUOUS_RECORD,
            "schema": RECORD_SCHEMA,
            "environment": environment,
            "schedule": schedule,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "aliases": [_alias_record(run, detail) for run in runs],
        }

    for detail in ("full", "short", "failures"):
        line = json.dumps(record(detail), separators=(",", ":"), ensure_ascii=False)
        if len(line.encode()) <= MAX_REPORT_BYTES:
            return line
    summary = record("none")
    summary["truncated"] = True
    return json.dumps(summary, separators=(",", ":"), ensure_ascii=False)


def _alias_record(run: AliasRun, detail: str) -> dict[str, Any]:
    results = run.results or []
    versions: dict[str, dict[str, int]] = {}
    for result in results:
        entry = versions.setdefault(result.version_id or "none", {"prompts": 0, "passed": 0})
        entry["prompts"] += 1
        entry["passed"] += int(result.passed)
    shown = []
    for result in results:
        if detail == "none" or (detail == "failures" and result.passed):
            continue
        item = asdict(result)
        limit = MAX_FAILURE_CHARACTERS if detail == "full" else 80
        item["failures"] = [text[:limit] for text in result.failures[:5]]
        shown.append(item)
    return {
        "alias": run.target.key,
        "function": run.target.function,
        "qualifier": contract.LIVE_ALIAS,
        "outcome": "pass" if run.problem is None and run.pass_rate >= run.target.pass_rate
        else "fail",
        "pass_rate": round(run.pass_rate, 4),
        "required_pass_rate": run.target.pass_rate,
        "prompts": len(results),
        "passed": sum(r.passed for r in results),
        "sampled_from": run.available,
        "problem": run.problem,
        "versions": versions,
        "results": shown,
    }  # fmt: skip


def _stdout(line: str) -> None:
    sys.stdout.write(line + "\n")


# Clients are created once per execution environment. One attempt per prompt (a retried
# invoke would run the model twice and hide the latency), bounded in time.
_lambda = boto3.client(
    "lambda",
    config=Config(
        connect_timeout=5,
        read_timeout=ANSWER_TIMEOUT_SECONDS,
        retries={"mode": "standard", "total_max_attempts": 1},
    ),
)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (an EventBridge schedule)."""
    return evaluate(
        event,
        lambda_client=_lambda,
        settings_file=os.environ.get(contract.CONTINUOUS_SETTINGS_ENV, SETTINGS_FILE),
        remaining_ms=context.get_remaining_time_in_millis,
    )
