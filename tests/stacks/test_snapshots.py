"""One reviewed snapshot per environment stack, with asset hashes masked.

A change to any template shows up here as a diff. After an intended change:
``.venv/bin/python -m pytest tests/stacks/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import json
import re

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

# Asset hashes change with any byte of Lambda source; the source is reviewed as code.
_ASSET_HASH = re.compile(r"[0-9a-f]{64}")
# So does the logical id of a function's current version (aws-cdk-lib hashes the
# function's configuration, its code's asset hash included, into it).
_VERSION_HASH = re.compile(r"(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}")


def masked(template: dict) -> dict:
    text = json.dumps(template, sort_keys=True)
    text = _VERSION_HASH.sub(r"\1<version-hash>", _ASSET_HASH.sub("<asset-hash>", text))
    return json.loads(text)


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_environment_snapshot(synthesized, snapshot_json, environment):
    assert masked(synthesized.template_json(environment)) == snapshot_json
