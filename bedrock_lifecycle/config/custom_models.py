"""Checks and lock records of ``custom_models:``.

A custom model lives in one account and region. One made elsewhere names its
ARN (``model_arn``); a declared ``customization`` runs once per environment it
lists, and ``bedrock-lifecycle customize status`` records the model each job
made in ``lifecycle.lock``::

    "custom_models": {"summarizer-lite": {"hash": "<sha256>", "models": {"staging": "arn:..."}}}

The hash is the declaration's (:func:`~bedrock_lifecycle.values.custom_model_hash`):
like a version's, it never changes under one name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from ..catalog import base_model_id, shipped_catalog
from ..values import CustomizationType, CustomModelSpec, custom_model_hash
from .problems import Problem, Severity
from .schema import LifecycleFile

_ARN_PLACE = re.compile(r"^arn:[^:]+:bedrock:(?P<region>[^:]+):(?P<account>\d{12}):")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_MODEL_ARN = re.compile(r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:custom-model/\S{1,900}$")


class RecordedLock(Protocol):
    """What these checks read of a lock (``lockfile.Lock`` imports this module)."""

    @property
    def custom_models(self) -> Mapping[str, Mapping[str, Any]] | None: ...


def recorded_model_arn(lock: RecordedLock | None, name: str, environment: str) -> str | None:
    """The ARN ``lock`` records for the job of custom model ``name`` in ``environment``."""
    if lock is None:
        return None
    record = (lock.custom_models or {}).get(name) or {}
    return (record.get("models") or {}).get(environment)


def valid_record(value: object) -> bool:
    """Whether ``value`` is a custom model record as the lock writes it."""
    return (
        isinstance(value, dict)
        and set(value) == {"hash", "models"}
        and isinstance(value["hash"], str)
        and bool(_HEX64.match(value["hash"]))
        and isinstance(value["models"], dict)
        and all(
            isinstance(env, str) and isinstance(arn, str) and bool(_MODEL_ARN.match(arn))
            for env, arn in value["models"].items()
        )
    )


def custom_model_records(
    file: LifecycleFile, existing: RecordedLock | None
) -> dict[str, dict[str, Any]]:
    """The lock's records: every one ``existing`` has (never rewritten), and a new one, with
    no models yet, for each name the file adds."""
    records = {
        name: {"hash": r["hash"], "models": dict(r["models"])}
        for name, r in ((existing.custom_models or {}) if existing else {}).items()
    }
    for name, spec in file.custom_models.items():
        records.setdefault(name, {"hash": custom_model_hash(spec), "models": {}})
    return records


def arn_fits(file: LifecycleFile, arn: str, environment: str) -> bool:
    """Whether ``arn`` can serve in ``environment``: same account and region, where the
    environment declares them (an environment-agnostic one takes the deploy's)."""
    env = file.environments.get(environment)
    match = _ARN_PLACE.match(arn)
    if env is None or match is None:
        return False
    return (env.account in (None, match["account"])) and (env.region in (None, match["region"]))


def available_in(file: LifecycleFile, name: str, environment: str) -> bool:
    """Whether custom model ``name`` is declared and can exist in ``environment``."""
    spec = file.custom_models.get(name)
    if spec is None:
        return False
    if spec.model_arn is not None:
        # An environment without its account and region deploys with whatever credentials
        # are at hand: it cannot be known to hold a model made elsewhere.
        declared = file.environments.get(environment)
        if declared is None or declared.account is None or declared.region is None:
            return False
        return arn_fits(file, spec.model_arn, environment)
    assert spec.customization is not None
    return environment in spec.customization.environments


def check_custom_models(file: LifecycleFile, base: Path) -> Iterator[Problem]:
    """Declarations that refer to nothing, a base model that cannot be customized so
    (judged from the catalog snapshot), and custom models used where they do not exist."""
    catalog = shipped_catalog()
    for name, spec in file.custom_models.items():
        where = ("custom_models", name)
        job = spec.customization
        if job is None:
            continue
        for i, env in enumerate(job.environments):
            if env not in file.environments:
                yield Problem(
                    (*where, "customization", "environments", i),
                    f"{env!r} is not a declared environment "
                    f"(declared: {', '.join(file.environments)})",
                )
        entry = catalog.get(job.base_model) or catalog.get(base_model_id(job.base_model))
        supported = entry.supports(job.type.value) if entry is not None else None
        if supported is False:
            assert entry is not None and entry.customizations is not None
            yield Problem(
                (*where, "customization", "type"),
                f"{job.type.value}: Bedrock does not customize {job.base_model} so (the catalog "
                f"snapshot lists {', '.join(entry.customizations) or 'no customization'}); "
                "choose another base model or type",
            )
        elif supported is None:
            yield Problem(
                (*where, "customization", "base_model"),
                f"{job.base_model} is not in the catalog snapshot, or the snapshot does not say "
                "which customizations it takes; run `bedrock-lifecycle catalog refresh`",
                Severity.WARNING,
            )
        yield from _check_log_data(file, name, spec)
    for pt_name, pt in file.provisioned_throughputs.items():
        if pt.custom_model is None:
            continue
        at = ("provisioned_throughputs", pt_name, "custom_model")
        if pt.custom_model not in file.custom_models:
            yield Problem(at, _undeclared(file, pt.custom_model))
            continue
        missing = [e for e in pt.environments if not available_in(file, pt.custom_model, e)]
        if missing:
            yield Problem(at, _absent(pt.custom_model, missing))
    for fam_name, family in file.families.items():
        for label, version in family.versions.items():
            target_model = version.target.custom_model
            if target_model is None:
                continue
            used = ("families", fam_name, "versions", label, "target", "custom_model")
            if target_model not in file.custom_models:
                yield Problem(used, _undeclared(file, target_model))
                continue
            for alias_name, alias in family.aliases.items():
                missing = [
                    e
                    for e in file.alias_environments(fam_name, alias_name)
                    if e in file.environments
                    and alias.version_in(e) == label
                    and not available_in(file, target_model, e)
                ]
                if missing:
                    yield Problem(
                        ("families", fam_name, "aliases", alias_name),
                        f"serves version {label!r}: " + _absent(target_model, missing),
                    )


def _check_log_data(file: LifecycleFile, name: str, spec: CustomModelSpec) -> Iterator[Problem]:
    job = spec.customization
    assert job is not None
    if job.training_data.invocation_logs is None:
        return
    where = ("custom_models", name, "customization", "training_data", "invocation_logs")
    if job.type is not CustomizationType.DISTILLATION:
        yield Problem(
            where,
            f"Bedrock takes invocation logs as training data for DISTILLATION only, got "
            f"{job.type.value}; use s3_uri, or type DISTILLATION with a teacher_model",
        )
    for env in job.environments:
        spec_env = file.environments.get(env)
        if spec_env is None:
            continue
        if not spec_env.audit.invocation_logging:
            yield Problem(
                where,
                f"environment {env} does not own Bedrock's invocation logging "
                f"(environments.{env}.audit.invocation_logging is false): its logs are not in "
                "its audit bucket",
            )
        elif not spec_env.prompt_logging:
            yield Problem(
                where,
                f"environment {env} logs no prompt text (environments.{env}.prompt_logging is "
                "false), so its invocation logs hold nothing to train on; set it, and read "
                "docs/fine-tuning.md on what that keeps",
            )


def _undeclared(file: LifecycleFile, name: str) -> str:
    return (
        f"{name!r} is not a declared custom model "
        f"(declared: {', '.join(sorted(file.custom_models)) or 'none'})"
    )


def _absent(name: str, environments: list[str]) -> str:
    return (
        f"custom model {name!r} does not exist in {', '.join(environments)} (its "
        "customization's environments, or the account and region of its model_arn); "
        "run the job there or limit where it is used"
    )
