"""The version this function serves (``ROUTER_CONFIG``) and its Bedrock Runtime client."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import contract
from blobs import BOTOCORE_SESSION
from botocore.config import Config

CONFIG_ENV = contract.ROUTER_CONFIG_ENV
METADATA_VALUE_RE = contract.METADATA_VALUE
OVERRIDE_KEYS = contract.OVERRIDE_KEYS

# Timeouts and retries. The construct sizes the Lambda timeout from these:
# MAX_ATTEMPTS * (CONNECT + READ) plus backoff must fit, so the router always
# answers with a structured error before Lambda kills it.
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 60
MAX_ATTEMPTS = 3

_REQUIRED = ("environment", "family", "alias", "kind", "version_id", "model_id", "model_arn")


@dataclass(frozen=True)
class RouterConfig:
    """The version this function serves, from ``ROUTER_CONFIG``."""

    environment: str
    family: str
    alias: str
    kind: str
    version_id: str
    model_id: str
    model_arn: str
    inference: Mapping[str, Any] = field(default_factory=dict)
    system: str | None = None
    guardrail: Mapping[str, str] | None = None
    embedding: Mapping[str, Any] = field(default_factory=dict)
    allowed_overrides: tuple[str, ...] = ()
    prompt_logging: bool = False

    @property
    def qualified_alias(self) -> str:
        """``family/alias``."""
        return f"{self.family}/{self.alias}"

    @classmethod
    def from_json(cls, text: str) -> RouterConfig:
        """Parse and check the configuration; raise ValueError naming what is wrong."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"{CONFIG_ENV} must be a JSON object")
        missing = [k for k in _REQUIRED if not isinstance(data.get(k), str) or not data[k]]
        if missing:
            raise ValueError(f"{CONFIG_ENV} lacks {', '.join(missing)}")
        unknown = sorted(set(data) - {f.name for f in cls.__dataclass_fields__.values()})
        if unknown:
            raise ValueError(f"{CONFIG_ENV} has unknown keys {', '.join(unknown)}")
        if data["kind"] not in ("chat", "embedding"):
            raise ValueError(f"{CONFIG_ENV} kind must be chat or embedding, got {data['kind']!r}")
        bad = sorted(set(data.get("allowed_overrides", ())) - set(OVERRIDE_KEYS.values()))
        if bad:
            raise ValueError(f"{CONFIG_ENV} allowed_overrides has unknown keys {', '.join(bad)}")
        data["allowed_overrides"] = tuple(data.get("allowed_overrides", ()))
        config = cls(**data)
        for key, value in (
            ("environment", config.environment),
            ("family/alias", config.qualified_alias),
            ("version_id", config.version_id),
        ):
            if not METADATA_VALUE_RE.fullmatch(value):
                raise ValueError(
                    f"{CONFIG_ENV} {key} {value!r} cannot be sent as Bedrock requestMetadata "
                    "(at most 256 letters, digits, spaces and :_@$#=/+,-.)"
                )
        return config


def new_bedrock_client(session: boto3.session.Session | None = None, **config: Any) -> Any:
    """A Bedrock Runtime client: standard retry mode, bounded timeouts.

    :param session: Default: a boto3 session on ``blobs.BOTOCORE_SESSION`` (the
        function's role, like boto3's default session), whose loader already holds
        the Bedrock Runtime model read at import.
    :param config: override the defaults (tests pass ``endpoint_url``,
        ``region_name`` and shorter timeouts).
    """
    endpoint_url = config.pop("endpoint_url", None)
    region = config.pop("region_name", None)
    settings = {
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "read_timeout": READ_TIMEOUT_SECONDS,
        "retries": {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        "tcp_keepalive": True,
        **config,
    }
    factory = (session if session is not None else _default_session()).client
    return factory(
        "bedrock-runtime",
        endpoint_url=endpoint_url,
        region_name=region,
        config=Config(**settings),
    )


@functools.cache
def _default_session() -> boto3.session.Session:
    return boto3.session.Session(botocore_session=BOTOCORE_SESSION)
