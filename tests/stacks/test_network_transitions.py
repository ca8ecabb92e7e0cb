"""``network:`` changes as deploys: base -> head and every rollback, in one stack and
in an environment split into several (the main stack, which holds the endpoints,
finishes before any alias stack starts).

A Lambda version snapshots its VPC configuration; the replay
(:mod:`tests.support.rollout_simulator`) checks at every step that each version
receiving traffic inside a VPC has Lambda's VPC access on its role and an
endpoint admitting its security groups for each service a router calls. The
one-deploy removal the lock refuses (tests/config/test_network_moves.py) is
shown to be the outage it is; the two deploys it asks for are not.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bedrock_lifecycle.config import load_lifecycle
from bedrock_lifecycle.config import stack_groups as stack_groups_module
from bedrock_lifecycle.config.lockfile import Lock, updated_lock
from bedrock_lifecycle.config.stack_groups import StackSizes
from tests.conftest import FIXED_TODAY
from tests.stacks.test_rollout_transitions import assert_safe, shipped, simulate, synth
from tests.stacks.test_stack_split import family
from tests.stacks.test_stack_split import synth as synth_split
from tests.support.rollout_simulator import replay_environment

__all__ = ["synth"]  # the module fixture, shared with the rollout transitions
pytestmark = pytest.mark.synth

MAIN = "BedrockLifecycle-prod"
NET = {
    "vpc_id": "vpc-0a1b2c3d4e5f60718",
    "subnet_ids": ["subnet-0a1b2c3d4e5f60711", "subnet-0a1b2c3d4e5f60722"],
    "security_group_ids": ["sg-0a1b2c3d4e5f60733"],
    "create_endpoints": True,
    "route_table_ids": ["rtb-0a1b2c3d4e5f60744"],
}
OTHER_SG = "sg-0a1b2c3d4e5f60799"
# Another VPC has subnets and security groups of its own (EC2 scopes both to a VPC).
OTHER_VPC = {
    **NET,
    "vpc_id": "vpc-0a1b2c3d4e5f60719",
    "subnet_ids": ["subnet-0a1b2c3d4e5f60788"],
    "security_group_ids": [OTHER_SG],
    "route_table_ids": ["rtb-0a1b2c3d4e5f60789"],
}


def with_network(data: dict[str, Any], network: dict[str, Any] | None) -> dict[str, Any]:
    data = copy.deepcopy(data)
    data["environments"]["prod"].pop("network", None)
    if network is not None:
        data["environments"]["prod"]["network"] = network
    return data


# -- one stack (the shipped prod) ---------------------------------------------------------


def test_adding_the_network_to_a_deployed_stack(synth):
    base = synth(with_network(shipped(), None))
    assert_safe(simulate(base, synth(with_network(shipped(), NET))))


@pytest.mark.parametrize(
    "head",
    [None, OTHER_VPC, {**NET, "security_group_ids": [OTHER_SG]}],
    ids=["removed", "vpc-changed", "security-groups-swapped"],
)
def test_one_stack_takes_any_network_change_in_one_deploy(synth, head):
    """In one stack, what a serving version needs goes in the clean-up, after every alias
    has moved: the VpcAccess policy, the endpoints and their ingress (the lock refuses
    these changes in a split environment only)."""
    assert_safe(simulate(synth(with_network(shipped(), NET)), synth(with_network(shipped(), head))))


def test_vpc_access_changed_on_the_roles_would_cut_the_old_version_off(synth, monkeypatch):
    """The oracle sees what the VpcAccess policy prevents: AWS's policy on each role goes
    with the role's update, before the aliases move, and a rollback restores the role
    before the alias that moved."""
    from aws_cdk import aws_iam as iam

    from bedrock_lifecycle.constructs import function as function_module

    def on_the_role(role, function=None):
        role.add_managed_policy(
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "service-role/AWSLambdaVPCAccessExecutionRole"
            )
        )

    monkeypatch.setattr(function_module, "attach_vpc_access", on_the_role)
    data = shipped()
    # Another file than the other tests' (their templates are cached by file text).
    data["environments"]["prod"]["tags"]["vpc-access"] = "on-the-role"
    base = synth(with_network(data, None))
    simulator = simulate(base, synth(with_network(data, NET)))
    problems = {v.problem for v in simulator.violations}
    assert "runs in a VPC under a role that may not manage its network interfaces" in problems


def test_removing_the_network_in_two_deploys(synth):
    inside = synth(with_network(shipped(), NET))
    outside = synth(with_network(shipped(), {**NET, "functions_in_vpc": False}))
    gone = synth(with_network(shipped(), None))
    assert_safe(simulate(inside, outside))
    assert_safe(simulate(outside, gone))


def test_the_functions_moving_out_keep_the_endpoints_and_vpc_access(synth):
    outside = synth(with_network(shipped(), {**NET, "functions_in_vpc": False}))
    resources = outside["Resources"].values()
    assert not [r for r in resources if "VpcConfig" in r.get("Properties", {})]
    assert [r for r in resources if r["Type"] == "AWS::EC2::VPCEndpoint"]
    # Every function's role keeps Lambda's VPC access through the stack's policy: ours
    # and the provider framework's (aws-cdk-lib attaches AWS's only to functions in a VPC).
    functions = [r for r in resources if r["Type"] == "AWS::Lambda::Function"]
    roles = {f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions}
    (policy,) = [
        r
        for lid, r in outside["Resources"].items()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and lid.startswith("VpcAccess")
    ]
    assert {role["Ref"] for role in policy["Properties"]["Roles"]} == roles
    assert "AWSLambdaVPCAccessExecutionRole" not in json.dumps(outside)


# -- an environment of several stacks ---------------------------------------------------


# Templates by the whole history of commits that led to them: the lock, and so the
# stacks' placement, depends on every commit before. Several tests start the same way.
_BUILT: dict[tuple[tuple[str, str], ...], str] = {}


@pytest.fixture
def split_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Synthesize the 4-family environment (2 aliases a stack) with a ``network:``;
    each call is one commit, its lock written from the one before (a history already
    synthesized by another test is not synthesized again)."""
    import bedrock_lifecycle.app as app_module

    monkeypatch.setattr(app_module, "register_control_tower", lambda app: None)
    monkeypatch.setattr(stack_groups_module, "DEFAULT_SIZES", StackSizes(main=2, group=2))
    (tmp_path / "golden.jsonl").write_text(
        json.dumps(
            {
                "id": "one",
                "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                "checks": {"contains": ["hi"]},
            }
        )
        + "\n"
    )
    count = iter(range(100))
    history: list[tuple[str, str]] = []

    def build(network: dict[str, Any] | None, *, version: str = "v1") -> dict[str, Any]:
        env: dict[str, Any] = {
            "account": "111111111111",
            "region": "us-east-1",
            "rollout": {"strategy": "canary", "percent": 10, "interval_minutes": 5},
        }
        if network is not None:
            env["network"] = network
        families = {f"family-{i}": family(i) for i in range(4)}
        for body in families.values():
            v1 = body["versions"]["v1"]
            body["versions"]["v2"] = {**v1, "inference": {"max_tokens": 1000}}
            body["aliases"]["live"]["version"] = version
        path = tmp_path / "lifecycle.yaml"
        path.write_text(
            json.dumps(
                {
                    "schema_version": 1,
                    "project": "net",
                    "environments": {"prod": env},
                    "families": families,
                }
            )
        )
        config = load_lifecycle(path, check_lock_file=False, clock=lambda: FIXED_TODAY)
        lock_path = tmp_path / "lifecycle.lock"
        lock, _ = updated_lock(config.file, Lock.read(lock_path))
        lock_path.write_text(lock.render())
        history.append((json.dumps(network, sort_keys=True), version))
        key = tuple(history)
        if key not in _BUILT:
            _BUILT[key] = json.dumps(synth_split(path, tmp_path / f"out{next(count)}"))
        return json.loads(_BUILT[key])

    return build


def replay(base: dict[str, Any], head: dict[str, Any]) -> list[str]:
    return [str(v) for v in replay_environment(base, head, main=MAIN, account="111111111111")]


def test_a_split_environment_serves_in_the_vpc_from_its_alias_stacks(split_env):
    head = split_env(NET)
    assert set(head) == {MAIN, f"{MAIN}-Aliases1", f"{MAIN}-Environment"}
    alias_stack = head[f"{MAIN}-Aliases1"]["Resources"].values()
    functions = [r for r in alias_stack if r["Type"] == "AWS::Lambda::Function"]
    # Two routers and the stack's continuous evaluator, all in the VPC.
    assert len(functions) == 3
    assert all(f["Properties"]["VpcConfig"]["SubnetIds"] == NET["subnet_ids"] for f in functions)
    # The replay sees them: a rollout of every alias in the VPC, and nothing missing.
    assert replay(head, split_env(NET, version="v2")) == []


def test_adding_the_network_to_a_split_environment(split_env):
    assert replay(split_env(None), split_env(NET)) == []


def test_removing_the_network_of_a_split_environment_in_one_deploy_is_an_outage(split_env):
    """The main stack's clean-up deletes the endpoints before the alias stacks move
    their routers out: their versions in the VPC serve without a way to Bedrock."""
    problems = replay(split_env(NET), split_env(None))
    assert any(
        "Aliases1, while BedrockLifecycle-prod updates: clean-up" in p
        and "cannot reach bedrock-runtime" in p
        for p in problems
    ), problems


def test_removing_the_network_of_a_split_environment_in_two_deploys(split_env):
    inside = split_env(NET)
    outside = split_env({**NET, "functions_in_vpc": False})
    gone = split_env(None)
    assert replay(inside, outside) == []
    assert replay(outside, gone) == []


def test_changing_the_vpc_of_a_split_environment(split_env):
    """The old VPC's endpoints go in the main stack's clean-up, while the alias stacks'
    old versions still serve there: two deploys, the functions out first."""
    inside = split_env(NET)
    assert any("cannot reach bedrock-runtime" in p for p in replay(inside, split_env(OTHER_VPC)))
    outside = split_env({**NET, "functions_in_vpc": False})
    assert replay(inside, outside) == []
    assert replay(outside, split_env(OTHER_VPC)) == []


def test_the_replay_tells_the_vpcs_apart(split_env):
    """The mutation: with every version taken to be in no known VPC, a one-deploy VPC
    change would pass; the oracle catches it by the VPC of each version's subnets. The
    head keeps the old security group ids (impossible in EC2, which scopes groups to a
    VPC) so that only the VPC tells the endpoints apart."""
    import tests.support.rollout_simulator as simulator

    inside = split_env(NET)
    moved = split_env({**OTHER_VPC, "security_group_ids": NET["security_group_ids"]})
    original = simulator.Simulator.vpc_of
    try:
        simulator.Simulator.vpc_of = lambda self, subnets: None  # type: ignore[method-assign]
        assert replay(inside, moved) == []
    finally:
        simulator.Simulator.vpc_of = original  # type: ignore[method-assign]
    assert replay(inside, moved) != []


def test_swapping_security_groups_in_a_split_environment(split_env):
    before = split_env(NET)
    swapped = split_env({**NET, "security_group_ids": [OTHER_SG]})
    # In one deploy: the main stack's ingress from the old group goes first.
    assert any("cannot reach" in p for p in replay(before, swapped))
    # One deploy at a time (what the lock asks for): both, then the new one.
    both = split_env({**NET, "security_group_ids": [*NET["security_group_ids"], OTHER_SG]})
    last = split_env({**NET, "security_group_ids": [OTHER_SG]})
    assert replay(before, both) == []
    assert replay(both, last) == []
