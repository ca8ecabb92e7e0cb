"""Bedrock's provider lifecycle of foundation models, as a committed snapshot.

Bedrock marks models ``ACTIVE`` or ``LEGACY`` and publishes, per model, when it
became Legacy, when public extended access starts and when its end of life is
(after which every call fails with ResourceNotFoundException). The project
keeps that catalog as ``model-catalog.json`` inside the package, so that
``validate`` and ``cdk synth`` judge every alias offline and deterministically;
``bedrock-lifecycle catalog refresh`` rebuilds the file from the live API.

This module also knows which foundation model(s) a version's target runs on:
the id itself, the model behind a system-defined inference profile (geo prefix
stripped), the model of a declared provisioned throughput (context suffix
stripped), or ``target.model`` for application profiles and custom deployments.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..formats import MAX_JSON_BYTES, read_text_bounded, read_versioned_json
from ..versions import profile_model_id

__all__ = ["profile_model_id"]  # re-exported: it is the catalog's too

CATALOG_FORMAT = 1
SNAPSHOT_PATH = Path(__file__).resolve().parent / "model-catalog.json"

# Geo prefixes of system-defined (cross-region) inference profiles.
# A throughput's model may carry a context-window suffix: ``...-v1:0:300k``.
_CONTEXT_SUFFIX = re.compile(r"^([^:]+:\d+):[0-9]+[km]?$")


class ProviderStatus(StrEnum):
    """Bedrock's own lifecycle status of a model (there is no end-of-life value)."""

    ACTIVE = "ACTIVE"
    LEGACY = "LEGACY"


@dataclass(frozen=True)
class CatalogEntry:
    """One foundation model's provider lifecycle."""

    model_id: str
    status: ProviderStatus
    name: str | None = None
    provider: str | None = None
    start_of_life: dt.datetime | None = None
    legacy: dt.datetime | None = None
    public_extended_access: dt.datetime | None = None
    end_of_life: dt.datetime | None = None
    # Bedrock's customizationsSupported (FINE_TUNING, DISTILLATION, ...); None when the
    # snapshot does not say (one written before it recorded them).
    customizations: tuple[str, ...] | None = None

    def supports(self, customization: str) -> bool | None:
        """Whether Bedrock can customize the model so; None when the snapshot does not say."""
        return None if self.customizations is None else customization in self.customizations

    @property
    def is_legacy(self) -> bool:
        """Bedrock marks the model LEGACY."""
        return self.status is ProviderStatus.LEGACY

    def ended(self, today: dt.date) -> bool:
        """The end of life is today or earlier: calls fail (or will, later today)."""
        return self.end_of_life is not None and self.end_of_life.date() <= today

    def days_until_end_of_life(self, today: dt.date) -> int | None:
        """Whole days from ``today`` to the end of life, None if none is published."""
        return None if self.end_of_life is None else (self.end_of_life.date() - today).days

    def to_json(self) -> dict[str, Any]:
        """The entry as stored in ``model-catalog.json``."""
        return {
            "name": self.name,
            "provider": self.provider,
            "status": self.status.value,
            "start_of_life": _iso(self.start_of_life),
            "legacy": _iso(self.legacy),
            "public_extended_access": _iso(self.public_extended_access),
            "end_of_life": _iso(self.end_of_life),
            **(
                {"customizations": list(self.customizations)}
                if self.customizations is not None
                else {}
            ),
        }

    @classmethod
    def from_json(cls, model_id: str, data: Mapping[str, Any]) -> CatalogEntry:
        """Read one stored entry; raises ValueError naming the model and field."""
        try:
            status = ProviderStatus(data["status"])
        except (KeyError, ValueError):
            raise ValueError(
                f"{model_id}: status must be one of ACTIVE, LEGACY, got {data.get('status')!r}"
            ) from None
        times = {}
        for name in ("start_of_life", "legacy", "public_extended_access", "end_of_life"):
            value = data.get(name)
            try:
                times[name] = _parse_time(value)
            except ValueError:
                raise ValueError(
                    f"{model_id}: {name} must be an ISO 8601 time or null, got {value!r}"
                ) from None
        customizations = data.get("customizations")
        if customizations is not None and not (
            isinstance(customizations, list) and all(isinstance(c, str) for c in customizations)
        ):
            raise ValueError(
                f"{model_id}: customizations must be a list of customization types, "
                f"got {customizations!r}"
            )
        return cls(
            model_id=model_id,
            status=status,
            name=data.get("name"),
            provider=data.get("provider"),
            customizations=tuple(customizations) if customizations is not None else None,
            **times,
        )

    @classmethod
    def from_api(cls, details: Mapping[str, Any]) -> CatalogEntry:
        """From GetFoundationModel's ``modelDetails`` (or a ListFoundationModels summary).

        :raises ValueError: for a status this project does not know, naming the model.
        """
        lifecycle = details.get("modelLifecycle") or {}
        status = lifecycle.get("status", "ACTIVE")
        if status not in ProviderStatus.__members__:
            raise ValueError(
                f"{details['modelId']}: modelLifecycle.status must be one of ACTIVE, LEGACY, "
                f"got {status!r}"
            )
        return cls(
            model_id=details["modelId"],
            status=ProviderStatus(status),
            name=details.get("modelName"),
            provider=details.get("providerName"),
            start_of_life=_utc(lifecycle.get("startOfLifeTime")),
            legacy=_utc(lifecycle.get("legacyTime")),
            public_extended_access=_utc(lifecycle.get("publicExtendedAccessTime")),
            end_of_life=_utc(lifecycle.get("endOfLifeTime")),
            customizations=tuple(sorted(details.get("customizationsSupported") or ())),
        )


@dataclass(frozen=True)
class ModelCatalog:
    """A snapshot of Bedrock's model catalog, by model id."""

    entries: Mapping[str, CatalogEntry]
    captured_at: dt.datetime | None = None
    region: str | None = None
    source: str | None = None
    path: Path | None = field(default=None, compare=False)

    def get(self, model_id: str) -> CatalogEntry | None:
        """The entry of ``model_id``, or None if the snapshot does not know it."""
        return self.entries.get(model_id)

    def render(self) -> str:
        """The file text: stable order so that a refresh shows as a small diff."""
        body = {
            "format": CATALOG_FORMAT,
            "source": self.source,
            "captured_at": _iso(self.captured_at),
            "region": self.region,
            "models": {k: self.entries[k].to_json() for k in sorted(self.entries)},
        }
        return json.dumps(body, indent=2) + "\n"

    @classmethod
    def parse(cls, text: str, *, path: Path | None = None) -> ModelCatalog:
        """Parse the file text; raises ValueError with what is wrong."""
        data = read_versioned_json(text, CATALOG_FORMAT)
        models = data.get("models")
        if not isinstance(models, dict):
            raise ValueError('"models" must map model ids to their lifecycle')
        return cls(
            entries={k: CatalogEntry.from_json(k, v) for k, v in models.items()},
            captured_at=_parse_time(data.get("captured_at")),
            region=data.get("region"),
            source=data.get("source"),
            path=path,
        )

    @classmethod
    def load(cls, path: Path | None = None) -> ModelCatalog:
        """Read a catalog file. Default: the snapshot shipped in the package."""
        path = path if path is not None else SNAPSHOT_PATH
        text = read_text_bounded(path, MAX_JSON_BYTES, expected="a JSON catalog file")
        return cls.parse(text, path=path)


_SHIPPED: ModelCatalog | None = None


def shipped_catalog() -> ModelCatalog:
    """The snapshot shipped in the package (read once per process)."""
    global _SHIPPED
    if _SHIPPED is None:
        _SHIPPED = ModelCatalog.load()
    return _SHIPPED


def base_model_id(model: str) -> str:
    """A model id without a throughput's context suffix: ``x-v1:0:300k`` -> ``x-v1:0``."""
    match = _CONTEXT_SUFFIX.match(model)
    return match.group(1) if match else model


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _parse_time(value: object) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(value)
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return _utc(parsed)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
