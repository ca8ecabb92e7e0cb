"""Entry module of the router Lambda (handler ``app.handler``) of one model alias.

The function serves exactly one version, named by ``ROUTER_CONFIG`` (written by
the ``ModelAlias`` construct): chat families call Bedrock Runtime ``Converse``,
embedding families ``InvokeModel`` with the Titan body. The request, response,
metrics and audit contract is in docs/aliases.md. The work is in the sibling
modules: config, blobs, request, limits, errors, output, response, wire and serve.
"""

from __future__ import annotations

import os
from typing import Any

from config import (
    CONFIG_ENV,
    CONNECT_TIMEOUT_SECONDS,
    MAX_ATTEMPTS,
    METADATA_VALUE_RE,
    OVERRIDE_KEYS,
    READ_TIMEOUT_SECONDS,
    RouterConfig,
    new_bedrock_client,
)
from errors import RULES, Failure, classify
from output import (
    ALIAS_WIDE_DIMENSIONS,
    ALIAS_WIDE_METRICS,
    AUDIT_RECORD,
    AUDIT_SCHEMA,
    sha256_json,
)
from request import RequestError
from serve import NAMESPACE, Router, router_from_environment, serve

__all__ = [
    "ALIAS_WIDE_DIMENSIONS",
    "ALIAS_WIDE_METRICS",
    "AUDIT_RECORD",
    "AUDIT_SCHEMA",
    "CONFIG_ENV",
    "CONNECT_TIMEOUT_SECONDS",
    "MAX_ATTEMPTS",
    "METADATA_VALUE_RE",
    "NAMESPACE",
    "OVERRIDE_KEYS",
    "READ_TIMEOUT_SECONDS",
    "ROUTER",
    "RULES",
    "Failure",
    "RequestError",
    "Router",
    "RouterConfig",
    "classify",
    "handler",
    "new_bedrock_client",
    "router_from_environment",
    "sha256_json",
]

# Cold start: parse the configuration and create the client once, at init
# (outside Lambda, for example when tests import this module, nothing happens).
ROUTER: Router | None = router_from_environment() if CONFIG_ENV in os.environ else None


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point: the module's router handles the request."""
    return serve(ROUTER, event, context)
