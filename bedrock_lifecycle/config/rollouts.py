"""Rules for rollouts that need no CDK: policy limits and golden-prompt files.

Shared by ``bedrock-lifecycle validate`` (through :mod:`.semantic`) and by the
rollout constructs, so a bad policy or prompt file gives the same one-line
message wherever it is caught. What a golden-prompt line may hold is
:mod:`bedrock_lifecycle.shared.golden`, which the evaluation gate reads too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..shared import golden
from .problems import Problem
from .schema import AlarmThresholds, FamilyKind, LifecycleFile, RolloutPolicy, RolloutStrategy

# CodeDeploy runs a Lambda deployment for at most 50 hours: 48 between the
# first and the last traffic shift, plus one hour for each of the two hooks.
MAX_SHIFT_MINUTES = 48 * 60


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
    for number, line in golden.numbered_lines(text):
        count += 1
        prompt, messages = golden.line_errors(line, kind.value)
        errors += [f"line {number}: {message}" for message in messages]
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
