"""Asset folders built at synth, staged privately under the app's output directory.

Lambda code and the rollout hooks' settings are assembled from several sources
at synth (an asset's own modules plus the shared contract; the validated
settings and golden prompts). They are written below the assembly's output
directory (``cdk.out/.bedrock-lifecycle-staging``), in a folder named by the
digest of its content and created with owner-only permissions, never in a
shared, predictable path such as ``/tmp``. A folder is written to a fresh
temporary sibling and renamed into place, so that two synths at once never see
half of one, and a folder that already exists with that digest is reused.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from constructs import Construct

STAGING_DIR = ".bedrock-lifecycle-staging"
DIGEST_LENGTH = 16


def staging_root(scope: Construct) -> Path:
    """``<assembly output directory>/.bedrock-lifecycle-staging``, owner-only."""
    stage = cdk.Stage.of(scope)
    if stage is None:
        raise ValueError(f"{scope.node.path} is not inside a cdk.App or cdk.Stage")
    root = Path(stage.asset_outdir) / STAGING_DIR
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    if root.is_symlink() or not root.is_dir():
        raise ValueError(f"{root} must be a folder of this app's output, not a link")
    return root


def digest_of(files: Mapping[str, bytes]) -> str:
    """sha256 over every relative path and content, in path order."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()


def stage_files(scope: Construct, prefix: str, files: Mapping[str, bytes]) -> Path:
    """A folder holding exactly ``files`` (relative path -> content); returns its path.

    :param prefix: the start of the folder's name, for people reading ``cdk.out``.
    """
    for name in files:
        path = Path(name)
        if path.is_absolute() or ".." in path.parts or not path.parts:
            raise ValueError(
                f"staged file names must be relative paths inside the folder, got {name!r}"
            )
    root = staging_root(scope)
    target = root / f"{prefix}-{digest_of(files)[:DIGEST_LENGTH]}"
    if target.is_dir() and not target.is_symlink():
        return target
    partial = Path(tempfile.mkdtemp(prefix=f".{prefix}-", dir=root))
    try:
        for name, content in files.items():
            path = partial / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        try:
            os.replace(partial, target)
        except OSError:
            if not target.is_dir():  # another synth won the race with the same content
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target
