"""cdk-nag: the four AWS rule packs, the project's own rules, and acknowledgements.

Packs are registered with ``Validations.of(app).add_plugins(...)`` (cdk-nag
3.x), so every synth runs them and any unacknowledged finding fails it.
An acknowledgement always names the narrowest finding id and says why.
"""

from __future__ import annotations

import aws_cdk as cdk
import cdk_nag
from constructs import IConstruct

from .governance import Governance, declare_governance, governance_of

__all__ = [
    "Governance",
    "acknowledge",
    "aws_packs",
    "declare_governance",
    "governance_of",
    "logical_id",
    "register_packs",
]


def aws_packs(app: cdk.App) -> list[cdk_nag.NagPack]:
    """The AWS packs every synth runs: AwsSolutions, Serverless, NIST 800-53 r5, HIPAA."""
    return [
        cdk_nag.AwsSolutionsChecks(app),
        cdk_nag.ServerlessChecks(app),
        cdk_nag.NIST80053R5Checks(app),
        cdk_nag.HIPAASecurityChecks(app),
    ]


def register_packs(app: cdk.App) -> list[cdk_nag.NagPack]:
    """Register every pack on ``app``; returns them for ``validate_scope`` in tests.

    The four AWS packs come first, then the project's own rules
    (:class:`bedrock_lifecycle.nag.pack.BedrockLifecycleChecks`).
    """
    from .pack import BedrockLifecycleChecks

    packs = [*aws_packs(app), BedrockLifecycleChecks(app)]
    cdk.Validations.of(app).add_plugins(*packs)
    return packs


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one finding on ``scope`` with a reason.

    :param finding: the plain finding id, as narrow as it gets, for example
        ``AwsSolutions-IAM5[Resource::*]``.
    :param reason: why it is acceptable here; shown in reports and reviews.

    The acknowledgement covers ``scope`` and everything below it. A finding id built from
    tokens (``f"...Resource::arn:{stack.partition}:s3:::bucket/*]"``) is written as
    cdk-nag shows it (``arn:<AWS::Partition>:s3:::bucket/*``, see :func:`finding_text`):
    which parts are tokens depends on the app's context (a known region's partition is a
    literal with the flag ``@aws-cdk/core:enablePartitionLiterals``), and the id must
    match in every app.
    """
    if cdk.Token.is_unresolved(finding):
        finding = finding_text(scope, finding)
    cdk.Validations.of(scope).acknowledge(acknowledgment(finding, reason))


def acknowledgment(finding: str, reason: str) -> cdk.Acknowledgment:
    """One checked acknowledgement (see :func:`acknowledge`)."""
    if not reason.strip():
        raise ValueError(f"acknowledgement of {finding} needs a reason")
    if "::" in finding.split("[", 1)[0]:
        # The `Pack::Rule` form that synth output suggests passes synth but
        # validate_scope still reports it: only the plain id works everywhere.
        raise ValueError(f"acknowledge {finding!r} by its plain id, without the pack prefix")
    return cdk.Acknowledgment(id=finding, reason=reason)


def logical_id(resource: IConstruct) -> str:
    """The CloudFormation logical id of ``resource`` (an L1 or the default child of an L2),
    as finding ids name it (``<LogicalId.Arn>``)."""
    cfn = resource if isinstance(resource, cdk.CfnElement) else resource.node.default_child
    assert isinstance(cfn, cdk.CfnElement), resource.node.path
    stack = cdk.Stack.of(resource)
    return str(stack.resolve(stack.get_logical_id(cfn)))


def finding_text(scope: IConstruct, value: str) -> str:
    """``value`` (a string that may hold tokens, such as an ARN of ``format_arn``) as
    finding ids show it: ``Ref`` as ``<Name>``, ``Fn::GetAtt`` as ``<Id.Attr>``."""
    resolved = cdk.Stack.of(scope).resolve(value)

    def show(part: object) -> str:
        if isinstance(part, str):
            return part
        if isinstance(part, dict) and "Ref" in part:
            return f"<{part['Ref']}>"
        if isinstance(part, dict) and "Fn::GetAtt" in part:
            return f"<{'.'.join(part['Fn::GetAtt'])}>"
        if isinstance(part, dict) and "Fn::Join" in part:
            separator, parts = part["Fn::Join"]
            return separator.join(show(p) for p in parts)
        raise ValueError(f"cannot show {part!r} as a finding id")

    return show(resolved)
