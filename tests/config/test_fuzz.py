"""For any input, validate answers with lines and an exit code, never a traceback."""

from __future__ import annotations

import json
import os
import string
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedrock_lifecycle.cli import main
from bedrock_lifecycle.config.schema import LifecycleFile
from tests.conftest import ROOT

# Keys the schema knows, so that generated files get past the first level often.
SCHEMA = json.loads((ROOT / "lifecycle.schema.json").read_text())
KNOWN_KEYS = sorted(
    {key for definition in SCHEMA["$defs"].values() for key in definition.get("properties", {})}
    | set(LifecycleFile.model_fields)
)
keys = st.one_of(
    st.sampled_from(KNOWN_KEYS),
    st.text(alphabet=string.ascii_lowercase + "-_.@", min_size=1, max_size=12),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.dates(),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=6)
    ),
    max_leaves=40,
)
# 150 per test in `make test`; FUZZ_EXAMPLES=3000 for a deeper run (3 x 3,000 found nothing).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _validate(path: Path, capsys) -> None:
    code = main(["validate", str(path), "--today", "2026-11-26"])
    out, err = capsys.readouterr()
    assert code in (0, 2)
    assert "Traceback" not in err
    if code == 2:
        lines = err.splitlines()
        assert lines and all(line.startswith(f"{path}: ") for line in lines)
    else:
        assert out.startswith(f"{path}: valid (")


@FUZZ
@given(document=documents)
def test_any_yaml_document(document, tmp_path_factory, capsys):
    path = tmp_path_factory.mktemp("fuzz") / "lifecycle.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    _validate(path, capsys)


@FUZZ
@given(document=st.dictionaries(st.sampled_from(KNOWN_KEYS), documents, max_size=6))
def test_any_mapping_of_known_top_level_keys(document, tmp_path_factory, capsys):
    document.setdefault("schema_version", 1)
    path = tmp_path_factory.mktemp("fuzz") / "lifecycle.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    _validate(path, capsys)


@FUZZ
@given(text=st.text(max_size=300))
def test_any_text(text, tmp_path_factory, capsys):
    path = tmp_path_factory.mktemp("fuzz") / "lifecycle.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _validate(path, capsys)
