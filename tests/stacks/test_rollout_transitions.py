"""A template is one step of a deploy: replay base -> head and every rollback.

Each case synthesizes one environment of two lifecycle files (the deployed one
and the pull request's) and runs :mod:`tests.support.rollout_simulator` over
the pair: at every step of CloudFormation's update, of CodeDeploy's shift and
of each rollback, every Lambda version that receives traffic must be allowed
to call what its ``ROUTER_CONFIG`` names, under the role's policy as it stands
then. One case reverts the grant rule and shows the simulator catching the
outage that the rule prevents.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bedrock_lifecycle.config import load_lifecycle, semantic
from bedrock_lifecycle.config.lockfile import Lock
from bedrock_lifecycle.constructs import model_alias as model_alias_module
from bedrock_lifecycle.stacks import LifecycleStack
from tests.conftest import FIXED_TODAY, ROOT, new_app
from tests.support.rollout_simulator import Simulator, allows, topological

SONNET_PROFILE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
HAIKU_PROFILE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"
ACCOUNTS = {
    "prod": ("222222222222", "us-east-1"),
    "staging": ("111111111111", "us-east-1"),
    "dev": ("123456789012", "eu-west-1"),
}
PROMPT = (
    "You summarize customer support tickets in at most five sentences. "
    "Keep product names and error codes verbatim."
)


def shipped() -> dict[str, Any]:
    # Its golden prompts stay relative: the synth fixture copies evals/ beside each file.
    return yaml.safe_load((ROOT / "lifecycle.yaml").read_text())


def _chat(target: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "target": target,
        "inference": {"max_tokens": 512, "temperature": 0.2},
        "system_prompt": PROMPT,
        **extra,
    }


def with_v3(data: dict[str, Any]) -> dict[str, Any]:
    """The issue's move: add summarizer/v3 (Sonnet 4.5 through the US profile)."""
    data = copy.deepcopy(data)
    data["families"]["summarizer"]["versions"]["v3"] = _chat(
        {"inference_profile": SONNET_PROFILE}, description="Claude Sonnet 4.5"
    )
    return data


def every_kind(data: dict[str, Any]) -> dict[str, Any]:
    """Summarizer versions on every target kind, two guardrails, beside v1-v3."""
    data = with_v3(data)
    versions = data["families"]["summarizer"]["versions"]
    versions["v4"] = _chat(
        {"inference_profile": HAIKU_PROFILE}, guardrail={"id": "gr4aaaaaaaaa", "version": "1"}
    )
    versions["v5"] = _chat(
        {"inference_profile": HAIKU_PROFILE}, guardrail={"id": "gr5bbbbbbbbb", "version": "2"}
    )
    versions["v6"] = _chat(
        {
            "custom_model_deployment": (
                "arn:aws:bedrock:us-east-1:222222222222:custom-model-deployment/tuned1234567"
            )
        }
    )
    versions["v7"] = _chat(
        {
            "application_inference_profile": (
                "arn:aws:bedrock:us-east-1:222222222222:application-inference-profile/app12345"
            ),
            "model": HAIKU,
        }
    )
    return data


def positions(data: dict[str, Any], live: str, pinned: str, assistant: str) -> dict[str, Any]:
    data = copy.deepcopy(data)
    aliases = data["families"]["summarizer"]["aliases"]
    aliases["live"]["version"] = live
    aliases["pinned-v1"]["version"] = pinned
    data["families"]["assistant"]["aliases"]["live"]["environment_versions"] = {"prod": assistant}
    return data


def without_throughput(data: dict[str, Any]) -> dict[str, Any]:
    """The file before the prod throughput was bought."""
    data = copy.deepcopy(data)
    del data["provisioned_throughputs"]
    assistant = data["families"]["assistant"]
    del assistant["versions"]["v1-pt"]
    assistant["aliases"]["live"].pop("environment_versions")
    return data


@functools.cache
def _synth(text: str, environment: str, folder: str, variant: tuple) -> str:
    """One synth per file, environment and variant (what a test monkeypatched)."""
    path = Path(folder) / f"{abs(hash((text, environment, variant)))}.yaml"
    path.write_text(text)
    config = load_lifecycle(path, check_lock_file=False, clock=lambda: FIXED_TODAY)
    # The models the shipped lock records for its custom models (customize status).
    recorded = Lock.read(ROOT / "lifecycle.lock")
    assert recorded is not None
    config = dataclasses.replace(
        config, lock=Lock(versions={}, custom_models=recorded.custom_models)
    )
    app = new_app(Path(folder) / f"out-{path.stem}")
    stack = LifecycleStack(
        app, f"BedrockLifecycle-{environment}", config=config, environment=environment
    )
    return json.dumps(app.synth().get_stack_by_name(stack.stack_name).template)


# One folder per test process: every module replaying transitions shares the synths
# (_synth is cached by file text, environment, folder and variant).
_FOLDER: list[str] = []


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    if not _FOLDER:
        _FOLDER.append(str(tmp_path_factory.mktemp("transitions")))
        shutil.copytree(ROOT / "evals", Path(_FOLDER[0]) / "evals")
    folder = _FOLDER[0]

    def run(data: dict[str, Any], environment: str = "prod") -> dict[str, Any]:
        # What a test took away, by name: a cached template of another variant is never reused.
        variant = (
            getattr(semantic.granted_versions, "__name__", "?"),
            getattr(semantic.granted_versions, "__module__", "?"),
            model_alias_module.GRANTS_DIGEST_LENGTH,
        )
        text = yaml.safe_dump(data, sort_keys=False)
        return json.loads(_synth(text, environment, folder, variant))

    return run


def simulate(base: dict | None, head: dict, environment: str = "prod") -> Simulator:
    account, region = ACCOUNTS[environment]
    simulator = Simulator(base, head, account=account, region=region)
    simulator.run()
    return simulator


def assert_safe(simulator: Simulator) -> None:
    assert simulator.steps > 10, "the replay checked almost nothing"
    assert [str(v) for v in simulator.violations] == []


# -- the oracle itself -------------------------------------------------------------------------


def test_the_evaluator_allows_exact_and_wildcard_matches_and_honours_deny():
    arn = "arn:aws:bedrock:us-east-1::foundation-model/m"
    allow = {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": arn}
    assert allows([allow], "bedrock:InvokeModel", arn)
    assert allows([allow], "Bedrock:invokemodel", arn)  # actions are case-insensitive
    assert not allows([allow], "bedrock:InvokeModel", arn + "2")
    assert allows(
        [{**allow, "Resource": "arn:aws:bedrock:*::foundation-model/*"}], "bedrock:InvokeModel", arn
    )
    assert allows([{**allow, "Action": "bedrock:Invoke*"}], "bedrock:InvokeModel", arn)
    assert not allows([allow, {**allow, "Effect": "Deny"}], "bedrock:InvokeModel", arn)
    # Conditions are not modelled: such a statement grants nothing here.
    assert not allows(
        [{**allow, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}],
        "bedrock:InvokeModel",
        arn,
    )


def test_the_replay_orders_dependencies_first(synth):
    template = synth(shipped())
    order = topological(template)
    resources = template["Resources"]
    alias = next(k for k, v in resources.items() if v["Type"] == "AWS::Lambda::Alias")
    for dependency in resources[alias].get("DependsOn", []):
        assert order.index(dependency) < order.index(alias)


def test_a_version_losing_its_model_mid_canary_is_caught():
    """A hand-made pair: the policy names only the new model while the old version serves."""
    old_arn = "arn:aws:bedrock:us-east-1::foundation-model/old"
    new_arn = "arn:aws:bedrock:us-east-1::foundation-model/new"

    def template(arn: str, version_id: str) -> dict:
        config = {"version_id": version_id, "model_arn": arn, "model_id": arn, "guardrail": None}
        return {
            "Resources": {
                "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
                "Policy": {
                    "Type": "AWS::IAM::Policy",
                    "Properties": {
                        "Roles": [{"Ref": "Role"}],
                        "PolicyDocument": {
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "bedrock:InvokeModel",
                                    "Resource": arn,
                                }
                            ]
                        },
                    },
                },
                "Fn": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                        "Environment": {"Variables": {"ROUTER_CONFIG": json.dumps(config)}},
                    },
                    "DependsOn": ["Policy"],
                },
                f"Version{version_id}": {
                    "Type": "AWS::Lambda::Version",
                    "Properties": {"FunctionName": {"Ref": "Fn"}},
                },
                "Alias": {
                    "Type": "AWS::Lambda::Alias",
                    "Properties": {
                        "FunctionName": {"Ref": "Fn"},
                        "FunctionVersion": {"Fn::GetAtt": [f"Version{version_id}", "Version"]},
                    },
                },
            }
        }

    simulator = Simulator(template(old_arn, "a"), template(new_arn, "b"))
    violations = simulator.run()
    assert violations, "the simulator must see the old version cut off"
    first = violations[0]
    assert first.step == "update Policy"
    assert (first.version, first.weight) == ("1", 100)
    assert first.problem == f"may not bedrock:InvokeModel {old_arn} (a)"
    assert any(v.step.startswith("rollback at 'CodeDeploy shifts Alias") for v in violations)


# -- the shipped example's v2 -> v3 move ---------------------------------------------------------


def test_the_shipped_v2_to_v3_move_keeps_the_old_versions_access(synth):
    head = synth(positions(with_v3(shipped()), "v3", "v1", "v1-pt"))
    policy = next(
        resource["Properties"]["PolicyDocument"]["Statement"]
        for lid, resource in head["Resources"].items()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
        and lid.startswith("AliasesSummarizerLiveGrants")
    )
    (invoke,) = [s for s in policy if s.get("Sid") == "InvokeTheFamilysVersions"]
    resources = set(invoke["Resource"])
    for profile, model in ((HAIKU_PROFILE, HAIKU), (SONNET_PROFILE, SONNET_PROFILE[3:])):
        assert f"arn:aws:bedrock:us-east-1:222222222222:inference-profile/{profile}" in resources
        for region in ("us-east-1", "us-east-2", "us-west-2"):
            assert f"arn:aws:bedrock:{region}::foundation-model/{model}" in resources
    assert not any("*" in arn for arn in resources)


@pytest.mark.parametrize("environment", ["prod", "dev"])
def test_the_shipped_v2_to_v3_move_and_its_rollbacks_keep_every_serving_version_working(
    synth, environment
):
    base = synth(shipped(), environment)
    head = synth(positions(with_v3(shipped()), "v3", "v1", "v1-pt"), environment)
    assert_safe(simulate(base, head, environment))


def only_the_served_version(file, family, environment) -> tuple:
    """The grant rule taken away: no standby version (monkeypatched in)."""
    return ()


def _v2_to_v3(synth) -> Simulator:
    base = synth(shipped())
    head = synth(positions(with_v3(shipped()), "v3", "v1", "v1-pt"))
    return simulate(base, head)


HAIKU_PROFILE_ARN = f"arn:aws:bedrock:us-east-1:222222222222:inference-profile/{HAIKU_PROFILE}"


def test_with_the_grant_rule_reverted_the_v2_to_v3_move_is_an_outage(synth, monkeypatch):
    """Today's main: only the version served is granted, in a policy updated in place."""
    monkeypatch.setattr(semantic, "granted_versions", only_the_served_version)
    monkeypatch.setattr(model_alias_module, "GRANTS_DIGEST_LENGTH", 0)
    violations = _v2_to_v3(synth).violations
    cut_off = [v for v in violations if HAIKU_PROFILE_ARN in v.problem and v.weight > 0]
    # From the policy update on, before the alias moves, version 1 serving 100 % ...
    assert any(
        v.step.startswith("update AliasesSummarizerLiveGrants") and v.weight == 100 for v in cut_off
    )
    # ... and through the canary, with 90 % of requests still on it.
    assert any(
        v.step.startswith("CodeDeploy shifts AliasesSummarizerLive") and v.weight == 90
        for v in cut_off
    )


def test_grants_updated_in_place_cut_off_a_new_version_while_another_alias_rolls_back(
    synth, monkeypatch
):
    """Why each grant set is a new policy: the family rule alone is not enough.

    summarizer/live is already on v3 when pinned-v1's rollout fails; CloudFormation
    restores the base policy (no v3) before it puts live back on v2.
    """
    monkeypatch.setattr(model_alias_module, "GRANTS_DIGEST_LENGTH", 0)
    violations = _v2_to_v3(synth).violations
    sonnet = "inference-profile/" + SONNET_PROFILE
    assert any(
        sonnet in v.problem
        and v.weight == 100
        and "rollback: restore AliasesSummarizerLiveGrants" in v.step
        for v in violations
    )


def test_new_grant_policies_alone_keep_the_old_version_served(synth, monkeypatch):
    """Without the family rule, the old policy's life until the clean-up still covers it."""
    monkeypatch.setattr(semantic, "granted_versions", only_the_served_version)
    assert_safe(_v2_to_v3(synth))


def _as_main_wrote_it(template: dict) -> dict:
    """The template of the package before grants had their own policy: in the default one."""
    template = copy.deepcopy(template)
    resources = template["Resources"]
    for lid in [
        k for k in resources if "Grants" in k and resources[k]["Type"] == "AWS::IAM::Policy"
    ]:
        grants = resources.pop(lid)
        default = next(
            r
            for k, r in resources.items()
            if r["Type"] == "AWS::IAM::Policy"
            and "DefaultPolicy" in k
            and r["Properties"]["Roles"] == grants["Properties"]["Roles"]
        )
        default["Properties"]["PolicyDocument"]["Statement"] += grants["Properties"][
            "PolicyDocument"
        ]["Statement"]
        for resource in resources.values():
            if isinstance(resource.get("DependsOn"), list) and lid in resource["DependsOn"]:
                resource["DependsOn"].remove(lid)
    return template


def test_the_first_deploy_after_upgrading_moves_grants_without_a_gap(synth, monkeypatch):
    monkeypatch.setattr(semantic, "granted_versions", only_the_served_version)
    base = _as_main_wrote_it(synth(shipped()))
    monkeypatch.undo()
    head = synth(positions(with_v3(shipped()), "v3", "v1", "v1-pt"))
    assert_safe(simulate(base, head))


# -- every pair of versions the example allows to move between -----------------------------------

STATES = {
    "shipped": ("v2", "v1", "v1-pt"),
    "a": ("v3", "v2", "v1"),
    "b": ("v1", "v3", "v1-pt"),
    "guardrail": ("v4", "v6", "v1"),  # onto a guardrail; pinned onto a custom deployment
    "other-guardrail": ("v5", "v7", "v1-pt"),  # another guardrail; an application profile
}
# Each state moves every alias, so a cycle through them covers every ordered pair of
# live's v1, v2 and v3 (and pinned-v1's, and assistant's throughput and model) as a
# deploy or as its rollback.
PAIRS = [
    ("shipped", "a"),
    ("a", "b"),
    ("b", "shipped"),
    ("shipped", "guardrail"),
    ("guardrail", "other-guardrail"),
    ("other-guardrail", "shipped"),
]


@pytest.mark.parametrize(("before", "after"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_every_move_and_its_rollbacks_keep_every_serving_version_working(synth, before, after):
    data = every_kind(shipped())
    base = synth(positions(data, *STATES[before]))
    head = synth(positions(data, *STATES[after]))
    assert_safe(simulate(base, head))


# -- provisioned throughput bought (or kept) in the same deploy ----------------------------------


def test_a_move_onto_a_throughput_bought_in_the_same_deploy_and_its_rollback(synth):
    base = synth(without_throughput(shipped()))
    head = synth(shipped())
    simulator = simulate(base, head)
    assert_safe(simulator)


def test_a_move_off_a_throughput_that_stays_declared(synth):
    base = synth(shipped())
    head = synth(positions(shipped(), "v2", "v1", "v1"))
    assert_safe(simulate(base, head))


def test_dropping_the_throughput_in_the_move_off_it_keeps_it_until_the_clean_up(synth):
    """The throughput and the grants on it go only once the rollout off it has succeeded."""
    base = synth(shipped())
    head = synth(without_throughput(shipped()))
    assert_safe(simulate(base, head))


def test_retiring_the_version_an_alias_moves_off_in_the_same_change(synth):
    base = synth(every_kind(shipped()))
    head = every_kind(shipped())
    head["families"]["summarizer"]["aliases"]["live"]["version"] = "v3"
    head["families"]["summarizer"]["versions"]["v2"]["lifecycle"] = {"state": "retired"}
    head["families"]["summarizer"]["versions"]["v1"]["lifecycle"]["replacement"] = "v3"
    head["families"]["summarizer"]["versions"]["v4"]["lifecycle"] = {"state": "retired"}
    assert_safe(simulate(base, synth(head)))


def test_replacing_the_throughput_a_version_serves_is_a_rollout(synth):
    """More model units buy a new throughput (a new ARN under the same logical id)."""
    base = synth(shipped())
    data = shipped()
    data["provisioned_throughputs"]["assistant"]["model_units"] = 2
    data["provisioned_throughputs"]["assistant"]["allow_replacement"] = True
    head = synth(data)
    simulator = simulate(base, head)
    assert_safe(simulator)
    # The new purchase made a new Lambda version, which CodeDeploy shifted to.
    assert any(
        step.startswith("CodeDeploy shifts AliasesAssistantLive") for step in simulator.trace
    )


def test_codedeploy_may_invoke_the_hooks_only_once_the_alias_waited_for_its_policy(synth):
    """The shared CodeDeploy role's policy changes in this deploy: the alias must wait for it."""
    head = synth(positions(with_v3(shipped()), "v3", "v1", "v1-pt"))
    resources = head["Resources"]
    policy = next(k for k in resources if k.startswith("RolloutsDeploymentRoleDefaultPolicy"))
    base = copy.deepcopy(synth(shipped()))
    base["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"] = []
    assert_safe(simulate(base, head))  # every alias depends on the role and its policy

    unordered = copy.deepcopy(head)
    for resource in unordered["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Alias":
            resource["DependsOn"] = [d for d in resource["DependsOn"] if d != policy]
    violations = simulate(base, unordered).violations
    assert violations and all(
        "CodeDeploy may not lambda:InvokeFunction" in v.problem for v in violations
    )
    assert {v.step.split(" (")[-1] for v in violations} >= {"BeforeAllowTrafficHook)"}


def without_continuous_evaluation(data: dict[str, Any]) -> dict[str, Any]:
    """The file before continuous evaluation: it runs in no environment."""
    data = copy.deepcopy(data)
    for family in data["families"].values():
        if "evaluation" in family:
            family["evaluation"]["continuous"] = {"environments": []}
    return data


def test_adding_continuous_evaluation_and_its_rollback_keep_every_version_serving(synth):
    """The evaluator, its schedules, alarms and dashboard widgets arrive beside serving
    routers (and leave again on a rollback) without touching what they may call."""
    before, after = synth(without_continuous_evaluation(shipped())), synth(shipped())
    added = set(after["Resources"]) - set(before["Resources"])
    assert any(lid.startswith("ContinuousEvaluationFunction") for lid in added)
    assert set(before["Resources"]) <= set(after["Resources"])  # nothing replaced or removed
    assert_safe(simulate(before, after))
    assert_safe(simulate(after, before))
