"""The layers of docs/architecture.md hold: its import table, no cycles, self-contained assets."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bedrock_lifecycle"
LAMBDAS = PACKAGE / "lambdas"
SHARED = PACKAGE / "shared"
# What a Lambda asset may import besides the standard library, its siblings and shared/.
LAMBDA_THIRD_PARTY = {"boto3", "botocore", "aws_lambda_powertools"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py") if LAMBDAS not in p.parents}


def imports_of(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """Package modules ``path`` imports, at any depth (late imports count too)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and _dynamic_import(node):
            # importlib.import_module("...") or __import__("..."): a literal target counts,
            # anything else cannot be checked and is refused.
            arg = node.args[0] if node.args else None
            target = arg.value if isinstance(arg, ast.Constant) else None
            if not isinstance(target, str):
                found.add("<dynamic import>")
            elif target.startswith("bedrock_lifecycle"):
                found.add(next((m for m in _prefixes(target) if m in modules), target))
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            submodules = {f"{target}.{a.name}" for a in node.names} & set(modules)
            # `from . import semantic` imports the submodule, not what the package holds.
            if submodules:
                found.update(submodules)
            if target in modules and len(submodules) < len(node.names):
                found.add(target)
    found.discard(name)
    return found


def _dynamic_import(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name in ("import_module", "__import__")


def _prefixes(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {name: imports_of(path, name, modules) for name, path in modules.items()}


def layer(name: str) -> str:
    """``bedrock_lifecycle.config.loader`` -> ``config``; the package's own ``__init__`` is
    the layer ``package``."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "package"


def allowed_imports() -> dict[str, set[str]]:
    """The table "What each folder may import" of docs/architecture.md."""
    text = (ROOT / "docs/architecture.md").read_text(encoding="utf-8")
    section = text.split("## What each folder may import", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|$", section, re.M)
    table = {
        row: set() if cells.strip().startswith("nothing") else {c.strip() for c in cells.split(",")}
        for row, cells in rows
    }
    assert len(table) >= 10, "the table of docs/architecture.md was not found"
    return table


def test_every_module_imports_only_what_its_layer_may():
    table = allowed_imports()
    problems = []
    for name, deps in sorted(graph().items()):
        here = layer(name)
        if here == "lambdas":
            continue  # judged by test_lambda_assets_import_only_...
        if here not in table:
            problems.append(f"{name}: layer {here!r} is not in docs/architecture.md")
            continue
        for dep in sorted(deps):
            if dep == "<dynamic import>":
                problems.append(f"{name}: an import whose target is not a literal")
                continue
            there = layer(dep)
            if there != here and there not in table[here]:
                problems.append(f"{name} imports {dep}: {here} may not import {there}")
    assert problems == []


def test_the_package_has_no_import_cycle():
    edges = graph()
    cycles = []
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    counter = [0]
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        for dep in edges[node]:
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_checker_sees_late_imports_and_submodule_imports(tmp_path):
    """What the two tests above rely on: a late import inside a function counts, and
    ``from . import x`` depends on the submodule x, not on the package."""
    planted = tmp_path / "planted.py"
    planted.write_text("from . import loader\n\ndef late():\n    from ..stacks import builders\n")
    modules = {
        "bedrock_lifecycle.config": Path("__init__.py"),
        "bedrock_lifecycle.config.loader": Path("loader.py"),
        "bedrock_lifecycle.config.planted": planted,
        "bedrock_lifecycle.stacks.builders": Path("builders.py"),
    }
    assert imports_of(planted, "bedrock_lifecycle.config.planted", modules) == {
        "bedrock_lifecycle.config.loader",
        "bedrock_lifecycle.stacks.builders",
    }
    assert "stacks" not in allowed_imports()["config"]
    dynamic = tmp_path / "dynamic.py"
    dynamic.write_text(
        "import importlib\n"
        "importlib.import_module('bedrock_lifecycle.stacks.builders')\n"
        "__import__(name)\n"
    )
    assert imports_of(dynamic, "bedrock_lifecycle.config.dynamic", modules) == {
        "bedrock_lifecycle.stacks.builders",
        "<dynamic import>",
    }
    assert "lambdas" not in set().union(*allowed_imports().values())


@pytest.mark.parametrize("asset", sorted(p.name for p in LAMBDAS.iterdir() if p.is_dir()))
def test_lambda_assets_import_only_the_runtime_their_siblings_and_shared(asset):
    folder = LAMBDAS / asset
    local = {p.stem for p in folder.glob("*.py")} | {
        p.stem for p in SHARED.glob("*.py") if p.stem != "__init__"
    }
    allowed = set(sys.stdlib_module_names) | LAMBDA_THIRD_PARTY | local | {"__future__"}
    problems = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            elif isinstance(node, ast.ImportFrom):
                problems.append(f"{path.name}: relative import (the asset is zipped flat)")
            problems += [
                f"{path.name} imports {n}" for n in names if n.split(".")[0] not in allowed
            ]
    assert problems == []


def test_shared_modules_import_only_the_standard_library():
    """And each other: an asset gets every shared module its modules import, transitively
    (``constructs.function``)."""
    siblings = {p.stem for p in SHARED.glob("*.py")}
    for path in SHARED.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert not node.level, f"{path.name}: relative import"
                roots = [(node.module or "").split(".")[0]]
            else:
                continue
            for name in roots:
                assert name in sys.stdlib_module_names or name in {"__future__", *siblings}, (
                    path,
                    name,
                )


def test_no_module_of_the_package_is_much_over_400_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450
    }
    assert long == {}
