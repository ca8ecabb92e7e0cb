"""The ``ROUTER_CONFIG`` a router function reads, and the checks of a ModelAlias's props.

The configuration is the JSON the router parses (``lambdas/router/config.py``);
the names in it come from :mod:`bedrock_lifecycle.shared.contract`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk

from ..shared import contract
from ..values import FamilyKind, InferenceOverride
from ..versions import ModelVersion, ResolvedTarget

CONFIG_ENV = contract.ROUTER_CONFIG_ENV
OVERRIDE_KEYS = {InferenceOverride(name): key for name, key in contract.OVERRIDE_KEYS.items()}
# Lambda limits all environment variables of a function to 4 KB together.
LAMBDA_ENVIRONMENT_LIMIT = 4096
ENVIRONMENT_HEADROOM = 512  # Powertools variables and tokens resolved at deploy time
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_ENVIRONMENT = re.compile(r"^[a-z][a-z0-9-]{0,15}$")


def router_config(
    model_version: ModelVersion,
    target: ResolvedTarget,
    *,
    environment: str,
    alias_name: str,
    allowed_overrides: Sequence[InferenceOverride] = (),
    prompt_logging: bool = False,
) -> dict[str, Any]:
    """The ``ROUTER_CONFIG`` object the router reads (see the router's ``RouterConfig``)."""
    inference = model_version.inference
    chat: dict[str, Any] = {}
    embedding: dict[str, Any] = {}
    if model_version.kind is FamilyKind.EMBEDDING:
        if inference.dimensions is not None:
            embedding["dimensions"] = inference.dimensions
        if inference.normalize is not None:
            embedding["normalize"] = inference.normalize
    else:
        if inference.max_tokens is not None:
            chat["maxTokens"] = inference.max_tokens
        if inference.temperature is not None:
            chat["temperature"] = inference.temperature
        if inference.top_p is not None:
            chat["topP"] = inference.top_p
        if inference.stop_sequences:
            chat["stopSequences"] = list(inference.stop_sequences)
    guardrail = model_version.guardrail
    return {
        "environment": environment,
        "family": model_version.family,
        "alias": alias_name,
        "kind": model_version.kind.value,
        "version_id": model_version.version_id,
        "model_id": target.model_id,
        "model_arn": target.model_arn,
        "inference": chat,
        "system": model_version.system_prompt,
        "guardrail": (
            {"guardrailIdentifier": guardrail.id, "guardrailVersion": guardrail.version}
            if guardrail is not None
            else None
        ),
        "embedding": embedding,
        "allowed_overrides": [OVERRIDE_KEYS[o] for o in allowed_overrides],
        "prompt_logging": prompt_logging,
    }


def validate_alias_props(
    model_version: ModelVersion,
    target: ResolvedTarget,
    *,
    alias_name: str,
    environment: str,
    allowed_overrides: Sequence[InferenceOverride],
    prompt_logging: bool,
    parameter_name: str | None,
) -> tuple[dict[str, Any], str]:
    """Every prop check, before any resource exists; returns the router configuration
    and its JSON text (checked last: building it needs valid overrides)."""
    if not _NAME.match(alias_name):
        raise ValueError(f"alias_name must match {_NAME.pattern}, got {alias_name!r}")
    if not _ENVIRONMENT.match(environment):
        raise ValueError(f"environment must match {_ENVIRONMENT.pattern}, got {environment!r}")
    # Family and version id travel in Bedrock's requestMetadata and as metric dimensions.
    if not _NAME.match(model_version.family):
        raise ValueError(
            f"the version's family must match {_NAME.pattern}, got {model_version.family!r}"
        )
    if not contract.METADATA_VALUE.fullmatch(model_version.version_id):
        raise ValueError(
            "the version id must be at most 256 letters, digits, spaces and :_@$#=/+,-. "
            f"(Bedrock's requestMetadata), got {model_version.version_id!r}"
        )
    for override in allowed_overrides:
        if not isinstance(override, InferenceOverride):
            allowed = ", ".join(o.value for o in InferenceOverride)
            raise ValueError(
                f"allowed_overrides must be InferenceOverride ({allowed}), got {override!r}"
            )
    if allowed_overrides and model_version.kind is FamilyKind.EMBEDDING:
        raise ValueError(
            "allowed_overrides applies to chat families only, got "
            f"{', '.join(o.value for o in allowed_overrides)} for embedding family "
            f"{model_version.family}"
        )
    if len(set(allowed_overrides)) != len(allowed_overrides):
        raise ValueError(
            f"allowed_overrides has duplicates: {', '.join(o.value for o in allowed_overrides)}"
        )
    if (
        parameter_name is not None
        and not cdk.Token.is_unresolved(parameter_name)
        and not re.match(r"^/[a-zA-Z0-9_.\-/]{1,1010}$", parameter_name)
    ):
        raise ValueError(
            "parameter_name must start with / and hold only letters, digits, _ . - /, "
            f"got {parameter_name!r}"
        )
    config = router_config(
        model_version,
        target,
        environment=environment,
        alias_name=alias_name,
        allowed_overrides=allowed_overrides,
        prompt_logging=prompt_logging,
    )
    config_text = json.dumps(config, separators=(",", ":"), ensure_ascii=False)
    size = len(CONFIG_ENV) + len(config_text.encode("utf-8"))
    if size > LAMBDA_ENVIRONMENT_LIMIT - ENVIRONMENT_HEADROOM:
        raise ValueError(
            f"version {model_version.version_id} of {model_version.family} needs {size} bytes of "
            f"router configuration, at most {LAMBDA_ENVIRONMENT_LIMIT - ENVIRONMENT_HEADROOM} fit "
            "in Lambda's 4 KB environment; shorten the system prompt"
        )
    return config, config_text
