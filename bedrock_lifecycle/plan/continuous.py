"""What changes for an alias's continuous evaluation: on or off, schedule, sample."""

from __future__ import annotations

from collections.abc import Iterator

from ..config import LifecycleConfig, ResolvedAlias
from ..values.evaluation import ContinuousEvaluation, rate_minutes
from .model import Change, Kind, Risk, RiskCode, facts

Found = Iterator[Change | Risk]


def continuous_of(config: LifecycleConfig, alias: ResolvedAlias) -> ContinuousEvaluation | None:
    """The continuous evaluation that runs for ``alias`` (None: none runs), as the stack
    builds it (``stacks.operations.evaluated_aliases``): the family's, in its environments.
    """
    family = config.file.families.get(alias.family)
    evaluation = family.evaluation if family is not None else None
    if evaluation is None or not evaluation.continuous.runs_in(alias.environment):
        return None
    return evaluation.continuous


def sample_text(continuous: ContinuousEvaluation) -> str:
    """``all prompts`` or ``sample 2``."""
    return "all prompts" if continuous.sample is None else f"sample {continuous.sample}"


def describe_continuous(continuous: ContinuousEvaluation | None) -> str:
    """``continuous evaluation cron(0 6 * * ? *), sample 2`` or ``no continuous evaluation``."""
    if continuous is None:
        return "no continuous evaluation"
    return f"continuous evaluation {continuous.schedule}, {sample_text(continuous)}"


def continuous_changes(
    head: LifecycleConfig, base: LifecycleConfig, alias: ResolvedAlias, old: ResolvedAlias
) -> Found:
    """The change of ``alias``'s continuous evaluation from ``old``'s, and a
    ``continuous-evaluation-weakened`` risk when it stops, runs less often (both
    ``rate(...)``) or samples fewer prompts."""
    name, env = alias.qualified_name, alias.environment
    now, was = continuous_of(head, alias), continuous_of(base, old)
    if now == was:
        return
    if now is None or was is None:
        verb = "removed" if now is None else "added"
        yield Change(
            Kind.ALIAS,
            name,
            f"continuous {verb}",
            f"{name} {describe_continuous(was)} -> {describe_continuous(now)}",
            before=facts(_facts(was)),
            after=facts(_facts(now)),
        )
        if now is None:
            yield Risk(
                RiskCode.CONTINUOUS_EVALUATION_WEAKENED,
                env,
                name,
                "continuous evaluation stops: a drift of the live model's answers goes unseen",
            )
        return
    before_minutes, after_minutes = rate_minutes(was.schedule), rate_minutes(now.schedule)
    # (what changed, whether that direction is the weaker one)
    changed = [
        (
            f"schedule {was.schedule} -> {now.schedule}",
            before_minutes is not None
            and after_minutes is not None
            and after_minutes > before_minutes,
        )
        if now.schedule != was.schedule
        else None,
        (
            f"{sample_text(was)} -> {sample_text(now)}",
            now.sample is not None and (was.sample is None or now.sample < was.sample),
        )
        if now.sample != was.sample
        else None,
    ]
    parts = [c for c in changed if c is not None]
    if not parts:
        return  # the same runs (the environments listed differently)
    yield Change(
        Kind.ALIAS,
        name,
        "continuous changed",
        f"{name} continuous evaluation {'; '.join(text for text, _ in parts)}",
        before=facts(_facts(was)),
        after=facts(_facts(now)),
    )
    weaker = [text for text, weak in parts if weak]
    if weaker:
        yield Risk(
            RiskCode.CONTINUOUS_EVALUATION_WEAKENED,
            env,
            name,
            f"{'; '.join(weaker)}: a drift shows later or in fewer prompts",
        )


def _facts(continuous: ContinuousEvaluation | None) -> dict[str, str | int | None]:
    if continuous is None:
        return {"continuous": None}
    return {"continuous": continuous.schedule, "sample": continuous.sample}
