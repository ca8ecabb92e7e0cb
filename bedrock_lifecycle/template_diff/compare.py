"""Compare two templates of a stack: what is added, modified, replaced and removed.

Replacement is decided offline: a changed ``Type``; a changed property in the resource
type's ``createOnlyProperties`` of the provider schemas that cfn-lint ships (read as plain
JSON, cfn-lint is not imported); for the project's custom resources, what their handler
does (:data:`CUSTOM_RESOURCE_REPLACEMENTS`).
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ACTIONS = ("add", "modify", "replace", "remove")
# Resource attributes that change the resource or how CloudFormation treats it.
ATTRIBUTES = (
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "UpdatePolicy",
    "CreationPolicy",
    "Condition",
)
RETAINING = ("Retain", "RetainExceptOnCreate")
# A CDK asset hash (S3 object keys, staged folder names, image tags).
_ASSET_HASH = re.compile(r"[0-9a-f]{64}")
THROUGHPUT_TYPE = "Custom::BedrockProvisionedThroughput"
# What the project's custom resource handlers do with a change of each property: True
# replaces (the handler answers with a new physical id, CloudFormation then deletes the
# old one), False updates in place. Mirrors lambdas/provisioned_throughput/update.py
# (plan_update) and lambdas/invocation_logging/app.py (Update keeps its physical id);
# tests/test_template_diff.py fails when a handler's behaviour departs from this table.
# ModelId of a throughput replaces, except on a custom model (see _replacing_properties).
CUSTOM_RESOURCE_REPLACEMENTS: Mapping[str, Mapping[str, bool]] = {
    THROUGHPUT_TYPE: {
        "ProvisionedModelName": False,
        "ModelId": True,
        "ModelUnits": True,
        "CommitmentDuration": True,
        "AllowReplacement": False,
        "Tags": False,
    },
    "Custom::BedrockInvocationLogging": {},
}
NO_COMMITMENT = "None"
THROUGHPUT_REFUSAL = (
    "refused at deploy while the committed term runs, unless AllowReplacement is true"
)
DEFAULT_REGION = "us-east-1"


class TemplateDiffError(Exception):
    """The diff could not be made; the message is one line."""


@dataclass(frozen=True)
class ResourceChange:
    """One resource that differs between the base and the head template of a stack."""

    stack: str
    logical_id: str
    resource_type: str
    action: str  # "add" | "modify" | "replace" | "remove"
    properties: tuple[str, ...]
    """Changed top-level properties (and attributes); empty for add and remove."""
    replaced_by: tuple[str, ...]
    """Those of ``properties`` that force a replacement (``Type`` when the type changed)."""
    asset_only: tuple[str, ...] = ()
    """Those of ``properties`` whose only difference is an asset hash. Default: none."""
    note: str = ""
    """What a reviewer should know beyond the change (retained, refused). Default: none."""


def compare_templates(
    stack: str,
    base: Mapping[str, Any] | None,
    head: Mapping[str, Any] | None,
    *,
    create_only: Callable[[str], tuple[str, ...] | None] | None = None,
) -> list[ResourceChange]:
    """The resource changes from ``base`` to ``head`` (None: the stack does not exist).

    :param create_only: the ``createOnlyProperties`` JSON pointers of a resource type,
        None for a type without a schema. Default: cfn-lint's schemas for us-east-1.
    :returns: changes sorted by logical id.
    """
    lookup = create_only if create_only is not None else schema_create_only
    old = dict((base or {}).get("Resources") or {})
    new = dict((head or {}).get("Resources") or {})
    changes: list[ResourceChange] = []
    for logical_id in sorted(set(old) | set(new)):
        before, after = old.get(logical_id), new.get(logical_id)
        if before is None:
            changes.append(ResourceChange(stack, logical_id, _type(after), "add", (), ()))
        elif after is None:
            note = ""
            if before.get("DeletionPolicy") in RETAINING:
                note = f"retained (DeletionPolicy {before['DeletionPolicy']}): left in the account"
            changes.append(
                ResourceChange(stack, logical_id, _type(before), "remove", (), (), note=note)
            )
        else:
            change = _compare_resource(stack, logical_id, before, after, lookup)
            if change is not None:
                changes.append(change)
    return changes


def _type(resource: Mapping[str, Any] | None) -> str:
    return str((resource or {}).get("Type", "?"))


def _compare_resource(
    stack: str,
    logical_id: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    create_only: Callable[[str], tuple[str, ...] | None],
) -> ResourceChange | None:
    old_type, new_type = _type(before), _type(after)
    old_props = dict(before.get("Properties") or {})
    new_props = dict(after.get("Properties") or {})
    changed = [
        k for k in sorted(set(old_props) | set(new_props)) if old_props.get(k) != new_props.get(k)
    ]
    changed += [a for a in ATTRIBUTES if before.get(a) != after.get(a)]
    if old_type != new_type:
        return ResourceChange(stack, logical_id, new_type, "replace", ("Type", *changed), ("Type",))
    if not changed:
        return None
    asset_only = tuple(
        k
        for k in changed
        if k in old_props and k in new_props and _masked(old_props[k]) == _masked(new_props[k])
    )
    replaced_by, note = _replacing_properties(new_type, old_props, new_props, changed, create_only)
    action = "replace" if replaced_by else "modify"
    return ResourceChange(
        stack, logical_id, new_type, action, tuple(changed), replaced_by, asset_only, note
    )


def _masked(value: Any) -> str:
    return _ASSET_HASH.sub("<asset>", json.dumps(value, sort_keys=True))


def _replacing_properties(
    resource_type: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    changed: Sequence[str],
    create_only: Callable[[str], tuple[str, ...] | None],
) -> tuple[tuple[str, ...], str]:
    """The changed properties that force a replacement, and a note for the reviewer."""
    props = [k for k in changed if k not in ATTRIBUTES]
    if resource_type in CUSTOM_RESOURCE_REPLACEMENTS:
        table = CUSTOM_RESOURCE_REPLACEMENTS[resource_type]
        forcing = [k for k in props if table.get(k, False)]
        if resource_type == THROUGHPUT_TYPE:
            forcing = [k for k in forcing if k != "ModelId" or _throughput_model_replaces(old, new)]
            committed = str(old.get("CommitmentDuration", NO_COMMITMENT)) != NO_COMMITMENT
            allowed = str(new.get("AllowReplacement", "false")).lower() == "true"
            if forcing and committed and not allowed:
                return tuple(forcing), THROUGHPUT_REFUSAL
        return tuple(forcing), ""
    if (
        resource_type.startswith("Custom::")
        or resource_type == "AWS::CloudFormation::CustomResource"
    ):
        return (), "a custom resource: its handler decides whether this replaces it"
    pointers = create_only(resource_type)
    if pointers is None:
        return (), f"no provider schema for {resource_type}: replacement not known"
    forcing = []
    for key in props:
        for pointer in pointers:
            parts = pointer.split("/")[2:]  # "/properties/Name/Sub" -> ["Name", "Sub"]
            if parts and parts[0] == key and _at(old, parts) != _at(new, parts):
                forcing.append(key)
                break
    return tuple(forcing), ""


def _throughput_model_replaces(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """As the handler: a foundation model id and its ARN name one model; a throughput on a
    custom model changes model in place. An unresolved value is taken to replace."""
    old_id, new_id = old.get("ModelId"), new.get("ModelId")
    if not (isinstance(old_id, str) and isinstance(new_id, str)):
        return True
    if _model_key(old_id) == _model_key(new_id):
        return False
    return ":custom-model/" not in old_id


def _model_key(model_id: str) -> str:
    if ":foundation-model/" in model_id:
        return model_id.split(":foundation-model/", 1)[1]
    return model_id


def _at(value: Any, parts: Sequence[str]) -> Any:
    """The value at a schema path (``*`` stands for every item of a list)."""
    for i, part in enumerate(parts):
        if part == "*":
            if not isinstance(value, list):
                return None
            return [_at(item, parts[i + 1 :]) for item in value]
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _schemas_dir() -> Path:
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or not spec.submodule_search_locations:
        raise TemplateDiffError(
            "cfn-lint is not installed: its resource schemas tell which changes replace "
            "(pip install -r requirements-dev.txt)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "schemas"


@cache
def _schema_index(region: str) -> Mapping[str, str]:
    path = _schemas_dir() / "providers" / f"{region.replace('_', '-')}.json"
    if not path.is_file():
        raise TemplateDiffError(f"no cfn-lint provider schemas for region {region!r} at {path}")
    return dict(json.loads(path.read_text(encoding="utf-8")))


@cache
def schema_create_only(resource_type: str, region: str = DEFAULT_REGION) -> tuple[str, ...] | None:
    """``createOnlyProperties`` of ``resource_type`` from cfn-lint's provider schemas.

    :param region: whose schemas. Default: us-east-1 (create-only properties do not vary).
    :returns: JSON pointers such as ``/properties/FunctionName``; None without a schema.
    """
    digest = _schema_index(region).get(resource_type)
    if digest is None:
        return None
    schema = json.loads(
        (_schemas_dir() / "resources" / f"{digest}.json").read_text(encoding="utf-8")
    )
    return tuple(schema.get("createOnlyProperties") or ())
