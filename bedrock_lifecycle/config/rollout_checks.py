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
from ..values import MAX_SHIFT_MINUTES, policy_errors
from .problems import Problem
from .schema import AlarmThresholds, LifecycleFile

__all__ = [
    "MAX_SHIFT_MINUTES",
    "check_golden_prompts",
    "check_rollout_policies",
    "inside_folder",
    "policy_errors",
    "regression_alarm_count",
    "regression_term_count",
]


def regression_alarm_count(thresholds: AlarmThresholds) -> int:
    """How many regression alarms an alias's deployment group watches: 2.

    ``Regression`` (one metric-math alarm over every router term) and
    ``LambdaErrors`` (``RegressionAlarms`` builds them), whatever the thresholds
    (kept as the parameter so that callers need not know): ``baseline_output_tokens``
    adds a term to ``Regression``, not an alarm (:func:`regression_term_count`).
    """
    return 2


def regression_term_count(thresholds: AlarmThresholds) -> int:
    """How many terms the alias's ``Regression`` alarm has.

    Error rate, throttle rate and p99 latency of the new version and the alias-wide
    error rate, plus output tokens when ``baseline_output_tokens`` is declared.
    """
    return 4 + (1 if thresholds.baseline_output_tokens is not None else 0)


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


def inside_folder(base: Path, written: str) -> bool:
    """Whether ``written`` (relative to ``base``) stays inside ``base`` once every
    symbolic link is followed: the one test of where golden prompts may be read."""
    return (base / written).resolve().is_relative_to(base.resolve())


def check_golden_prompts(file: LifecycleFile, base: Path) -> Iterator[Problem]:
    """Every problem of every existing golden-prompt file, one per line of the file."""
    for fam_name, family in file.families.items():
        if family.evaluation is None:
            continue
        path = base / family.evaluation.golden_prompts
        if not inside_folder(base, family.evaluation.golden_prompts) or not path.is_file():
            # construct_checks.check_golden_prompts_inside reports a path outside the
            # folder (never read), semantic.check_evaluations a missing file.
            continue
        where = ("families", fam_name, "evaluation", "golden_prompts")
        for message in golden.file_errors(path, family.kind.value):
            yield Problem(where, f"{family.evaluation.golden_prompts}: {message}")
