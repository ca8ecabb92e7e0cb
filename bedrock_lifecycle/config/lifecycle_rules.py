"""Lifecycle rules: the project's own version states and Bedrock's, judged against a clock.

Version states (the file's ``lifecycle``):

- an alias may not point at a retired version (retiring a version that any
  alias in any environment still serves is an error naming those aliases);
- an alias pointing at a deprecated version warns until the version's sunset
  date and is an error after it.

Provider states (the model catalog snapshot, :mod:`bedrock_lifecycle.catalog`):

- moving an alias onto a model Bedrock marks LEGACY is an error (the move is
  judged against the alias positions recorded in ``lifecycle.lock``; an alias
  that did not exist there is moving too);
- an alias staying on a LEGACY model warns with the model's end-of-life date;
- a model on or past its end of life is an error (Bedrock refuses every call);
- a model the snapshot does not know warns, so that a stale snapshot shows.

Dates come from an injected ``today`` so that tests are deterministic. Every
problem names the environments it concerns, so synth puts the warning on
those stacks only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..catalog import CatalogEntry, ModelCatalog, shipped_catalog
from .lockfile import Lock
from .models import target_model_ids
from .problems import Problem, Severity
from .schema import LifecycleFile, LifecycleState

# {environment: {"family/alias": version label}}, as recorded in lifecycle.lock.
Positions = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class _Use:
    """One alias serving one version label in some environments."""

    alias: str  # family/alias
    label: str
    environments: tuple[str, ...]

    def render(self) -> str:
        return f"{self.alias} ({', '.join(self.environments)})"


def _uses_by_family(file: LifecycleFile) -> dict[str, list[_Use]]:
    """Every family's placements, grouped by alias and version label: one pass over the
    placements (a pass per family or per version would be quadratic in the file)."""
    by_use: dict[str, dict[tuple[str, str], list[str]]] = {name: {} for name in file.families}
    for placement in file.placements():
        key = (placement.qualified_name, placement.label)
        by_use[placement.family].setdefault(key, []).append(placement.environment)
    return {
        family: [_Use(alias, label, tuple(envs)) for (alias, label), envs in uses.items()]
        for family, uses in by_use.items()
    }


def check_version_states(file: LifecycleFile, today: dt.date) -> Iterator[Problem]:
    """Retired versions still served, deprecated versions before and after their sunset."""
    uses_of = _uses_by_family(file)
    for fam_name, family in file.families.items():
        by_label: dict[str, list[_Use]] = {}
        for use in uses_of[fam_name]:
            by_label.setdefault(use.label, []).append(use)
        for label, version in family.versions.items():
            lc = version.lifecycle
            used = by_label.get(label, [])
            if not used:
                continue
            by = "; ".join(u.render() for u in used)
            envs = _environments(used)
            path = ("families", fam_name, "versions", label, "lifecycle", "state")
            if lc.state is LifecycleState.RETIRED:
                yield Problem(
                    path, f"'retired' but still used by {by}; move those aliases first", envs=envs
                )
            elif lc.state is LifecycleState.DEPRECATED and lc.sunset is not None:
                if today > lc.sunset:
                    yield Problem(
                        path,
                        f"'deprecated' and past its sunset {lc.sunset.isoformat()}, still used "
                        f"by {by}; move them to {lc.replacement!r}",
                        envs=envs,
                    )
                else:
                    days = (lc.sunset - today).days
                    yield Problem(
                        path,
                        f"deprecated, sunset {lc.sunset.isoformat()} ({days} days); still used by "
                        f"{by}; replacement: {lc.replacement!r}",
                        Severity.WARNING,
                        envs=envs,
                    )


def check_provider_states(
    file: LifecycleFile,
    today: dt.date,
    catalog: ModelCatalog,
    previous: Positions | None,
) -> Iterator[Problem]:
    """Aliases on models that Bedrock marks Legacy or has ended, per the catalog snapshot.

    :param previous: alias positions recorded in the lock; None when the lock
        records none (an older lock), in which case no alias counts as moving.
    """
    unknown: dict[str, list[tuple[str, str]]] = {}
    uses_of = _uses_by_family(file)
    for fam_name, family in file.families.items():
        for use in uses_of[fam_name]:
            version = family.versions.get(use.label)
            if version is None:
                continue  # an undeclared label: check_alias_versions reports it
            models = target_model_ids(version.target, file)
            path = ("families", fam_name, "aliases", use.alias.split("/", 1)[1])
            for model_id in models:
                entry = catalog.get(model_id)
                if entry is None:
                    unknown.setdefault(model_id, []).extend(
                        (use.alias, env) for env in use.environments
                    )
                    continue
                if entry.ended(today):
                    yield Problem(
                        path,
                        f"{model_id} reached its end of life on {_day(entry.end_of_life)}: "
                        f"Bedrock refuses every call; version {use.label!r} no longer works in "
                        f"{', '.join(use.environments)}; move the alias to a version on an "
                        "active model",
                        envs=use.environments,
                    )
                    continue
                if not entry.is_legacy:
                    continue
                moving = [
                    env
                    for env in use.environments
                    if _moves_onto(file, fam_name, use.alias, env, model_id, previous)
                ]
                staying = tuple(env for env in use.environments if env not in moving)
                if moving:
                    yield Problem(
                        path,
                        f"moves to version {use.label!r} on {model_id}, which Bedrock marks "
                        f"LEGACY{_legacy_dates(entry, today)}, in {', '.join(moving)}; "
                        "choose a version on an active model",
                        envs=tuple(moving),
                    )
                if staying:
                    yield Problem(
                        path,
                        f"version {use.label!r} runs on {model_id}, which Bedrock marks "
                        f"LEGACY{_legacy_dates(entry, today)}, in {', '.join(staying)}; "
                        "plan the move to an active model (docs/governance.md)",
                        Severity.WARNING,
                        envs=staying,
                    )
    for model_id, where in unknown.items():
        used_by = ", ".join(f"{alias} ({env})" for alias, env in where)
        yield Problem(
            (),
            f"{model_id} (used by {used_by}) is not in the model catalog snapshot; run "
            "`bedrock-lifecycle catalog refresh` so that its Legacy and end-of-life dates "
            "are checked",
            Severity.WARNING,
            envs=tuple(dict.fromkeys(env for _, env in where)),
        )


def _moves_onto(
    file: LifecycleFile,
    fam_name: str,
    alias: str,
    env: str,
    model_id: str,
    previous: Positions | None,
) -> bool:
    """Whether ``alias`` in ``env`` starts serving ``model_id`` compared with the lock."""
    if previous is None:
        return False  # a lock from before alias positions were recorded: no history
    before = previous.get(env, {}).get(alias)
    if before is None:
        return True  # a new alias (or environment) is created on this model
    family = file.families[fam_name]
    if before not in family.versions:
        return True  # the old version is gone from the file: nothing shows it ran here
    return model_id not in target_model_ids(family.versions[before].target, file)


def _legacy_dates(entry: CatalogEntry, today: dt.date) -> str:
    parts = []
    if entry.legacy is not None:
        parts.append(f"since {_day(entry.legacy)}")
    if entry.public_extended_access is not None:
        parts.append(f"public extended access from {_day(entry.public_extended_access)}")
    days = entry.days_until_end_of_life(today)
    if days is not None:
        parts.append(f"end of life {_day(entry.end_of_life)} ({days} days)")
    else:
        parts.append("no end-of-life date published")
    return f" ({', '.join(parts)})"


def _day(value: dt.datetime | None) -> str:
    return value.date().isoformat() if value is not None else "?"


def _environments(uses: list[_Use]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(env for u in uses for env in u.environments))


def read_positions(lock_path: Path | None) -> Positions | None:
    """Alias positions recorded in the lock at ``lock_path``; None if none are recorded.

    A missing or malformed lock gives None here: the loader reports a
    malformed lock itself, with its own message.
    """
    if lock_path is None:
        return None
    try:
        lock = Lock.read(lock_path)
    except ValueError:
        return None
    return lock.aliases if lock is not None else None


def check_lifecycle(
    file: LifecycleFile,
    today: dt.date,
    *,
    catalog: ModelCatalog | None = None,
    previous: Positions | None = None,
    lock_path: Path | None = None,
) -> list[Problem]:
    """Every lifecycle problem of the file as of ``today``.

    :param catalog: Bedrock's model lifecycle. Default: the snapshot shipped in the package.
    :param previous: alias positions to judge moves against. Default: read from ``lock_path``.
    :param lock_path: the lock file. Default: none (no alias counts as moving).
    """
    catalog = catalog if catalog is not None else shipped_catalog()
    previous = previous if previous is not None else read_positions(lock_path)
    return [
        *check_version_states(file, today),
        *check_provider_states(file, today, catalog, previous),
    ]
