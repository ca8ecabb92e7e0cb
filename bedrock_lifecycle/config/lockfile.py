"""Version content hashes, version ids and the lock file.

A version's content is everything that changes what the model answers: its
target and inference settings, system prompt and guardrail. Its lifecycle state
and description are not content: deprecating a version does not make it a
different version.

The hash covers only values that differ from the schema's defaults, so adding
an optional setting to the schema later does not change existing ids, and
writing a default out explicitly does not either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..formats import MAX_JSON_BYTES, read_text_bounded, read_versioned_json
from ..versions import ID_HEX_LENGTH, canonical_content, content_hash, version_id
from .custom_models import custom_model_records
from .custom_models import valid_record as valid_model_record
from .network_checks import network_records, valid_record
from .schema import LifecycleFile
from .semantic import granted_versions
from .stack_groups import MAX_STACK_GROUP, StackSizes, assign_groups

__all__ = [
    "ID_HEX_LENGTH",
    "LOCK_FORMAT",
    "Lock",
    "alias_positions",
    "canonical_content",
    "content_hash",
    "current_hashes",
    "lock_key",
    "main_only_aliases",
    "moved_aliases",
    "placed_aliases",
    "stack_groups",
    "updated_lock",
    "version_id",
]

LOCK_FORMAT = 1


def lock_key(family: str, label: str) -> str:
    """The key of a version in the lock file."""
    return f"{family}/{label}"


@dataclass(frozen=True)
class Lock:
    """The recorded content hash of every version ever declared.

    ``aliases`` records, per environment, the version label each alias served
    when the lock was last written (``{env: {"family/alias": label}}``); the
    lifecycle rules compare with it to tell an alias that moves onto a Legacy
    model from one that stays there. None in a lock written before aliases
    were recorded.

    ``stacks`` records, per environment that spans several stacks, the stack
    group of each alias (``{env: {"family/alias": group}}``, 0 the main stack):
    once recorded, an alias never moves (:mod:`.stack_groups`). None while no
    environment spans several stacks.

    ``alias_stacks`` records, per such environment, how many alias stacks it has
    had (``{env: N}``). It never goes down: an alias stack whose last alias went
    stays in the app, empty but for its version manifest, so that ``cdk deploy``
    deletes what its aliases had (a stack left out of the app is never touched
    again), and later aliases fill it first. And an environment that spans several
    stacks keeps its main stack's shared parts while any alias stack exists.
    """

    versions: Mapping[str, str]
    # A record of where aliases stood, not part of the lock's identity (the hashes).
    aliases: Mapping[str, Mapping[str, str]] | None = field(default=None, compare=False)
    stacks: Mapping[str, Mapping[str, int]] | None = field(default=None, compare=False)
    alias_stacks: Mapping[str, int] | None = field(default=None, compare=False)
    networks: Mapping[str, Mapping[str, Any]] | None = field(default=None, compare=False)
    # {name: {"hash", "models": {env: custom model ARN}}} (config.custom_models).
    custom_models: Mapping[str, Mapping[str, Any]] | None = field(default=None, compare=False)

    @classmethod
    def read(cls, path: Path) -> Lock | None:
        """The lock at ``path``, or None if there is no file. Raises ValueError if malformed."""
        try:
            text = read_text_bounded(path, MAX_JSON_BYTES, expected="a JSON lock file")
        except FileNotFoundError:
            return None
        data = read_versioned_json(text, LOCK_FORMAT)
        versions = data.get("versions")
        if not isinstance(versions, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and len(v) == 64 for k, v in versions.items()
        ):
            raise ValueError('"versions" must map "family/label" to a sha256 hex digest')
        aliases = data.get("aliases")
        if aliases is not None and not (
            isinstance(aliases, dict)
            and all(
                isinstance(env, dict)
                and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
                for env in aliases.values()
            )
        ):
            raise ValueError('"aliases" must map environment to {"family/alias": label}')
        stacks = data.get("stacks")
        if stacks is not None and not (
            isinstance(stacks, dict)
            and all(
                isinstance(env, dict)
                and all(
                    isinstance(k, str) and type(v) is int and 0 <= v <= MAX_STACK_GROUP
                    for k, v in env.items()
                )
                for env in stacks.values()
            )
        ):
            raise ValueError(
                '"stacks" must map environment to {"family/alias": stack group}, each group '
                f"a whole number from 0 to {MAX_STACK_GROUP}"
            )
        alias_stacks = data.get("alias_stacks")
        if alias_stacks is not None and not (
            isinstance(alias_stacks, dict)
            and all(
                isinstance(k, str) and type(v) is int and 1 <= v <= MAX_STACK_GROUP
                for k, v in alias_stacks.items()
            )
        ):
            raise ValueError(
                '"alias_stacks" must map environment to its number of alias stacks, '
                f"a whole number from 1 to {MAX_STACK_GROUP}"
            )
        networks = data.get("networks")
        if networks is not None and not (
            isinstance(networks, dict)
            and all(isinstance(k, str) and valid_record(v) for k, v in networks.items())
        ):
            raise ValueError(
                '"networks" must map environment to {"vpc_id", "security_group_ids", '
                '"functions_in_vpc", "create_endpoints"} as `bedrock-lifecycle lock` writes it'
            )
        custom_models = data.get("custom_models")
        if custom_models is not None and not (
            isinstance(custom_models, dict)
            and all(isinstance(k, str) and valid_model_record(v) for k, v in custom_models.items())
        ):
            raise ValueError(
                '"custom_models" must map a name to {"hash": sha256 hex digest, "models": '
                "{environment: custom model ARN}} as `bedrock-lifecycle lock` and `customize "
                "status` write it"
            )
        return cls(
            versions=dict(versions),
            aliases={e: dict(a) for e, a in aliases.items()} if aliases is not None else None,
            stacks={e: dict(a) for e, a in stacks.items()} if stacks is not None else None,
            alias_stacks=dict(alias_stacks) if alias_stacks is not None else None,
            networks={e: dict(r) for e, r in networks.items()} if networks is not None else None,
            custom_models=(
                {
                    n: {"hash": r["hash"], "models": dict(r["models"])}
                    for n, r in custom_models.items()
                }
                if custom_models is not None
                else None
            ),
        )

    def render(self) -> str:
        """The file text: stable order, one version per line, so diffs stay small."""
        body: dict[str, Any] = {
            "format": LOCK_FORMAT,
            "versions": dict(sorted(self.versions.items())),
        }
        if self.aliases is not None:
            body["aliases"] = {
                env: dict(sorted(positions.items()))
                for env, positions in sorted(self.aliases.items())
            }
        if self.stacks:
            body["stacks"] = {
                env: dict(sorted(groups.items())) for env, groups in sorted(self.stacks.items())
            }
        if self.alias_stacks:
            body["alias_stacks"] = dict(sorted(self.alias_stacks.items()))
        if self.networks:
            body["networks"] = {env: dict(r) for env, r in sorted(self.networks.items())}
        if self.custom_models:
            body["custom_models"] = {
                name: {"hash": r["hash"], "models": dict(sorted(r["models"].items()))}
                for name, r in sorted(self.custom_models.items())
            }
        return json.dumps(body, indent=2) + "\n"


def current_hashes(config: LifecycleFile) -> dict[str, str]:
    """Hash of every version declared in the file, by lock key."""
    return {
        lock_key(family_name, label): content_hash(version)
        for family_name, family in config.families.items()
        for label, version in family.versions.items()
    }


def alias_positions(config: LifecycleFile) -> dict[str, dict[str, str]]:
    """The version label every alias serves, per environment: ``{env: {family/alias: label}}``."""
    positions: dict[str, dict[str, str]] = {env: {} for env in config.environments}
    for placement in config.placements():
        positions[placement.environment][placement.qualified_name] = placement.label
    return positions


def main_only_aliases(config: LifecycleFile, environment: str) -> list[str]:
    """The aliases of ``environment`` that serve, or may move to, a provisioned throughput
    bought there: they live in the environment's main stack, which buys it."""
    out = []
    for placement in config.placements():
        if placement.environment != environment:
            continue
        family = config.families[placement.family]
        labels = {placement.label, *granted_versions(config, placement.family, environment)}
        if any(family.versions[label].target.provisioned_throughput for label in labels):
            out.append(placement.qualified_name)
    return out


def stack_groups(
    config: LifecycleFile,
    environment: str,
    lock: Lock | None,
    sizes: StackSizes | None = None,
) -> dict[str, int]:
    """``family/alias`` -> stack group of every alias of ``environment`` (0: the main
    stack), from what ``lock`` records (:func:`.stack_groups.assign_groups`)."""
    names = [p.qualified_name for p in config.placements() if p.environment == environment]
    recorded = (lock.stacks or {}).get(environment) if lock is not None else None
    known = list((lock.aliases or {}).get(environment, {})) if lock is not None else []
    return assign_groups(
        names,
        recorded=recorded,
        known=known,
        main_only=main_only_aliases(config, environment),
        sizes=sizes,
    )


def updated_lock(
    config: LifecycleFile, existing: Lock | None, sizes: StackSizes | None = None
) -> tuple[Lock, list[str]]:
    """The lock with new versions added; never rewrites an existing entry.

    Entries of versions no longer in the file stay, so a label once used can
    never come back with other content. Alias positions are recorded as they
    are now, and so is the stack of every alias of an environment that spans
    several stacks (or was recorded before). Returns the lock and the keys added.
    """
    versions = dict(existing.versions) if existing else {}
    added = []
    for key, digest in current_hashes(config).items():
        if key not in versions:
            versions[key] = digest
            added.append(key)
    stacks: dict[str, dict[str, int]] = {}
    counts: dict[str, int] = {}
    for env in config.environments:
        groups = stack_groups(config, env, existing, sizes)
        before = (existing.stacks or {}).get(env) if existing is not None else None
        count = alias_stack_count(existing, env, groups)
        if before or count:
            stacks[env] = groups
            counts[env] = count
    return (
        Lock(
            versions=versions,
            aliases=alias_positions(config),
            stacks=stacks or None,
            alias_stacks=counts or None,
            networks=network_records(config) or None,
            custom_models=custom_model_records(config, existing) or None,
        ),
        added,
    )


def alias_stack_count(lock: Lock | None, environment: str, groups: Mapping[str, int]) -> int:
    """How many alias stacks ``environment`` has: the most its placement ``groups`` uses
    or ``lock`` records, whichever is more (the count never goes down, :class:`Lock`)."""
    recorded = (lock.alias_stacks or {}).get(environment, 0) if lock is not None else 0
    recorded_groups = (lock.stacks or {}).get(environment, {}) if lock is not None else {}
    return max(recorded, *groups.values(), *recorded_groups.values(), 0)


def moved_aliases(existing: Lock | None, lock: Lock) -> list[str]:
    """``env: family/alias v1 -> v2`` for every alias position that changed.

    Empty when ``existing`` recorded no positions (the first recording is not a move).
    """
    if existing is None or existing.aliases is None or lock.aliases is None:
        return []
    lines = []
    for env, by_alias in lock.aliases.items():
        before = existing.aliases.get(env, {})
        for alias, label in by_alias.items():
            if before.get(alias) != label:
                lines.append(f"{env}: {alias} {before.get(alias, '(new)')} -> {label}")
    return lines


def placed_aliases(existing: Lock | None, lock: Lock) -> list[str]:
    """``env: family/alias in the main stack`` (or ``in alias stack N``) for every alias
    whose stack is recorded now and was not before (a recorded stack never changes)."""
    before = (existing.stacks or {}) if existing is not None else {}
    return [
        f"{env}: {alias} in {'the main stack' if group == 0 else f'alias stack {group}'}"
        for env, groups in (lock.stacks or {}).items()
        for alias, group in groups.items()
        if alias not in before.get(env, {})
    ]
