"""What changes for the throughputs and the audit trail of one environment.

The throughput predictions follow the deploy-time handler
(``lambdas/provisioned_throughput/update.py``): model units, the commitment and
the model of a foundation-model throughput cannot change in place, so a change
of any of them buys a new throughput; the name, the model of a custom-model
throughput, ``allow_replacement`` and tags change in place. A replacement of a
committed throughput is refused unless the head sets ``allow_replacement``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..config import LifecycleConfig
from ..config.schema import Commitment, EnvironmentSpec, ObjectLockMode, ThroughputSpec
from ..names import throughput_name
from ..shared import contract
from .model import Change, Kind, Risk, RiskCode, facts

Found = Iterator[Change | Risk]

# Bedrock's commitmentDuration values, as the handler's messages name them.
BEDROCK_COMMITMENT = {c: contract.COMMITMENT_DURATIONS[c.value] for c in Commitment}
# The handler's refusal (update.replace_throughput), with what only Bedrock knows at
# deploy (the ARN, the expiry) replaced by the name and these words.
# The handler's own words (it formats the same text at deploy).
REFUSAL = contract.THROUGHPUT_REPLACEMENT_REFUSAL
EXPIRY_UNKNOWN = "its commitment expiry"


def model_key(model: str) -> str:
    """``model`` as the handler compares it (``properties.model_key``): a foundation-model
    ARN is the model id it names, anything else is itself."""
    if contract.FOUNDATION_MODEL_ARN.fullmatch(model):
        return model.split(":foundation-model/", 1)[1]
    return model


def is_custom_model(model: str) -> bool:
    """Whether ``model`` is a custom-model ARN (``Properties.custom_model``): the handler
    changes such a throughput's model in place."""
    return contract.CUSTOM_MODEL_ARN.fullmatch(model) is not None


@dataclass(frozen=True)
class Purchase:
    """A throughput's resource properties in one environment, as the construct sets them."""

    name: str
    model: str
    units: int
    commitment: Commitment
    allow_replacement: bool
    tags: tuple[tuple[str, str], ...]

    @property
    def committed(self) -> bool:
        """Whether it has a commitment term."""
        return self.commitment is not Commitment.NONE


def purchase(
    config: LifecycleConfig, environment: str, name: str, spec: ThroughputSpec
) -> Purchase:
    """What ``stacks.builders.throughputs_of_environment`` buys for ``name``:
    ``<project>-<environment>-<name>``, tagged with the environment's tags and the
    versions that target it."""
    users = sorted(
        f"{fam}/{label}"
        for fam, family in config.file.families.items()
        for label, version in family.versions.items()
        if version.target.provisioned_throughput == name
    )
    tags = {**config.file.environments[environment].tags, "versions": " ".join(users)}
    return Purchase(
        name=throughput_name(config.file.project, environment, name),
        model=config.throughput_model(name, environment),
        units=spec.model_units,
        commitment=spec.commitment,
        allow_replacement=spec.allow_replacement,
        tags=tuple(sorted(tags.items())),
    )


def replacement_reasons(old: Purchase, new: Purchase) -> tuple[str, ...]:
    """Why the handler must buy a new throughput, in its words (``plan_update``)."""
    reasons = []
    if old.units != new.units:
        reasons.append(f"ModelUnits {old.units} -> {new.units}")
    if old.commitment != new.commitment:
        reasons.append(
            f"CommitmentDuration {BEDROCK_COMMITMENT[old.commitment]} -> "
            f"{BEDROCK_COMMITMENT[new.commitment]}"
        )
    if model_key(old.model) != model_key(new.model) and not is_custom_model(old.model):
        reasons.append(
            f"ModelId {old.model} -> {new.model} (a foundation-model throughput cannot "
            "change model)"
        )
    return tuple(reasons)


def _units(count: int) -> str:
    return "1 model unit" if count == 1 else f"{count} model units"


def _bought(spec: Purchase) -> str:
    units = _units(spec.units)
    if not spec.committed:
        return f"{spec.model}, {units}, no commitment (billed by the hour, deleted when removed)"
    return (
        f"{spec.model}, {units}, {spec.commitment.value} commitment (billed for the whole "
        "term, kept until it ends)"
    )


def _facts(spec: Purchase) -> dict[str, str | int | bool | None]:
    return {
        "name": spec.name,
        "model": spec.model,
        "model_units": spec.units,
        "commitment": spec.commitment.value,
        "allow_replacement": spec.allow_replacement,
    }


def throughput_changes(
    head: LifecycleConfig, base: LifecycleConfig | None, environment: str, has_base_env: bool
) -> Found:
    """Every throughput bought, updated, replaced or removed in ``environment``."""
    now = {
        n: purchase(head, environment, n, s) for n, s in head.throughputs_for(environment).items()
    }
    was = (
        {n: purchase(base, environment, n, s) for n, s in base.throughputs_for(environment).items()}
        if base is not None and has_base_env
        else {}
    )
    for name, new in now.items():
        old = was.get(name)
        if old is None:
            yield Change(
                Kind.THROUGHPUT,
                name,
                "added",
                f"throughput {name} bought: {_bought(new)}",
                after=facts(_facts(new)),
            )
            if new.committed:
                yield _commitment_risk(environment, name, new)
            continue
        yield from _changed(environment, name, old, new)
    for name, old in was.items():
        if name in now:
            continue
        if old.committed:
            yield Change(
                Kind.THROUGHPUT,
                name,
                "retained",
                f"throughput {name} removed from the stack but retained: its "
                f"{old.commitment.value} term keeps billing until it ends; then delete it by "
                "hand: aws bedrock delete-provisioned-model-throughput "
                f"--provisioned-model-id {old.name}",
                before=facts(_facts(old)),
            )
            yield Risk(
                RiskCode.COMMITTED_THROUGHPUT_REMOVED,
                environment,
                name,
                f"retained and billed until its {old.commitment.value} term ends; delete "
                f"{old.name} by hand after that",
            )
        else:
            yield Change(
                Kind.THROUGHPUT,
                name,
                "removed",
                f"throughput {name} deleted (no commitment: billing stops)",
                before=facts(_facts(old)),
            )


def _commitment_risk(environment: str, name: str, new: Purchase) -> Risk:
    return Risk(
        RiskCode.COMMITTED_THROUGHPUT_BOUGHT,
        environment,
        name,
        f"buys {_units(new.units)} of {new.model} for {new.commitment.value}: billed "
        "for the whole term, whatever happens next",
    )


def _changed(environment: str, name: str, old: Purchase, new: Purchase) -> Found:
    reasons = replacement_reasons(old, new)
    joined = "; ".join(reasons)
    if reasons and old.committed and not new.allow_replacement:
        refusal = REFUSAL.format(
            name=old.name,
            reasons=joined,
            commitment=BEDROCK_COMMITMENT[old.commitment],
            expiry=EXPIRY_UNKNOWN,
        )
        yield Change(
            Kind.THROUGHPUT,
            name,
            "refused",
            f"throughput {name} will be refused at deploy while its term runs: {refusal}",
            before=facts(_facts(old)),
            after=facts(_facts(new)),
        )
        yield Risk(
            RiskCode.THROUGHPUT_REPLACEMENT_REFUSED,
            environment,
            name,
            f"{joined} replaces a committed throughput without allow_replacement: the deploy "
            "fails and the stack rolls back",
        )
        return
    if reasons:
        after = (
            "the old one cannot be deleted before its term ends and keeps billing beside "
            "the new one"
            if old.committed
            else "then the old one is deleted"
        )
        yield Change(
            Kind.THROUGHPUT,
            name,
            "replaced",
            f"throughput {name} replaced ({joined}): a new one is bought ({_bought(new)}); {after}",
            before=facts(_facts(old)),
            after=facts(_facts(new)),
        )
        if old.committed:
            yield Risk(
                RiskCode.COMMITTED_THROUGHPUT_REPLACED,
                environment,
                name,
                f"{joined}: the old {old.commitment.value} throughput keeps billing until its "
                "term ends, beside the new one",
            )
        if new.committed:
            yield _commitment_risk(environment, name, new)
        return
    in_place = []
    if old.name != new.name:
        in_place.append(f"name {old.name} -> {new.name}")
    if model_key(old.model) != model_key(new.model):
        in_place.append(f"custom model {old.model} -> {new.model}")
    if old.allow_replacement != new.allow_replacement:
        in_place.append(
            f"allow_replacement {str(old.allow_replacement).lower()} -> "
            f"{str(new.allow_replacement).lower()}"
        )
    if old.tags != new.tags:
        in_place.append("tags")
    if in_place:
        yield Change(
            Kind.THROUGHPUT,
            name,
            "updated",
            f"throughput {name} updated in place: {'; '.join(in_place)}",
            before=facts(_facts(old)),
            after=facts(_facts(new)),
        )


def _owner(env: EnvironmentSpec) -> str:
    return "owns invocation logging" if env.audit.invocation_logging else "no invocation logging"


def audit_changes(environment: str, old: EnvironmentSpec | None, new: EnvironmentSpec) -> Found:
    """Audit trail and prompt logging of ``environment`` (``old`` None: a new environment)."""
    audit = new.audit
    if old is None:
        yield Change(
            Kind.AUDIT,
            "audit",
            "added",
            f"audit: Object Lock {audit.object_lock_mode.value} {audit.retention_days} days, "
            f"log retention {audit.log_retention_days} days, {_owner(new)}, prompt logging "
            f"{'on' if new.prompt_logging else 'off'}",
        )
        if new.prompt_logging:
            yield _prompt_logging_risk(environment)
        return
    was = old.audit
    if was.object_lock_mode != audit.object_lock_mode:
        yield Change(
            Kind.AUDIT,
            "audit",
            "object lock",
            f"audit Object Lock {was.object_lock_mode.value} -> {audit.object_lock_mode.value} "
            "(records written from now on)",
        )
        if audit.object_lock_mode is ObjectLockMode.GOVERNANCE:
            yield Risk(
                RiskCode.OBJECT_LOCK_WEAKENED,
                environment,
                "audit",
                "COMPLIANCE -> GOVERNANCE: privileged users can delete audit records before "
                "their retention ends",
            )
    for key, what in (
        ("retention_days", "Object Lock retention"),
        ("log_retention_days", "log retention"),
    ):
        before, after = getattr(was, key), getattr(audit, key)
        if before == after:
            continue
        yield Change(
            Kind.AUDIT,
            "audit",
            key,
            f"audit {what} {before} -> {after} days",
            before=facts({key: before}),
            after=facts({key: after}),
        )
        if after < before:
            yield Risk(
                RiskCode.AUDIT_RETENTION_SHORTENED,
                environment,
                "audit",
                f"{key} {before} -> {after}: audit records are kept for a shorter time",
            )
    if was.invocation_logging != audit.invocation_logging:
        yield Change(
            Kind.AUDIT,
            "audit",
            "invocation logging",
            f"invocation logging owner: {_owner(old)} -> {_owner(new)}",
        )
        if not audit.invocation_logging:
            yield Risk(
                RiskCode.INVOCATION_LOGGING_OFF,
                environment,
                "audit",
                "this environment stops owning Bedrock's invocation logging in its account "
                "and region; check that another one owns it",
            )
    if old.prompt_logging != new.prompt_logging:
        yield Change(
            Kind.AUDIT,
            "prompt_logging",
            "prompt logging",
            f"prompt_logging {'on' if old.prompt_logging else 'off'} -> "
            f"{'on' if new.prompt_logging else 'off'}",
        )
        if new.prompt_logging:
            yield _prompt_logging_risk(environment)


def _prompt_logging_risk(environment: str) -> Risk:
    return Risk(
        RiskCode.PROMPT_LOGGING_ON,
        environment,
        "prompt_logging",
        "audit records and invocation logs keep prompt and answer text",
    )
