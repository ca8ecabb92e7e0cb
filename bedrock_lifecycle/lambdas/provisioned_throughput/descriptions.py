"""What Bedrock's description of a throughput (GetProvisionedModelThroughput) says."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from properties import NO_COMMITMENT, Properties

# Statuses of a throughput that Bedrock is still changing.
IN_PROGRESS = ("Creating", "Updating")


def under_commitment(description: Mapping[str, Any], now: dt.datetime) -> bool:
    """Committed and the term has not ended (or has not started: no expiry yet)."""
    if not description.get("commitmentDuration"):
        return False
    expiry = description.get("commitmentExpirationTime")
    return expiry is None or expiry > now


def expiry_text(description: Mapping[str, Any]) -> str:
    """The commitment expiry of a description, as ISO text."""
    expiry = description.get("commitmentExpirationTime")
    return expiry.isoformat() if isinstance(expiry, dt.datetime) else "not yet known"


def model_matches(model_arn: str, requested: str) -> bool:
    """Whether Bedrock's ``modelArn`` is the model the properties ask for (id or ARN)."""
    if requested.startswith("arn:"):
        return model_arn == requested
    return model_arn.endswith(f":foundation-model/{requested}")


def already_as_requested(current: Mapping[str, Any], new: Properties) -> bool:
    """Whether Bedrock's throughput already has the units, commitment and model of ``new``."""
    return (
        current.get("modelUnits") == new.model_units
        and (current.get("commitmentDuration") or NO_COMMITMENT) == new.commitment
        and model_matches(str(current.get("modelArn")), new.model_id)
    )
