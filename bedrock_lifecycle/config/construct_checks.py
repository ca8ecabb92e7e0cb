"""The checks the constructs make, run on the file so that ``validate`` refuses what synth
would.

Each rule here calls the function a construct calls on the same value: the
version checks of :class:`~bedrock_lifecycle.versions.ModelVersion`, the one tag
check :func:`bedrock_lifecycle.shared.contract.tag_errors`. Nothing is copied, so
nothing can drift; what the file cannot know before a construct exists (sizes of
resolved configuration, construct ids) is checked by ``validate``'s dry build
(:mod:`bedrock_lifecycle.dry_build`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..names import PROJECT_TAG_PREFIX
from ..shared import contract
from ..versions import ModelVersion
from .problems import Problem
from .rollout_checks import inside_folder
from .schema import LifecycleFile

# A stand-in for a throughput's ARN, which exists only once the stack does.
_PLACEHOLDER_THROUGHPUT_ARN = "arn:aws:bedrock:us-east-1:111111111111:provisioned-model/placeholder"
# And for a custom model's on-demand deployment, made by the stack too.
_PLACEHOLDER_DEPLOYMENT_ARN = (
    "arn:aws:bedrock:us-east-1:111111111111:custom-model-deployment/placeholder1"
)


def check_versions_buildable(file: LifecycleFile, base: Path) -> Iterator[Problem]:
    """Every version as the constructs build it (``ModelVersion.from_spec``)."""
    for fam_name, family in file.families.items():
        for label, spec in family.versions.items():
            throughput = spec.target.provisioned_throughput is not None
            try:
                ModelVersion.from_spec(
                    fam_name,
                    label,
                    spec,
                    kind=family.kind,
                    provisioned_model_arn=_PLACEHOLDER_THROUGHPUT_ARN if throughput else None,
                    deployment_arn=(
                        _PLACEHOLDER_DEPLOYMENT_ARN
                        if spec.target.custom_model is not None
                        else None
                    ),
                )
            except ValueError as exc:
                message = str(exc).removeprefix(f"{fam_name}/{label}: ")
                yield Problem(("families", fam_name, "versions", label, "target"), message)


def check_tags(file: LifecycleFile, base: Path) -> Iterator[Problem]:
    """Each environment's tags: what AWS accepts on every resource, and none of the
    project's own ``bedrock-lifecycle:`` keys, which the stacks set themselves."""
    for env_name, env in file.environments.items():
        for key, value in env.tags.items():
            where = ("environments", env_name, "tags", key)
            for message in contract.tag_errors(key, value):
                yield Problem(where, message)
            if key.lower().startswith(PROJECT_TAG_PREFIX):
                yield Problem(
                    where,
                    f"tag keys starting with {PROJECT_TAG_PREFIX} are set by bedrock-lifecycle "
                    "itself (project, environment, family, version); choose another key",
                )


def check_golden_prompts_inside(file: LifecycleFile, base: Path) -> Iterator[Problem]:
    """A golden-prompt file is read and bundled into the gate's layer: it must be a file
    inside the lifecycle file's folder once every symbolic link is followed."""
    for fam_name, family in file.families.items():
        if family.evaluation is None:
            continue
        written = family.evaluation.golden_prompts
        if not inside_folder(base, written):
            yield Problem(
                ("families", fam_name, "evaluation", "golden_prompts"),
                # The schema refuses absolute paths and '..': only a link gets here.
                f"{written!r} leads outside the lifecycle file's folder through a symbolic "
                "link; golden prompts must be files inside it",
            )


CONSTRUCT_CHECKS = (check_versions_buildable, check_tags, check_golden_prompts_inside)
