"""A rollout simulator: replays a deploy from a base template to a head one, and back.

A test oracle, not shipped. Given the base template (what is deployed) and the
head template (what the pull request synthesizes) of one environment, it
replays what CloudFormation and CodeDeploy do, one step at a time:

1. every resource that does not depend on a Lambda alias, created or updated in
   the head template's dependency order (CloudFormation updates what an alias
   depends on first; a resource unordered with respect to an alias is assumed
   to go first, the worst case for the version still serving);
2. each Lambda alias whose version changes: CodeDeploy's shift at every step of
   its deployment configuration (0 %, the canary percent, each linear step,
   100 %), and from each step a rollback: the alias back on the old version,
   then CloudFormation restoring the base template's resources in its order
   and deleting what the deploy created;
3. the resources that depend on an alias (updated after its rollout);
4. the clean-up: resources the head template no longer has are deleted.

A rollback is also replayed from every step of phase 1 that changes what a
serving version depends on (IAM, Lambda, log groups, throughputs): a resource
that fails to update right after it. After every step, every Lambda version that receives traffic is
checked: the role it runs under must allow each call its ``ROUTER_CONFIG``
needs (``bedrock:InvokeModel`` on its target, ``bedrock:ApplyGuardrail`` on its
guardrail) and writing to its log group, under the policies as they stand at
that step; the log group and a provisioned throughput it calls must exist. A
version published in a VPC must also be one Lambda may manage network
interfaces for (``ec2:CreateNetworkInterface``) and, where the environment makes
VPC endpoints, reach an interface endpoint of ``bedrock-runtime`` and ``logs``
whose security group admits HTTPS from one of its own groups.

:func:`replay_environment` replays an environment of several stacks: the main
stack's update while the alias stacks serve, then each alias stack's.

What it models: ``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub``,
``Fn::Select``, ``Fn::Split`` and the pseudo parameters; ``DependsOn``; a
Lambda version snapshotting its function's environment, role, log group and
VPC configuration when it is published; a provisioned throughput replaced (a new ARN) when its
units, commitment or model change; ``Allow`` and ``Deny`` statements of the
role's inline and attached customer policies, with ``*`` and ``?`` wildcards
in actions and resources.

At each shift it also checks the hooks: CodeDeploy's service role (the group's
``ServiceRoleArn``) may invoke the BeforeAllowTraffic hook at the first step and
the AfterAllowTraffic hook at the last, and the BeforeAllowTraffic hook (the
evaluation gate) may invoke the new Lambda version by number. A rollback is
replayed after each resource updated after the aliases, too.

What it does not model: conditions (a statement with ``Condition`` is taken to
grant nothing), ``NotAction`` / ``NotResource`` (ignored), AWS managed
policies (but for ``AWSLambdaVPCAccessExecutionRole``), permission boundaries,
SCPs and resource policies; the models behind
an application inference profile (only the profile's ARN is required); the
parallelism of CloudFormation (aliases are shifted one after the other); how
CloudFormation's rollback moves an alias that had completed its shift back
(taken as one step, with no hooks); IAM's propagation delay (a policy counts
from the step that creates it); and Bedrock or Lambda themselves: a call "may"
happen when IAM allows it.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

CONFIG_ENV = "ROUTER_CONFIG"
# Where a system inference profile may route (Bedrock user guide), written here
# independently of bedrock_lifecycle.versions so that a gap there shows.
PROFILE_REGIONS = {
    "us": ("us-east-1", "us-east-2", "us-west-2"),
    "eu": ("eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1"),
    "apac": ("ap-northeast-1", "ap-southeast-1", "ap-southeast-2", "ap-south-1"),
}
THROUGHPUT = "Custom::BedrockProvisionedThroughput"
# An on-demand deployment of a custom model: any property change makes a new one.
DEPLOYMENT = "Custom::BedrockCustomModelDeployment"
# Resources whose Ref is an ARN the routers call, replaced under one logical id: the
# property changes that make a new one (None: every change).
CALLED: dict[str, tuple[str, ...] | None] = {
    THROUGHPUT: ("ModelUnits", "CommitmentDuration", "ModelId"),
    DEPLOYMENT: None,
}
# The one AWS managed policy modelled, by its EC2 actions (as ``ec2:*``).
VPC_ACCESS_POLICY = ":iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
# What a router calls from inside its VPC: Bedrock's runtime and CloudWatch Logs.
ROUTER_SERVICES = ("bedrock-runtime", "logs")
# What a serving Lambda version depends on: a rollback is replayed after each change of one.
SERVING_TYPES = frozenset(
    {
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::Role",
        "AWS::Lambda::Function",
        "AWS::Lambda::Version",
        "AWS::Logs::LogGroup",
        THROUGHPUT,
        DEPLOYMENT,
    }
)
# Network resources CloudFormation replaces when these properties change (the resource
# reference of each type): the new one is made at the update, the old one stays until
# the clean-up. None: every property.
NETWORK_REPLACING: dict[str, tuple[str, ...] | None] = {
    "AWS::EC2::VPCEndpoint": ("VpcId", "ServiceName", "VpcEndpointType"),
    "AWS::EC2::SecurityGroup": ("VpcId", "GroupDescription", "GroupName"),
    "AWS::EC2::SecurityGroupIngress": None,
}
PREDEFINED = re.compile(
    r"^CodeDeployDefault\.Lambda(?:(AllAtOnce)|Canary(\d+)Percent(\d+)Minutes?"
    r"|Linear(\d+)PercentEvery(\d+)Minutes?)$"
)


class SimulationError(Exception):
    """The templates cannot be replayed (a reference to a resource that does not exist)."""


@dataclass(frozen=True)
class Violation:
    """One Lambda version that receives traffic and cannot make one call it needs."""

    step: str
    alias: str
    version: str
    weight: int
    problem: str

    def __str__(self) -> str:
        return (
            f"{self.step}: {self.alias} Lambda version {self.version} "
            f"({self.weight} % of traffic) {self.problem}"
        )


@dataclass
class _Version:
    function: str  # the function's logical id
    number: int
    variables: dict[str, Any]
    role_arn: str
    log_group: str | None
    vpc: dict[str, Any] | None = None  # its VpcConfig when published
    vpc_id: str | None = None  # the VPC of its subnets (Simulator.vpc_of), None unknown


@dataclass
class _World:
    """What is deployed at one moment: resolved properties by logical id."""

    types: dict[str, str] = field(default_factory=dict)
    props: dict[str, dict[str, Any]] = field(default_factory=dict)
    generation: dict[str, int] = field(default_factory=dict)
    versions: dict[str, _Version] = field(default_factory=dict)  # Version logical id ->
    published: dict[str, int] = field(default_factory=dict)  # function logical id -> count
    throughputs: set[str] = field(default_factory=set)  # live throughput and deployment ARNs
    # Alias logical id -> {Version logical id: percent}, while CodeDeploy shifts it.
    routing: dict[str, dict[str, int]] = field(default_factory=dict)
    # Replaced network resources (NETWORK_REPLACING) still standing: (type, props).
    replaced: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def copy(self) -> _World:
        """A copy to diverge from: resolved properties are replaced, never mutated."""
        return _World(
            types=dict(self.types),
            props=dict(self.props),
            generation=dict(self.generation),
            versions=dict(self.versions),
            published=dict(self.published),
            throughputs=set(self.throughputs),
            routing={k: dict(v) for k, v in self.routing.items()},
            replaced=list(self.replaced),
        )

    def network_resources(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every network resource standing: the current ones and the replaced ones."""
        for lid, kind in self.types.items():
            if kind in NETWORK_REPLACING:
                yield kind, self.props[lid]
        yield from self.replaced


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            yield value["Ref"]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            yield target[0] if isinstance(target, list) else target.split(".", 1)[0]
        if "Fn::Sub" in value:
            text = value["Fn::Sub"]
            text = text[0] if isinstance(text, list) else text
            yield from (m.split(".", 1)[0] for m in re.findall(r"\$\{([^}!]+)\}", text))
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def dependencies(template: Mapping[str, Any]) -> dict[str, set[str]]:
    """Logical id -> the resources it references or depends on."""
    resources = template["Resources"]
    out = {}
    for lid, resource in resources.items():
        deps = {r for r in _refs(resource.get("Properties", {})) if r in resources}
        depends_on = resource.get("DependsOn", [])
        deps |= set([depends_on] if isinstance(depends_on, str) else depends_on)
        out[lid] = deps
    return out


def topological(template: Mapping[str, Any]) -> list[str]:
    """Dependencies first; ties in template order (deterministic)."""
    deps = dependencies(template)
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(lid: str) -> None:
        if state.get(lid) == 2:
            return
        if state.get(lid) == 1:
            raise SimulationError(f"dependency cycle through {lid}")
        state[lid] = 1
        for dep in sorted(deps[lid]):
            visit(dep)
        state[lid] = 2
        order.append(lid)

    for lid in template["Resources"]:
        visit(lid)
    return order


def _glob(pattern: str, value: str, *, case: bool) -> bool:
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allows(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    """IAM evaluation of identity statements: an Allow matches, no Deny does."""

    def matches(statement: dict[str, Any]) -> bool:
        if "Condition" in statement or "NotAction" in statement or "NotResource" in statement:
            return False
        actions = _listed(statement.get("Action", []))
        resources = _listed(statement.get("Resource", []))
        return any(_glob(a, action, case=False) for a in actions if isinstance(a, str)) and any(
            _glob(r, resource, case=True) for r in resources if isinstance(r, str)
        )

    denied = any(s.get("Effect") == "Deny" and matches(s) for s in statements)
    return not denied and any(s.get("Effect") == "Allow" and matches(s) for s in statements)


class Simulator:
    """Replays base -> head (and every rollback) of one environment's template.

    :param base: the deployed template (``None``: a new stack; nothing serves).
    :param head: the template to deploy.
    :param partition, region, account: the environment (pseudo parameters).
    :param parameters: the values of the templates' parameters, by name (an alias
        stack's SSM-backed ones). Default: none.
    :param vpc_endpoints: a function in a VPC reaches AWS only through the VPC
        endpoints of the environment (:meth:`reach`), so each it calls must exist and
        admit one of its security groups. Default: whenever the base or head template
        has a VPC endpoint (the worst case: no NAT, no other endpoints).
    :param check_hooks: check the rollout hooks (:meth:`_check_hook`). Default: true.

    ``outside`` lists the other stacks of the environment as they stand, as
    ``(simulator, world)`` pairs: their log groups and endpoints count too. And
    ``on_check(world, step)``, when set, is called after each check: a replay of
    several stacks checks the others' serving versions at every step of this one.
    """

    def __init__(
        self,
        base: Mapping[str, Any] | None,
        head: Mapping[str, Any],
        *,
        partition: str = "aws",
        region: str = "us-east-1",
        account: str = "123456789012",
        parameters: Mapping[str, str] | None = None,
        vpc_endpoints: bool | None = None,
        check_hooks: bool = True,
    ) -> None:
        self.base = copy.deepcopy(base) if base is not None else {"Resources": {}}
        self.head = copy.deepcopy(head)
        self.parameters = dict(parameters or {})
        self.vpc_endpoints = (
            vpc_endpoints
            if vpc_endpoints is not None
            else any(
                r["Type"] == "AWS::EC2::VPCEndpoint"
                for t in (self.base, self.head)
                for r in t["Resources"].values()
            )
        )
        self.check_hooks = check_hooks
        self.outside: list[tuple[Simulator, _World]] = []
        self.on_check: Any = None
        self.pseudo = {
            "AWS::Partition": partition,
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "Simulated",
            "AWS::StackId": f"arn:{partition}:cloudformation:{region}:{account}:stack/Simulated/1",
            "AWS::NoValue": None,
        }
        self.violations: list[Violation] = []
        self.steps = 0
        # Every throughput and deployment ARN the replay made (the stacks' own).
        self.made: set[str] = set()
        self.trace: list[str] = []  # every step checked, in order

    # -- resolution ------------------------------------------------------------

    def _name(self, world: _World, lid: str, key: str) -> str:
        value = world.props[lid].get(key)
        return value if isinstance(value, str) else lid

    def _ref(self, world: _World, lid: str) -> str:
        if lid in self.pseudo:
            return self.pseudo[lid]  # type: ignore[return-value]
        if lid in self.parameters:
            return self.parameters[lid]
        if lid not in world.types:
            raise SimulationError(f"Ref to {lid}, which does not exist at this step")
        kind = world.types[lid]
        p, r, a = (self.pseudo[k] for k in ("AWS::Partition", "AWS::Region", "AWS::AccountId"))
        if kind == THROUGHPUT:
            return f"arn:{p}:bedrock:{r}:{a}:provisioned-model/{lid.lower()}{world.generation[lid]}"
        if kind == DEPLOYMENT:
            return (
                f"arn:{p}:bedrock:{r}:{a}:custom-model-deployment/"
                f"{lid.lower()}{world.generation[lid]}"
            )
        if kind == "AWS::Lambda::Function":
            return self._name(world, lid, "FunctionName")
        if kind == "AWS::Lambda::Version":
            version = world.versions[lid]
            return f"{self._getatt(world, version.function, 'Arn')}:{version.number}"
        if kind == "AWS::IAM::Role":
            return self._name(world, lid, "RoleName")
        if kind == "AWS::Logs::LogGroup":
            return self._name(world, lid, "LogGroupName")
        return lid

    def _getatt(self, world: _World, lid: str, attribute: str) -> str:
        if lid not in world.types:
            raise SimulationError(f"GetAtt {lid}.{attribute}, which does not exist at this step")
        kind = world.types[lid]
        p, r, a = (self.pseudo[k] for k in ("AWS::Partition", "AWS::Region", "AWS::AccountId"))
        if kind == "AWS::Lambda::Function" and attribute == "Arn":
            return f"arn:{p}:lambda:{r}:{a}:function:{self._ref(world, lid)}"
        if kind == "AWS::Lambda::Version" and attribute == "Version":
            return str(world.versions[lid].number)
        if kind == "AWS::IAM::Role" and attribute == "Arn":
            return f"arn:{p}:iam::{a}:role/{self._ref(world, lid)}"
        if kind == "AWS::Logs::LogGroup" and attribute == "Arn":
            return f"arn:{p}:logs:{r}:{a}:log-group:{self._ref(world, lid)}:*"
        if kind == THROUGHPUT and attribute == "ProvisionedModelArn":
            return self._ref(world, lid)
        return f"{lid}.{attribute}"

    def resolve(self, world: _World, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(world, v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(world, arg)
            if key == "Fn::GetAtt":
                lid, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self._getatt(world, lid, attribute)
            if key == "Fn::Join":
                separator, items = arg
                return separator.join(str(self.resolve(world, i)) for i in items)
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(world, items)[int(self.resolve(world, index))]
            if key == "Fn::Split":
                separator, text = arg
                return str(self.resolve(world, text)).split(separator)
            if key == "Fn::Sub":
                text, names = (arg[0], arg[1]) if isinstance(arg, list) else (arg, {})

                def sub(match: re.Match[str]) -> str:
                    name = match.group(1)
                    if name in names:
                        return str(self.resolve(world, names[name]))
                    if "." in name:
                        lid, attribute = name.split(".", 1)
                        return self._getatt(world, lid, attribute)
                    return str(self._ref(world, name))

                return re.sub(r"\$\{([^}!]+)\}", sub, text)
        return {k: self.resolve(world, v) for k, v in value.items()}

    # -- applying one resource ---------------------------------------------------

    def _apply(
        self,
        world: _World,
        template: Mapping[str, Any],
        lid: str,
        restore: _World | None = None,
    ) -> bool:
        """Create or update ``lid`` as ``template`` declares it; True when something changed.

        :param restore: a rollback: a resource that existed in ``restore`` gets its
            physical identity back (a replaced throughput's old ARN) instead of a new one.
        """
        resource = template["Resources"][lid]
        kind = resource["Type"]
        exists = lid in world.types
        if not exists:
            world.types[lid] = kind
            world.props[lid] = {}
            world.generation[lid] = 1
        try:
            props = self.resolve(world, resource.get("Properties", {}))
        except SimulationError:
            if not exists:
                del world.types[lid], world.props[lid], world.generation[lid]
            raise
        if exists and props == world.props[lid]:
            return False
        if kind in CALLED and exists:
            keys = CALLED[kind]
            if restore is not None and lid in restore.generation:
                world.generation[lid] = restore.generation[lid]
            elif keys is None or any(props.get(k) != world.props[lid].get(k) for k in keys):
                world.generation[lid] += 1  # a new one; the old one lives until clean-up
            # Resolved again: properties that name the throughput follow its new ARN.
            props = self.resolve(world, resource.get("Properties", {}))
        if exists and kind in NETWORK_REPLACING:
            keys = NETWORK_REPLACING[kind]
            old = world.props[lid]
            if keys is None or any(props.get(k) != old.get(k) for k in keys):
                world.replaced.append((kind, old))
        world.props[lid] = props
        if kind in CALLED:
            world.throughputs.add(self._ref(world, lid))
            self.made.add(self._ref(world, lid))
        if kind == "AWS::Lambda::Version" and lid not in world.versions:
            self._publish(world, template, lid)
        return True

    def _publish(self, world: _World, template: Mapping[str, Any], lid: str) -> None:
        function = template["Resources"][lid]["Properties"]["FunctionName"]
        fn = function["Ref"] if isinstance(function, dict) else function
        config = world.props[fn]
        world.published[fn] = world.published.get(fn, 0) + 1
        world.versions[lid] = _Version(
            function=fn,
            number=world.published[fn],
            variables=dict((config.get("Environment") or {}).get("Variables") or {}),
            role_arn=str(config.get("Role")),
            log_group=(config.get("LoggingConfig") or {}).get("LogGroup"),
            vpc=copy.deepcopy(config.get("VpcConfig")) or None,
            vpc_id=self.vpc_of((config.get("VpcConfig") or {}).get("SubnetIds") or []),
        )

    def vpc_of(self, subnets: list[Any]) -> str | None:
        """The VPC of ``subnets``, learnt from the interface endpoints of every template of
        the environment (each names its VPC and subnets); None when none says."""
        wanted = {str(s) for s in subnets}
        for sim in (self, *(other for other, _ in self.outside)):
            for template in (sim.base, sim.head):
                for resource in template["Resources"].values():
                    props = resource.get("Properties") or {}
                    if resource["Type"] == "AWS::EC2::VPCEndpoint" and wanted & {
                        str(s) for s in props.get("SubnetIds") or []
                    }:
                        return str(props.get("VpcId"))
        return None

    def _delete(self, world: _World, lid: str) -> None:
        if world.types.get(lid) in CALLED:
            world.throughputs.discard(self._ref(world, lid))
        for table in (world.types, world.props, world.generation, world.versions, world.routing):
            table.pop(lid, None)  # type: ignore[attr-defined]

    # -- checks --------------------------------------------------------------------

    def _statements(
        self, world: _World, role_arn: str, guaranteed: set[str] | None = None
    ) -> list[dict[str, Any]] | None:
        """The statements of the role's policies; with ``guaranteed``, only of the policies
        (and the role) that are surely in place: listed there, or unchanged since the base."""

        def counts(lid: str) -> bool:
            return (
                guaranteed is None
                or lid in guaranteed
                or world.props.get(lid) == self.initial.props.get(lid)
            )

        role = next(
            (
                lid
                for lid, kind in world.types.items()
                if kind == "AWS::IAM::Role" and self._getatt(world, lid, "Arn") == role_arn
            ),
            None,
        )
        if role is None or not counts(role):
            return None
        name = self._ref(world, role)
        statements: list[dict[str, Any]] = []
        for arn in world.props[role].get("ManagedPolicyArns") or []:
            if str(arn).endswith(VPC_ACCESS_POLICY):
                statements.append({"Effect": "Allow", "Action": "ec2:*", "Resource": "*"})
        for policy in world.props[role].get("Policies") or []:
            statements += _listed(policy["PolicyDocument"]["Statement"])
        for lid, kind in world.types.items():
            if (
                kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
                and name in (world.props[lid].get("Roles") or [])
                and counts(lid)
            ):
                statements += _listed(world.props[lid]["PolicyDocument"]["Statement"])
        return statements

    def _closure(self, lid: str) -> set[str]:
        """What the head template makes ``lid`` wait for: its dependencies, transitively."""
        deps = dependencies(self.head)
        seen: set[str] = set()
        todo = [lid]
        while todo:
            for dep in deps.get(todo.pop(), ()):
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    def needs(self, config: Mapping[str, Any]) -> list[tuple[str, str]]:
        """The calls a router with ``config`` makes, as (IAM action, resource ARN)."""
        p, r, a = (self.pseudo[k] for k in ("AWS::Partition", "AWS::Region", "AWS::AccountId"))
        arn = str(config["model_arn"])
        calls = [("bedrock:InvokeModel", arn)]
        profile = re.match(
            r"^arn:[^:]+:bedrock:([^:]*):[^:]*:inference-profile/([^.]+)\.(.+)$", arn
        )
        if profile:
            source, prefix, model = profile.groups()
            if prefix == "global":
                calls.append(("bedrock:InvokeModel", f"arn:{p}:bedrock:::foundation-model/{model}"))
                regions: tuple[str, ...] = (source,)
            else:
                regions = (source, *PROFILE_REGIONS.get(prefix, ()))
            for region in dict.fromkeys(regions):
                calls.append(
                    ("bedrock:InvokeModel", f"arn:{p}:bedrock:{region}::foundation-model/{model}")
                )
        guardrail = config.get("guardrail")
        if guardrail:
            calls.append(
                (
                    "bedrock:ApplyGuardrail",
                    f"arn:{p}:bedrock:{r}:{a}:guardrail/{guardrail['guardrailIdentifier']}",
                )
            )
        return calls

    def _check(self, world: _World, step: str) -> None:
        self._check_serving(world, step)
        if self.on_check is not None:
            self.on_check(world, step)

    def _check_serving(self, world: _World, step: str) -> None:
        """Every Lambda version receiving traffic in ``world`` can make its calls."""
        self.steps += 1
        self.trace.append(step)
        for lid, kind in list(world.types.items()):
            if kind != "AWS::Lambda::Alias":
                continue
            alias = world.props[lid]
            routing = world.routing.get(lid) or {self._version_of(world, alias): 100}
            for version_lid, weight in routing.items():
                if weight <= 0 or version_lid is None:
                    continue
                version = world.versions[version_lid]
                for problem in self._problems(world, version):
                    self.violations.append(
                        Violation(step, f"{lid}", str(version.number), weight, problem)
                    )

    def _function_named(self, world: _World, name: str) -> str | None:
        """The logical id of the function whose name is ``name``, if it exists now."""
        return next(
            (
                lid
                for lid, kind in world.types.items()
                if kind == "AWS::Lambda::Function" and self._ref(world, lid) == name
            ),
            None,
        )

    def _deployment_group(self, world: _World, update: Mapping[str, Any]) -> dict[str, Any]:
        """The deployment group an alias's ``CodeDeployLambdaAliasUpdate`` names."""
        group_name = self.resolve(world, update["DeploymentGroupName"])
        return next(
            world.props[lid]
            for lid, kind in world.types.items()
            if kind == "AWS::CodeDeploy::DeploymentGroup" and self._ref(world, lid) == group_name
        )

    def _check_hook(
        self, world: _World, alias_lid: str, hook: str, new_version: str, step: str
    ) -> None:
        """CodeDeploy may invoke the hook, and the gate may invoke the new version."""
        update = (self.head["Resources"][alias_lid].get("UpdatePolicy") or {}).get(
            "CodeDeployLambdaAliasUpdate"
        ) or {}
        if hook not in update or not self.check_hooks:
            return
        group = self._deployment_group(world, update)
        hook_name = str(self.resolve(world, update[hook]))
        hook_lid = self._function_named(world, hook_name)
        version = world.versions[new_version]
        where = f"{step} ({hook})"
        if hook_lid is None:
            self.violations.append(
                Violation(where, alias_lid, "hook", 0, f"hook {hook_name} does not exist")
            )
            return
        hook_arn = self._getatt(world, hook_lid, "Arn")
        # Only what the alias waits for is surely in place when CodeDeploy calls the hooks.
        guaranteed = self._closure(alias_lid)
        service_role = self._statements(world, str(group.get("ServiceRoleArn")), guaranteed)
        if service_role is None or not allows(service_role, "lambda:InvokeFunction", hook_arn):
            self.violations.append(
                Violation(
                    where,
                    alias_lid,
                    "hook",
                    0,
                    f"CodeDeploy may not lambda:InvokeFunction {hook_arn}",
                )
            )
        if hook != "BeforeAllowTrafficHook":
            return
        # The gate invokes the new version by number, before any traffic moves.
        gate_role = self._statements(world, str(world.props[hook_lid].get("Role")), guaranteed)
        target = f"{self._getatt(world, version.function, 'Arn')}:{version.number}"
        if gate_role is None or not allows(gate_role, "lambda:InvokeFunction", target):
            self.violations.append(
                Violation(
                    where, alias_lid, "hook", 0, f"the gate may not lambda:InvokeFunction {target}"
                )
            )

    def _version_of(self, world: _World, alias: Mapping[str, Any]) -> str | None:
        number = str(alias.get("FunctionVersion"))
        fn = alias.get("FunctionName")
        for lid, version in world.versions.items():
            if str(version.number) == number and self._ref(world, version.function) == fn:
                return lid
        return None

    def _problems(self, world: _World, version: _Version) -> Iterator[str]:
        raw = version.variables.get(CONFIG_ENV)
        if raw is None:
            return
        config = json.loads(raw)
        statements = self._statements(world, version.role_arn)
        if statements is None:
            yield f"runs under role {version.role_arn}, which no longer exists"
            return
        calls = self.needs(config)
        p, r, a = (self.pseudo[k] for k in ("AWS::Partition", "AWS::Region", "AWS::AccountId"))
        yield from self._network_problems(world, version)
        if version.log_group is not None:
            groups = [
                sim._ref(w, lid)
                for sim, w in ((self, world), *self.outside)
                for lid, kind in w.types.items()
                if kind == "AWS::Logs::LogGroup"
            ]
            if version.log_group not in groups:
                yield f"logs to {version.log_group}, which no longer exists"
            calls.append(
                (
                    "logs:PutLogEvents",
                    f"arn:{p}:logs:{r}:{a}:log-group:{version.log_group}:log-stream:requests",
                )
            )
        for action, arn in calls:
            if not allows(statements, action, arn):
                yield f"may not {action} {arn} ({config.get('version_id')})"
        target = str(config["model_arn"])
        if ":provisioned-model/" in target and target not in world.throughputs:
            yield f"calls provisioned throughput {target}, which no longer exists"
        # A deployment ARN written out (made outside the stacks) is not the stacks' to lose.
        deployment = ":custom-model-deployment/" in target
        if deployment and target in self.made and target not in world.throughputs:
            yield f"calls custom model deployment {target}, which no longer exists"

    def reach(self, world: _World, vpc_id: str | None = None) -> dict[str, set[str]]:
        """Service (``bedrock-runtime``) -> the security groups its interface endpoint
        admits HTTPS from, over this stack's ``world`` and the ``outside`` ones; only the
        endpoints of VPC ``vpc_id`` when it is known (an endpoint serves its own VPC)."""
        out: dict[str, set[str]] = {}
        for _sim, w in ((self, world), *self.outside):
            resources = list(w.network_resources())
            ingress: dict[str, set[str]] = {}
            for kind, props in resources:
                if kind == "AWS::EC2::SecurityGroupIngress" and props.get("FromPort") == 443:
                    group = str(props.get("GroupId"))
                    ingress.setdefault(group, set()).add(str(props.get("SourceSecurityGroupId")))
            for kind, props in resources:
                if kind != "AWS::EC2::VPCEndpoint" or props.get("VpcEndpointType") != "Interface":
                    continue
                if vpc_id is not None and str(props.get("VpcId")) != vpc_id:
                    continue
                service = str(props.get("ServiceName")).split(".", 3)[-1]
                for group in props.get("SecurityGroupIds") or []:
                    out.setdefault(service, set()).update(ingress.get(str(group), set()))
        return out

    def _network_problems(self, world: _World, version: _Version) -> Iterator[str]:
        """A version in a VPC needs Lambda's VPC access on its role and, where the
        environment makes endpoints, an endpoint for each service a router calls."""
        if not version.vpc or not version.vpc.get("SubnetIds"):
            return
        # Lambda manages the version's network interfaces with its role.
        statements = self._statements(world, version.role_arn) or []
        if not allows(statements, "ec2:CreateNetworkInterface", "*"):
            yield "runs in a VPC under a role that may not manage its network interfaces"
        if not self.vpc_endpoints:
            return
        groups = {str(g) for g in version.vpc.get("SecurityGroupIds") or []}
        reach = self.reach(world, version.vpc_id)
        for service in ROUTER_SERVICES:
            if not reach.get(service, set()) & groups:
                yield f"runs in a VPC and cannot reach {service}: no endpoint admits its groups"

    # -- the replay ------------------------------------------------------------------

    def _initial(self) -> _World:
        world = _World()
        for lid in topological(self.base):
            self._apply(world, self.base, lid)
        return world

    def _shift_steps(self, world: _World, alias: Mapping[str, Any]) -> list[int]:
        """Percent on the new version at each step of the alias's CodeDeploy configuration."""
        update = (alias.get("UpdatePolicy") or {}).get("CodeDeployLambdaAliasUpdate")
        if update is None:
            return [100]
        group = self._deployment_group(world, update)
        config = group.get(
            "DeploymentConfigName", "CodeDeployDefault.LambdaCanary10Percent5Minutes"
        )
        match = PREDEFINED.match(str(config))
        routing: dict[str, Any] = {}
        if match is None:
            custom = next(
                world.props[lid]
                for lid, kind in world.types.items()
                if kind == "AWS::CodeDeploy::DeploymentConfig" and self._ref(world, lid) == config
            )
            routing = custom.get("TrafficRoutingConfig") or {"Type": "AllAtOnce"}
        elif match.group(1):
            routing = {"Type": "AllAtOnce"}
        elif match.group(2):
            routing = {
                "Type": "TimeBasedCanary",
                "TimeBasedCanary": {"CanaryPercentage": int(match.group(2))},
            }
        else:
            routing = {
                "Type": "TimeBasedLinear",
                "TimeBasedLinear": {"LinearPercentage": int(match.group(4))},
            }
        if routing["Type"] == "TimeBasedCanary":
            return [0, int(routing["TimeBasedCanary"]["CanaryPercentage"]), 100]
        if routing["Type"] == "TimeBasedLinear":
            step = int(routing["TimeBasedLinear"]["LinearPercentage"])
            return [0, *range(step, 100, step), 100]
        return [0, 100]

    def _rollback(self, world: _World, created: list[str], step: str) -> None:
        """CloudFormation restores the base template, then deletes what the deploy created."""
        world = world.copy()
        world.routing.clear()
        self._check(world, f"{step}, rollback: alias back on the old version")
        for lid in topological(self.base):
            if self._apply(world, self.base, lid, restore=self.initial):
                self._check(world, f"{step}, rollback: restore {lid}")
        for lid in reversed(created):
            self._delete(world, lid)
            self._check(world, f"{step}, rollback: delete {lid}")

    def run(self) -> list[Violation]:
        """Replay the deploy and every rollback; return every violation found."""
        world = self._initial()
        self.initial = world.copy()
        self._check(world, "before the deploy")
        head = self.head["Resources"]
        deps = dependencies(self.head)
        aliases = [lid for lid, r in head.items() if r["Type"] == "AWS::Lambda::Alias"]
        after_alias: set[str] = set()
        changed = True
        while changed:
            changed = False
            for lid, needed in deps.items():
                if lid not in after_alias and needed & (set(aliases) | after_alias):
                    after_alias.add(lid)
                    changed = True
        order = topological(self.head)
        created: list[str] = []
        for lid in order:
            if lid in aliases or lid in after_alias:
                continue
            new = lid not in world.types
            if self._apply(world, self.head, lid):
                if new:
                    created.append(lid)
                step = f"{'create' if new else 'update'} {lid}"
                self._check(world, step)
                if head[lid]["Type"] in SERVING_TYPES:
                    # A rollback from after any other step restores the same serving state.
                    self._rollback(world, created, f"failure after '{step}'")
        for lid in [a for a in order if a in aliases]:
            before = self._version_of(world, world.props[lid]) if lid in world.types else None
            new = lid not in world.types
            if not self._apply(world, self.head, lid):
                continue
            if new:
                created.append(lid)
                self._check(world, f"create {lid}")
                continue
            after = self._version_of(world, world.props[lid])
            if before == after or before is None:
                self._check(world, f"update {lid}")
                continue
            steps = self._shift_steps(world, head[lid])
            for percent in steps:
                world.routing[lid] = {before: 100 - percent, after: percent}  # type: ignore[dict-item]
                step = f"CodeDeploy shifts {lid} {percent} % to the new version"
                self._check(world, step)
                if percent == steps[0]:
                    self._check_hook(world, lid, "BeforeAllowTrafficHook", after, step)
                if percent == steps[-1]:
                    self._check_hook(world, lid, "AfterAllowTrafficHook", after, step)
                rolled = world.copy()
                rolled.props[lid] = self.resolve(rolled, self.base["Resources"][lid]["Properties"])
                self._rollback(rolled, created, f"rollback at '{step}'")
            world.routing.pop(lid, None)
        for lid in order:
            if lid in after_alias:
                new = lid not in world.types
                if self._apply(world, self.head, lid):
                    if new:
                        created.append(lid)
                    step = f"{'create' if new else 'update'} {lid} (after the aliases)"
                    self._check(world, step)
                    # Every alias has moved; a failure now rolls all of them back.
                    self._rollback(world, created, f"failure after '{step}'")
        for lid in reversed(topological(self.base)):
            if lid not in head:
                self._delete(world, lid)
                self._check(world, f"clean-up: delete {lid}")
        # Replaced throughputs and network resources are deleted in the clean-up too.
        if world.replaced:
            world.replaced = []
            self._check(world, "clean-up: delete the replaced network resources")
        world.throughputs = {
            self._ref(world, lid) for lid, kind in world.types.items() if kind in CALLED
        }
        self._check(world, "after the clean-up")
        self.final = world
        return self.violations


def _parameters(main: Simulator, world: _World, template: Mapping[str, Any]) -> dict[str, str]:
    """An alias stack's SSM-backed parameters, read from the main stack's ``world``."""
    values = {
        str(world.props[lid].get("Name")): str(world.props[lid].get("Value"))
        for lid, kind in world.types.items()
        if kind == "AWS::SSM::Parameter"
    }
    return {
        name: values[p["Default"]]
        for name, p in (template.get("Parameters") or {}).items()
        if p.get("Default") in values
    }


def replay_environment(
    base: Mapping[str, Mapping[str, Any]],
    head: Mapping[str, Mapping[str, Any]],
    *,
    main: str,
    region: str = "us-east-1",
    account: str = "123456789012",
) -> list[Violation]:
    """Replay an environment of several stacks, as ``cdk deploy`` runs it: the main
    stack's whole update (clean-up included) while the alias stacks serve as deployed,
    then each alias stack's update and rollbacks against the main stack as it ended.

    :param base, head: stack name -> template (an alias stack missing from ``base``
        is new).
    :param main: the main stack's name.

    The hooks of alias stacks are not checked here (their role and functions live in
    the main stack); a parameter takes the value the main stack's SSM parameter of its
    name has at the end of the main stack's update, before and after.
    """
    uses_endpoints = any(
        r["Type"] == "AWS::EC2::VPCEndpoint"
        for templates in (base, head)
        for t in templates.values()
        for r in t["Resources"].values()
    )
    options = {"region": region, "account": account, "vpc_endpoints": uses_endpoints}
    first = Simulator(base.get(main), head[main], **options)  # type: ignore[arg-type]
    deployed = first._initial() if main in base else _World()
    others = [name for name in head if name != main]
    serving: list[tuple[str, Simulator, _World]] = []
    for name in others:
        if name in base:
            sim = Simulator(
                base[name],
                base[name],
                parameters=_parameters(first, deployed, base[name]),
                check_hooks=False,
                **options,  # type: ignore[arg-type]
            )
            serving.append((name, sim, sim._initial()))

    def check_others(world: _World, step: str) -> None:
        for name, sim, alias_world in serving:
            sim.outside = [(first, world)]
            sim._check_serving(alias_world, f"{name}, while {main} updates: {step}")

    first.on_check = check_others
    first.run()
    violations = list(first.violations) + [v for _, sim, _ in serving for v in sim.violations]
    for name in others:
        sim = Simulator(
            base.get(name),
            head[name],
            parameters=_parameters(first, first.final, head[name]),
            check_hooks=False,
            **options,  # type: ignore[arg-type]
        )
        sim.outside = [(first, first.final)]
        sim.run()
        violations += [
            Violation(f"{name}: {v.step}", v.alias, v.version, v.weight, v.problem)
            for v in sim.violations
        ]
    return violations
