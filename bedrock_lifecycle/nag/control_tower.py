"""The fifth gate: AWS Control Tower proactive controls, on every synth.

A landing zone with proactive controls on runs them as CloudFormation Hooks and
refuses a non-compliant resource at deploy time. The same controls ship as
cfn-guard rules, with the cfn-guard binary, in ``cdklabs.cdk-validator-cfnguard``;
:class:`ControlTowerGate` runs them over every template of the app at synth and
fails the synth on any finding, like the cdk-nag packs.

What the project cannot satisfy is in one reviewed list, :data:`EXCUSED_RULES`:
each rule with the reason, and each excuse applies only to the constructs that
call :func:`excuse_control_tower_rule` for it (a bucket, a stack), never to a rule as a
whole, so a new resource that breaks an excused rule still fails the synth.

Why a gate of its own rather than ``Validations.of(scope).acknowledge`` for the
excuses: with ``cdklabs.cdk-validator-cfnguard`` 0.0.62 and aws-cdk-lib 2.275, an
acknowledgement of one cfn-guard finding turns the whole plugin report into a
success, the other findings included.
"""

from __future__ import annotations

import functools
import json
import re
import tarfile
from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
import jsii
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator
from constructs import IConstruct

PLUGIN_NAME = "aws-control-tower-proactive-controls"

# The one reviewed list: rule -> why the project may not satisfy it where excused.
EXCUSED_RULES: dict[str, str] = {
    "s3_bucket_default_encryption_kms_check": (
        "CT.S3.PR.10 on the audit trail's access-log bucket: S3 server access logging "
        "delivers only to a bucket encrypted with SSE-S3, not SSE-KMS"
    ),
    "s3_bucket_logging_enabled_check": (
        "CT.S3.PR.2 on the audit trail's access-log bucket: it is the target of the audit "
        "bucket's server access logs; logging it would need another bucket, and that one "
        "another, without end"
    ),
    "s3_bucket_object_lock_enabled_check": (
        "CT.S3.PR.9 on the audit trail's access-log bucket: Object Lock cannot be turned "
        "on by CloudFormation for a deployed bucket without replacing it, and replacing a "
        "retained bucket would leave the old one outside any stack; the records "
        "themselves are in the Object Lock bucket"
    ),
    "lambda_inside_vpc_check": (
        "CT.LAMBDA.PR.3 in an environment without `network:` in the lifecycle file (or "
        "with `functions_in_vpc: false`, while its functions move out): its functions run "
        "in Lambda's own network; set `network:` to run every function in the "
        "environment's VPC"
    ),
    "cloudwatch_log_group_retention_period_check": (
        "CT.CLOUDWATCH.PR.2 on an audit log group whose retention the lifecycle file "
        "sets under 365 days (`audit.log_retention_days`); 365 or more passes"
    ),
}

_EXCUSES_ATTRIBUTE = "_control_tower_excuses"
_RESOURCE_TYPE = re.compile(r"`(AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)`")
# A row of the package README's table of bundled rules: its id, then the resource types
# it evaluates (`AWS::S3::Bucket`<br/>...).
_TABLE_ROW = re.compile(r"^\|\s*\[(CT\.[A-Z0-9]+\.PR\.\d+)\]\(.*\|\s*([^|]*)\|\s*$")


@functools.lru_cache(maxsize=1)
def rule_resource_types() -> dict[str, frozenset[str]]:
    """``{rule file name: the resource types it evaluates}`` of every bundled Control
    Tower rule (``ct-s3-pr-1``), from the table of the package's README, for every rule
    file of the bundle (one the table leaves out gets no type: it always runs)."""
    import cdklabs.cdk_validator_cfnguard as package

    (bundle,) = (Path(package.__file__).parent / "_jsii").glob("*.tgz")
    evaluated: dict[str, frozenset[str]] = {}
    files: list[str] = []
    with tarfile.open(bundle) as tar:
        for member in tar.getmembers():
            name = Path(member.name)
            if "control-tower" in name.parts and name.suffix == ".guard":
                files.append(name.stem)
            elif name.name == "README.md" and len(name.parts) == 2:
                extracted = tar.extractfile(member)
                assert extracted is not None, member.name
                for line in extracted.read().decode("utf-8").splitlines():
                    row = _TABLE_ROW.match(line)
                    if row:
                        rule = row.group(1).lower().replace(".", "-")
                        evaluated[rule] = frozenset(_RESOURCE_TYPE.findall(row.group(2)))
    return {rule: evaluated.get(rule, frozenset()) for rule in files}


def rules_without_resources(types: set[str]) -> list[str]:
    """The rules none of whose evaluated resource types is among ``types``: each would
    pass trivially (a rule runs ``when`` its resources exist), so cfn-guard is spared
    them, most of its time at 237 rules. A rule with no known type always runs."""
    return sorted(
        rule for rule, named in rule_resource_types().items() if named and not named & types
    )


def excuse_control_tower_rule(scope: IConstruct, rule: str) -> None:
    """Excuse ``rule`` (a key of :data:`EXCUSED_RULES`) for the CloudFormation resources
    of ``scope`` and below it (a stack excuses all of its resources).

    :raises ValueError: ``rule`` is not in the reviewed list.
    """
    if rule not in EXCUSED_RULES:
        raise ValueError(
            f"control tower rule {rule!r} is not in the reviewed list, "
            f"one of {', '.join(sorted(EXCUSED_RULES))}"
        )
    stack = cdk.Stack.of(scope)
    excuses: list[tuple[IConstruct, str]] = stack.__dict__.setdefault(_EXCUSES_ATTRIBUTE, [])
    excuses.append((scope, rule))


def excused_logical_ids(stack: cdk.Stack) -> dict[str, set[str]]:
    """``{rule: logical ids}`` that :func:`excuse_control_tower_rule` excused in ``stack``."""
    found: dict[str, set[str]] = {}
    for scope, rule in stack.__dict__.get(_EXCUSES_ATTRIBUTE, []):
        for construct in scope.node.find_all():
            if isinstance(construct, cdk.CfnResource):
                found.setdefault(rule, set()).add(stack.resolve(construct.logical_id))
    return found


@jsii.implements(cdk.IPolicyValidationContextBeta1)
class _Templates:
    """The context the cfn-guard plugin reads: the templates to check."""

    def __init__(self, app: cdk.IConstruct, paths: Sequence[str]) -> None:
        self._app = app
        self._paths = list(paths)

    @property
    def app_construct(self) -> cdk.IConstruct:
        return self._app

    @property
    def template_paths(self) -> list[str]:
        return self._paths


@jsii.implements(cdk.IPolicyValidationPluginBeta1)
class ControlTowerGate:
    """The Control Tower proactive controls of ``cdklabs.cdk-validator-cfnguard`` over
    every template of ``app``, less the findings :func:`excuse_control_tower_rule` excused.

    :param app: the app whose stacks carry the excuses.
    """

    def __init__(self, app: cdk.App) -> None:
        self._app = app
        self._all = CfnGuardValidator(control_tower_rules_enabled=True)

    @property
    def name(self) -> str:
        return PLUGIN_NAME

    @property
    def version(self) -> str | None:
        return self._all.version

    @property
    def rule_ids(self) -> list[str] | None:
        return self._all.rule_ids

    def validate(
        self, context: cdk.IPolicyValidationContextBeta1
    ) -> cdk.PolicyValidationPluginReportBeta1:
        paths = list(context.template_paths)
        types: set[str] = set()
        for path in paths:
            resources = json.loads(Path(path).read_text(encoding="utf-8")).get("Resources", {})
            types.update(r.get("Type", "") for r in resources.values() if isinstance(r, dict))
        guard = CfnGuardValidator(
            control_tower_rules_enabled=True, disabled_rules=rules_without_resources(types)
        )
        report = guard.validate(_Templates(context.app_construct, paths))
        excused = self._excused_by_template()
        violations: list[cdk.PolicyViolationBeta1] = []
        for violation in report.violations:
            kept = [
                resource
                for resource in violation.violating_resources
                if resource.resource_logical_id
                not in excused.get(Path(resource.template_path).name, {}).get(
                    violation.rule_name, set()
                )
            ]
            if kept:
                violations.append(
                    cdk.PolicyViolationBeta1(
                        rule_name=violation.rule_name,
                        description=violation.description,
                        violating_resources=kept,
                        fix=violation.fix,
                        rule_metadata=violation.rule_metadata,
                        severity=violation.severity,
                    )
                )
        return cdk.PolicyValidationPluginReportBeta1(
            success=not violations,
            violations=violations,
            metadata=report.metadata,
            plugin_version=report.plugin_version,
        )

    def _excused_by_template(self) -> dict[str, dict[str, set[str]]]:
        found: dict[str, dict[str, set[str]]] = {}
        for construct in self._app.node.find_all():
            if isinstance(construct, cdk.Stack):
                found[construct.template_file] = excused_logical_ids(construct)
        return found


def register_control_tower(app: cdk.App) -> ControlTowerGate:
    """Register the Control Tower gate on ``app`` (after its stacks exist or before:
    the excuses are read at synth)."""
    gate = ControlTowerGate(app)
    cdk.Validations.of(app).add_plugins(gate)
    return gate
