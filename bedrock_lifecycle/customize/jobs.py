"""Submit and follow the customization jobs ``custom_models:`` declares.

Every function takes its boto3 clients as arguments, so tests stub them with
botocore's Stubber and nothing here needs credentials. A job's name, its custom
model's name and its ``clientRequestToken`` are one string derived from the
project, the environment and the declaration's hash
(:func:`~bedrock_lifecycle.values.job_name`): submitting twice finds the first
job instead of starting a second.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ..config.custom_models import valid_record
from ..config.lockfile import Lock
from ..config.schema import LifecycleFile
from ..names import customization_parameter_name
from ..values import MAX_ATTEMPTS, CustomModelSpec, custom_model_hash, job_name, metadata_filters

# Tags the job and its model carry, so that the account shows where they came from.
TAG_PREFIX = "bedrock-lifecycle"
DONE = ("Completed", "Failed", "Stopped")


class CustomizeError(Exception):
    """What the person running the command must fix; one line."""


class NoCredentials(CustomizeError):
    """No AWS credentials at all: the same for every environment, so said once."""


@dataclass(frozen=True)
class JobSite:
    """Where one declared job runs: the file's project, its environment and the model."""

    project: str
    environment: str
    name: str
    spec: CustomModelSpec

    def job_name(self, attempt: int) -> str:
        """:func:`~bedrock_lifecycle.values.job_name` of this site."""
        return job_name(self.project, self.environment, self.name, self.spec, attempt)


@dataclass(frozen=True)
class JobState:
    """One job as Bedrock reports it."""

    site: JobSite
    attempt: int
    name: str
    status: str
    arn: str | None = None
    model_arn: str | None = None
    failure: str | None = None
    details: str | None = None


def site_of(file: LifecycleFile, lock: Lock | None, name: str, environment: str | None) -> JobSite:
    """The job ``customize`` acts on; refuses a name that is not a declared, locked
    customization or an environment it does not run in."""
    spec = file.custom_models.get(name)
    if spec is None or spec.customization is None:
        declared = sorted(n for n, s in file.custom_models.items() if s.customization is not None)
        raise CustomizeError(
            f"custom_models.{name}: not a declared customization "
            f"(declared: {', '.join(declared) or 'none'})"
        )
    environments = spec.customization.environments
    if environment is None:
        if len(environments) > 1:
            raise CustomizeError(
                f"custom_models.{name}: runs in {', '.join(environments)}; name one with "
                "--environment"
            )
        environment = environments[0]
    if environment not in environments:
        raise CustomizeError(
            f"custom_models.{name}.customization.environments: {environment} is not one of "
            f"{', '.join(environments)}"
        )
    record = ((lock.custom_models or {}) if lock is not None else {}).get(name)
    if record is None or record["hash"] != custom_model_hash(spec):
        raise CustomizeError(
            f"custom_models.{name}: the lock does not record this declaration; run "
            "`bedrock-lifecycle lock` and commit it first, so that the job matches a "
            "reviewed declaration"
        )
    return JobSite(file.project, environment, name, spec)


def job_role(site: JobSite, ssm: Any) -> tuple[str, str | None]:
    """The job's role ARN and, for training data from invocation logs, their S3 URI:
    the file's ``role_arn``, else what the environment's stack published."""
    job = site.spec.customization
    assert job is not None
    needs_logs = job.training_data.invocation_logs is not None
    if job.role_arn is not None and not needs_logs:
        return job.role_arn, None
    parameter = customization_parameter_name(site.project, site.environment, site.name)
    try:
        value = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ParameterNotFound":
            raise CustomizeError(
                f"{parameter} does not exist: deploy the {site.environment} stack with this "
                "custom model declared first (it creates the job's role)"
            ) from None
        raise
    try:
        published = json.loads(value)
        role, logs = published["role_arn"], published.get("invocation_logs")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise CustomizeError(f"{parameter} does not hold what the stack writes") from None
    if not isinstance(role, str) or not role or not isinstance(logs, str | None):
        raise CustomizeError(f"{parameter} does not hold what the stack writes")
    if needs_logs and not logs:
        raise CustomizeError(
            f"{parameter} names no invocation logs: deploy the {site.environment} stack with "
            f"environments.{site.environment}.audit.invocation_logging and prompt_logging set"
        )
    return (job.role_arn or role), (logs or None)


def create_params(site: JobSite, attempt: int, role_arn: str, logs_uri: str | None) -> dict:
    """``CreateModelCustomizationJob``'s parameters for the declaration."""
    job = site.spec.customization
    assert job is not None
    name = site.job_name(attempt)
    training: dict[str, Any]
    if job.training_data.s3_uri is not None:
        training = {"s3Uri": job.training_data.s3_uri}
    else:
        source = job.training_data.invocation_logs
        assert source is not None and logs_uri is not None
        training = {
            "invocationLogsConfig": {
                "usePromptResponse": source.use_prompt_response,
                "invocationLogSource": {"s3Uri": logs_uri},
                "requestMetadataFilters": metadata_filters(dict(source.request_metadata)),
            }
        }
    tags = [
        {"key": f"{TAG_PREFIX}:project", "value": site.project},
        {"key": f"{TAG_PREFIX}:environment", "value": site.environment},
        {"key": f"{TAG_PREFIX}:custom-model", "value": site.name},
    ]
    params: dict[str, Any] = {
        "jobName": name,
        "customModelName": name,
        "roleArn": role_arn,
        "clientRequestToken": name,
        "baseModelIdentifier": job.base_model,
        "customizationType": job.type.value,
        "trainingDataConfig": training,
        "outputDataConfig": {"s3Uri": job.output_uri},
        "jobTags": tags,
        "customModelTags": tags,
    }
    if job.validation_data:
        params["validationDataConfig"] = {"validators": [{"s3Uri": u} for u in job.validation_data]}
    if job.hyperparameters:
        params["hyperParameters"] = dict(job.hyperparameters)
    if job.kms_key is not None:
        params["customModelKmsKeyId"] = job.kms_key
    if job.network is not None:
        params["vpcConfig"] = {
            "subnetIds": list(job.network.subnet_ids),
            "securityGroupIds": list(job.network.security_group_ids),
        }
    if job.teacher_model is not None:
        teacher: dict[str, Any] = {"teacherModelIdentifier": job.teacher_model}
        if job.max_response_length is not None:
            teacher["maxResponseLengthForInference"] = job.max_response_length
        params["customizationConfig"] = {"distillationConfig": {"teacherModelConfig": teacher}}
    return params


def describe(site: JobSite, attempt: int, bedrock: Any) -> JobState | None:
    """Attempt ``attempt`` of the job as Bedrock reports it; None if it was never submitted."""
    name = site.job_name(attempt)
    try:
        job = bedrock.get_model_customization_job(jobIdentifier=name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise
    differences = _not_declared(site, name, job)
    if differences:
        raise CustomizeError(
            f"a job named {name} exists that this declaration did not submit "
            f"({'; '.join(differences)}): it is not used, nor is its model recorded; "
            "find out who made it, and delete its custom model if it is not yours"
        )
    return JobState(
        site=site,
        attempt=attempt,
        name=name,
        status=str(job.get("status")),
        arn=job.get("jobArn"),
        model_arn=job.get("outputModelArn"),
        failure=job.get("failureMessage"),
        details=_details(job.get("statusDetails")),
    )


def latest(site: JobSite, bedrock: Any) -> JobState | None:
    """The last attempt submitted (attempts go 1, 2, ... without gaps), or None."""
    found = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        state = describe(site, attempt, bedrock)
        if state is None:
            return found
        found = state
    return found


def start(site: JobSite, attempt: int, bedrock: Any, ssm: Any) -> tuple[JobState, bool]:
    """Submit attempt ``attempt`` unless it was: ``(state, submitted now)``.

    Refuses to start attempt N+1 while attempt N has not ended or has completed, and to
    skip an attempt, so that at most one job per declaration and environment runs.
    """
    existing = describe(site, attempt, bedrock)
    if existing is not None:
        return existing, False
    if attempt > 1:
        before = describe(site, attempt - 1, bedrock)
        if before is None:
            raise CustomizeError(
                f"attempt {attempt - 1} of {site.name} in {site.environment} was never "
                f"submitted; start --attempt {attempt - 1} first"
            )
        if before.status not in ("Failed", "Stopped"):
            raise CustomizeError(
                f"attempt {attempt - 1} ({before.name}) is {before.status}; a new attempt "
                "starts only after a failed or stopped one"
            )
    role, logs = job_role(site, ssm)
    params = create_params(site, attempt, role, logs)
    try:
        created = bedrock.create_model_customization_job(**params)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code == "ConflictException":  # submitted meanwhile, by a retry or a colleague
            again = describe(site, attempt, bedrock)
            if again is not None:
                return again, False
        raise
    state = JobState(site, attempt, params["jobName"], "InProgress", arn=created.get("jobArn"))
    return state, True


def record(lock: Lock, state: JobState) -> Lock:
    """``lock`` with the model of a completed job recorded (never overwriting another)."""
    assert state.status == "Completed" and state.model_arn is not None
    models = dict(lock.custom_models or {})
    entry = models.get(state.site.name)
    if entry is None:
        raise CustomizeError(f"the lock no longer records custom model {state.site.name}")
    recorded = entry["models"].get(state.site.environment)
    if recorded not in (None, state.model_arn):
        raise CustomizeError(
            f"the lock records {recorded} for {state.site.name} in {state.site.environment}, "
            f"not {state.model_arn}; it is left as it is"
        )
    updated = {
        "hash": entry["hash"],
        "models": {**entry["models"], state.site.environment: state.model_arn},
    }
    if not valid_record(updated):  # the lock would no longer read
        raise CustomizeError(
            f"Bedrock reports {state.model_arn!r} as the model of {state.name}, not a custom "
            "model ARN; the lock is left as it is"
        )
    models[state.site.name] = updated
    return dataclasses.replace(lock, custom_models=models)


def sites(
    file: LifecycleFile, name: str | None, environment: str | None
) -> Iterator[tuple[str, str]]:
    """``(name, environment)`` of every declared job ``status`` shows."""
    for model, spec in file.custom_models.items():
        if spec.customization is None or name not in (None, model):
            continue
        for env in spec.customization.environments:
            if environment in (None, env):
                yield model, env


def _details(value: object) -> str | None:
    """Bedrock's statusDetails (per stage: validation, data processing, training) in short."""
    if not isinstance(value, dict):
        return None
    parts = []
    for stage, info in value.items():
        if isinstance(info, dict) and info.get("status"):
            parts.append(f"{stage.removesuffix('Details')} {info['status']}")
    return ", ".join(parts) or None


def _not_declared(site: JobSite, name: str, job: dict) -> list[str]:
    """How a job found by its (predictable) name differs from what ``start`` submits:
    anyone allowed to create jobs could take the name first."""
    spec = site.spec.customization
    assert spec is not None
    found = {
        "clientRequestToken": job.get("clientRequestToken"),
        "customizationType": job.get("customizationType"),
        "base model": str(job.get("baseModelArn", "")).rsplit("/", 1)[-1],
        "output": (job.get("outputDataConfig") or {}).get("s3Uri"),
        "training data": (job.get("trainingDataConfig") or {}).get("s3Uri"),
    }
    wanted = {
        "clientRequestToken": name,
        "customizationType": spec.type.value,
        "base model": spec.base_model,
        "output": spec.output_uri,
        "training data": spec.training_data.s3_uri,
    }
    return [
        f"{key} {found[key]!r}, declared {wanted[key]!r}"
        for key in wanted
        if found[key] is not None
        and found[key] != wanted[key]
        # A base model is reported by its ARN, whose last part may carry a context suffix.
        and not (key == "base model" and str(found[key]).startswith(f"{wanted[key]}:"))
    ]
