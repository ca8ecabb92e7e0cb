"""Compare a head lifecycle file with its base: every change, per environment.

:func:`compare` is the one entry point; ``bedrock-lifecycle plan`` renders its
answer with :mod:`bedrock_lifecycle.plan.render`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from ..config import LifecycleConfig, version_id
from ..config.models import target_model_ids
from ..config.problems import dotted
from ..config.schema import LifecycleFile, LifecycleState, VersionLifecycle
from ..config.semantic import granted_versions
from ..names import PARAMETER_PREFIX
from .aliases import alias_changes
from .base import MissingBase
from .describe import catalog, model_text
from .model import Change, EnvironmentPlan, Kind, Plan, Risk, RiskCode, facts
from .throughputs import audit_changes, throughput_changes

Found = Iterator[Change | Risk]


def compare(
    head: LifecycleConfig, base: LifecycleConfig | MissingBase | None, *, today: dt.date
) -> Plan:
    """Everything that deploying ``head`` changes where ``base`` is deployed.

    :param base: the file as deployed; None: nothing is (everything is new); a
        :class:`MissingBase`: the git ref has no such file (everything is new, and the
        plan names the file it looked for).
    :param today: the day lifecycle warnings are judged at.
    """
    not_found = base.label if isinstance(base, MissingBase) else None
    if isinstance(base, MissingBase):
        base = None
    envs = []
    base_envs = base.file.environments if base is not None else {}
    for env in head.environment_names:
        envs.append(_environment(head, base, env, today, env in base_envs))
    for env in base_envs:
        if env in head.file.environments:
            continue
        envs.append(
            EnvironmentPlan(
                env,
                "removed",
                (
                    Change(
                        Kind.ENVIRONMENT,
                        env,
                        "removed",
                        "environment removed from the file: a deploy leaves its stack in "
                        "place; destroy it by hand (committed throughputs are retained)",
                    ),
                ),
                (
                    Risk(
                        RiskCode.ENVIRONMENT_REMOVED,
                        env,
                        env,
                        "its stack keeps running and billing until destroyed by hand",
                    ),
                ),
            )
        )
    return Plan(
        head=head.label,
        base=base.label if base is not None else None,
        today=today,
        environments=tuple(envs),
        base_not_found=not_found,
    )


def _environment(
    head: LifecycleConfig, base: LifecycleConfig | None, env: str, today: dt.date, known: bool
) -> EnvironmentPlan:
    found: list[Change | Risk] = []
    if not known:
        found.append(
            Change(Kind.ENVIRONMENT, env, "added", "new environment: its stack is created")
        )
    old_env = base.file.environments[env] if base is not None and known else None
    if base is not None and old_env is not None:
        found += environment_changes(env, base.file, head.file)
    found += alias_changes(head, base, env, known)
    found += version_changes(head, base, env, known)
    found += throughput_changes(head, base, env, known)
    found += audit_changes(env, old_env, head.file.environments[env])
    if base is not None and known:
        found += (
            Change(Kind.GRANTS, family, "grants", text)
            for family, text in grant_changes(head.file, base.file, env)
        )
    changes = tuple(f for f in found if isinstance(f, Change))
    risks = tuple(f for f in found if isinstance(f, Risk))
    status = "new" if not known else ("changed" if changes else "unchanged")
    return EnvironmentPlan(env, status, changes, risks, tuple(warnings_of(head, env, today)))


def _where(account: str | None, region: str | None) -> str:
    """``account 111111111111, region eu-west-1``; ``unset`` for an environment-agnostic one."""
    return f"account {account or 'unset'}, region {region or 'unset'}"


def environment_changes(env: str, base: LifecycleFile, head: LifecycleFile) -> Found:
    """The environment's own settings: the project (every stack's names), where its stack
    is deployed, the alarm topic's addresses and the lifecycle watcher's window."""
    old, new = base.environments[env], head.environments[env]
    if base.project != head.project:
        prefix = PARAMETER_PREFIX
        yield Change(
            Kind.ENVIRONMENT,
            env,
            "project renamed",
            f"project {base.project} -> {head.project}: every SSM discovery path moves from "
            f"{prefix}/{base.project}/{env}/ to {prefix}/{head.project}/{env}/ and every "
            f"throughput is renamed {base.project}-{env}-* -> {head.project}-{env}-*",
            before=facts({"project": base.project}),
            after=facts({"project": head.project}),
        )
        yield Risk(
            RiskCode.PROJECT_RENAMED,
            env,
            env,
            f"{base.project} -> {head.project}: callers that discover aliases under "
            f"{prefix}/{base.project}/ stop finding them",
        )
    if (old.account, old.region) != (new.account, new.region):
        was, now = _where(old.account, old.region), _where(new.account, new.region)
        yield Change(
            Kind.ENVIRONMENT,
            env,
            "moved",
            f"environment moved: {was} -> {now}: a new stack is created there (every alias "
            "anew, every throughput bought anew); the old stack stays where it is, running "
            "and billing, until destroyed by hand"
            + (
                " (unset is the deploying credentials' account or region: if that is the "
                "same place, the stack stays)"
                if None in (old.account, old.region, new.account, new.region)
                else ""
            ),
            before=facts({"account": old.account, "region": old.region}),
            after=facts({"account": new.account, "region": new.region}),
        )
        yield Risk(
            RiskCode.ENVIRONMENT_MOVED,
            env,
            env,
            f"{was} -> {now}: the old stack keeps running and billing until destroyed by "
            "hand; its callers do not move",
        )
    if old.alarm_emails != new.alarm_emails:
        added = [a for a in new.alarm_emails if a not in old.alarm_emails]
        removed = [a for a in old.alarm_emails if a not in new.alarm_emails]
        parts = [
            f"{label} {', '.join(addresses)}"
            for label, addresses in (("added", added), ("removed", removed))
            if addresses
        ] or ["reordered"]
        yield Change(
            Kind.ENVIRONMENT,
            env,
            "alarm emails",
            f"alarm_emails {'; '.join(parts)} "
            f"({len(old.alarm_emails)} -> {len(new.alarm_emails)} addresses)",
            before=facts({"alarm_emails": len(old.alarm_emails)}),
            after=facts({"alarm_emails": len(new.alarm_emails)}),
        )
        if old.alarm_emails and not new.alarm_emails:
            yield Risk(
                RiskCode.ALARM_EMAILS_REMOVED,
                env,
                env,
                f"every address removed ({', '.join(old.alarm_emails)}): no one is emailed "
                "when an alarm fires",
            )
    was_days = old.lifecycle_watcher.end_of_life_warning_days
    now_days = new.lifecycle_watcher.end_of_life_warning_days
    if was_days != now_days:
        verb = "raised" if now_days > was_days else "lowered"
        yield Change(
            Kind.ENVIRONMENT,
            env,
            "watcher",
            f"lifecycle_watcher.end_of_life_warning_days {verb} {was_days} -> {now_days}",
            before=facts({"end_of_life_warning_days": was_days}),
            after=facts({"end_of_life_warning_days": now_days}),
        )


def _families_in(config: LifecycleConfig | None, env: str) -> list[str]:
    if config is None or env not in config.file.environments:
        return []
    return list(dict.fromkeys(a.family for a in config.aliases_for(env)))


def version_changes(
    head: LifecycleConfig, base: LifecycleConfig | None, env: str, known: bool
) -> Found:
    """Versions added, removed, changed, deprecated or retired, for each family that
    has an alias in ``env`` (in the head or the base)."""
    families = dict.fromkeys(_families_in(head, env) + (_families_in(base, env) if known else []))
    for fam_name in families:
        now = head.file.families.get(fam_name)
        was = base.file.families.get(fam_name) if base is not None else None
        labels = dict.fromkeys(
            [
                *(
                    label
                    for label in (now.versions if now else ())
                    if _here(head.file, fam_name, label, env)
                ),
                *(
                    label
                    for label in (was.versions if was else ())
                    if base is not None and _here(base.file, fam_name, label, env)
                ),
            ]
        )
        for label in labels:
            key = f"{fam_name}/{label}"
            new = now.versions.get(label) if now is not None else None
            old = was.versions.get(label) if was is not None else None
            if new is None:
                yield Change(Kind.VERSION, key, "removed", f"version {key} removed from the file")
                continue
            assert now is not None
            new_id = version_id(label, new)
            if old is None:
                yield Change(
                    Kind.VERSION,
                    key,
                    "added",
                    f"version {key} added: {new_id} on {model_text(head.file, new)}",
                    after=facts({"version_id": new_id, "state": new.lifecycle.state.value}),
                )
            else:
                assert base is not None
                old_id = version_id(label, old)
                if old_id != new_id:
                    yield Change(
                        Kind.VERSION,
                        key,
                        "content changed",
                        f"version {key} content changed ({old_id} -> {new_id})",
                        before=facts({"version_id": old_id}),
                        after=facts({"version_id": new_id}),
                    )
                    yield Risk(
                        RiskCode.VERSION_CONTENT_CHANGED,
                        env,
                        key,
                        f"{old_id} -> {new_id}: a version is immutable; declare a new label",
                    )
            yield from _state_change(env, key, old.lifecycle if old else None, new.lifecycle)


def _here(file: LifecycleFile, fam_name: str, label: str, env: str) -> bool:
    """Whether version ``label`` exists for ``env``: its throughput, if any, is bought there."""
    name = file.families[fam_name].versions[label].target.provisioned_throughput
    return name is None or env in file.provisioned_throughputs[name].environments


def _state_change(env: str, key: str, old: VersionLifecycle | None, new: VersionLifecycle) -> Found:
    before = old.state if old is not None else LifecycleState.ACTIVE
    if new == old or (old is None and new.state is LifecycleState.ACTIVE):
        return
    if new.state is LifecycleState.DEPRECATED and new.sunset is not None:
        sunset, replacement = new.sunset.isoformat(), f"{new.replacement}"
        before_facts: dict[str, str | None] = {}
        if old is not None and old.state is LifecycleState.DEPRECATED:
            was_sunset = old.sunset.isoformat() if old.sunset is not None else "none"
            if was_sunset != sunset:
                sunset = f"{was_sunset} -> {sunset}"
            if old.replacement != new.replacement:
                replacement = f"{old.replacement} -> {new.replacement}"
            text = f"version {key} deprecation changed: sunset {sunset}, "
            before_facts = {"sunset": was_sunset, "replacement": old.replacement}
        else:
            text = f"version {key} deprecated: sunset {sunset}, "
        yield Change(
            Kind.VERSION,
            key,
            "deprecated",
            text + f"replacement {replacement}",
            before=facts(before_facts),
            after=facts({"sunset": new.sunset.isoformat(), "replacement": new.replacement}),
        )
    elif new.state is LifecycleState.RETIRED:
        yield Change(
            Kind.VERSION,
            key,
            "retired",
            f"version {key} retired (was {before.value}): no alias may serve it",
        )
        yield Risk(
            RiskCode.VERSION_RETIRED,
            env,
            key,
            "retired: its routers lose the grants to call it; nothing can roll back onto it",
        )
    elif new.state is LifecycleState.ACTIVE:
        yield Change(
            Kind.VERSION, key, "active", f"version {key} active again (was {before.value})"
        )


def warnings_of(config: LifecycleConfig, env: str, today: dt.date) -> Iterator[str]:
    """The file's lifecycle warnings that concern ``env`` (deprecated versions in use,
    Legacy models, models the snapshot does not know), then every model used there whose
    end of life falls within the lifecycle watcher's warning window."""
    for problem in config.warnings:
        if problem.envs and env not in problem.envs:
            continue
        where = dotted(problem.path)
        yield f"{where}: {problem.message}" if where else problem.message
    window = config.file.environments[env].lifecycle_watcher.end_of_life_warning_days
    seen: dict[str, list[str]] = {}
    for alias in config.aliases_for(env):
        for model_id in target_model_ids(alias.version.target, config.file):
            seen.setdefault(model_id, []).append(alias.qualified_name)
    for model_id, users in seen.items():
        entry = catalog().get(model_id)
        if entry is None or entry.is_legacy or entry.end_of_life is None:
            continue  # a Legacy model's end of life is in its warning above
        days = entry.days_until_end_of_life(today)
        if days is not None and 0 <= days <= window:
            yield (
                f"{model_id} reaches its end of life on {entry.end_of_life.date().isoformat()} "
                f"({days} days), used by {', '.join(users)}"
            )


def _grant_key(file: LifecycleFile, fam_name: str, label: str) -> tuple[str, str, str | None]:
    """What a version adds to the grants: its target, and its guardrail's id (IAM's
    guardrail ARN names no guardrail version)."""
    version = file.families[fam_name].versions[label]
    guardrail = version.guardrail
    return (version.target.kind, version.target.value, guardrail.id if guardrail else None)


def _target_text(file: LifecycleFile, fam_name: str, label: str) -> str:
    _kind, value, guardrail = _grant_key(file, fam_name, label)
    return f"{label} ({value}, guardrail {guardrail})" if guardrail else f"{label} ({value})"


def grant_changes(head: LifecycleFile, base: LifecycleFile, env: str) -> Iterable[tuple[str, str]]:
    """``(family, line)`` for each family whose routers' grants widen or narrow in ``env``.

    The grant rule (``semantic.granted_versions``) gives every router of a family the
    targets of its servable versions. Widening takes effect before any alias moves;
    narrowing once the deploy has succeeded (``ModelAlias`` writes each grant set as a
    new policy and CloudFormation deletes the old one in the clean-up).
    """
    for fam_name in head.families:
        if not any(p.family == fam_name and p.environment == env for p in head.placements()):
            continue
        now = granted_versions(head, fam_name, env)
        was = granted_versions(base, fam_name, env) if fam_name in base.families else ()
        if not was:
            continue  # a family new in this environment: its aliases are new too
        now_keys = {_grant_key(head, fam_name, label) for label in now}
        was_keys = {_grant_key(base, fam_name, label) for label in was}
        widened = [v for v in now if _grant_key(head, fam_name, v) not in was_keys]
        narrowed = [v for v in was if _grant_key(base, fam_name, v) not in now_keys]
        if not widened and not narrowed:
            continue
        parts = []
        if widened:
            parts.append("widen to " + ", ".join(_target_text(head, fam_name, v) for v in widened))
        if narrowed:
            parts.append(
                "narrow from " + ", ".join(_target_text(base, fam_name, v) for v in narrowed)
            )
        line = f"{fam_name} routers' Bedrock grants {' and '.join(parts)}"
        if narrowed:
            line += ", once the deploy has succeeded"
        yield fam_name, line
