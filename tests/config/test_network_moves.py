"""A change of ``network:`` judged against the lock written before it (the deployed
state): what would take the VPC from versions still serving in it is refused, by
``validate`` and by ``lock``, with the two deploys that make it safe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bedrock_lifecycle.cli import main
from bedrock_lifecycle.config import Lock
from bedrock_lifecycle.config import stack_groups as stack_groups_module
from bedrock_lifecycle.config.stack_groups import StackSizes

NET = {
    "vpc_id": "vpc-0a1b2c3d4e5f60718",
    "subnet_ids": ["subnet-0a1b2c3d4e5f60711"],
    "security_group_ids": ["sg-0a1b2c3d4e5f60733"],
    "create_endpoints": True,
    "route_table_ids": ["rtb-0a1b2c3d4e5f60744"],
}
OTHER_SG = "sg-0a1b2c3d4e5f60799"


def family() -> dict[str, Any]:
    return {
        "versions": {"v1": {"target": {"foundation_model": "amazon.nova-pro-v1:0"}}},
        "aliases": {"live": {"version": "v1"}},
    }


def body(network: dict[str, Any] | None) -> dict[str, Any]:
    env: dict[str, Any] = {"account": "111111111111", "region": "us-east-1"}
    if network is not None:
        env["network"] = network
    return {
        "schema_version": 1,
        "project": "net",
        "environments": {"prod": env},
        # Three aliases: two stacks at 2 aliases a stack (``split``).
        "families": {f"family-{i}": family() for i in range(3)},
    }


def write(folder: Path, network: dict[str, Any] | None) -> str:
    path = folder / "lifecycle.yaml"
    path.write_text(json.dumps(body(network)))
    return str(path)


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture
def split(monkeypatch: pytest.MonkeyPatch) -> None:
    """2 aliases a stack: the file's environment spans two stacks."""
    monkeypatch.setattr(stack_groups_module, "DEFAULT_SIZES", StackSizes(main=2, group=2))


@pytest.fixture
def deployed(tmp_path: Path, capsys, split) -> Path:
    """A split environment with ``NET`` and its lock, as after a deploy."""
    assert run(capsys, "lock", write(tmp_path, NET))[0] == 0
    assert Lock.read(tmp_path / "lifecycle.lock").alias_stacks == {"prod": 1}  # type: ignore[union-attr]
    return tmp_path


def test_the_lock_records_where_the_functions_are(deployed: Path):
    lock = Lock.read(deployed / "lifecycle.lock")
    assert lock is not None and lock.networks == {
        "prod": {
            "vpc_id": NET["vpc_id"],
            "security_group_ids": NET["security_group_ids"],
            "functions_in_vpc": True,
            "create_endpoints": True,
        }
    }


@pytest.mark.parametrize(
    ("network", "where", "says"),
    [
        (None, "environments.prod.network", "removed while lifecycle.lock records the functions"),
        (
            {**NET, "vpc_id": "vpc-0a1b2c3d4e5f60719"},
            "environments.prod.network.vpc_id",
            "vpc-0a1b2c3d4e5f60719: lifecycle.lock records the functions in vpc-0a1b2c3d4e5f60718",
        ),
        (
            {**NET, "security_group_ids": [OTHER_SG]},
            "environments.prod.network.security_group_ids",
            f"{OTHER_SG}: none of the security groups lifecycle.lock records",
        ),
        # The first deploy moves the functions out and changes nothing else.
        (
            {**NET, "functions_in_vpc": False, "vpc_id": "vpc-0a1b2c3d4e5f60719"},
            "environments.prod.network.vpc_id",
            "vpc-0a1b2c3d4e5f60719: lifecycle.lock records the functions in vpc-0a1b2c3d4e5f60718",
        ),
        (
            {**NET, "functions_in_vpc": False, "security_group_ids": [OTHER_SG]},
            "environments.prod.network.security_group_ids",
            f"{OTHER_SG}: none of the security groups lifecycle.lock records",
        ),
        (
            {**NET, "create_endpoints": False, "route_table_ids": []},
            "environments.prod.network.create_endpoints",
            "false: lifecycle.lock records the functions in vpc-0a1b2c3d4e5f60718 with these "
            "endpoints",
        ),
        (
            {**NET, "functions_in_vpc": False, "create_endpoints": False, "route_table_ids": []},
            "environments.prod.network.create_endpoints",
            "false: lifecycle.lock records the functions in vpc-0a1b2c3d4e5f60718 with these "
            "endpoints",
        ),
    ],
    ids=[
        "removed",
        "vpc-changed",
        "security-groups-swapped",
        "out-and-vpc-changed",
        "out-and-security-groups-swapped",
        "endpoints-dropped",
        "out-and-endpoints-dropped",
    ],
)
def test_taking_the_vpc_away_in_one_deploy_is_refused(
    deployed: Path, capsys, network, where: str, says: str
):
    path = write(deployed, network)
    lock_before = (deployed / "lifecycle.lock").read_text()
    for command in ("lock", "validate"):
        code, out = run(capsys, command, path)
        assert code == 2, out
        lines = [line for line in out.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith(f"{path}: {where}: "), out
        assert says in lines[0] and "Traceback" not in out
        if "security groups" not in says:
            assert "set network.functions_in_vpc: false, lock and deploy" in lines[0]
    # Nothing half written.
    assert (deployed / "lifecycle.lock").read_text() == lock_before


@pytest.mark.parametrize(
    "network",
    [None, {**NET, "vpc_id": "vpc-0a1b2c3d4e5f60719"}, {**NET, "security_group_ids": [OTHER_SG]}],
    ids=["removed", "vpc-changed", "security-groups-swapped"],
)
def test_one_stack_takes_them_in_one_deploy(tmp_path: Path, capsys, network):
    """Replayed safe in tests/stacks/test_network_transitions.py."""
    assert run(capsys, "lock", write(tmp_path, NET))[0] == 0
    assert Lock.read(tmp_path / "lifecycle.lock").alias_stacks is None  # type: ignore[union-attr]
    path = write(tmp_path, network)
    assert run(capsys, "lock", path)[0] == 0
    assert run(capsys, "validate", path)[0] == 0


def test_the_two_deploys_are_accepted(deployed: Path, capsys):
    # 1: the functions leave the VPC; endpoints and VPC access stay.
    path = write(deployed, {**NET, "functions_in_vpc": False})
    assert run(capsys, "lock", path)[0] == 0
    assert run(capsys, "validate", path)[0] == 0
    # 2: the network goes.
    path = write(deployed, None)
    assert run(capsys, "lock", path)[0] == 0
    assert run(capsys, "validate", path)[0] == 0
    assert Lock.read(deployed / "lifecycle.lock").networks is None  # type: ignore[union-attr]


def test_security_groups_change_one_deploy_at_a_time(deployed: Path, capsys):
    both = [*NET["security_group_ids"], OTHER_SG]
    assert run(capsys, "lock", write(deployed, {**NET, "security_group_ids": both}))[0] == 0
    assert run(capsys, "lock", write(deployed, {**NET, "security_group_ids": [OTHER_SG]}))[0] == 0


def test_adding_a_network_or_changing_subnets_is_one_deploy(tmp_path: Path, capsys):
    assert run(capsys, "lock", write(tmp_path, None))[0] == 0
    assert run(capsys, "lock", write(tmp_path, NET))[0] == 0
    moved = {**NET, "subnet_ids": ["subnet-0a1b2c3d4e5f60722"]}
    assert run(capsys, "lock", write(tmp_path, moved))[0] == 0


def test_dropping_the_endpoints_after_the_functions_left_is_accepted(deployed: Path, capsys):
    path = write(deployed, {**NET, "functions_in_vpc": False})
    assert run(capsys, "lock", path)[0] == 0
    path = write(
        deployed,
        {**NET, "functions_in_vpc": False, "create_endpoints": False, "route_table_ids": []},
    )
    assert run(capsys, "lock", path)[0] == 0


def test_a_stale_record_asks_for_the_lock(deployed: Path, capsys):
    path = write(deployed, {**NET, "security_group_ids": [*NET["security_group_ids"], OTHER_SG]})
    code, out = run(capsys, "validate", path)
    assert code == 2
    assert out.strip() == (
        f"{path}: environments.prod.network: lifecycle.lock does not record this network "
        "as declared; run `bedrock-lifecycle lock` and commit the lock with it"
    )


@pytest.mark.parametrize(
    "record",
    [
        {"vpc_id": "vpc-1"},
        {"vpc_id": 1, "security_group_ids": [], "functions_in_vpc": True, "create_endpoints": 0},
        "vpc-1",
    ],
)
def test_a_malformed_network_record_is_refused(deployed: Path, capsys, record):
    lock_path = deployed / "lifecycle.lock"
    data = json.loads(lock_path.read_text())
    data["networks"] = {"prod": record}
    lock_path.write_text(json.dumps(data))
    code, out = run(capsys, "validate", str(deployed / "lifecycle.yaml"))
    assert code == 2 and '"networks" must map environment to' in out, out
    assert len(out.strip().splitlines()) == 1
