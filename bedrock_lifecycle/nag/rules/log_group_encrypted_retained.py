"""LogGroupEncryptedRetained: a log group without a KMS key or without retention.

Every log group of the project holds audit records or function logs that may
carry request metadata: it must be encrypted with a customer managed KMS key
(``KmsKeyId``) and expire entries (``RetentionInDays``) rather than keep them
forever by accident.
"""

from __future__ import annotations

from cdk_nag import NagRuleCompliance

from .base import NagRule, Resource


def check(resource: Resource) -> NagRuleCompliance:
    props = resource.properties
    if props.get("KmsKeyId") and props.get("RetentionInDays"):
        return NagRuleCompliance.COMPLIANT
    return NagRuleCompliance.NON_COMPLIANT


RULE = NagRule(
    name="LogGroupEncryptedRetained",
    resource_types=("AWS::Logs::LogGroup",),
    info="The log group is not encrypted with a KMS key or has no retention.",
    explanation="Logs are evidence and may carry request metadata: encrypt them with a key you "
    "control and set how long they are kept.",
    check=check,
)
