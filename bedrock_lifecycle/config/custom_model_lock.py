"""The lock's side of ``custom_models:`` (:mod:`.custom_models`): declarations changed
since locked, models recorded where they cannot be, and versions and throughputs whose
custom model has no model recorded where they serve."""

from __future__ import annotations

from collections.abc import Iterator

from ..values import custom_model_hash
from .custom_models import RecordedLock, arn_fits, recorded_model_arn
from .problems import Path as Where
from .problems import Problem
from .schema import LifecycleFile
from .semantic import granted_versions


def custom_model_lock_problems(
    file: LifecycleFile, lock: RecordedLock, lock_label: str
) -> Iterator[Problem]:
    """Declarations changed since locked or not locked yet, recorded models of another
    account or region, and versions and throughputs placed where their custom model's job
    has not recorded a model yet."""
    recorded = lock.custom_models or {}
    for name, spec in file.custom_models.items():
        where = ("custom_models", name)
        record = recorded.get(name)
        if record is None:
            yield Problem(
                where,
                f"new custom model not in {lock_label}; run `bedrock-lifecycle lock` and "
                "commit the lock with it",
            )
            continue
        digest = custom_model_hash(spec)
        if record["hash"] != digest:
            yield Problem(
                where,
                f"content changed since it was locked ({record['hash'][:12]} -> {digest[:12]}): "
                "a custom model is immutable once locked; declare the changed one under a new "
                "name",
            )
            continue
        if spec.customization is None:
            continue
        # A custom model lives in the account and region its job ran in: one recorded for
        # another (a hand-edited lock, or an environment moved since) cannot serve there.
        for env in spec.customization.environments:
            arn = recorded_model_arn(lock, name, env)
            if arn is not None and env in file.environments and not arn_fits(file, arn, env):
                declared = file.environments[env]
                yield Problem(
                    where,
                    f"{lock_label} records {arn} as its model in {env}, which is not in {env}'s "
                    f"account and region ({declared.account or 'any'}/"
                    f"{declared.region or 'any'}); remove that record, then run "
                    f"`bedrock-lifecycle customize start {name} --environment {env}`",
                    envs=(env,),
                )
    # A throughput is bought in every one of its environments, used or not: each needs
    # its model there (LifecycleConfig.throughput_model).
    for pt_name, pt in file.provisioned_throughputs.items():
        if pt.custom_model is None:
            continue
        for env in pt.environments:
            problem = _unrecorded(
                file,
                lock,
                lock_label,
                pt.custom_model,
                env,
                ("provisioned_throughputs", pt_name, "custom_model"),
            )
            if problem is not None:
                yield problem
    # A version an alias serves needs its model there. One a router may only move to
    # (granted, not served) is left out of the stacks until its model is recorded, so a
    # customization can be added to an environment, deployed (its job role) and run.
    # One through a throughput is the throughput's problem (above).
    for fam_name, family in file.families.items():
        for env in file.environments:
            served = {
                (alias.environment_versions or {}).get(env, alias.version)
                for alias_name, alias in family.aliases.items()
                if env in file.alias_environments(fam_name, alias_name)
            }
            for label in sorted(served & set(granted_versions(file, fam_name, env))):
                used = family.versions[label].target.custom_model
                if used is None:
                    continue
                problem = _unrecorded(
                    file,
                    lock,
                    lock_label,
                    used,
                    env,
                    ("families", fam_name, "versions", label, "target"),
                )
                if problem is not None:
                    yield problem


def _unrecorded(
    file: LifecycleFile,
    lock: RecordedLock,
    lock_label: str,
    name: str,
    env: str,
    where: Where,
) -> Problem | None:
    """The problem of using declared job ``name`` in ``env`` before it recorded a model
    there; None when it did, when the model is not one of a job of ``env`` (the semantic
    checks report that), or when the lock does not record the declaration at all.

    ``customize start`` runs only a locked declaration, and ``lock`` refuses a file with
    this problem: a new custom model is locked, and its job run, before a version or a
    throughput uses it (tests/test_fine_tuning_walkthrough.py)."""
    declared = file.custom_models.get(name)
    if declared is None or declared.customization is None:
        return None
    if env not in declared.customization.environments or recorded_model_arn(lock, name, env):
        return None
    if name not in (lock.custom_models or {}):
        return None  # not locked at all: its one line is "new custom model"
    return Problem(
        where,
        f"custom model {name!r} has no model recorded for {env} in {lock_label} yet; run "
        f"`bedrock-lifecycle customize start {name} --environment {env}`, then "
        f"`bedrock-lifecycle customize status {name}` records it once the job has completed "
        "(a new custom model is locked before anything uses it)",
        envs=(env,),
    )
