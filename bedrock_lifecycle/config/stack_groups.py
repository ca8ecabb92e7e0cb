"""Which CloudFormation stack of its environment each alias lives in.

An environment is one stack until its aliases outgrow it; then the aliases that
do not fit go into sibling stacks ``BedrockLifecycle-<env>-Aliases<N>``
(docs/architecture.md, "One environment, several stacks"). Group 0 is the
environment's main stack, group N >= 1 its N-th alias stack.

An alias never moves: moving one would delete its router in one stack and
create it again in another, a new function ARN for every caller. So once an
environment spans several stacks, ``lifecycle.lock`` records each alias's group
(``stacks``) and every later placement starts from that record:

- an alias recorded keeps its group;
- an alias the lock knows (it served a version when the lock was last written)
  is placed before new ones, so a new family inserted above old ones in the file
  does not push an old alias out of the main stack;
- the rest fill the first group with room, in file order: a removed alias's
  room is reused, and no other alias moves;
- an alias on a provisioned throughput bought in the environment goes into the
  main stack, which buys the throughput (its ARN is known there at deploy time).

Sizes are per stack, not per environment: 30 aliases in the main stack beside
its shared parts, 30 in each alias stack. That is well under CloudFormation's
500 resources at 9 to 10 resources per alias, and keeps a stack's version
manifest (one SSM parameter, 8 KB at most) under its limit for names of usual
length; ``validate`` checks the real templates against every limit
(:mod:`bedrock_lifecycle.stacks.limits`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .problems import Problem

__all__ = [
    "DEFAULT_SIZES",
    "GROUP_STACK_ALIASES",
    "MAIN_STACK_ALIASES",
    "MAX_STACK_GROUP",
    "StackSizes",
    "assign_groups",
    "placement_problems",
]

MAIN_STACK_ALIASES = 30
GROUP_STACK_ALIASES = 30
# Stack names stay short and the lock's numbers small; 999 alias stacks of 30 aliases
# is far past CodeDeploy's 1,000 deployment groups per application anyway.
MAX_STACK_GROUP = 999


@dataclass(frozen=True)
class StackSizes:
    """How many aliases go into the main stack and into each alias stack.

    :param main: Default: :data:`MAIN_STACK_ALIASES`.
    :param group: Default: :data:`GROUP_STACK_ALIASES`.
    """

    main: int = MAIN_STACK_ALIASES
    group: int = GROUP_STACK_ALIASES

    def __post_init__(self) -> None:
        if self.main < 1 or self.group < 1:
            raise ValueError(f"stack sizes must be at least 1, got {self.main}/{self.group}")

    def room(self, group: int) -> int:
        """How many aliases group ``group`` holds."""
        return self.main if group == 0 else self.group


# What every placement uses unless told otherwise; the test suite lowers it (a fixture)
# to exercise split environments at a small size.
DEFAULT_SIZES = StackSizes()


def assign_groups(
    aliases: Sequence[str],
    *,
    recorded: Mapping[str, int] | None = None,
    known: Sequence[str] = (),
    main_only: Sequence[str] = (),
    sizes: StackSizes | None = None,
) -> dict[str, int]:
    """``family/alias`` -> group for every alias of one environment, in ``aliases`` order.

    :param aliases: the environment's aliases, in file order.
    :param recorded: the groups ``lifecycle.lock`` records. Default: none.
    :param known: aliases the lock knows (placed before new ones). Default: none.
    :param main_only: aliases that must be in the main stack. Default: none.
    :param sizes: Default: :data:`DEFAULT_SIZES`.
    """
    sizes = sizes if sizes is not None else DEFAULT_SIZES
    recorded = recorded or {}
    present = set(aliases)
    out: dict[str, int] = {}
    used: dict[int, int] = {}
    for name in aliases:
        if name in recorded:
            out[name] = recorded[name]
            used[recorded[name]] = used.get(recorded[name], 0) + 1
    forced = set(main_only)
    known_set = set(known) & present
    pending = [n for n in aliases if n not in out and n in known_set] + [
        n for n in aliases if n not in out and n not in known_set
    ]
    for name in pending:
        if name in forced:
            group = 0
        else:
            group = 0
            while used.get(group, 0) >= sizes.room(group):
                group += 1
        out[name] = group
        used[group] = used.get(group, 0) + 1
    return {name: out[name] for name in aliases}


def placement_problems(
    environment: str,
    groups: Mapping[str, int],
    *,
    recorded: Mapping[str, int] | None,
    main_only: Sequence[str],
    lock_label: str,
) -> list[Problem]:
    """What ``lifecycle.lock`` must say before this placement may be synthesized.

    Nothing while every alias is in the main stack. Once one is not, every alias
    of the environment must be recorded (else a later edit of the file could move
    it); and an alias recorded outside the main stack cannot serve a provisioned
    throughput (bought, and known, in the main stack only).
    """
    problems: list[Problem] = []
    recorded = recorded or {}
    where = ("environments", environment)
    if any(group != 0 for group in groups.values()):
        missing = [name for name in groups if name not in recorded]
        if missing:
            shown = ", ".join(missing[:5]) + (
                f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            )
            problems.append(
                Problem(
                    where,
                    f"{len(groups)} aliases span {1 + max(groups.values())} stacks, and "
                    f"{lock_label} does not record the stack of {shown}; run "
                    "`bedrock-lifecycle lock` and commit the lock, so that no alias ever "
                    "moves to another stack",
                )
            )
    for name in main_only:
        if groups.get(name, 0) != 0:
            problems.append(
                Problem(
                    where,
                    f"{name} is recorded in alias stack {groups[name]} of {lock_label}, and "
                    "serves or may move to a provisioned throughput, which only the main "
                    "stack can use; give the throughput version to a new alias instead",
                )
            )
    return problems
