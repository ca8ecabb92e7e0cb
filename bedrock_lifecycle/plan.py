"""Plain-words summary of what deploying a lifecycle file changes.

``bedrock-lifecycle plan --base OLD`` compares the resolved aliases and
throughputs of each environment, so a pull request can say
"prod: summarizer/live v1 -> v2, canary 10 % for 10 min, ..." beside the raw
``cdk diff``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .config import LifecycleConfig, ResolvedAlias
from .config.rollout_checks import regression_alarm_count
from .config.schema import LifecycleFile, RolloutPolicy, RolloutStrategy
from .config.semantic import granted_versions


def describe_rollout(policy: RolloutPolicy) -> str:
    """``canary 10 % for 10 min`` and the like."""
    if policy.strategy is RolloutStrategy.ALL_AT_ONCE:
        return "all at once"
    if policy.strategy is RolloutStrategy.CANARY:
        return f"canary {policy.percent} % for {policy.interval_minutes} min"
    return (
        f"linear {policy.percent} % every {policy.interval_minutes} min "
        f"({policy.total_minutes} min in all)"
    )


def count_prompts(path: Path | None) -> int:
    """Number of non-blank lines of a golden-prompt file."""
    if path is None or not path.is_file():
        return 0
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def _alias_change(alias: ResolvedAlias, before: str | None) -> str:
    gate = (
        f"evaluation gate {count_prompts(alias.evaluation_file)} prompts"
        if alias.evaluation is not None
        else "no evaluation gate"
    )
    if before is None:
        return f"{alias.qualified_name} new at {alias.version_label} (first deploy: no shifting)"
    alarms = regression_alarm_count(alias.alarms)
    return (
        f"{alias.qualified_name} {before} -> {alias.version_label}, "
        f"{describe_rollout(alias.rollout)}, {alarms} alarms, {gate}"
    )


def _grant_key(file: LifecycleFile, fam_name: str, label: str) -> tuple[str, str, str | None]:
    """What a version adds to the grants: its target, and its guardrail's id (IAM's
    guardrail ARN names no guardrail version)."""
    version = file.families[fam_name].versions[label]
    guardrail = version.guardrail
    return (
        version.target.kind,
        version.target.value,
        guardrail.id if guardrail is not None else None,
    )


def _target_text(file: LifecycleFile, fam_name: str, label: str) -> str:
    """``v4 (us.anthropic..., guardrail abc:1)``: what the label brings into the grants."""
    _kind, value, guardrail = _grant_key(file, fam_name, label)
    return f"{label} ({value}, guardrail {guardrail})" if guardrail else f"{label} ({value})"


def grant_lines(config: LifecycleConfig, base: LifecycleFile, env: str) -> Iterator[str]:
    """One line per family whose routers' grants widen or narrow in ``env``.

    The grant rule (``semantic.granted_versions``) gives every router of a family the
    targets of its servable versions. Widening takes effect before any alias moves;
    narrowing once the deploy has succeeded (``ModelAlias`` writes each grant set as a
    new policy and CloudFormation deletes the old one in the clean-up).
    """
    head = config.file
    for fam_name in head.families:
        if not any(a.family == fam_name for a in config.aliases_for(env)):
            continue
        now = granted_versions(head, fam_name, env)
        was = (
            granted_versions(base, fam_name, env)
            if fam_name in base.families and env in base.environments
            else ()
        )
        if not was:
            continue  # a family new in this environment: its aliases are new too
        # What a router may call: targets and guardrails, whichever label brings them.
        now_keys = {_grant_key(head, fam_name, label) for label in now}
        was_keys = {_grant_key(base, fam_name, label) for label in was}
        widened = [label for label in now if _grant_key(head, fam_name, label) not in was_keys]
        narrowed = [label for label in was if _grant_key(base, fam_name, label) not in now_keys]
        if not widened and not narrowed:
            continue
        parts = []
        if widened:
            parts.append("widen to " + ", ".join(_target_text(head, fam_name, v) for v in widened))
        if narrowed:
            parts.append(
                "narrow from " + ", ".join(_target_text(base, fam_name, v) for v in narrowed)
            )
        line = f"{env}: {fam_name} routers' Bedrock grants {' and '.join(parts)}"
        if narrowed:
            # The old grants policy is deleted only in the clean-up after the deploy
            # (rollouts included) has succeeded: say when the narrowing takes effect.
            line += ", once the deploy has succeeded"
        yield line


def plan_lines(config: LifecycleConfig, base: LifecycleFile | None) -> Iterator[str]:
    """One line per environment, naming every alias move and throughput change, then one
    line per family whose routers' grants change there."""
    for env in config.environment_names:
        current = {a.qualified_name: a for a in config.aliases_for(env)}
        before: dict[str, str] = {}
        base_pts: set[str] = set()
        if base is not None and env in base.environments:
            before = {p.qualified_name: p.label for p in base.placements() if p.environment == env}
            base_pts = {
                n for n, pt in base.provisioned_throughputs.items() if env in pt.environments
            }
        changes = [
            _alias_change(alias, before.get(name) if base is not None else None)
            for name, alias in current.items()
            if base is None or before.get(name) != alias.version_label
        ]
        changes += [f"{name} removed" for name in sorted(set(before) - set(current))]
        pts = set(config.throughputs_for(env))
        pt_changes = [f"buys throughput {n}" for n in sorted(pts - base_pts)] + [
            f"releases throughput {n}" for n in sorted(base_pts - pts)
        ]
        summary = "; ".join(changes) if changes else "no alias change"
        pt_summary = ", ".join(pt_changes) if pt_changes else "no provisioned throughput change"
        yield f"{env}: {summary}; {pt_summary}"
        if base is not None:
            yield from grant_lines(config, base, env)
