"""ModelVersion: stable version ids, and each target resolved to exactly the ARNs to grant."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from bedrock_lifecycle.config.lockfile import Lock, content_hash, version_id
from bedrock_lifecycle.config.schema import FamilyKind, VersionSpec
from bedrock_lifecycle.versions import (
    PROFILE_DESTINATION_REGIONS,
    ModelVersion,
    destination_regions,
)
from tests.conftest import ROOT

HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"
BASE = {
    "target": {"inference_profile": f"us.{HAIKU}"},
    "inference": {"max_tokens": 512, "temperature": 0.2, "stop_sequences": ["END"]},
    "system_prompt": "You summarize tickets.",
    "guardrail": {"id": "abcdefghijkl", "version": "3"},
}


def version(data: dict, label: str = "v2", **kwargs) -> ModelVersion:
    return ModelVersion.from_spec("summarizer", label, VersionSpec.model_validate(data), **kwargs)


def resolve(model_version: ModelVersion):
    return model_version.resolve(partition="aws", region="us-east-1", account="111111111111")


# -- version ids ---------------------------------------------------------------


def test_version_id_is_label_and_12_hex_of_the_lock_hash():
    v = version(BASE)
    assert v.version_id == f"v2@{v.content_hash[:12]}"
    assert v.version_id == version_id("v2", v.spec)
    assert v.content_hash == content_hash(v.spec)
    assert len(v.content_hash) == 64 and int(v.content_hash, 16) >= 0


def test_shipped_versions_match_the_lock_file(shipped_config):
    lock = Lock.read(ROOT / "lifecycle.lock")
    assert lock is not None
    for family_name, family in shipped_config.file.families.items():
        for label, spec in family.versions.items():
            v = ModelVersion.from_spec(
                family_name,
                label,
                spec,
                kind=family.kind,
                provisioned_model_arn=(
                    "arn:aws:bedrock:us-east-1:222222222222:provisioned-model/abcdef123456"
                    if spec.target.provisioned_throughput is not None
                    else None
                ),
                deployment_arn=(
                    "arn:aws:bedrock:us-east-1:111111111111:custom-model-deployment/abcdef123456"
                    if spec.target.custom_model is not None
                    else None
                ),
            )
            assert lock.versions[v.qualified_name] == v.content_hash


def test_same_content_in_another_key_order_or_with_defaults_written_has_the_same_id():
    reordered = {
        "guardrail": {"version": "3", "id": "abcdefghijkl"},
        "system_prompt": "You summarize tickets.",
        "inference": {"stop_sequences": ["END"], "temperature": 0.2, "max_tokens": 512},
        "target": {"inference_profile": f"us.{HAIKU}"},
    }
    with_defaults = {
        **BASE,
        "inference": {**BASE["inference"], "top_p": None, "dimensions": None},
        "lifecycle": {"state": "active"},
    }
    ids = {version(d).version_id for d in (BASE, reordered, with_defaults)}
    assert len(ids) == 1


def test_lifecycle_and_description_are_not_content():
    deprecated = {
        **BASE,
        "description": "old",
        "lifecycle": {"state": "deprecated", "sunset": "2027-01-01", "replacement": "v3"},
    }
    assert version(deprecated).version_id == version(BASE).version_id


def test_same_id_across_processes_and_hash_seeds():
    script = (
        "import json,sys; from bedrock_lifecycle.config.schema import VersionSpec;"
        "from bedrock_lifecycle.versions import ModelVersion;"
        "print(ModelVersion.from_spec('summarizer','v2',"
        "VersionSpec.model_validate(json.loads(sys.argv[1]))).version_id)"
    )
    ids = set()
    for seed in ("1", "2", "12345"):
        result = subprocess.run(
            [sys.executable, "-c", script, json.dumps(BASE)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        ids.add(result.stdout.strip())
    assert ids == {version(BASE).version_id}


def test_yaml_and_json_of_the_same_version_agree():
    from_yaml = yaml.safe_load(
        """
        system_prompt: You summarize tickets.
        guardrail: {version: "3", id: abcdefghijkl}
        target: {inference_profile: us.anthropic.claude-haiku-4-5-20251001-v1:0}
        inference:
          temperature: 0.2
          stop_sequences: [END]
          max_tokens: 512
        """
    )
    assert version(from_yaml).version_id == version(BASE).version_id


@pytest.mark.parametrize(
    "change",
    [
        {"target": {"foundation_model": HAIKU}},
        {"target": {"inference_profile": f"eu.{HAIKU}"}},
        {"inference": {**BASE["inference"], "temperature": 0.3}},
        {"inference": {**BASE["inference"], "max_tokens": 513}},
        {"inference": {**BASE["inference"], "stop_sequences": ["END", "STOP"]}},
        {"inference": {**BASE["inference"], "top_p": 0.9}},
        {"system_prompt": "You summarize tickets!"},
        {"guardrail": {"id": "abcdefghijkl", "version": "4"}},
        {"guardrail": None},
    ],
)
def test_any_content_change_gives_another_id(change):
    assert version({**BASE, **change}).version_id != version(BASE).version_id


def test_label_is_part_of_the_id():
    assert version(BASE, "v3").version_id.split("@") == ["v3", version(BASE).content_hash[:12]]


# -- targets -------------------------------------------------------------------


def test_foundation_model_resolves_to_the_model_in_the_region():
    target = resolve(version({"target": {"foundation_model": HAIKU}}))
    arn = f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"
    assert (target.model_id, target.model_arn, target.invoke_arns) == (HAIKU, arn, (arn,))
    assert target.guardrail_arn is None


def test_cross_region_profile_resolves_to_profile_and_model_in_each_destination():
    target = resolve(version(BASE))
    profile_arn = f"arn:aws:bedrock:us-east-1:111111111111:inference-profile/us.{HAIKU}"
    assert target.model_id == f"us.{HAIKU}"
    assert target.model_arn == profile_arn
    assert target.invoke_arns == (
        profile_arn,
        *(
            f"arn:aws:bedrock:{r}::foundation-model/{HAIKU}"
            for r in PROFILE_DESTINATION_REGIONS["us"]
        ),
    )
    assert target.guardrail_arn == "arn:aws:bedrock:us-east-1:111111111111:guardrail/abcdefghijkl"


def test_profile_from_another_source_region_also_grants_the_source_region():
    v = version({"target": {"inference_profile": f"eu.{HAIKU}"}})
    target = v.resolve(partition="aws", region="eu-west-1", account="111111111111")
    models = [a for a in target.invoke_arns if ":foundation-model/" in a]
    assert models[0] == f"arn:aws:bedrock:eu-west-1::foundation-model/{HAIKU}"
    assert len(models) == len(set(models)) == len(PROFILE_DESTINATION_REGIONS["eu"])


def test_destination_regions_override_the_prefix_table():
    v = version(
        {
            "target": {
                "inference_profile": f"us.{HAIKU}",
                "destination_regions": ["us-east-1", "us-west-2"],
            }
        }
    )
    assert destination_regions(v.target) == ("us-east-1", "us-west-2")
    assert resolve(v).invoke_arns[1:] == (
        f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}",
        f"arn:aws:bedrock:us-west-2::foundation-model/{HAIKU}",
    )


def test_global_profile_adds_the_region_less_model_arn():
    target = resolve(version({"target": {"inference_profile": f"global.{HAIKU}"}}))
    assert target.invoke_arns == (
        f"arn:aws:bedrock:us-east-1:111111111111:inference-profile/global.{HAIKU}",
        f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}",
        f"arn:aws:bedrock:::foundation-model/{HAIKU}",
    )


def test_unknown_profile_prefix_is_refused_with_the_known_ones():
    message = (
        r"prefix 'xx' with no known destination regions "
        r"\(known: apac, au, ca, eu, global, jp, us, us-gov\); set target.destination_regions"
    )
    with pytest.raises(ValueError, match=message):
        version({"target": {"inference_profile": f"xx.{HAIKU}"}})


def test_application_profile_resolves_to_profile_and_its_model():
    arn = "arn:aws:bedrock:us-west-2:111111111111:application-inference-profile/a1b2c3d4e5f6"
    target = resolve(
        version({"target": {"application_inference_profile": arn, "model": "amazon.nova-pro-v1:0"}})
    )
    assert (target.model_id, target.model_arn) == (arn, arn)
    assert target.invoke_arns == (
        arn,
        "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-pro-v1:0",
    )


def test_application_profile_needs_its_model():
    arn = "arn:aws:bedrock:us-west-2:111111111111:application-inference-profile/a1b2c3d4e5f6"
    with pytest.raises(ValueError, match="an application_inference_profile target needs model"):
        version({"target": {"application_inference_profile": arn}})


def test_provisioned_throughput_resolves_to_the_throughput_arn():
    arn = "arn:aws:bedrock:us-east-1:111111111111:provisioned-model/abcdef123456"
    target = resolve(
        version({"target": {"provisioned_throughput": "assistant"}}, provisioned_model_arn=arn)
    )
    assert (target.model_id, target.model_arn, target.invoke_arns) == (arn, arn, (arn,))


def test_provisioned_throughput_needs_its_arn_and_others_refuse_one():
    with pytest.raises(ValueError, match="targets provisioned throughput 'assistant': pass"):
        version({"target": {"provisioned_throughput": "assistant"}})
    with pytest.raises(ValueError, match="targets foundation_model, got a provisioned_model_arn"):
        version({"target": {"foundation_model": HAIKU}}, provisioned_model_arn="arn:x")


def test_custom_model_deployment_resolves_to_the_deployment():
    arn = "arn:aws:bedrock:us-east-1:111111111111:custom-model-deployment/a1b2c3d4e5f6"
    target = resolve(version({"target": {"custom_model_deployment": arn}}))
    assert (target.model_id, target.invoke_arns) == (arn, (arn,))


def test_embedding_versions_must_target_a_foundation_model():
    arn = "arn:aws:bedrock:us-east-1:111111111111:custom-model-deployment/a1b2c3d4e5f6"
    with pytest.raises(ValueError, match="embedding versions must target a foundation_model"):
        version({"target": {"custom_model_deployment": arn}}, kind=FamilyKind.EMBEDDING)


def test_tokens_pass_through_unchanged():
    target = version({"target": {"foundation_model": HAIKU}}).resolve(
        partition="${Token[AWS.Partition]}", region="${Token[AWS.Region]}", account="x"
    )
    assert target.model_arn == (
        f"arn:${{Token[AWS.Partition]}}:bedrock:${{Token[AWS.Region]}}::foundation-model/{HAIKU}"
    )
