"""``customize start``: the exact CreateModelCustomizationJob, submitted once."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import (
    BUCKET,
    KMS_KEY,
    LOGS,
    OWN_ROLE,
    PROD,
    PROJECT,
    STACK_ROLE,
    STAGING,
    job_arn,
)


def tags(name: str, environment: str = "staging") -> list[dict[str, str]]:
    return [
        {"key": "bedrock-lifecycle:project", "value": PROJECT},
        {"key": "bedrock-lifecycle:environment", "value": environment},
        {"key": "bedrock-lifecycle:custom-model", "value": name},
    ]


def tune_params(job: str) -> dict[str, Any]:
    """What start must send for test-tune, written out in full."""
    return {
        "jobName": job,
        "customModelName": job,
        "roleArn": STACK_ROLE,
        "clientRequestToken": job,
        "baseModelIdentifier": "amazon.nova-lite-v1:0",
        "customizationType": "FINE_TUNING",
        "trainingDataConfig": {"s3Uri": f"{BUCKET}/tune/train.jsonl"},
        "validationDataConfig": {
            "validators": [
                {"s3Uri": f"{BUCKET}/tune/validation.jsonl"},
                {"s3Uri": f"{BUCKET}/tune/holdout/"},
            ]
        },
        "outputDataConfig": {"s3Uri": f"{BUCKET}/tune/output/"},
        "hyperParameters": {"epochCount": "2", "learningRate": "0.00001"},
        "customModelKmsKeyId": KMS_KEY,
        "jobTags": tags("test-tune"),
        "customModelTags": tags("test-tune"),
    }


def test_job_name_is_the_name_and_12_hex_of_the_locked_declaration(project):
    job = project.job("test-tune")
    assert job.startswith("test-tune-") and len(job) == len("test-tune-") + 12
    assert project.job("test-tune", "prod") != job
    assert project.job("test-tune", attempt=2) == f"{job}-2"


def test_start_submits_once_then_finds_the_job(project, aws, run):
    job = project.job("test-tune")
    aws.caller()
    aws.no_job(job)
    aws.parameter("test-tune", {"role_arn": STACK_ROLE})
    arn = aws.create(tune_params(job))
    result = run("customize", "start", "test-tune", "--file", str(project.file))
    assert (result.code, result.err) == (0, [])
    assert result.out == [f"staging: test-tune: submitted {job} ({arn}), InProgress"]
    assert aws.regions == ["us-east-1"]

    # Again: Bedrock has the job; nothing is submitted (a create would find no response).
    aws.caller()
    aws.job(job, "InProgress")
    before = project.lock.read_bytes()
    result = run("customize", "start", "test-tune", "--file", str(project.file))
    assert (result.code, result.err) == (0, [])
    assert result.out == [f"staging: test-tune: already submitted {job} ({arn}), InProgress"]
    assert project.lock.read_bytes() == before  # start never writes the lock


def test_start_with_the_files_own_role_asks_no_parameter_and_sends_the_vpc(project, aws, run):
    job = project.job("test-own-role")
    aws.caller()
    aws.no_job(job)
    aws.create(
        {
            "jobName": job,
            "customModelName": job,
            "roleArn": OWN_ROLE,
            "clientRequestToken": job,
            "baseModelIdentifier": "amazon.nova-lite-v1:0",
            "customizationType": "FINE_TUNING",
            "trainingDataConfig": {"s3Uri": f"{BUCKET}/own/train.jsonl"},
            "outputDataConfig": {"s3Uri": f"{BUCKET}/own/output/"},
            "jobTags": tags("test-own-role"),
            "customModelTags": tags("test-own-role"),
            "vpcConfig": {
                "subnetIds": ["subnet-0a1b2c3d4e5f60711", "subnet-0a1b2c3d4e5f60722"],
                "securityGroupIds": ["sg-0a1b2c3d4e5f60733"],
            },
        }
    )
    result = run("customize", "start", "test-own-role", "--file", str(project.file))
    assert (result.code, result.err) == (0, []), result  # and SSM was asked nothing


@pytest.mark.parametrize(
    ("name", "teacher", "filters", "use_prompt_response"),
    [
        (
            "test-distil",
            {
                "teacherModelIdentifier": "us.amazon.nova-pro-v1:0",
                "maxResponseLengthForInference": 1000,
            },
            {
                "andAll": [
                    {"equals": {"alias": "summarizer/live"}},
                    {"equals": {"environment": "staging"}},
                ]
            },
            False,
        ),
        (
            "test-distil-one",
            {"teacherModelIdentifier": "amazon.nova-pro-v1:0"},
            {"equals": {"version_id": "v2@0123456789ab"}},
            True,
        ),
    ],
)
def test_start_distillation_from_invocation_logs(
    project, aws, run, name, teacher, filters, use_prompt_response
):
    job = project.job(name)
    aws.caller()
    aws.no_job(job)
    aws.parameter(name, {"role_arn": STACK_ROLE, "invocation_logs": LOGS})
    arn = aws.create(
        {
            "jobName": job,
            "customModelName": job,
            "roleArn": STACK_ROLE,
            "clientRequestToken": job,
            "baseModelIdentifier": "amazon.nova-lite-v1:0",
            "customizationType": "DISTILLATION",
            "trainingDataConfig": {
                "invocationLogsConfig": {
                    "usePromptResponse": use_prompt_response,
                    "invocationLogSource": {"s3Uri": LOGS},
                    "requestMetadataFilters": filters,
                }
            },
            "outputDataConfig": {"s3Uri": f"{BUCKET}/{name.removeprefix('test-')}/output/"},
            "jobTags": tags(name),
            "customModelTags": tags(name),
            "customizationConfig": {"distillationConfig": {"teacherModelConfig": teacher}},
        }
    )
    result = run(
        "customize", "start", name, "--environment", "staging", "--file", str(project.file)
    )
    assert (result.code, result.err) == (0, []), result
    assert result.out == [f"staging: {name}: submitted {job} ({arn}), InProgress"]


def test_start_in_the_second_environment_uses_its_region_and_account(project, aws, run):
    job = project.job("test-distil", "prod")
    assert job != project.job("test-distil", "staging")
    aws.caller(PROD, region="us-west-2")
    aws.job(job, "InProgress", region="us-west-2")
    result = run(
        "customize", "start", "test-distil", "--environment", "prod", "--file", str(project.file)
    )
    assert result.code == 0, result
    assert result.out == [
        f"prod: test-distil: already submitted {job} ({job_arn(job, 'us-west-2')}), InProgress"
    ]
    assert aws.regions == ["us-west-2"]


def test_a_concurrent_start_conflicts_and_the_job_is_looked_up(project, aws, run):
    job = project.job("test-tune")
    aws.caller()
    aws.no_job(job)
    aws.parameter("test-tune", {"role_arn": STACK_ROLE})
    aws.stub("bedrock").add_client_error(
        "create_model_customization_job",
        service_error_code="ConflictException",
        service_message="a job with this name exists",
        http_status_code=409,
        expected_params=tune_params(job),
    )
    arn = aws.job(job, "InProgress")
    result = run("customize", "start", "test-tune", "--file", str(project.file))
    assert (result.code, result.err) == (0, []), result
    assert result.out == [f"staging: test-tune: already submitted {job} ({arn}), InProgress"]


def test_a_conflict_with_no_job_to_find_is_said_in_one_line(project, aws, run):
    job = project.job("test-tune")
    aws.caller()
    aws.no_job(job)
    aws.parameter("test-tune", {"role_arn": STACK_ROLE})
    aws.stub("bedrock").add_client_error(
        "create_model_customization_job",
        service_error_code="ConflictException",
        service_message="a model named so exists",
        http_status_code=409,
        expected_params=tune_params(job),
    )
    aws.no_job(job)
    result = run("customize", "start", "test-tune", "--file", str(project.file))
    assert (result.code, result.out) == (2, [])
    assert result.err == ["customize: AWS refused: ConflictException: a model named so exists"]


def test_before_the_stack_is_deployed_there_is_no_role(project, aws, run):
    job = project.job("test-tune")
    aws.caller()
    aws.no_job(job)
    aws.no_parameter("test-tune")
    result = run("customize", "start", "test-tune", "--file", str(project.file))
    assert (result.code, result.out, len(result.err)) == (2, [], 1)
    assert "does not exist: deploy the staging stack" in result.err[0]


@pytest.mark.parametrize(
    "published",
    [
        {"role_arn": STACK_ROLE},  # the stack does not own the invocation logs
        {"role_arn": STACK_ROLE, "invocation_logs": None},
    ],
)
def test_logs_the_stack_does_not_publish_are_said_in_one_line(project, aws, run, published):
    job = project.job("test-distil-one")
    aws.caller()
    aws.no_job(job)
    aws.parameter("test-distil-one", published)
    result = run("customize", "start", "test-distil-one", "--file", str(project.file))
    assert (result.code, result.out, len(result.err)) == (2, [], 1), result
    assert "names no invocation logs" in result.err[0]


@pytest.mark.parametrize(
    "published", [["a list"], {"role": STACK_ROLE}, {"role_arn": 7}, "just text", {"role_arn": ""}]
)
def test_a_parameter_of_another_shape_is_said_in_one_line(project, aws, run, published):
    job = project.job("test-tune")
    aws.caller()
    aws.no_job(job)
    aws.parameter("test-tune", published)  # type: ignore[arg-type]
    result = run("customize", "start", "test-tune", "--file", str(project.file))
    assert (result.code, result.out, len(result.err)) == (2, [], 1), result
    assert "does not hold what the stack writes" in result.err[0]


def test_start_of_a_completed_job_submits_nothing(project, aws, run):
    """The job completed long ago: found, nothing submitted, exit 0."""
    aws.caller(STAGING)
    aws.job(project.job("test-tune"), "Completed")
    result = run("customize", "start", "test-tune", "--file", str(project.file))
    assert result.code == 0 and "already submitted" in result.out[0], result
