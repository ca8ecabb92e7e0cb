"""Load, validate and resolve a lifecycle file.

:func:`load_lifecycle` is the one entry point used by the CLI, the CDK app and
the tests. It either returns a :class:`LifecycleConfig` or raises
:class:`ConfigError` holding every problem, each renderable as one line.
Checks run in stages (YAML, schema, cross-references, lock): a later stage
only runs on a file that passed the earlier ones, so one mistake gives one
line rather than a cascade.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..formats import read_text_bounded
from ..versions import id_of_hash
from . import semantic
from .custom_model_lock import custom_model_lock_problems
from .custom_models import recorded_model_arn
from .lifecycle_rules import check_lifecycle
from .lockfile import (
    Lock,
    alias_stack_count,
    content_hash,
    lock_key,
    main_only_aliases,
    stack_groups,
    version_id,
)
from .network_checks import network_moves
from .problems import ConfigError, Problem, Severity, problems_from_validation
from .schema import (
    AlarmThresholds,
    CanaryAnalysis,
    Evaluation,
    FamilyKind,
    InferenceOverride,
    LifecycleFile,
    RolloutPolicy,
    ThroughputSpec,
    VersionSpec,
)
from .stack_groups import placement_problems
from .yaml_loader import MAX_FILE_BYTES, YamlLimitError, read_yaml

Clock = Callable[[], dt.date]


def utc_today() -> dt.date:
    """Today's date in UTC: the default clock for sunset and end-of-life rules."""
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True)
class ResolvedAlias:
    """One alias in one environment, with every default applied."""

    environment: str
    family: str
    family_kind: FamilyKind
    name: str
    version_label: str
    version: VersionSpec
    version_id: str
    rollout: RolloutPolicy
    alarms: AlarmThresholds
    canary_analysis: CanaryAnalysis
    evaluation: Evaluation | None
    evaluation_file: Path | None
    allowed_overrides: tuple[InferenceOverride, ...]
    # Reserved concurrency of its router (None: unreserved).
    max_concurrency: int | None = None
    # The other versions its router may call (semantic.granted_versions): the ones a
    # rollout or a rollback can shift the alias between while the role stays the same.
    standby: tuple[tuple[str, VersionSpec], ...] = ()

    @property
    def qualified_name(self) -> str:
        """``family/alias``: the name callers and audit records use."""
        return f"{self.family}/{self.name}"


@dataclass(frozen=True)
class LifecycleConfig:
    """A valid lifecycle file and what it resolves to per environment."""

    file: LifecycleFile
    path: Path
    label: str
    warnings: tuple[Problem, ...] = field(default=())
    # The lock beside the file when it was read (where aliases stand, which stack holds
    # each): None when the lock was not read.
    lock: Lock | None = field(default=None, compare=False)
    # Resolved aliases by environment, computed once: the stack, its constructs, the
    # manifest and the warnings all ask, and each answer hashes versions and
    # validates merged alarm thresholds. The file is immutable, so the answer is too.
    _resolved: dict[str, tuple[ResolvedAlias, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def environment_names(self) -> tuple[str, ...]:
        """Environments in file order."""
        return tuple(self.file.environments)

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths in the file are resolved against."""
        return self.path.parent

    def aliases_for(self, environment: str) -> list[ResolvedAlias]:
        """Every alias that exists in ``environment``, in file order."""
        if environment not in self._resolved:
            self._resolved[environment] = tuple(self._resolve_aliases(environment))
        return list(self._resolved[environment])

    def _resolve_aliases(self, environment: str) -> list[ResolvedAlias]:
        """The file's placements in ``environment`` (LifecycleFile.placements, the one
        resolution of aliases to environments) with every default applied."""
        env = self.file.environments[environment]
        out = []
        for placement in self.file.placements():
            if placement.environment != environment:
                continue
            fam_name, alias_name, label = placement.family, placement.alias, placement.label
            family = self.file.families[fam_name]
            alias = family.aliases[alias_name]
            version = family.versions[label]
            gate = alias.evaluation_gate and family.evaluation is not None
            out.append(
                ResolvedAlias(
                    environment=environment,
                    family=fam_name,
                    family_kind=family.kind,
                    name=alias_name,
                    version_label=label,
                    version=version,
                    version_id=version_id(label, version),
                    rollout=alias.rollout if alias.rollout is not None else env.rollout,
                    alarms=semantic.merged_alarms(env.alarms, alias.alarms),
                    canary_analysis=alias.canary_analysis,
                    evaluation=family.evaluation if gate else None,
                    evaluation_file=(
                        self.base_dir / family.evaluation.golden_prompts
                        if gate and family.evaluation is not None
                        else None
                    ),
                    allowed_overrides=alias.allowed_overrides,
                    max_concurrency=alias.max_concurrency,
                    standby=tuple(
                        (other, family.versions[other])
                        for other in semantic.granted_versions(self.file, fam_name, environment)
                        if other != label
                    ),
                )
            )
        return out

    def stack_groups(self, environment: str) -> dict[str, int]:
        """``family/alias`` -> stack group (0: the main stack) of every alias of
        ``environment``, from the lock's record (:mod:`.stack_groups`)."""
        return stack_groups(self.file, environment, self.lock)

    def alias_stack_count(self, environment: str) -> int:
        """How many alias stacks ``environment`` has (0: it is one stack): those its
        aliases fill and the empty ones the lock records (:class:`.lockfile.Lock`)."""
        return alias_stack_count(self.lock, environment, self.stack_groups(environment))

    def custom_model_arn(self, name: str, environment: str) -> str | None:
        """The ARN of custom model ``name`` in ``environment``: its ``model_arn``, or what
        the lock records of its job there (``customize status``); None while neither."""
        spec = self.file.custom_models.get(name)
        if spec is None:
            return None
        if spec.model_arn is not None:
            return spec.model_arn
        return recorded_model_arn(self.lock, name, environment)

    def throughput_model(self, name: str, environment: str) -> str:
        """The model throughput ``name`` serves in ``environment``: its ``model``, or the
        ARN of its ``custom_model`` there (validated to exist before any stack is built)."""
        spec = self.file.provisioned_throughputs[name]
        if spec.model is not None:
            return spec.model
        assert spec.custom_model is not None
        arn = self.custom_model_arn(spec.custom_model, environment)
        if arn is None:
            raise ValueError(
                f"provisioned throughput {name} serves custom model {spec.custom_model}, which "
                f"has no model in {environment} yet: run `bedrock-lifecycle customize start "
                f"{spec.custom_model} --environment {environment}`, then `customize status` "
                "(docs/fine-tuning.md)"
            )
        return arn

    def throughputs_for(self, environment: str) -> dict[str, ThroughputSpec]:
        """Provisioned throughputs bought in ``environment``, by name."""
        return {
            name: spec
            for name, spec in self.file.provisioned_throughputs.items()
            if environment in spec.environments
        }


def lock_path_for(path: Path) -> Path:
    """``lifecycle.yaml`` -> ``lifecycle.lock`` beside it."""
    return path.with_suffix(".lock")


def parse_file(path: Path, label: str) -> LifecycleFile:
    """Read and schema-check the file; raise ConfigError with every problem."""

    def fail(message: str, where: tuple[str | int, ...] = ()) -> ConfigError:
        return ConfigError(label, [Problem(where, message)])

    try:
        text = read_text_bounded(path, MAX_FILE_BYTES, expected="a YAML file")
    except FileNotFoundError:
        raise fail("no such file") from None
    except ValueError as exc:
        raise fail(str(exc)) from None
    try:
        data, yaml_problems = read_yaml(text)
    except YamlLimitError as exc:
        raise fail(str(exc)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise fail(f"is not valid YAML: {reason}{where}") from None
    if yaml_problems:
        raise ConfigError(label, [Problem(p.path, p.message) for p in yaml_problems])
    if data is None:
        raise fail("is empty; expected a mapping with schema_version, environments and families")
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else repr(data)
        raise fail(f"expected a mapping at the top level, got {kind}")
    try:
        return LifecycleFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(label, problems_from_validation(LifecycleFile, exc)) from None


def check_lock(file: LifecycleFile, lock: Lock | None, lock_label: str) -> list[Problem]:
    """Versions whose content changed since locked, and versions not locked yet."""
    if lock is None:
        return [
            Problem(
                (),
                f"{lock_label} does not exist; run `bedrock-lifecycle lock` to record the "
                "version hashes and commit it",
            )
        ]
    problems = []
    for fam_name, family in file.families.items():
        for label, version in family.versions.items():
            key = lock_key(fam_name, label)
            recorded = lock.versions.get(key)
            digest = content_hash(version)
            path = ("families", fam_name, "versions", label)
            if recorded is None:
                problems.append(
                    Problem(
                        path,
                        f"new version not in {lock_label}; run `bedrock-lifecycle lock` and "
                        "commit the lock with it",
                    )
                )
            elif recorded != digest:
                problems.append(
                    Problem(
                        path,
                        f"content changed since it was locked ({id_of_hash(label, recorded)} "
                        f"-> {id_of_hash(label, digest)}); versions are immutable: declare a new "
                        "version label instead and point the aliases at it",
                    )
                )
    for env in file.environments:
        # Where an alias goes when the environment first spans several stacks depends on
        # whether the lock knows it (known ones stay in the main stack): an alias added
        # without a new lock would count as new and could be pushed out of the stack it
        # was deployed in.
        known = (lock.aliases or {}).get(env, {})
        unknown = [
            p.qualified_name
            for p in file.placements()
            if p.environment == env and p.qualified_name not in known
        ]
        if unknown:
            shown = ", ".join(unknown[:5]) + (
                f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            )
            problems.append(
                Problem(
                    ("environments", env),
                    f"{lock_label} does not record alias {shown}; run `bedrock-lifecycle "
                    "lock` and commit the lock with the alias, so that no deployed alias "
                    "ever moves to another stack",
                )
            )
        problems += placement_problems(
            env,
            stack_groups(file, env, lock),
            recorded=(lock.stacks or {}).get(env),
            main_only=main_only_aliases(file, env),
            lock_label=lock_label,
        )
    problems += network_moves(file, lock, lock_label)
    problems += custom_model_lock_problems(file, lock, lock_label)
    return problems


def load_lifecycle(
    path: str | Path,
    *,
    check_lock_file: bool = True,
    clock: Clock = utc_today,
    label: str | None = None,
) -> LifecycleConfig:
    """Load and fully validate a lifecycle file.

    :param path: the YAML file.
    :param check_lock_file: compare with ``<file>.lock`` beside it. Default: true.
        Without the comparison, only the custom models that lock records are read.
    :param clock: today's date for sunset and end-of-life rules. Default: UTC today.
    :param label: how the file is named in messages. Default: the path as given.
    :raises ConfigError: with every problem found at the first stage that failed.
    """
    path = Path(path)
    label = label if label is not None else str(path)
    file = parse_file(path, label)
    problems = semantic.check(file, path.parent)
    problems += check_lifecycle(file, clock(), lock_path=lock_path_for(path))
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        raise ConfigError(label, errors)
    lock = None
    if check_lock_file:
        lock_path = lock_path_for(path)
        try:
            lock = Lock.read(lock_path)
        except ValueError as exc:
            raise ConfigError(str(lock_path), [Problem((), str(exc))]) from None
        lock_problems = check_lock(file, lock, lock_path.name)
        if lock_problems:
            raise ConfigError(label, lock_problems)
    else:
        lock = _recorded_models_only(lock_path_for(path))
    warnings = tuple(p for p in problems if p.severity is Severity.WARNING)
    return LifecycleConfig(file=file, path=path, label=label, warnings=warnings, lock=lock)


def _recorded_models_only(lock_path: Path) -> Lock | None:
    """Without the lock's comparison, what it records of the world still holds: the
    custom models ``customize status`` recorded, which the stacks deploy. Nothing else of
    the lock is used (stack groups, aliases); an unreadable lock gives none."""
    try:
        lock = Lock.read(lock_path)
    except ValueError:
        return None
    if lock is None or not lock.custom_models:
        return None
    return Lock(versions={}, custom_models=lock.custom_models)
