"""Plain words for the parts of a lifecycle file that a plan names."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from ..catalog import ModelCatalog, shipped_catalog
from ..config.models import target_model_ids
from ..config.schema import LifecycleFile, RolloutPolicy, RolloutStrategy, VersionSpec


@cache
def catalog() -> ModelCatalog:
    """The model catalog snapshot shipped in the package, read once."""
    return shipped_catalog()


def describe_rollout(policy: RolloutPolicy) -> str:
    """``canary 10 % for 10 min``, ``linear 10 % every 1 min (9 min in all)``, ``all at once``."""
    if policy.strategy is RolloutStrategy.ALL_AT_ONCE:
        return "all at once"
    if policy.strategy is RolloutStrategy.CANARY:
        return f"canary {policy.percent} % for {policy.interval_minutes} min"
    return (
        f"linear {policy.percent} % every {policy.interval_minutes} min "
        f"({policy.total_minutes} min in all)"
    )


def first_shift_percent(policy: RolloutPolicy) -> int:
    """Share of traffic the new version gets at the first shift (100 for all at once)."""
    return 100 if policy.strategy is RolloutStrategy.ALL_AT_ONCE else int(policy.percent or 100)


def model_text(file: LifecycleFile, version: VersionSpec) -> str:
    """The model a version runs on, as a reviewer knows it: the catalog's name
    (``Claude Haiku 4.5``) when known, else the target's id or ARN; a throughput
    target adds its name (``throughput assistant: Nova Pro``)."""
    ids = target_model_ids(version.target, file)
    names = [entry.name or model_id for model_id in ids if (entry := catalog().get(model_id))]
    shown = ", ".join(names) if names else version.target.value
    if version.target.provisioned_throughput is not None:
        spec = file.provisioned_throughputs.get(version.target.provisioned_throughput)
        inner = names[0] if names else (spec.model if spec is not None else "?")
        return f"throughput {version.target.provisioned_throughput}: {inner}"
    return shown


def legacy_models(file: LifecycleFile, version: VersionSpec) -> tuple[str, ...]:
    """The model ids behind ``version`` that the catalog snapshot marks LEGACY."""
    return tuple(
        model_id
        for model_id in target_model_ids(version.target, file)
        if (entry := catalog().get(model_id)) is not None and entry.is_legacy
    )


def golden_prompts(path: Path | None) -> dict[str, str]:
    """The prompts of a golden-prompt file by id, each as canonical JSON (to tell a
    changed prompt from an unchanged one); empty when there is no file.

    The file was checked by the loader (``shared.golden``), so every non-blank line is
    a JSON object with a string ``id``; a line that is not is skipped here.
    """
    if path is None or not path.is_file():
        return {}
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            prompt = json.loads(line)
        except ValueError:
            continue
        if isinstance(prompt, dict) and isinstance(prompt.get("id"), str):
            out[prompt["id"]] = json.dumps(prompt, sort_keys=True)
    return out


def plural(count: int, word: str) -> str:
    """``1 prompt``, ``3 prompts``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def number(value: float | int | None) -> str:
    """A threshold as the file would write it: ``2`` rather than ``2.0``; ``none``."""
    if value is None:
        return "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
