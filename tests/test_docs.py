"""The documentation stays true: links resolve and the README keeps its two commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`[^`\n]+`")


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors of a markdown page."""
    found = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            slug = re.sub(r"[^\w\- ]", "", title).replace(" ", "-")
            found.add(slug)
    return found


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_relative_links_resolve(page: Path):
    broken = []
    # Inside a code span, ``[a-z](/x)`` is a pattern, not a link (GitHub renders it so).
    text = CODE_SPAN.sub("", page.read_text(encoding="utf-8"))
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists() or (
            anchor and linked.suffix == ".md" and anchor not in anchors(linked)
        ):
            broken.append(target)
    assert broken == []


def test_readme_opens_with_the_two_commands():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    block = lines[lines.index("```sh") + 1 : lines.index("```")]
    assert [line.split("#")[0].strip() for line in block] == ["make synth", "make test"]
    assert lines.index("```sh") < 5


def test_every_docs_page_is_in_the_index():
    index = (ROOT / "docs/README.md").read_text(encoding="utf-8")
    for page in (ROOT / "docs").glob("*.md"):
        if page.name != "README.md":
            assert f"({page.name})" in index, f"docs/README.md does not list {page.name}"


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)


def test_extending_example_synthesizes_with_every_nag_pack():
    """The composed-stack example of docs/extending.md runs as written and passes the gates."""
    example = python_blocks(ROOT / "docs/extending.md")[0]
    namespace: dict = {}
    exec(compile(example, "docs/extending.md", "exec"), namespace)  # its app.synth() runs nag
    template = namespace["app"].synth().get_stack_by_name("SearchAnswers").template
    types = [r["Type"] for r in template["Resources"].values()]
    assert types.count("AWS::CodeDeploy::DeploymentGroup") == 1
    assert types.count("AWS::Lambda::Alias") == 1
    group = next(
        r for r in template["Resources"].values() if r["Type"] == "AWS::CodeDeploy::DeploymentGroup"
    )
    assert "DEPLOYMENT_STOP_ON_ALARM" in group["Properties"]["AutoRollbackConfiguration"]["Events"]
