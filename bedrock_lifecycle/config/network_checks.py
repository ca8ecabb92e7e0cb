"""Checks of ``network:`` across environments and across deploys.

A Lambda version snapshots its function's VPC configuration when it is
published, and keeps serving with it: the old version during a canary, the
version a rollback returns to. In one stack, what those versions need (the
endpoints, their ingress rules, the ``VpcAccess`` policy) goes in the clean-up,
after every alias has moved. In an environment split into several stacks the
main stack, which holds the endpoints, finishes, clean-up included, before any
alias stack starts. So there, a change that takes the VPC, its endpoints or a
security group's way to them from the deployed functions is made in two
deploys (docs/networking.md):

1. ``functions_in_vpc: false``: the functions leave the VPC; the endpoints and
   the roles' VPC access stay for the versions still serving in it.
2. then remove ``network:`` or change ``vpc_id``.

The lock records where each environment's functions were placed
(:func:`network_record`); :func:`network_moves` refuses a file that skips the
first deploy, and asks for ``bedrock-lifecycle lock`` when the record is stale.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from .problems import Problem
from .schema import LifecycleFile, NetworkSettings


class RecordedLock(Protocol):
    """What :func:`network_moves` reads of a lock (``lockfile.Lock``, which imports this
    module, so it is named by shape here)."""

    @property
    def networks(self) -> Mapping[str, Mapping[str, Any]] | None: ...

    @property
    def alias_stacks(self) -> Mapping[str, Any] | None: ...


RECORD_KEYS = ("vpc_id", "security_group_ids", "functions_in_vpc", "create_endpoints")


def network_record(network: NetworkSettings) -> dict[str, Any]:
    """What the lock records of an environment's network."""
    return {
        "vpc_id": network.vpc_id,
        "security_group_ids": sorted(network.security_group_ids),
        "functions_in_vpc": network.functions_in_vpc,
        "create_endpoints": network.create_endpoints,
    }


def network_records(file: LifecycleFile) -> dict[str, dict[str, Any]]:
    """:func:`network_record` of every environment with a network."""
    return {
        env: network_record(spec.network)
        for env, spec in file.environments.items()
        if spec.network is not None
    }


def valid_record(value: object) -> bool:
    """Whether ``value`` is a record as :func:`network_record` writes it."""
    return (
        isinstance(value, dict)
        and set(value) == set(RECORD_KEYS)
        and isinstance(value["vpc_id"], str)
        and isinstance(value["security_group_ids"], list)
        and all(isinstance(g, str) for g in value["security_group_ids"])
        and type(value["functions_in_vpc"]) is bool
        and type(value["create_endpoints"]) is bool
    )


TWO_DEPLOYS = (
    "versions still serving there would lose {what} mid-rollout. Move the functions out "
    "first: set network.functions_in_vpc: false, lock and deploy; then {then}"
)


def network_moves(file: LifecycleFile, lock: RecordedLock, lock_label: str) -> Iterator[Problem]:
    """A network change that takes the VPC away from deployed functions in one deploy,
    judged against the ``lock`` written before it; and a record ``lock`` lacks."""
    recorded: Mapping[str, Mapping[str, Any]] = lock.networks or {}
    for env, spec in file.environments.items():
        before = recorded.get(env)
        network = spec.network
        where = ("environments", env, "network")
        # In one stack what a serving version needs goes in the clean-up, after every
        # alias moved (tests/stacks/test_network_transitions.py); in several, the main
        # stack's clean-up comes before any alias stack's update.
        split = bool((lock.alias_stacks or {}).get(env))
        if split and before is not None and before["functions_in_vpc"]:
            what = "the roles' VPC access" + (
                " and the VPC endpoints" if before["create_endpoints"] else ""
            )
            vpc = before["vpc_id"]
            if network is None:
                yield Problem(
                    where,
                    f"removed while {lock_label} records the functions in {vpc}: "
                    + TWO_DEPLOYS.format(what=what, then="remove network"),
                )
                continue
            # The first of the two deploys moves the functions out and nothing else: the
            # versions still serving in the VPC keep its endpoints, their ingress and the
            # roles' VPC access until the second.
            if network.vpc_id != vpc:
                yield Problem(
                    (*where, "vpc_id"),
                    f"{network.vpc_id}: {lock_label} records the functions in {vpc}; "
                    + TWO_DEPLOYS.format(what=what, then="change vpc_id"),
                )
                continue
            kept = set(before["security_group_ids"]) & set(network.security_group_ids)
            if not kept:
                yield Problem(
                    (*where, "security_group_ids"),
                    f"{', '.join(network.security_group_ids)}: none of the security groups "
                    f"{lock_label} records ({', '.join(before['security_group_ids'])}) stays, "
                    "so versions still serving would lose their way to the endpoints; keep "
                    "one of them in this change, lock and deploy, then remove it",
                )
                continue
            if before["create_endpoints"] and not network.create_endpoints:
                yield Problem(
                    (*where, "create_endpoints"),
                    f"false: {lock_label} records the functions in {vpc} with these endpoints; "
                    + TWO_DEPLOYS.format(
                        what="the VPC endpoints", then="set create_endpoints: false"
                    ),
                )
                continue
        now = network_record(network) if network is not None else None
        if now != (dict(before) if before is not None else None):
            yield Problem(
                where,
                f"{lock_label} does not record this network as declared; run "
                "`bedrock-lifecycle lock` and commit the lock with it",
            )


def check_endpoint_owners(file: LifecycleFile, base: Path) -> Iterator[Problem]:
    """An environment whose VPC gets its endpoints from another environment: EC2 allows
    one interface endpoint with private DNS per service and VPC, and the ones an
    environment creates admit only its own security groups and account, so every other
    caller in the VPC would time out."""
    owners: dict[str, list[str]] = defaultdict(list)
    for env, spec in file.environments.items():
        if spec.network is not None and spec.network.create_endpoints:
            owners[spec.network.vpc_id].append(env)
    for env, spec in file.environments.items():
        if spec.network is None:
            continue
        creators = [e for e in owners.get(spec.network.vpc_id, []) if e != env]
        if creators:
            yield Problem(
                ("environments", env, "network", "vpc_id"),
                f"{spec.network.vpc_id}: {creators[0]} creates the endpoints of this VPC, "
                f"which admit only {creators[0]}'s security groups and account (and private "
                "DNS sends every caller in the VPC to them); give this environment a VPC of "
                "its own, or set create_endpoints: false everywhere and use the landing "
                "zone's shared endpoints",
            )
