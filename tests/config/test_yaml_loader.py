"""The duplicate-refusing YAML reader keeps what YAML users rely on."""

from __future__ import annotations

import pytest
import yaml

from bedrock_lifecycle.config.yaml_loader import YamlProblem, read_yaml


def test_anchors_and_merge_keys_still_work():
    data, problems = read_yaml(
        "defaults: &d {max_tokens: 512, temperature: 0.2}\nv1:\n  <<: *d\n  temperature: 0.5\n"
    )
    assert problems == []
    assert data["v1"] == {"max_tokens": 512, "temperature": 0.5}


def test_duplicates_are_found_at_any_depth_with_their_path():
    _, problems = read_yaml("a:\n  b:\n    - {c: 1, c: 2}\n")
    assert problems == [
        YamlProblem(
            ("a", "b", 0), "duplicate key 'c' at line 3 (first at line 3); each key may appear once"
        )
    ]


def test_dates_and_scalars_keep_their_yaml_types():
    data, _ = read_yaml("sunset: 2027-06-30\nunits: 2\nflag: true\nname: v1\n")
    assert str(data["sunset"]) == "2027-06-30" and data["units"] == 2 and data["flag"] is True


def test_not_yaml_raises_yaml_error():
    with pytest.raises(yaml.YAMLError):
        read_yaml("a: [1, 2\n")


def test_empty_text_is_none():
    assert read_yaml("") == (None, [])
