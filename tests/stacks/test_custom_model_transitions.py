"""From a base model to its fine-tuned variant and back, replayed step by step.

Staging's ``summarizer/live`` moves from v2 (Haiku 4.5 through a profile) to v3
(``summarizer-lite``, served on demand by a deployment the stack makes). The
replay (tests/support/rollout_simulator.py) checks every step of the deploy, each
rollback, and the clean-up: no serving version may lose its deployment, its grant
on it or its role.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bedrock_lifecycle.constructs import model_alias as model_alias_module
from tests.stacks.test_rollout_transitions import assert_safe, shipped, simulate, synth

__all__ = ["synth"]  # the module fixture, shared with the rollout transitions
pytestmark = pytest.mark.synth

DEPLOYMENT = "Custom::BedrockCustomModelDeployment"


def on_base(data: dict[str, Any]) -> dict[str, Any]:
    """Staging's live on the base version v2 (v3 declared, not yet served)."""
    data = copy.deepcopy(data)
    data["families"]["summarizer"]["aliases"]["live"].pop("environment_versions")
    return data


def without_v3(data: dict[str, Any]) -> dict[str, Any]:
    """Before the fine-tuned variant was declared."""
    data = on_base(data)
    del data["families"]["summarizer"]["versions"]["v3"]
    return data


def deployments(template: dict[str, Any]) -> list[str]:
    return [lid for lid, r in template["Resources"].items() if r["Type"] == DEPLOYMENT]


def shifted(simulator, alias: str = "AliasesSummarizerLive") -> bool:
    return any(step.startswith(f"CodeDeploy shifts {alias}") for step in simulator.trace)


def test_base_to_fine_tuned_is_a_canary_and_every_rollback_keeps_v2_served(synth):
    base = synth(without_v3(shipped()), "staging")
    head = synth(shipped(), "staging")
    assert deployments(base) == [] and len(deployments(head)) == 1
    simulator = simulate(base, head, "staging")
    assert_safe(simulator)
    assert shifted(simulator)
    # The deployment exists (and is granted) before any traffic moves to v3.
    trace = simulator.trace
    made = next(i for i, s in enumerate(trace) if s.startswith(f"create {deployments(head)[0]}"))
    first_shift = next(i for i, s in enumerate(trace) if "CodeDeploy shifts Aliases" in s)
    assert made < first_shift


def test_fine_tuned_back_to_base_keeps_the_deployment_while_v3_may_serve(synth):
    """A rollback by hand: live back on v2; v3 stays declared, its deployment stays."""
    base = synth(shipped(), "staging")
    head = synth(on_base(shipped()), "staging")
    simulator = simulate(base, head, "staging")
    assert_safe(simulator)
    assert shifted(simulator)


def test_retiring_v3_deletes_its_deployment_only_after_live_moved_off_it(synth):
    """Back to v2 and v3 removed in one change: the deployment goes in the clean-up."""
    base = synth(shipped(), "staging")
    head = synth(without_v3(shipped()), "staging")
    assert deployments(head) == []
    simulator = simulate(base, head, "staging")
    assert_safe(simulator)
    deleted = [s for s in simulator.trace if s.startswith("clean-up: delete CustomModelDeploy")]
    assert deleted, simulator.trace


def test_a_replaced_deployment_is_a_rollout(synth):
    """Any change of a deployment's properties makes a new one (a new ARN under the same
    logical id): the router publishes a new version, which CodeDeploy shifts to."""
    base = synth(shipped(), "staging")
    data = shipped()
    data["environments"]["staging"]["tags"]["cost-center"] = "genai-research"
    head = synth(data, "staging")
    simulator = simulate(base, head, "staging")
    assert_safe(simulator)
    assert shifted(simulator)


def test_without_the_replacement_key_a_replaced_deployment_is_an_outage(synth, monkeypatch):
    """The replay can fail: a replacement the template does not show, with the key left
    out of the router's version, leaves v3's only version calling a deleted deployment."""
    original = model_alias_module.ModelAlias.__init__

    def without_key(self, scope, construct_id, *, model_version, **kwargs):
        model_version = __import__("dataclasses").replace(model_version, purchase_key=None)
        original(self, scope, construct_id, model_version=model_version, **kwargs)

    monkeypatch.setattr(model_alias_module.ModelAlias, "__init__", without_key)
    monkeypatch.setattr(model_alias_module, "GRANTS_DIGEST_LENGTH", 15)  # a new cache entry
    base = synth(shipped(), "staging")
    data = shipped()
    data["environments"]["staging"]["tags"]["cost-center"] = "genai-research"
    head = synth(data, "staging")
    simulator = simulate(base, head, "staging")
    assert any("custom model deployment" in str(v) for v in simulator.violations), [
        str(v) for v in simulator.violations
    ]


def test_taking_the_customization_to_prod_deploys_its_job_role_before_its_model(synth, tmp_path):
    """prod added to the customization's environments: validate passes while the job
    has not run there (live serves v2 in prod); the prod stack makes the job role, and
    neither a deployment nor a grant of v3 until the lock records prod's model."""
    import json
    import shutil

    import yaml

    from bedrock_lifecycle.config import load_lifecycle
    from tests.conftest import FIXED_TODAY, ROOT

    data = shipped()
    data["custom_models"]["summarizer-lite"]["customization"]["environments"] = [
        "staging",
        "prod",
    ]
    shutil.copytree(ROOT / "evals", tmp_path / "evals")
    (tmp_path / "lifecycle.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    shutil.copy(ROOT / "lifecycle.lock", tmp_path / "lifecycle.lock")
    load_lifecycle(tmp_path / "lifecycle.yaml", clock=lambda: FIXED_TODAY)  # raises if refused
    head = synth(data)
    assert deployments(head) == []
    roles = [lid for lid, r in head["Resources"].items() if lid.startswith("Customizations")]
    assert any(head["Resources"][lid]["Type"] == "AWS::IAM::Role" for lid in roles)
    assert "custom-model-deployment" not in json.dumps(head)
    assert simulate(synth(shipped()), head).violations == []
