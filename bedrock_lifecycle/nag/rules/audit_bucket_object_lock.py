"""AuditBucketObjectLock: an audit bucket without Object Lock default retention.

A bucket tagged ``bedrock-lifecycle:purpose: invocation-audit`` (InvocationAudit
tags its bucket so) must have Object Lock enabled with a default retention rule
(mode and days or years), so that no record can be overwritten or deleted
within its retention.
"""

from __future__ import annotations

from cdk_nag import NagRuleCompliance

from .base import NagRule, Resource

PURPOSE_TAG = "bedrock-lifecycle:purpose"
AUDIT_PURPOSE = "invocation-audit"


def check(resource: Resource) -> NagRuleCompliance:
    if resource.tag(PURPOSE_TAG) != AUDIT_PURPOSE:
        return NagRuleCompliance.NOT_APPLICABLE
    props = resource.properties
    lock = props.get("ObjectLockConfiguration") or {}
    retention = (lock.get("Rule") or {}).get("DefaultRetention") or {}
    locked = (
        props.get("ObjectLockEnabled") is True
        and lock.get("ObjectLockEnabled") == "Enabled"
        and retention.get("Mode") in ("GOVERNANCE", "COMPLIANCE")
        and (retention.get("Days") or retention.get("Years"))
    )
    return NagRuleCompliance.COMPLIANT if locked else NagRuleCompliance.NON_COMPLIANT


RULE = NagRule(
    name="AuditBucketObjectLock",
    resource_types=("AWS::S3::Bucket",),
    info="The invocation audit bucket has no Object Lock default retention.",
    explanation="Audit records must be immutable for their retention: Object Lock with a "
    "default retention rule (GOVERNANCE or COMPLIANCE) keeps anyone from rewriting them.",
    check=check,
)
