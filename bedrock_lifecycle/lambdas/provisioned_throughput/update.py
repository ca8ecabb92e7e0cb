"""Update: change a throughput in place, or buy its replacement (guarded for commitments)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import contract
from answers import ThroughputError, on_event_answer
from bedrock_calls import Bedrock, failing_with, logger
from create import create_throughput
from descriptions import already_as_requested, expiry_text, under_commitment
from properties import Properties, model_key, parse_properties


@dataclass(frozen=True)
class UpdatePlan:
    """What an update does: replace (with reasons) or change in place."""

    replacement_reasons: tuple[str, ...]
    rename: bool
    change_model: bool
    tags_to_set: tuple[tuple[str, str], ...]
    tags_to_remove: tuple[str, ...]

    @property
    def in_place(self) -> bool:
        """Whether Bedrock can make every change to the existing throughput."""
        return not self.replacement_reasons


def plan_update(old: Properties, new: Properties) -> UpdatePlan:
    """Which changes Bedrock makes in place and which need a new throughput.

    In place: the name; the model of a throughput on a custom model; tags.
    Replacement: model units, commitment, the model of a foundation-model throughput.
    """
    reasons = []
    if old.model_units != new.model_units:
        reasons.append(f"ModelUnits {old.model_units} -> {new.model_units}")
    if old.commitment != new.commitment:
        reasons.append(f"CommitmentDuration {old.commitment} -> {new.commitment}")
    # A foundation model id and its ARN in this region name the same model.
    model_changed = model_key(old.model_id) != model_key(new.model_id)
    if model_changed and not old.custom_model:
        reasons.append(
            f"ModelId {old.model_id} -> {new.model_id} (a foundation-model throughput cannot "
            "change model)"
        )
    old_tags, new_tags = dict(old.tags), dict(new.tags)
    return UpdatePlan(
        replacement_reasons=tuple(reasons),
        rename=old.name != new.name,
        change_model=model_changed,
        tags_to_set=tuple((k, v) for k, v in new.tags if old_tags.get(k) != v),
        tags_to_remove=tuple(sorted(set(old_tags) - set(new_tags))),
    )


def update_throughput(event: Mapping[str, Any], bedrock: Bedrock) -> dict[str, Any]:
    """Change the throughput of the physical id in place, or replace it when Bedrock cannot."""
    new = parse_properties(event.get("ResourceProperties"))
    old = parse_properties(event.get("OldResourceProperties"))
    arn = str(event.get("PhysicalResourceId"))
    if not contract.PROVISIONED_MODEL_ARN.fullmatch(arn):
        raise ThroughputError(
            f"the physical id {arn!r} is not a provisioned model ARN, so this resource cannot be "
            "updated; remove it from the stack and add it again"
        )
    plan = plan_update(old, new)
    if not plan.in_place:
        # Decide on what Bedrock holds, not only on the old properties: when CloudFormation
        # rolls back a replacement that failed, it sends the original properties as an
        # Update of the original throughput, which already is what they describe.
        reasons = "; ".join(plan.replacement_reasons)
        with failing_with(
            lambda failure: (
                f"could not read provisioned throughput {arn} before replacing it "
                f"({failure}); refusing to replace it ({reasons}): retry the deployment"
            )
        ):
            current = bedrock.describe(arn)
        if current is None or not already_as_requested(current, new):
            return replace_throughput(event, arn, old, new, reasons, current, bedrock)
        logger.warning(
            "the throughput already has the requested units, commitment and model: nothing "
            "to buy, updating name and tags in place",
            arn=arn,
            reasons=reasons,
        )
        plan = dataclasses.replace(
            plan,
            replacement_reasons=(),
            rename=current.get("provisionedModelName") != new.name,
            change_model=False,
        )
    return update_in_place(arn, new, plan, bedrock)


def update_in_place(
    arn: str, new: Properties, plan: UpdatePlan, bedrock: Bedrock
) -> dict[str, Any]:
    """Rename, change the model of and retag ``arn`` as ``plan`` says."""
    changes: dict[str, str] = {}
    if plan.rename:
        changes["desiredProvisionedModelName"] = new.name
    if plan.change_model:
        changes["desiredModelId"] = new.model_id
    with failing_with(
        lambda failure: (
            f"Bedrock refused to update provisioned throughput {arn} "
            f"({', '.join(changes) or 'tags'}): {failure}"
        )
    ):
        if changes:
            logger.info("updating provisioned throughput in place", arn=arn, changes=changes)
            bedrock.call("update_provisioned_model_throughput", provisionedModelId=arn, **changes)
        if plan.tags_to_remove:
            bedrock.call("untag_resource", resourceARN=arn, tagKeys=list(plan.tags_to_remove))
        if plan.tags_to_set:
            tags = [{"key": k, "value": v} for k, v in plan.tags_to_set]
            bedrock.call("tag_resource", resourceARN=arn, tags=tags)
    if not changes:
        return on_event_answer(arn)
    desired_model = new.model_id if plan.change_model else None
    return on_event_answer(arn, wait="InService", desired_model=desired_model)


def replacement_name(name: str, event: Mapping[str, Any]) -> str:
    """Name of a replacement throughput: Bedrock names are unique and the old one still exists.

    ``<name>-<6 hex of the request>``, cut to 63 characters; deterministic per request.
    """
    suffix = hashlib.sha256(str(event["RequestId"]).encode()).hexdigest()[:6]
    base = name[: contract.PROVISIONED_MODEL_NAME_MAX - len(suffix) - 1].rstrip("-_")
    return f"{base}-{suffix}"


def replace_throughput(
    event: Mapping[str, Any],
    arn: str,
    old: Properties,
    new: Properties,
    reasons: str,
    current: Mapping[str, Any] | None,
    bedrock: Bedrock,
) -> dict[str, Any]:
    """Buy a new throughput; CloudFormation then sends a Delete for the old ARN.

    ``current`` is Bedrock's description of the old one (None: it is gone). Bedrock
    names are unique and the old one still exists, so a new one under the same name
    gets a suffix.
    """
    if (
        current is not None
        and not new.allow_replacement
        and under_commitment(current, bedrock.now())
    ):
        raise ThroughputError(
            contract.THROUGHPUT_REPLACEMENT_REFUSAL.format(
                name=arn,
                reasons=reasons,
                commitment=current.get("commitmentDuration"),
                expiry=expiry_text(current),
            )
        )
    held = {old.name, current.get("provisionedModelName") if current is not None else old.name}
    name = replacement_name(new.name, event) if new.name in held else new.name
    logger.info("replacing provisioned throughput", old_arn=arn, reasons=reasons, new_name=name)
    return create_throughput(event, new, name, bedrock)
