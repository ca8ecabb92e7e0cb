"""LifecycleFile.placements: the one resolution of aliases to environments and versions."""

from __future__ import annotations

from bedrock_lifecycle.config.lockfile import alias_positions
from bedrock_lifecycle.config.schema import LifecycleFile, Placement

FILE = LifecycleFile.model_validate(
    {
        "schema_version": 1,
        "environments": {"dev": {}, "staging": {}, "prod": {}},
        "families": {
            "s": {
                "versions": {
                    "v1": {"target": {"foundation_model": "amazon.nova-pro-v1:0"}},
                    "v2": {"target": {"foundation_model": "amazon.nova-lite-v1:0"}},
                },
                "aliases": {
                    "live": {"version": "v1", "environment_versions": {"prod": "v2"}},
                    "pinned": {"version": "v1", "environments": ["staging"]},
                    "nowhere": {"version": "v1", "environments": []},
                },
            }
        },
    }
)


def test_every_alias_in_each_of_its_environments_with_its_version():
    assert FILE.placements() == (
        Placement("dev", "s", "live", "v1"),
        Placement("staging", "s", "live", "v1"),
        Placement("prod", "s", "live", "v2"),
        Placement("staging", "s", "pinned", "v1"),
    )
    # An explicit empty list is no environment, not every one.
    assert FILE.alias_environments("s", "nowhere") == ()


def test_the_lock_records_exactly_the_placements():
    assert alias_positions(FILE) == {
        "dev": {"s/live": "v1"},
        "staging": {"s/live": "v1", "s/pinned": "v1"},
        "prod": {"s/live": "v2"},
    }


def test_an_undeclared_environment_is_no_placement():
    data = FILE.model_dump(mode="json")
    data["families"]["s"]["aliases"]["pinned"]["environments"] = ["staging", "qa"]
    file = LifecycleFile.model_validate(data)
    assert [p.environment for p in file.placements() if p.alias == "pinned"] == ["staging"]
