"""Rules for rollouts that need no CDK: policy limits and golden-prompt files.

Shared by ``bedrock-lifecycle validate`` (through :mod:`.semantic`) and by the
rollout constructs, so a bad policy or prompt file gives the same one-line
message wherever it is caught.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .problems import Problem
from .schema import AlarmThresholds, FamilyKind, LifecycleFile, RolloutPolicy, RolloutStrategy

# CodeDeploy runs a Lambda deployment for at most 50 hours: 48 between the
# first and the last traffic shift, plus one hour for each of the two hooks.
MAX_SHIFT_MINUTES = 48 * 60
# The Titan text embeddings input limit the router enforces.
MAX_INPUT_CHARACTERS = 50_000

CHAT_CHECKS = frozenset(
    {"contains", "not_contains", "regex", "valid_json", "max_latency_ms", "max_output_tokens"}
)
EMBEDDING_CHECKS = frozenset({"dimensions", "max_latency_ms"})
ALL_CHECKS = CHAT_CHECKS | EMBEDDING_CHECKS
PROMPT_KEYS = frozenset({"id", "messages", "system", "input", "checks", "description"})


def regression_alarm_count(thresholds: AlarmThresholds) -> int:
    """How many regression alarms an alias's deployment group watches.

    Error rate, p99 latency, throttle rate, Lambda errors and the alias-wide error
    rate, plus output tokens when ``baseline_output_tokens`` is declared
    (``RegressionAlarms`` builds them).
    """
    return 5 + (1 if thresholds.baseline_output_tokens is not None else 0)


def policy_errors(policy: RolloutPolicy) -> list[str]:
    """Why CodeDeploy could not run ``policy``; empty when it can.

    The schema already bounds each field; this also covers policies built in
    code (``model_construct``) and the total duration of linear policies.
    """
    if policy.strategy is RolloutStrategy.ALL_AT_ONCE:
        return []
    errors = []
    percent, interval = policy.percent, policy.interval_minutes
    if not isinstance(percent, int) or not 1 <= percent <= 99:
        errors.append(f"percent must be between 1 and 99, got {percent}")
    if not isinstance(interval, int) or not 1 <= interval <= MAX_SHIFT_MINUTES:
        errors.append(f"interval_minutes must be between 1 and {MAX_SHIFT_MINUTES}, got {interval}")
    if errors:
        return errors
    if policy.total_minutes > MAX_SHIFT_MINUTES:
        errors.append(
            f"linear {percent} % every {interval} min reaches 100 % only after "
            f"{policy.total_minutes} min; CodeDeploy stops a Lambda deployment after "
            f"{MAX_SHIFT_MINUTES} min (48 h) of shifting: use a larger percent or a shorter "
            "interval"
        )
    return errors


def check_rollout_policies(file: LifecycleFile, base: Path) -> Iterator[Problem]:
    """Every rollout policy of the file (environments and aliases) that CodeDeploy cannot run."""
    for env_name, env in file.environments.items():
        for message in policy_errors(env.rollout):
            yield Problem(("environments", env_name, "rollout"), message)
    for fam_name, family in file.families.items():
        for alias_name, alias in family.aliases.items():
            if alias.rollout is not None:
                for message in policy_errors(alias.rollout):
                    yield Problem(("families", fam_name, "aliases", alias_name, "rollout"), message)


def check_golden_prompts(file: LifecycleFile, base: Path) -> Iterator[Problem]:
    """Every problem of every existing golden-prompt file, one per line of the file."""
    for fam_name, family in file.families.items():
        if family.evaluation is None:
            continue
        path = base / family.evaluation.golden_prompts
        if not path.is_file():
            continue  # semantic.check_evaluations reports a missing file
        where = ("families", fam_name, "evaluation", "golden_prompts")
        for message in golden_prompt_errors(path, family.kind):
            yield Problem(where, f"{family.evaluation.golden_prompts}: {message}")


def golden_prompt_errors(path: Path, kind: FamilyKind) -> list[str]:
    """Problems of a golden-prompt file, each ``line N: what is wrong``."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return ["is not UTF-8 text"]
    errors: list[str] = []
    seen: dict[str, int] = {}
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        count += 1
        try:
            prompt = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {number}: not valid JSON ({exc.msg})")
            continue
        for message in prompt_errors(prompt, kind):
            errors.append(f"line {number}: {message}")
        prompt_id = prompt.get("id") if isinstance(prompt, dict) else None
        if isinstance(prompt_id, str) and prompt_id:
            if prompt_id in seen:
                errors.append(
                    f"line {number}: id {prompt_id!r} repeats line {seen[prompt_id]}; "
                    "ids must be unique"
                )
            seen.setdefault(prompt_id, number)
    if count == 0:
        errors.append("has no prompts; expected one JSON object per line")
    return errors


def prompt_errors(prompt: Any, kind: FamilyKind) -> list[str]:
    """Problems of one golden prompt (one line of the file)."""
    if not isinstance(prompt, dict):
        return [f"expected a JSON object, got {type(prompt).__name__}"]
    errors = []
    unknown = sorted(set(prompt) - PROMPT_KEYS)
    if unknown:
        errors.append(
            f"unknown key {', '.join(map(repr, unknown))} "
            f"(allowed: {', '.join(sorted(PROMPT_KEYS))})"
        )
    if not isinstance(prompt.get("id"), str) or not prompt["id"]:
        errors.append("id must be a non-empty string")
    if kind is FamilyKind.EMBEDDING:
        for key in ("messages", "system"):
            if key in prompt:
                errors.append(f"{key} applies to chat families; an embedding prompt has input")
        text = prompt.get("input")
        if not isinstance(text, str) or not text:
            errors.append("input must be a non-empty string (the text to embed)")
        elif len(text) > MAX_INPUT_CHARACTERS:
            errors.append(
                f"input must be at most {MAX_INPUT_CHARACTERS} characters, got {len(text)}"
            )
        allowed = EMBEDDING_CHECKS
    else:
        if "input" in prompt:
            errors.append("input applies to embedding families; a chat prompt has messages")
        errors += _message_errors(prompt.get("messages"))
        if "system" in prompt and not _text_blocks(prompt["system"]):
            errors.append('system must be a non-empty list of {"text": "..."} blocks')
        allowed = CHAT_CHECKS
    errors += _check_errors(prompt.get("checks"), allowed, kind)
    return errors


def _text_blocks(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(b, dict) and isinstance(b.get("text"), str) and b["text"] for b in value)
    )


def _message_errors(messages: Any) -> list[str]:
    if not isinstance(messages, list) or not messages:
        return ["messages must be a non-empty list of Converse messages"]
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return [f'messages[{i}] must have role "user" or "assistant"']
        if not _text_blocks(message.get("content")):
            return [f'messages[{i}].content must be a non-empty list of {{"text": "..."}} blocks']
    if messages[0]["role"] != "user" or messages[-1]["role"] != "user":
        return ["messages must start and end with a user message"]
    return []


def _check_errors(checks: Any, allowed: frozenset[str], kind: FamilyKind) -> list[str]:
    if not isinstance(checks, dict) or not checks:
        return [f"checks must be a non-empty object (allowed: {', '.join(sorted(allowed))})"]
    errors = []
    for name, value in checks.items():
        if name not in allowed:
            where = "embedding" if kind is FamilyKind.EMBEDDING else "chat"
            known = "unknown check" if name not in ALL_CHECKS else f"not a check for {where}"
            errors.append(f"checks.{name}: {known} (allowed: {', '.join(sorted(allowed))})")
        elif name in ("contains", "not_contains"):
            if (
                not isinstance(value, list)
                or not value
                or not all(isinstance(v, str) and v for v in value)
            ):
                errors.append(f"checks.{name} must be a non-empty list of non-empty strings")
        elif name == "regex":
            if not isinstance(value, str) or not value:
                errors.append("checks.regex must be a non-empty string")
            else:
                try:
                    re.compile(value)
                except re.error as exc:
                    errors.append(f"checks.regex {value!r} does not compile ({exc})")
        elif name == "valid_json":
            if value is not True:
                errors.append(f"checks.valid_json must be true (omit it otherwise), got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            errors.append(f"checks.{name} must be a whole number of at least 1, got {value!r}")
    return errors
