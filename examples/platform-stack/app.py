#!/usr/bin/env python3
"""A platform team's own CDK app on bedrock-lifecycle, without a lifecycle file.

Two aliases, each with a canary rollout, rollback alarms and the evaluation gate; an
audit trail of every invocation; a provisioned throughput behind one of them; every
cdk-nag pack, the package's own rules and the AWS Control Tower proactive controls on
every synth. docs/extending.md walks through it.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from bedrock_lifecycle.constructs import (
    AlarmThresholds,
    AlarmTopic,
    AliasRolloutProps,
    Commitment,
    Evaluation,
    InferenceConfig,
    InvocationAudit,
    ModelAlias,
    ModelVersion,
    ProvisionedThroughput,
    RolloutPolicy,
    Rollouts,
    RolloutStrategy,
    Target,
    VersionSpec,
    acknowledge,
    declare_governance,
    excuse_control_tower_rule,
    register_control_tower,
    register_packs,
)

HERE = Path(__file__).resolve().parent
ENVIRONMENT = "prod"  # prod requires the evaluation gate on every rollout


def build(app: cdk.App) -> cdk.Stack:
    """The team's stack: everything below is the package's public API."""
    stack = cdk.Stack(
        app,
        "SearchPlatform",
        env=cdk.Environment(account="333333333333", region="us-east-1"),
        description="Search answers and summaries on Amazon Bedrock (bedrock-lifecycle)",
    )
    # The package's rules read the environment from here (the prod gate rule, ...).
    declare_governance(stack, environment=ENVIRONMENT)
    # The functions run outside a VPC: the one Control Tower rule that asks otherwise
    # is excused for this stack, with the reason kept in the package's reviewed list.
    excuse_control_tower_rule(stack, "lambda_inside_vpc_check")

    topic = AlarmTopic(stack, "Alarms", emails=["search-oncall@example.com"])
    audit = InvocationAudit(stack, "Audit", retention_days=400, log_retention_days=400)
    throughput = ProvisionedThroughput(
        stack,
        "SummariesThroughput",
        model="amazon.nova-pro-v1:0",
        model_units=1,
        provisioned_model_name="search-prod-summaries",
        commitment=Commitment.ONE_MONTH,
    )

    answers = ModelAlias(
        stack,
        "AnswersLive",
        model_version=ModelVersion.from_spec(
            "answers",
            "v3",
            VersionSpec(
                target=Target(inference_profile="us.anthropic.claude-haiku-4-5-20251001-v1:0"),
                inference=InferenceConfig(max_tokens=400, temperature=0.1),
                system_prompt="Answer from the search results only.",
            ),
        ),
        alias_name="live",
        environment=ENVIRONMENT,
        log_group=audit.log_group,
    )
    summaries = ModelAlias(
        stack,
        "SummariesLive",
        model_version=ModelVersion.from_spec(
            "summaries",
            "v1",
            VersionSpec(
                target=Target(provisioned_throughput="search-prod-summaries"),
                inference=InferenceConfig(max_tokens=300),
            ),
            provisioned_model_arn=throughput.provisioned_model_arn,
            purchase_key=throughput.purchase_key,
        ),
        alias_name="live",
        environment=ENVIRONMENT,
        log_group=audit.log_group,
    )

    golden = Evaluation(golden_prompts=HERE / "golden-answers.jsonl", pass_rate=1.0)
    Rollouts(
        stack,
        "Rollouts",
        rollouts=[
            AliasRolloutProps(
                model_alias=answers,
                policy=RolloutPolicy(
                    strategy=RolloutStrategy.CANARY, percent=10, interval_minutes=15
                ),
                alarms=AlarmThresholds(error_rate_percent=2, p99_latency_ms=8000),
                evaluation=golden,
            ),
            AliasRolloutProps(
                model_alias=summaries,
                policy=RolloutPolicy(
                    strategy=RolloutStrategy.CANARY, percent=20, interval_minutes=10
                ),
                evaluation=golden,
            ),
        ],
        alarm_topic=topic,
    )

    # The search service may call both aliases and nothing else of them.
    service = iam.Role(
        stack, "SearchService", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com")
    )
    for alias in (answers, summaries):
        alias.grant_invoke(service)
    for finding in ("NIST.800.53.R5-IAMNoInlinePolicy", "HIPAA.Security-IAMNoInlinePolicy"):
        acknowledge(service, finding, "names exactly two Lambda aliases; lives and dies with it")
    return stack


def main() -> None:
    app = cdk.App()
    register_packs(app)  # AwsSolutions, Serverless, NIST 800-53 rev 5, HIPAA, the package's own
    register_control_tower(app)  # the AWS Control Tower proactive controls (cfn-guard)
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
