"""Run the router Lambda in-process against the Bedrock stand-in and read what it printed.

The router's asset root is zipped alone, so it is loaded by path under a
unique module name. A :class:`RouterHarness` collects every line the router
writes (EMF metric documents and audit records) instead of printing them::

    from tests.support.router import chat_config, harness_for  # fixture: see bedrock_standin

    def test_x(bedrock_standin):
        harness = harness_for(bedrock_standin, chat_config(version_id="v2@0123456789ab"))
        answer = harness.invoke({"messages": [...]})
        (emf,) = harness.emf          # one EMF document per request
        (audit,) = harness.audit      # one audit record per request

To run exactly what a ``ModelAlias`` deploys, take its ``ROUTER_CONFIG`` from
the template and render it with :func:`render_intrinsics`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from types import ModuleType, SimpleNamespace
from typing import Any

from tests.support.lambda_assets import load_asset_module

MODULE_NAME = "bedrock_lifecycle_router_app"

PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "111111111111",
    "AWS::URLSuffix": "amazonaws.com",
}


def load_router() -> ModuleType:
    """The router's ``app.py``, imported once under a unique name."""
    return load_asset_module("router", unique_name=MODULE_NAME)


def chat_config(**overrides: Any) -> dict[str, Any]:
    """A chat ``ROUTER_CONFIG`` (summarizer/live in prod on a cross-region profile)."""
    config: dict[str, Any] = {
        "environment": "prod",
        "family": "summarizer",
        "alias": "live",
        "kind": "chat",
        "version_id": "v2@0123456789ab",
        "model_id": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "model_arn": "arn:aws:bedrock:us-east-1:111111111111:inference-profile/"
        "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "inference": {"maxTokens": 512, "temperature": 0.2},
        "system": "You summarize tickets.",
        "guardrail": None,
        "embedding": {},
        "allowed_overrides": ["maxTokens", "temperature"],
        "prompt_logging": False,
    }
    config.update(overrides)
    return config


def embedding_config(**overrides: Any) -> dict[str, Any]:
    """An embedding ``ROUTER_CONFIG`` (embedder/live on Titan Text Embeddings V2)."""
    config: dict[str, Any] = {
        "environment": "prod",
        "family": "embedder",
        "alias": "live",
        "kind": "embedding",
        "version_id": "v1@abcdef012345",
        "model_id": "amazon.titan-embed-text-v2:0",
        "model_arn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0",
        "inference": {},
        "system": None,
        "guardrail": None,
        "embedding": {"dimensions": 1024, "normalize": True},
        "allowed_overrides": [],
        "prompt_logging": False,
    }
    config.update(overrides)
    return config


def render_intrinsics(value: Any, pseudo: dict[str, str] | None = None) -> Any:
    """Resolve ``Fn::Join`` and pseudo-parameter ``Ref`` the way CloudFormation would.

    Anything else (a ``Fn::GetAtt`` of a resource) has no value before deploy: ValueError.
    """
    pseudo = pseudo if pseudo is not None else PSEUDO_PARAMETERS
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in pseudo:
        return pseudo[value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        sep, parts = value["Fn::Join"]
        return sep.join(render_intrinsics(p, pseudo) for p in parts)
    raise ValueError(f"cannot render {value!r} before deploy")


@dataclass
class RouterHarness:
    """One router, its Bedrock client aimed at the stand-in, and the lines it wrote."""

    router: Any
    lines: list[str] = field(default_factory=list)

    def invoke(
        self, event: Any, *, request_id: str = "req-1", function_version: str = "7"
    ) -> dict[str, Any]:
        """One request through ``Router.handle`` with a Lambda-like context."""
        context = SimpleNamespace(aws_request_id=request_id, function_version=function_version)
        return self.router.handle(event, context)

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]

    @property
    def emf(self) -> list[dict[str, Any]]:
        """The EMF documents written, in order."""
        return [r for r in self.records if "_aws" in r]

    @property
    def audit(self) -> list[dict[str, Any]]:
        """The audit records written, in order."""
        module = load_router()
        return [r for r in self.records if r.get("record") == module.AUDIT_RECORD]


@functools.cache
def _session() -> Any:
    """One session for every harness: botocore loads the service model once, not per test."""
    import boto3

    return boto3.Session(
        aws_access_key_id="AKIDSTANDIN",
        aws_secret_access_key="standin-secret",
        region_name="us-east-1",
    )


def harness_for(standin: Any, config: dict[str, Any], **client_config: Any) -> RouterHarness:
    """A router for ``config`` whose client is the router's own, aimed at ``standin``.

    :param client_config: botocore ``Config`` overrides (``read_timeout=0.2``, ...).
    """
    module = load_router()
    client = module.new_bedrock_client(_session(), endpoint_url=standin.url, **client_config)
    harness = RouterHarness(router=None)
    harness.router = module.Router(
        module.RouterConfig.from_json(json.dumps(config)), client, write=harness.lines.append
    )
    return harness
