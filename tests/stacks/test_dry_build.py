"""validate's dry build, remembered per process: by what the stacks are built from."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from bedrock_lifecycle.config import load_lifecycle
from bedrock_lifecycle.stacks.dry_build import construction_problems
from tests.conftest import FIXED_TODAY, ROOT

pytestmark = pytest.mark.synth


def test_the_lock_is_part_of_what_is_remembered_and_the_folder_is_not(tmp_path):
    """The lock holds the custom models' ARNs (and stack groups): without it staging
    cannot be built. The same file and lock in another folder is the same build."""
    config = load_lifecycle(ROOT / "lifecycle.yaml", clock=lambda: FIXED_TODAY)
    assert construction_problems(config) == []
    unlocked = dataclasses.replace(config, lock=None)
    (problem,) = construction_problems(unlocked)
    assert problem.path == ("environments", "staging")
    assert "custom model summarizer-lite has no model in staging yet" in problem.message
    shutil.copytree(ROOT / "evals", tmp_path / "evals")
    shutil.copy(ROOT / "lifecycle.yaml", tmp_path / "lifecycle.yaml")
    shutil.copy(ROOT / "lifecycle.lock", tmp_path / "lifecycle.lock")
    elsewhere = load_lifecycle(tmp_path / "lifecycle.yaml", clock=lambda: FIXED_TODAY)
    assert construction_problems(elsewhere) == []
