"""An environment's governance facts, recorded on the construct tree for the rules to read.

The project's rules judge what a synthesized app says, not which Python class
built it: a stack of the package and a platform team's own stack are judged
alike. So the facts a rule needs beyond a resource's own properties are
recorded as construct metadata (``bedrock-lifecycle:governance``, in the cloud
assembly, not in the template) on a stack or on any construct, and apply to
everything below it:

- ``environment``: the environment's name (the nearest record wins);
- ``requiresEvaluationGate``: whether an alias rolled out there must run the
  evaluation gate first. Any record on the way up that requires it does: a
  construct cannot lift what its stack requires.

``LifecycleStack`` records its environment and ``require_evaluation_gate``;
``ModelAlias`` records its ``environment`` (an environment named prod or
production requires the gate). A platform team's stack calls
:func:`declare_governance` for anything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from constructs import IConstruct

GOVERNANCE_METADATA = "bedrock-lifecycle:governance"
PRODUCTION_NAMES = ("prod", "production")


@dataclass(frozen=True)
class Governance:
    """What the rules know of a resource's environment.

    :ivar environment: the nearest declared environment name. Default: None (none
        declared).
    :ivar requires_evaluation_gate: some declaration above requires the gate. Default:
        false.
    """

    environment: str | None = None
    requires_evaluation_gate: bool = False


def declare_governance(
    scope: IConstruct, *, environment: str, requires_evaluation_gate: bool | None = None
) -> None:
    """Record ``scope``'s environment for the project's rules.

    :param environment: the environment's name.
    :param requires_evaluation_gate: aliases below must run the evaluation gate. It
        can only add the requirement: an environment named prod or production
        requires the gate whatever this says (a finding there is acknowledged with
        a reason, like any other). Default: only prod and production require it.
    :raises ValueError: for an empty environment name.
    """
    if not isinstance(environment, str) or not environment:
        raise ValueError(f"environment must be a non-empty name, got {environment!r}")
    gate = requires_evaluation_gate is True or environment in PRODUCTION_NAMES
    scope.node.add_metadata(
        GOVERNANCE_METADATA, {"environment": environment, "requiresEvaluationGate": bool(gate)}
    )


def governance_of(node: IConstruct) -> Governance:
    """The governance that applies to ``node``: its own records and its ancestors'."""
    environment: str | None = None
    gate = False
    for scope in reversed(node.node.scopes):  # the node first, then up to the app
        for entry in reversed(scope.node.metadata):
            if entry.type != GOVERNANCE_METADATA or not isinstance(entry.data, Mapping):
                continue
            if environment is None and isinstance(entry.data.get("environment"), str):
                environment = entry.data["environment"]
            gate = gate or entry.data.get("requiresEvaluationGate") is True
    return Governance(environment=environment, requires_evaluation_gate=gate)
