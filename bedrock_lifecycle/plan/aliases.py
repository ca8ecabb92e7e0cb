"""What changes for the aliases of one environment: moves, rollouts, alarms, gates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath

from ..config import LifecycleConfig, ResolvedAlias
from ..config.rollout_checks import regression_alarm_count, regression_term_count
from ..config.schema import AlarmThresholds, CanaryAnalysis
from .continuous import continuous_changes
from .describe import (
    describe_rollout,
    first_shift_percent,
    golden_prompts,
    legacy_models,
    model_text,
    number,
    plural,
)
from .model import Change, Kind, Risk, RiskCode, facts

Found = Iterator[Change | Risk]

# Alarm thresholds where a higher value alarms later (weaker). ``alias_error_rate_percent``
# unset means ``error_rate_percent`` (its effective value is compared);
# ``baseline_output_tokens`` unset means no output-tokens term in the Regression alarm
# (and then ``output_tokens_factor`` belongs to no term).
WEAKER_WHEN_HIGHER = (
    "error_rate_percent",
    "alias_error_rate_percent",
    "throttle_rate_percent",
    "p99_latency_ms",
    "output_tokens_factor",
    "baseline_output_tokens",
    "period_seconds",
    "datapoints_to_alarm",
)
# Where a lower value alarms later: with the same datapoints to alarm, fewer periods to
# find them in ("2 of 3" -> "2 of 2" needs the breaches back to back).
WEAKER_WHEN_LOWER = ("evaluation_periods",)
# The canary analysis (AfterAllowTraffic): fewer samples or wider tolerances let more through.
CANARY_WEAKER_WHEN_HIGHER = ("error_rate_tolerance_percent", "latency_tolerance_percent")
CANARY_WEAKER_WHEN_LOWER = ("min_samples",)


def gate_text(alias: ResolvedAlias) -> str:
    """``evaluation gate 3 prompts`` or ``no evaluation gate``."""
    if alias.evaluation is None:
        return "no evaluation gate"
    return f"evaluation gate {plural(len(golden_prompts(alias.evaluation_file)), 'prompt')}"


def _summary(config: LifecycleConfig, alias: ResolvedAlias) -> str:
    alarms = regression_alarm_count(alias.alarms)
    return f"{describe_rollout(alias.rollout)}, {alarms} alarms, {gate_text(alias)}"


def _position(config: LifecycleConfig, alias: ResolvedAlias) -> dict[str, str | int | None]:
    return {
        "label": alias.version_label,
        "version_id": alias.version_id,
        "model": model_text(config.file, alias.version),
        "target": alias.version.target.value,
    }


def _onto_legacy(
    head: LifecycleConfig, alias: ResolvedAlias, was: ResolvedAlias | None, base: LifecycleConfig
) -> Found:
    before = set(legacy_models(base.file, was.version)) if was is not None else set()
    for model_id in legacy_models(head.file, alias.version):
        if model_id in before:
            continue
        yield Risk(
            RiskCode.ALIAS_ONTO_LEGACY_MODEL,
            alias.environment,
            alias.qualified_name,
            f"serves {alias.version_label} on {model_id}, which Bedrock marks LEGACY; "
            "choose a version on an active model",
        )


def alias_changes(
    head: LifecycleConfig, base: LifecycleConfig | None, environment: str, has_base_env: bool
) -> Found:
    """Every change and risk of the aliases in ``environment``.

    :param has_base_env: the base declares ``environment`` (otherwise all aliases are new).
    """
    now = {a.qualified_name: a for a in head.aliases_for(environment)}
    was = (
        {a.qualified_name: a for a in base.aliases_for(environment)}
        if base is not None and has_base_env
        else {}
    )
    empty = base if base is not None else head
    for name, alias in now.items():
        old = was.get(name)
        if old is None:
            yield Change(
                Kind.ALIAS,
                name,
                "added",
                f"{name} new at {alias.version_label} ({alias.version_id}, "
                f"{model_text(head.file, alias.version)}), {_summary(head, alias)}; "
                "first deploy: no shifting",
                after=facts(_position(head, alias)),
            )
            yield from _onto_legacy(head, alias, None, empty)
            continue
        assert base is not None
        yield from _one_alias(head, base, alias, old)
    for name, old in was.items():
        if name not in now:
            yield Change(
                Kind.ALIAS,
                name,
                "removed",
                f"{name} removed (was at {old.version_label}): its router, alias and "
                "alarms are deleted and its callers fail",
                before=facts(_position(base, old)) if base is not None else (),
            )
            yield Risk(
                RiskCode.ALIAS_REMOVED,
                environment,
                name,
                "removed: every caller of it fails from this deploy on",
            )


def _one_alias(
    head: LifecycleConfig, base: LifecycleConfig, alias: ResolvedAlias, old: ResolvedAlias
) -> Found:
    name, env = alias.qualified_name, alias.environment
    if old.version_label != alias.version_label or old.version_id != alias.version_id:
        yield Change(
            Kind.ALIAS,
            name,
            "moved",
            f"{name} {old.version_label} -> {alias.version_label} "
            f"({model_text(base.file, old.version)} -> {model_text(head.file, alias.version)}; "
            f"{old.version_id} -> {alias.version_id}), {_summary(head, alias)}",
            before=facts(_position(base, old)),
            after=facts(_position(head, alias)),
        )
        yield from _onto_legacy(head, alias, old, base)
    family = head.file.families[alias.family].aliases[alias.name]
    base_family = base.file.families[old.family].aliases[old.name]
    pinned, was_pinned = (
        family.environment_versions.get(env),
        base_family.environment_versions.get(env),
    )
    if pinned != was_pinned:
        yield Change(
            Kind.ALIAS,
            name,
            "override",
            f"{name} environment_versions.{env}: {was_pinned or 'none'} -> {pinned or 'none'}",
            before=facts({"environment_version": was_pinned}),
            after=facts({"environment_version": pinned}),
        )
    if old.rollout != alias.rollout:
        before, after = old.rollout, alias.rollout
        yield Change(
            Kind.ALIAS,
            name,
            "rollout",
            f"{name} rollout {describe_rollout(before)} -> {describe_rollout(after)} "
            f"[{before.total_minutes} -> {after.total_minutes} min until all traffic has shifted]",
            before=facts(
                {"strategy": before.strategy.value, "total_minutes": before.total_minutes}
            ),
            after=facts({"strategy": after.strategy.value, "total_minutes": after.total_minutes}),
        )
        faster = after.total_minutes < before.total_minutes or first_shift_percent(
            after
        ) > first_shift_percent(before)
        if faster:
            yield Risk(
                RiskCode.ROLLOUT_FASTER,
                env,
                name,
                f"{describe_rollout(before)} -> {describe_rollout(after)}: a regression "
                "reaches more callers before the alarms can roll it back",
            )
    yield from _alarm_changes(name, env, old.alarms, alias.alarms)
    yield from _canary_changes(name, env, old.canary_analysis, alias.canary_analysis)
    yield from _gate_changes(alias, old, base)
    yield from continuous_changes(head, base, alias, old)
    if old.allowed_overrides != alias.allowed_overrides:
        shown = [
            ", ".join(o.value for o in old.allowed_overrides) or "none",
            ", ".join(o.value for o in alias.allowed_overrides) or "none",
        ]
        yield Change(
            Kind.ALIAS,
            name,
            "overrides",
            f"{name} allowed_overrides {shown[0]} -> {shown[1]}",
            before=facts({"allowed_overrides": shown[0]}),
            after=facts({"allowed_overrides": shown[1]}),
        )
    if old.max_concurrency != alias.max_concurrency:
        was, now = (
            "unreserved" if c is None else str(c)
            for c in (old.max_concurrency, alias.max_concurrency)
        )
        yield Change(
            Kind.ALIAS,
            name,
            "concurrency",
            f"{name} max_concurrency {was} -> {now} (reserved concurrency of its router: "
            "applies at once, to every version)",
            before=facts({"max_concurrency": was}),
            after=facts({"max_concurrency": now}),
        )


def _effective(thresholds: AlarmThresholds, key: str) -> float | int | None:
    if key == "alias_error_rate_percent" and thresholds.alias_error_rate_percent is None:
        return thresholds.error_rate_percent
    value: float | int | None = getattr(thresholds, key)
    return value


def _alarm_changes(name: str, env: str, old: AlarmThresholds, new: AlarmThresholds) -> Found:
    # The baseline adds or removes a term of the Regression alarm, never an alarm.
    count_old, count_new = regression_term_count(old), regression_term_count(new)
    if old.baseline_output_tokens is None and new.baseline_output_tokens is not None:
        yield Change(
            Kind.ALIAS,
            name,
            "alarm term added",
            f"{name} Regression alarm term added: output tokens above "
            f"{number(new.output_tokens_factor)} x {new.baseline_output_tokens} "
            f"({count_old} -> {count_new} terms)",
        )
    elif old.baseline_output_tokens is not None and new.baseline_output_tokens is None:
        yield Change(
            Kind.ALIAS,
            name,
            "alarm term removed",
            f"{name} Regression alarm term removed: output tokens "
            f"({count_old} -> {count_new} terms)",
        )
        yield Risk(
            RiskCode.ALARM_REMOVED,
            env,
            name,
            "the output-tokens term of the Regression alarm is removed: a cost regression "
            "no longer rolls back",
        )
    for key in type(new).model_fields:
        if key == "alias_error_rate_percent" and (
            old.alias_error_rate_percent is None and new.alias_error_rate_percent is None
        ):
            continue  # it follows error_rate_percent, reported already
        if key == "output_tokens_factor" and (
            old.baseline_output_tokens is None or new.baseline_output_tokens is None
        ):
            continue  # no output-tokens term on one side: its addition or removal says it
        before, after = _effective(old, key), _effective(new, key)
        if before == after or before is None or after is None:
            continue
        yield from _setting_change(
            env,
            name,
            "alarm",
            f"alarm {key}",
            (key, before, after),
            weaker_when=(WEAKER_WHEN_HIGHER, WEAKER_WHEN_LOWER),
            risk=RiskCode.ALARM_WEAKENED,
            why="a regression must be worse (or last longer) before it rolls back",
        )


def _canary_changes(name: str, env: str, old: CanaryAnalysis, new: CanaryAnalysis) -> Found:
    for key in type(new).model_fields:
        before, after = getattr(old, key), getattr(new, key)
        if before == after:
            continue
        yield from _setting_change(
            env,
            name,
            "canary analysis",
            f"canary_analysis {key}",
            (key, before, after),
            weaker_when=(CANARY_WEAKER_WHEN_HIGHER, CANARY_WEAKER_WHEN_LOWER),
            risk=RiskCode.CANARY_ANALYSIS_WEAKENED,
            why="the comparison with the previous version lets a worse new version through",
        )


def _setting_change(
    env: str,
    name: str,
    action: str,
    label: str,
    change: tuple[str, float, float],
    *,
    weaker_when: tuple[tuple[str, ...], tuple[str, ...]],
    risk: RiskCode,
    why: str,
) -> Found:
    """One numeric setting of alias ``name`` raised or lowered, and ``risk`` when that
    direction is the weaker one: ``weaker_when`` holds the keys weaker when higher, then
    those weaker when lower (``why`` says what a reviewer loses)."""
    key, before, after = change
    verb = "raised" if after > before else "lowered"
    higher, lower = weaker_when
    weaker = (key in higher and after > before) or (key in lower and after < before)
    yield Change(
        Kind.ALIAS,
        name,
        f"{action} {verb}",
        f"{name} {label} {verb} {number(before)} -> {number(after)}",
        before=facts({key: before}),
        after=facts({key: after}),
    )
    if weaker:
        yield Risk(risk, env, name, f"{key} {number(before)} -> {number(after)}: {why}")


def base_prompts_name(base: LifecycleConfig, alias: ResolvedAlias) -> str | None:
    """``<ref>:<path>`` (or the path) of the base's golden-prompt file of ``alias`` when
    it could not be read (missing at the base's git ref); None when it was read."""
    path = alias.evaluation_file
    if alias.evaluation is None or path is None or path.is_file():
        return None
    ref, sep, where = base.label.partition(":")
    inner = alias.evaluation.golden_prompts.replace("\\", "/")
    if not sep:
        return str(PurePosixPath(ref).parent / inner)
    return f"{ref}:{(PurePosixPath(where).parent / inner).as_posix()}"


def _gate_changes(alias: ResolvedAlias, old: ResolvedAlias, base: LifecycleConfig) -> Found:
    name, env = alias.qualified_name, alias.environment
    if old.evaluation is not None and alias.evaluation is None:
        yield Change(Kind.ALIAS, name, "gate removed", f"{name} evaluation gate removed")
        yield Risk(
            RiskCode.GATE_REMOVED,
            env,
            name,
            "no golden prompts run before traffic moves to a new version",
        )
        return
    if alias.evaluation is None:
        return
    if old.evaluation is None:
        yield Change(
            Kind.ALIAS,
            name,
            "gate added",
            f"{name} evaluation gate added: "
            f"{plural(len(golden_prompts(alias.evaluation_file)), 'prompt')}, "
            f"pass rate {number(alias.evaluation.pass_rate)}",
        )
        return
    before, after = old.evaluation.pass_rate, alias.evaluation.pass_rate
    if before != after:
        verb = "raised" if after > before else "lowered"
        yield Change(
            Kind.ALIAS,
            name,
            f"gate {verb}",
            f"{name} evaluation gate pass rate {verb} {number(before)} -> {number(after)}",
            before=facts({"pass_rate": before}),
            after=facts({"pass_rate": after}),
        )
        if after < before:
            yield Risk(
                RiskCode.GATE_WEAKENED,
                env,
                name,
                f"pass rate {number(before)} -> {number(after)}: more golden prompts may fail",
            )
    now = golden_prompts(alias.evaluation_file)
    unknown = base_prompts_name(base, old)
    if unknown is not None:
        yield Change(
            Kind.ALIAS,
            name,
            "gate prompts",
            f"{name} evaluation gate prompts unknown before ({unknown} not found at the "
            f"base): now {plural(len(now), 'prompt')}",
            before=facts({"prompts": None}),
            after=facts({"prompts": len(now)}),
        )
        return
    was = golden_prompts(old.evaluation_file)
    added = [p for p in now if p not in was]
    removed = [p for p in was if p not in now]
    changed = [p for p in now if p in was and was[p] != now[p]]
    parts = [
        f"{label} {', '.join(ids)}"
        for label, ids in (("added", added), ("removed", removed), ("changed", changed))
        if ids
    ]
    if parts:
        yield Change(
            Kind.ALIAS,
            name,
            "gate prompts",
            f"{name} evaluation gate prompts {'; '.join(parts)} ({len(was)} -> {len(now)})",
            before=facts({"prompts": len(was)}),
            after=facts({"prompts": len(now)}),
        )
    if removed:
        yield Risk(
            RiskCode.GATE_WEAKENED,
            env,
            name,
            f"golden prompts removed: {', '.join(removed)}",
        )
