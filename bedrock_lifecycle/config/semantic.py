"""Rules that relate two parts of the lifecycle file to each other.

Each check is a small function returning problems; :func:`check` runs them all
so that a user sees every problem of the file in one run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import ValidationError

from ..names import throughput_name
from ..versions import MANAGED_POLICY_LIMIT, ModelVersion, grants_document_size
from .construct_checks import CONSTRUCT_CHECKS
from .custom_models import available_in, check_custom_models
from .network_checks import check_endpoint_owners
from .problems import Problem, show
from .rollout_checks import check_golden_prompts, check_rollout_policies, inside_folder
from .schema import (
    AlarmThresholds,
    FamilyKind,
    FamilySpec,
    LifecycleFile,
    LifecycleState,
)

Check = Callable[[LifecycleFile, Path], Iterator[Problem]]


def _declared(names: object) -> str:
    items = sorted(names)  # type: ignore[call-overload]
    return ", ".join(items) if items else "none"


def servable_in(file: LifecycleFile, family: FamilySpec, label: str, environment: str) -> bool:
    """Whether version ``label`` could serve an alias of ``family`` in ``environment``.

    Not retired, and its target exists there: a provisioned throughput must be
    bought in that environment, and an embedding family's router serves
    foundation models only.
    """
    version = family.versions.get(label)
    if version is None or version.lifecycle.state is LifecycleState.RETIRED:
        return False
    target = version.target
    if family.kind is FamilyKind.EMBEDDING and target.kind != "foundation_model":
        return False
    if target.kind == "application_inference_profile" and target.model is None:
        return False
    if target.custom_model is not None:
        return available_in(file, target.custom_model, environment)
    if target.provisioned_throughput is not None:
        pt = file.provisioned_throughputs.get(target.provisioned_throughput)
        if pt is not None and pt.custom_model is not None:
            return environment in pt.environments and available_in(
                file, pt.custom_model, environment
            )
        return pt is not None and environment in pt.environments
    return True


def granted_versions(file: LifecycleFile, fam_name: str, environment: str) -> tuple[str, ...]:
    """The grant rule: the versions every router of ``fam_name`` in ``environment`` may call.

    Every version of the family that is not retired and can be served in that
    environment, in file order. A rollout shifts an alias between its old and
    its new version over minutes, and a rollback shifts it back, while every
    Lambda version of the router runs under its one role: so the role allows
    every version any alias of the family could move between, and moving
    between them changes no permission. Retiring a version (or removing it, or
    its throughput) takes its grants away once the deploy that does it has
    succeeded: ``ModelAlias`` writes each grant set as a new policy, and
    CloudFormation deletes the old one in the clean-up (docs/rollouts.md).
    """
    family = file.families[fam_name]
    return tuple(
        label for label in family.versions if servable_in(file, family, label, environment)
    )


def check_alias_versions(file: LifecycleFile, base: Path) -> Iterator[Problem]:
    for fam_name, family in file.families.items():
        for alias_name, alias in family.aliases.items():
            path = ("families", fam_name, "aliases", alias_name)
            if alias.version not in family.versions:
                yield Problem(
                    (*path, "version"),
                    f"{alias.version!r} is not a declared version of {fam_name} "
                    f"(declared: {_declared(family.versions)})",
                )
            envs = file.alias_environments(fam_name, alias_name)
            for env, label in alias.environment_versions.items():
                where = (*path, "environment_versions", env)
                if env not in envs:
                    yield Problem(
                        where,
                        f"{env!r} is not an environment of this alias "
                        f"(its environments: {_declared(envs)})",
                    )
                elif label not in family.versions:
                    yield Problem(
                        where,
                        f"{label!r} is not a declared version of {fam_name} "
                        f"(declared: {_declared(family.versions)})",
                    )
            for i, env in enumerate(alias.environments or ()):
                if env not in file.environments:
                    yield Problem(
                        (*path, "environments", i),
                        f"{env!r} is not a declared environment "
                        f"(declared: {_declared(file.environments)})",
                    )


def check_retired_and_replacements(file: LifecycleFile, base: Path) -> Iterator[Problem]:
    for fam_name, family in file.families.items():
        for label, version in family.versions.items():
            lc = version.lifecycle
            path = ("families", fam_name, "versions", label, "lifecycle", "replacement")
            if lc.replacement is None:
                continue
            if lc.replacement == label:
                yield Problem(path, f"{label!r} cannot replace itself")
            elif lc.replacement not in family.versions:
                yield Problem(
                    path,
                    f"{lc.replacement!r} is not a declared version of {fam_name} "
                    f"(declared: {_declared(family.versions)})",
                )
            elif family.versions[lc.replacement].lifecycle.state is not LifecycleState.ACTIVE:
                state = family.versions[lc.replacement].lifecycle.state.value
                yield Problem(
                    path, f"{lc.replacement!r} is {state}; a replacement must be an active version"
                )


def check_throughputs(file: LifecycleFile, base: Path) -> Iterator[Problem]:
    for pt_name, pt in file.provisioned_throughputs.items():
        for i, env in enumerate(pt.environments):
            path = ("provisioned_throughputs", pt_name, "environments", i)
            if env not in file.environments:
                yield Problem(
                    path,
                    f"{env!r} is not a declared environment "
                    f"(declared: {_declared(file.environments)})",
                )
            elif not file.environments[env].provisioned_throughput:
                yield Problem(
                    path,
                    f"environment {env!r} does not allow provisioned throughput "
                    f"(set environments.{env}.provisioned_throughput: true)",
                )
            elif len(throughput_name(file.project, env, pt_name)) > 63:
                yield Problem(
                    ("provisioned_throughputs", pt_name),
                    f"the provisioned model name {throughput_name(file.project, env, pt_name)} is "
                    "longer than Bedrock's 63 characters; shorten the throughput or project name",
                )
    for fam_name, family in file.families.items():
        for label, version in family.versions.items():
            target_pt = version.target.provisioned_throughput
            if target_pt is None:
                continue
            where = ("families", fam_name, "versions", label, "target", "provisioned_throughput")
            if target_pt not in file.provisioned_throughputs:
                yield Problem(
                    where,
                    f"{target_pt!r} is not a declared provisioned throughput "
                    f"(declared: {_declared(file.provisioned_throughputs)})",
                )
                continue
            bought_in = set(file.provisioned_throughputs[target_pt].environments)
            for alias_name, alias in family.aliases.items():
                missing = [
                    e
                    for e in file.alias_environments(fam_name, alias_name)
                    if e in file.environments
                    and alias.version_in(e) == label
                    and e not in bought_in
                ]
                if missing:
                    yield Problem(
                        ("families", fam_name, "aliases", alias_name, "environments"),
                        f"version {label!r} runs on provisioned throughput {target_pt!r}, which "
                        f"is only bought in {_declared(bought_in)}, not in {_declared(missing)}; "
                        "limit the alias's environments or buy the throughput there",
                    )


def check_family_kinds(file: LifecycleFile, base: Path) -> Iterator[Problem]:
    chat_only = ("max_tokens", "temperature", "top_p", "stop_sequences")
    embedding_only = ("dimensions", "normalize")
    for fam_name, family in file.families.items():
        for label, version in family.versions.items():
            path = ("families", fam_name, "versions", label)
            set_fields = version.inference.model_fields_set
            if family.kind is FamilyKind.EMBEDDING:
                for name in sorted(set_fields & set(chat_only)):
                    yield Problem(
                        (*path, "inference", name),
                        f"{name} applies to chat families only (allowed for embedding: "
                        f"{', '.join(embedding_only)})",
                    )
                for name in ("system_prompt", "guardrail"):
                    if getattr(version, name) is not None:
                        yield Problem((*path, name), f"{name} applies to chat families only")
                if version.target.kind not in ("foundation_model", "provisioned_throughput"):
                    yield Problem(
                        (*path, "target"),
                        f"an embedding family needs a foundation_model or provisioned_throughput "
                        f"target, got {version.target.kind}",
                    )
            else:
                for name in sorted(set_fields & set(embedding_only)):
                    yield Problem(
                        (*path, "inference", name),
                        f"{name} applies to embedding families only (allowed for chat: "
                        f"{', '.join(chat_only)})",
                    )
        if family.kind is FamilyKind.EMBEDDING:
            for alias_name, alias in family.aliases.items():
                if alias.allowed_overrides:
                    yield Problem(
                        ("families", fam_name, "aliases", alias_name, "allowed_overrides"),
                        "embedding aliases take no inference overrides",
                    )


def check_evaluations(file: LifecycleFile, base: Path) -> Iterator[Problem]:
    for fam_name, family in file.families.items():
        if family.evaluation is not None:
            prompts = base / family.evaluation.golden_prompts
            if inside_folder(base, family.evaluation.golden_prompts) and not prompts.is_file():
                yield Problem(
                    ("families", fam_name, "evaluation", "golden_prompts"),
                    f"{family.evaluation.golden_prompts!r}: no such file next to the lifecycle "
                    "file",
                )
            continuous = family.evaluation.continuous
            for i, env in enumerate(continuous.environments or ()):
                if env not in file.environments:
                    yield Problem(
                        ("families", fam_name, "evaluation", "continuous", "environments", i),
                        f"unknown environment {env!r} (declared: {_declared(file.environments)})",
                    )
        for alias_name, alias in family.aliases.items():
            if (
                alias.evaluation_gate
                and family.evaluation is None
                and alias.model_fields_set >= {"evaluation_gate"}
            ):
                yield Problem(
                    ("families", fam_name, "aliases", alias_name, "evaluation_gate"),
                    f"an evaluation gate needs golden prompts: set families.{fam_name}.evaluation",
                )


def check_alarm_overrides(file: LifecycleFile, base: Path) -> Iterator[Problem]:
    for fam_name, family in file.families.items():
        for alias_name, alias in family.aliases.items():
            if alias.alarms is None:
                continue
            for env in file.alias_environments(fam_name, alias_name):
                if env not in file.environments:
                    continue
                try:
                    merged_alarms(file.environments[env].alarms, alias.alarms)
                except ValidationError as exc:
                    for err in exc.errors(include_url=False):
                        yield Problem(
                            ("families", fam_name, "aliases", alias_name, "alarms"),
                            f"in {env}: {err['msg'].removeprefix('Value error, ')}",
                        )


def check_logging_owner(file: LifecycleFile, base: Path) -> Iterator[Problem]:
    owners: dict[tuple[str, str], list[str]] = defaultdict(list)
    for env_name, env in file.environments.items():
        if env.audit.invocation_logging and env.account and env.region:
            owners[(env.account, env.region)].append(env_name)
    for (account, region), names in owners.items():
        for name in names[1:]:
            yield Problem(
                ("environments", name, "audit", "invocation_logging"),
                f"{show(True)}: {names[0]} already owns Bedrock invocation logging in "
                f"{account}/{region} (one setting per account and region); set it to false "
                "here",
            )


# Stands in for a throughput's ARN (a token at synth) when the grants are measured.
_PROVISIONED_PLACEHOLDER = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/placeholder1"
_DEPLOYMENT_PLACEHOLDER = (
    "arn:aws-us-gov:bedrock:ap-southeast-4:123456789012:custom-model-deployment/placeholder12"
)


def check_grants_size(file: LifecycleFile, base: Path) -> Iterator[Problem]:
    """Each family's grants (every servable version, per environment) fit one IAM policy."""
    for fam_name, family in file.families.items():
        worst: tuple[int, str, int] | None = None
        for env in file.environments:
            if not any(env in file.alias_environments(fam_name, a) for a in family.aliases):
                continue
            labels = granted_versions(file, fam_name, env)
            try:
                versions = [
                    ModelVersion.from_spec(
                        fam_name,
                        label,
                        family.versions[label],
                        kind=family.kind,
                        provisioned_model_arn=(
                            _PROVISIONED_PLACEHOLDER
                            if family.versions[label].target.provisioned_throughput
                            else None
                        ),
                        deployment_arn=(
                            _DEPLOYMENT_PLACEHOLDER
                            if family.versions[label].target.custom_model
                            else None
                        ),
                    )
                    for label in labels
                ]
            except ValueError:
                continue  # a version that cannot be served: its own check reports it
            size = grants_document_size(versions)
            if worst is None or size > worst[0]:
                worst = (size, env, len(versions))
        if worst is not None and worst[0] > MANAGED_POLICY_LIMIT:
            size, env, count = worst
            yield Problem(
                ("families", fam_name, "versions"),
                f"the Bedrock grants of the {fam_name} routers in {env} need {size} characters, "
                f"more than the {MANAGED_POLICY_LIMIT} of one IAM managed policy ({count} "
                "servable versions); retire the versions no alias needs any more",
            )


def merged_alarms(env: AlarmThresholds, alias: AlarmThresholds | None) -> AlarmThresholds:
    """The environment's thresholds with the alias's explicitly set keys on top."""
    if alias is None:
        return env
    data = env.model_dump()
    data.update({k: getattr(alias, k) for k in alias.model_fields_set})
    return AlarmThresholds.model_validate(data)


CHECKS: tuple[Check, ...] = (
    check_alias_versions,
    check_retired_and_replacements,
    check_throughputs,
    check_custom_models,
    check_family_kinds,
    check_evaluations,
    check_alarm_overrides,
    check_logging_owner,
    check_endpoint_owners,
    check_grants_size,
    check_rollout_policies,
    *CONSTRUCT_CHECKS,
    check_golden_prompts,
)


def check(file: LifecycleFile, base: Path) -> list[Problem]:
    """Every cross-reference problem of the file."""
    return [problem for rule in CHECKS for problem in rule(file, base)]
