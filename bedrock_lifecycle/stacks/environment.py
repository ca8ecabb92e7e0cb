"""One environment, one stack or several: which stacks ``cdk deploy`` sees.

An environment whose aliases all fit its main stack is one stack,
``BedrockLifecycle-<env>``, as it always was. Once the lock places aliases in
alias stacks (:mod:`bedrock_lifecycle.config.stack_groups`), it is:

- the main stack (construct id ``BedrockLifecycle-<env>-Main``, CloudFormation
  name still ``BedrockLifecycle-<env>``, so the deployed stack and everything in
  it stays): the shared parts and the aliases of group 0;
- one :class:`~.alias_stack.AliasStack` per further group,
  ``BedrockLifecycle-<env>-Aliases<N>``, each depending on the main stack;
- an entry stack with the construct id ``BedrockLifecycle-<env>`` (CloudFormation
  name ``BedrockLifecycle-<env>-Environment``) that depends on all of them and
  holds the environment's stack index (an SSM parameter). ``cdk deploy
  BedrockLifecycle-<env>`` deploys a stack with everything it depends on, so it
  still deploys the whole environment: the main stack first, then the alias
  stacks, one after the other; a failed rollout fails its stack's update, which
  CloudFormation rolls back, and the deploy stops there, loudly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ..config import LifecycleConfig
from ..names import PARAMETER_PREFIX
from .alias_stack import AliasStack, alias_stack_name
from .environment_stack import LifecycleStack, prepare_environment_stack, stack_name

MAIN_SUFFIX = "-Main"
ENTRY_SUFFIX = "-Environment"


@dataclass(frozen=True)
class EnvironmentStacks:
    """The stacks of one environment.

    ``main`` holds the shared parts; ``alias_stacks`` the other groups, by group;
    ``entry`` is the stack ``cdk deploy BedrockLifecycle-<env>`` names in a split
    environment (None when the environment is one stack).
    """

    main: LifecycleStack
    alias_stacks: dict[int, AliasStack]
    entry: cdk.Stack | None

    @property
    def stacks(self) -> list[cdk.Stack]:
        """Every stack, in deploy order."""
        out: list[cdk.Stack] = [self.main, *self.alias_stacks.values()]
        return out + ([self.entry] if self.entry is not None else [])

    def alias_scope(self, qualified_name: str) -> Construct | None:
        """The ``ModelAlias`` of ``family/alias``, whichever stack holds it."""
        if qualified_name in self.main.aliases:
            return self.main.aliases[qualified_name]
        for stack in self.alias_stacks.values():
            if qualified_name in stack.aliases:
                return stack.aliases[qualified_name]
        return None


def build_environment(
    scope: Construct, config: LifecycleConfig, environment: str
) -> EnvironmentStacks:
    """The stacks of ``environment`` in ``scope`` (an app or a stage)."""
    name = stack_name(environment)
    groups = config.stack_groups(environment)
    members: dict[int, list[str]] = {}
    for alias, group in groups.items():
        members.setdefault(group, []).append(alias)
    # Every alias stack the lock records stays, empty or not (lockfile.Lock.alias_stacks).
    count = config.alias_stack_count(environment)
    split = count > 0
    main = LifecycleStack(
        scope,
        name + MAIN_SUFFIX if split else name,
        config=config,
        environment=environment,
        split=split,
    )
    if not split:
        alone = EnvironmentStacks(main=main, alias_stacks={}, entry=None)
        main.environment_stacks = alone
        return alone
    alias_stacks = {
        group: AliasStack(
            scope,
            alias_stack_name(name, group),
            config=config,
            environment=environment,
            group=group,
            aliases=members.get(group, []),
            main=main,
        )
        for group in range(1, count + 1)
    }
    main.add_hooks([r for s in alias_stacks.values() for r in s.rollouts.values()])
    entry = _entry_stack(scope, config, environment, main, alias_stacks)
    stacks = EnvironmentStacks(main=main, alias_stacks=alias_stacks, entry=entry)
    main.environment_stacks = stacks
    return stacks


def _entry_stack(
    scope: Construct,
    config: LifecycleConfig,
    environment: str,
    main: LifecycleStack,
    alias_stacks: dict[int, AliasStack],
) -> cdk.Stack:
    name = stack_name(environment)
    entry = cdk.Stack(
        scope,
        name,
        env=main.spec_env,
        stack_name=name + ENTRY_SUFFIX,
        description=(
            f"bedrock-lifecycle: {config.file.project} in {environment}, the index of its "
            "stacks; deploying it deploys them all"
        ),
    )
    prepare_environment_stack(entry, config, environment)
    entry.add_stack_dependency(main, reason="deploying the environment deploys its main stack")
    for stack in alias_stacks.values():
        entry.add_stack_dependency(
            stack, reason="deploying the environment deploys every alias stack"
        )
    ssm.StringParameter(
        entry,
        "StackIndex",
        parameter_name=f"{PARAMETER_PREFIX}/{config.file.project}/{environment}/stacks",
        string_value=json.dumps(
            {
                "main": main.stack_name,
                "alias_stacks": [s.stack_name for s in alias_stacks.values()],
            },
            separators=(",", ":"),
        ),
        description=f"the CloudFormation stacks of {config.file.project} in {environment}",
    )
    return entry
