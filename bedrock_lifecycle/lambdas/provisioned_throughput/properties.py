"""The resource properties, parsed and checked before any AWS call."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import contract
from answers import ThroughputError
from resource_tags import parse_tags

PROPERTIES = (
    "ProvisionedModelName",
    "ModelId",
    "ModelUnits",
    "CommitmentDuration",
    "AllowReplacement",
    "Tags",
)
# CloudFormation adds ServiceToken to every request (contract.CFN_FRAMEWORK_PROPERTIES).
# Bedrock's commitmentDuration values; "None" is hourly, without a commitment.
COMMITMENTS = tuple(contract.COMMITMENT_DURATIONS.values())
NO_COMMITMENT = contract.COMMITMENT_DURATIONS["none"]
MODEL_ID_MAX = 2048
MODEL_UNITS_MAX = 999_999
# ASCII digits only: Python's \d (and int()) accept full-width and other digits too.
_UNITS = re.compile(r"[1-9][0-9]{0,5}")


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
        raise ThroughputError(
            f"invalid resource properties: expected an object, got {contract.shown(raw)}"
        )
    problems: list[str] = []
    unknown = contract.unknown_properties_error(raw, PROPERTIES, "the properties")
    if unknown is not None:
        problems.append(unknown)
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
            f"optionally followed by one - or _, got {contract.shown(name)}"
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
            f"ARN, got {contract.shown(model_id)}"
        )
    units_raw = raw.get("ModelUnits")
    units = 0
    if isinstance(units_raw, str) and _UNITS.fullmatch(units_raw):
        units = int(units_raw)
    elif (
        isinstance(units_raw, int)
        and not isinstance(units_raw, bool)
        and 1 <= units_raw <= MODEL_UNITS_MAX
    ):
        units = units_raw
    elif "ModelUnits" in raw:
        problems.append(
            f"ModelUnits must be a whole number from 1 to {MODEL_UNITS_MAX}, "
            f"got {contract.shown(units_raw)}"
        )
    commitment = raw.get("CommitmentDuration")
    if "CommitmentDuration" in raw and commitment not in COMMITMENTS:
        problems.append(
            f"CommitmentDuration must be one of {', '.join(COMMITMENTS)}, "
            f"got {contract.shown(commitment)}"
        )
    allow = raw.get("AllowReplacement", "false")
    if not (allow in ("true", "false") or isinstance(allow, bool)):
        problems.append(f"AllowReplacement must be 'true' or 'false', got {contract.shown(allow)}")
    tags = parse_tags(raw.get("Tags", []), problems)

    if problems:
        raise ThroughputError("invalid resource properties: " + "; ".join(problems))
    return Properties(
        name=str(name),
        model_id=str(model_id),
        model_units=units,
        commitment=str(commitment),
        allow_replacement=allow == "true" or allow is True,
        tags=tags,
    )


def model_key(model_id: str) -> str:
    """``model_id`` with a foundation-model ARN reduced to the model id it names."""
    if contract.FOUNDATION_MODEL_ARN.fullmatch(model_id):
        return model_id.split(":foundation-model/", 1)[1]
    return model_id
