"""The configuration reference in docs/ is generated from the schema and kept current."""

from __future__ import annotations

from bedrock_lifecycle.config.reference import BEGIN, END, render_reference
from bedrock_lifecycle.config.schema import LifecycleFile
from tests.conftest import ROOT


def test_docs_reference_is_current():
    text = (ROOT / "docs/config-reference.md").read_text()
    embedded = text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()
    assert embedded == render_reference().strip(), (
        "regenerate: bedrock-lifecycle schema --markdown, between the markers"
    )


def test_every_key_is_described():
    rendered = render_reference()
    for row in rendered.splitlines():
        if row.startswith("| `"):
            assert not row.rstrip().endswith("|  |"), f"undocumented key: {row}"


def test_reference_covers_every_model_and_key():
    rendered = render_reference()
    for name in LifecycleFile.model_fields:
        assert f"| `{name}` |" in rendered
    for model in ("EnvironmentSpec", "AliasSpec", "Target", "RolloutPolicy", "AuditSettings"):
        assert f"### {model}" in rendered
