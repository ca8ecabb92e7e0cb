"""Version content hashes, version ids and the lock file."""

from __future__ import annotations

import json

import pytest

from bedrock_lifecycle.config import ConfigError, Lock, content_hash, load_lifecycle, version_id
from bedrock_lifecycle.config.lockfile import current_hashes, updated_lock
from bedrock_lifecycle.config.schema import VersionSpec

BASE = {
    "target": {"foundation_model": "anthropic.claude-3-haiku-20240307-v1:0"},
    "inference": {"max_tokens": 512, "temperature": 0.2},
    "system_prompt": "Summarize.",
}


def spec(**changes) -> VersionSpec:
    data = json.loads(json.dumps(BASE))
    data.update(changes)
    return VersionSpec.model_validate(data)


def test_version_id_format():
    vid = version_id("v1", spec())
    label, digest = vid.split("@")
    assert label == "v1" and len(digest) == 12 and int(digest, 16) >= 0
    assert digest == content_hash(spec())[:12]


def test_same_content_same_id_whatever_the_key_order():
    reordered = VersionSpec.model_validate(
        {
            "system_prompt": "Summarize.",
            "inference": {"temperature": 0.2, "max_tokens": 512},
            "target": {"foundation_model": "anthropic.claude-3-haiku-20240307-v1:0"},
        }
    )
    assert content_hash(reordered) == content_hash(spec())


def test_known_hash_is_stable_across_runs():
    # Pinned: a change of the canonical form would silently re-version every model.
    assert (
        content_hash(spec()) == "197986050435d307f41aab8be3f178ca8dda3e343cb99ebc36a400a0dfe1eae8"
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"system_prompt": "Summarize briefly."},
        {"inference": {"max_tokens": 513, "temperature": 0.2}},
        {"inference": {"max_tokens": 512, "temperature": 0.3}},
        {"target": {"foundation_model": "anthropic.claude-3-5-haiku-20241022-v1:0"}},
        {"target": {"inference_profile": "us.anthropic.claude-3-haiku-20240307-v1:0"}},
        {"guardrail": {"id": "abcdefghij12", "version": "1"}},
    ],
    ids=["prompt", "max_tokens", "temperature", "model", "profile", "guardrail"],
)
def test_any_content_change_gives_another_id(changes):
    assert content_hash(spec(**changes)) != content_hash(spec())


def test_lifecycle_state_and_description_are_not_content():
    deprecated = spec(
        lifecycle={"state": "deprecated", "sunset": "2030-01-01", "replacement": "v2"},
        description="old",
    )
    assert content_hash(deprecated) == content_hash(spec())


def test_explicit_defaults_do_not_change_the_id():
    explicit = spec(inference={"max_tokens": 512, "temperature": 0.2, "stop_sequences": []})
    assert content_hash(explicit) == content_hash(spec())


def _write(tmp_path, versions: dict) -> object:
    path = tmp_path / "lifecycle.yaml"
    body = {
        "schema_version": 1,
        "environments": {"dev": {}},
        "families": {
            "s": {
                "versions": versions,
                "aliases": {"live": {"version": next(iter(versions))}},
            }
        },
    }
    path.write_text(json.dumps(body))  # JSON is YAML
    return path


def test_lock_round_trip_and_append_only(tmp_path):
    path = _write(tmp_path, {"v1": BASE})
    config = load_lifecycle(path, check_lock_file=False)
    lock, added = updated_lock(config.file, None)
    assert added == ["s/v1"]
    assert Lock(versions=json.loads(lock.render())["versions"]) == lock
    # A new version is added; the existing entry is never rewritten.
    path = _write(tmp_path, {"v1": BASE, "v2": {**BASE, "system_prompt": "Other."}})
    config = load_lifecycle(path, check_lock_file=False)
    lock2, added2 = updated_lock(config.file, lock)
    assert added2 == ["s/v2"]
    assert lock2.versions["s/v1"] == lock.versions["s/v1"]
    assert set(lock2.versions) == set(current_hashes(config.file))


def test_removed_version_stays_locked(tmp_path):
    lock = Lock(versions={"s/v0": "a" * 64})
    path = _write(tmp_path, {"v1": BASE})
    config = load_lifecycle(path, check_lock_file=False)
    lock2, _ = updated_lock(config.file, lock)
    assert lock2.versions["s/v0"] == "a" * 64


def test_missing_lock_is_an_error(tmp_path):
    path = _write(tmp_path, {"v1": BASE})
    with pytest.raises(
        ConfigError, match=r"lifecycle.lock does not exist; run `bedrock-lifecycle lock`"
    ):
        load_lifecycle(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", r"not valid JSON \(Expecting value at line 1\)"),
        ('{"format": 2, "versions": {}}', r'expected a JSON object with "format": 1'),
        ('{"format": 1, "versions": {"s/v1": "short"}}', r'"versions" must map'),
    ],
)
def test_malformed_lock_is_reported(tmp_path, text, message):
    path = _write(tmp_path, {"v1": BASE})
    (tmp_path / "lifecycle.lock").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_lifecycle(path)


def test_shipped_lock_matches_shipped_file(shipped_config):
    from tests.conftest import ROOT

    lock = Lock.read(ROOT / "lifecycle.lock")
    assert lock is not None
    assert current_hashes(shipped_config.file).items() <= lock.versions.items()
