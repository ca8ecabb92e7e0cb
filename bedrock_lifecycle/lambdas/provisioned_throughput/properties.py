"""The resource properties, parsed and checked before any AWS call."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import contract
from answers import ThroughputError

PROPERTIES = (
    "ProvisionedModelName",
    "ModelId",
    "ModelUnits",
    "CommitmentDuration",
    "AllowReplacement",
    "Tags",
)
# The framework adds ServiceToken to every request.
FRAMEWORK_PROPERTIES = ("ServiceToken",)
# Bedrock's commitmentDuration values; "None" is hourly, without a commitment.
COMMITMENTS = tuple(contract.COMMITMENT_DURATIONS.values())
NO_COMMITMENT = contract.COMMITMENT_DURATIONS["none"]
MODEL_ID_MAX = 2048


@dataclass(frozen=True)
class Properties:
    """The validated resource properties."""

    name: str
    model_id: str
    model_units: int
    commitment: str
    allow_replacement: bool
    tags: tuple[tuple[str, str], ...]

    @property
    def committed(self) -> bool:
        """Whether a commitment term is asked for (not hourly)."""
        return self.commitment != NO_COMMITMENT

    @property
    def custom_model(self) -> bool:
        """Whether the throughput is for a custom model (a custom-model ARN)."""
        return contract.CUSTOM_MODEL_ARN.fullmatch(self.model_id) is not None


def parse_properties(raw: Mapping[str, Any] | None) -> Properties:
    """Check every property; raise one ThroughputError listing every problem."""
    if not isinstance(raw, Mapping):
        raise ThroughputError(f"invalid resource properties: expected an object, got {raw!r}")
    problems: list[str] = []
    unknown = sorted(set(raw) - set(PROPERTIES) - set(FRAMEWORK_PROPERTIES))
    if unknown:
        problems.append(
            f"unknown properties {', '.join(unknown)} (allowed: {', '.join(PROPERTIES)})"
        )
    for required in PROPERTIES[:4]:
        if required not in raw:
            problems.append(f"{required} is required")

    name = raw.get("ProvisionedModelName")
    name_max = contract.PROVISIONED_MODEL_NAME_MAX
    if "ProvisionedModelName" in raw and not (
        isinstance(name, str)
        and 1 <= len(name) <= name_max
        and contract.PROVISIONED_MODEL_NAME.fullmatch(name)
    ):
        problems.append(
            f"ProvisionedModelName must be 1-{name_max} characters of letters and digits, each "
            f"optionally followed by one - or _, got {name!r}"
        )
    model_id = raw.get("ModelId")
    model_patterns = (
        contract.FOUNDATION_MODEL_ID,
        contract.FOUNDATION_MODEL_ARN,
        contract.CUSTOM_MODEL_ARN,
    )
    if "ModelId" in raw and not (
        isinstance(model_id, str)
        and len(model_id) <= MODEL_ID_MAX
        and any(p.fullmatch(model_id) for p in model_patterns)
    ):
        problems.append(
            "ModelId must be a foundation model id, a foundation-model ARN or a custom-model "
            f"ARN, got {model_id!r}"
        )
    units_raw = raw.get("ModelUnits")
    units = 0
    if isinstance(units_raw, str) and re.fullmatch(r"[1-9][0-9]{0,5}", units_raw):
        units = int(units_raw)
    elif isinstance(units_raw, int) and not isinstance(units_raw, bool) and units_raw >= 1:
        units = units_raw
    elif "ModelUnits" in raw:
        problems.append(f"ModelUnits must be a whole number >= 1, got {units_raw!r}")
    commitment = raw.get("CommitmentDuration")
    if "CommitmentDuration" in raw and commitment not in COMMITMENTS:
        problems.append(
            f"CommitmentDuration must be one of {', '.join(COMMITMENTS)}, got {commitment!r}"
        )
    allow = raw.get("AllowReplacement", "false")
    if allow not in ("true", "false", True, False):
        problems.append(f"AllowReplacement must be 'true' or 'false', got {allow!r}")
    tags = _parse_tags(raw.get("Tags", []), problems)

    if problems:
        raise ThroughputError("invalid resource properties: " + "; ".join(problems))
    return Properties(
        name=str(name),
        model_id=str(model_id),
        model_units=units,
        commitment=str(commitment),
        allow_replacement=allow in ("true", True),
        tags=tags,
    )


def _parse_tags(raw: Any, problems: list[str]) -> tuple[tuple[str, str], ...]:
    """The tags as sorted ``(key, value)`` pairs; each problem is added to ``problems``."""
    if not isinstance(raw, list):
        problems.append(f"Tags must be a list of {{Key, Value}}, got {raw!r}")
        return ()
    if len(raw) > contract.MAX_TAGS:
        problems.append(f"Tags must hold at most {contract.MAX_TAGS} tags, got {len(raw)}")
    out: dict[str, str] = {}
    for item in raw:
        if not (isinstance(item, Mapping) and set(item) == {"Key", "Value"}):
            problems.append(f"each tag must be {{Key, Value}}, got {item!r}")
            continue
        key, value = item["Key"], item["Value"]
        if not (
            isinstance(key, str)
            and 1 <= len(key) <= contract.TAG_KEY_MAX
            and contract.TAG_TEXT.fullmatch(key)
            and not key.lower().startswith("aws:")
        ):
            problems.append(
                f"tag keys must be 1-{contract.TAG_KEY_MAX} characters of letters, digits, "
                f"spaces and ._:/=+@- and must not start with aws:, got {key!r}"
            )
            continue
        if not (
            isinstance(value, str)
            and len(value) <= contract.TAG_VALUE_MAX
            and contract.TAG_TEXT.fullmatch(value)
        ):
            problems.append(
                f"tag values must be 0-{contract.TAG_VALUE_MAX} characters of letters, digits, "
                f"spaces and ._:/=+@-, got {value!r} for {key!r}"
            )
            continue
        if key in out:
            problems.append(f"tag {key!r} is given twice")
        out[key] = value
    return tuple(sorted(out.items()))


def model_key(model_id: str) -> str:
    """``model_id`` with a foundation-model ARN reduced to the model id it names."""
    if contract.FOUNDATION_MODEL_ARN.fullmatch(model_id):
        return model_id.split(":foundation-model/", 1)[1]
    return model_id
