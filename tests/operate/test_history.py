"""``bedrock-lifecycle history``: from the manifest's GetParameterHistory (Stubber with
exact parameters) and, offline, from the commits of lifecycle.lock (a real git)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bedrock_lifecycle.config import load_lifecycle
from bedrock_lifecycle.operate import history
from bedrock_lifecycle.versions import version_id

from .conftest import MANIFEST, REGION, Aws, manifest

T = [dt.datetime(2026, 11, d, 9, 30, tzinfo=dt.UTC) for d in range(1, 10)]
V2, V3, PIN = "v2@947856f3caf5", "v3@03db4d4c7a66", "v1@4576e86f22f1"


def test_every_version_of_the_manifest_read_across_pages(aws: Aws, run, project: Path) -> None:
    aws.caller()
    # SSM answers newest-last pages; the command orders by version, not by page.
    aws.history_page(
        [(1, T[0], manifest(summarizer_live=V2, summarizer_pinned_v1=PIN))],
        next_token="page-2",
    )
    aws.history_page(
        [
            (3, T[4], manifest(summarizer_live=V3)),  # the pinned alias removed
            (2, T[2], manifest(summarizer_live=V3, summarizer_pinned_v1=PIN)),
        ],
        token="page-2",
    )
    result = run("history", "staging", "--file", str(project))
    assert result.code == 0, result.err
    assert result.out == [
        f"staging summarizer/live      {V3} 2026-11-03T09:30:00Z -> now (ssm:{MANIFEST}:2)",
        f"staging summarizer/live      {V2} 2026-11-01T09:30:00Z -> 2026-11-03T09:30:00Z "
        f"(ssm:{MANIFEST}:1)",
        f"staging summarizer/pinned-v1 {PIN} 2026-11-01T09:30:00Z -> 2026-11-05T09:30:00Z "
        f"(ssm:{MANIFEST}:1)",
    ]


def test_one_alias_as_json(aws: Aws, run, project: Path) -> None:
    aws.caller()
    aws.history_page(
        [
            (1, T[0], manifest(summarizer_live=V2, embedder_live="v1@1da79af06923")),
            (2, T[1], manifest(summarizer_live=V3, embedder_live="v1@1da79af06923")),
        ]
    )
    result = run(
        "history", "staging", "summarizer/live", "--format", "json", "--file", str(project)
    )
    assert result.code == 0, result.err
    rows = json.loads("\n".join(result.out))["history"]
    assert [(r["version_id"], r["since"], r["until"]) for r in rows] == [
        (V3, "2026-11-02T09:30:00Z", None),
        (V2, "2026-11-01T09:30:00Z", "2026-11-02T09:30:00Z"),
    ]
    assert rows[0]["model_arn"] == "arn:aws:bedrock:us-east-1::foundation-model/m-v3"
    assert {r["alias"] for r in rows} == {"summarizer/live"}


def test_an_environment_never_deployed_says_so(aws: Aws, run, project: Path) -> None:
    aws.caller()
    aws.no_parameter("get_parameter_history", MANIFEST, MaxResults=50)
    result = run("history", "staging", "--file", str(project))
    assert result.code == 2
    assert len(result.err) == 1
    assert "no version manifest found" in result.err[0] and MANIFEST in result.err[0]


def test_without_credentials_nothing_is_asked(aws: Aws, run, project: Path) -> None:
    aws.credentials = False
    result = run("history", "staging", "--file", str(project))
    assert result.code == 2
    assert result.err == [
        "history: no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID, or log in "
        "with `aws sso login`); nothing was asked of AWS"
    ]
    assert aws.stubs == {}


def test_credentials_of_another_account_are_refused(aws: Aws, run, project: Path) -> None:
    aws.caller(account="999999999999")
    result = run("history", "staging", "--file", str(project))
    assert result.code == 2
    assert "999999999999" in result.err[0] and "111111111111" in result.err[0]


def test_a_parameter_that_is_not_a_manifest(aws: Aws, run, project: Path) -> None:
    aws.caller()
    aws.history_page([(1, T[0], "not json {")])
    result = run("history", "staging", "--file", str(project))
    assert result.code == 2
    assert result.err == [f"history: ssm:{MANIFEST}:1 is not a version manifest (not JSON)"]


def test_an_endless_history_is_cut_off(aws: Aws) -> None:
    """An endpoint that always answers with a next page: the reading stops."""
    for page in range(history.MAX_PAGES):
        aws.history_page([], token=f"t{page}" if page else None, next_token=f"t{page + 1}")
    with pytest.raises(history.OperateError, match="more than 500 versions"):
        history.manifest_snapshots(aws(REGION).client("ssm"), MANIFEST)


def test_unknown_environment_and_alias(run, project: Path) -> None:
    result = run("history", "qa", "--file", str(project))
    assert result.code == 2
    assert result.err == ["history: unknown environment 'qa' (declared: dev, prod, staging)"]


def test_intervals_of_an_alias_that_leaves_and_comes_back() -> None:
    def snap(at: int, **aliases: str) -> history.Snapshot:
        return history.Snapshot(T[at], f"s{at}", {k: (v, None) for k, v in aliases.items()})

    items = history.served(
        "dev", [snap(0, a=V2), snap(1), snap(2, a=V2), snap(3, a=V3), snap(4, a=V3)]
    )
    assert [(s.version_id, s.since, s.until) for s in items] == [
        (V2, T[0], T[1]),
        (V2, T[2], T[3]),
        (V3, T[3], None),
    ]


# -- offline: the commits of lifecycle.lock --------------------------------------------


def _git(root: Path, *args: str, when: dt.datetime | None = None) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Platform",
        "GIT_AUTHOR_EMAIL": "platform@example.com",
        "GIT_COMMITTER_NAME": "Platform",
        "GIT_COMMITTER_EMAIL": "platform@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    if when is not None:
        env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"] = when.isoformat()
    subprocess.run(["git", "-C", str(root), *args], check=True, env=env, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_from_git_reads_the_commits_of_the_lock(run, project: Path) -> None:
    root = project.parent
    lock_file = project.with_suffix(".lock")
    shipped = lock_file.read_text(encoding="utf-8")
    before = json.loads(shipped)
    before["aliases"]["staging"]["summarizer/live"] = "v2"
    _git(root, "init", "-q", "-b", "main")
    lock_file.write_text(json.dumps(before), encoding="utf-8")
    _git(root, "add", "lifecycle.lock", "lifecycle.yaml")
    _git(root, "commit", "-q", "-m", "v2 live", when=T[0])
    lock_file.write_text("{ a broken lock", encoding="utf-8")
    _git(root, "commit", "-q", "-am", "broken", when=T[1])
    lock_file.write_text(shipped, encoding="utf-8")
    _git(root, "commit", "-q", "-am", "v3 live", when=T[2])

    result = run("history", "staging", "summarizer/live", "--from-git", "--file", str(project))
    assert result.code == 0, result.err
    # The ids are the ones the config gives the versions: the same as the routers stamp.
    config = load_lifecycle(project)
    ids = {k: version_id(k, v) for k, v in config.file.families["summarizer"].versions.items()}
    assert len(result.out) == 2
    assert result.out[0].startswith(
        f"staging summarizer/live {ids['v3']} 2026-11-03T09:30:00Z -> now"
    )
    assert result.out[1].startswith(
        f"staging summarizer/live {ids['v2']} 2026-11-01T09:30:00Z -> 2026-11-03T09:30:00Z (git:"
    )


def test_from_git_outside_a_repository(run, project: Path) -> None:
    result = run("history", "staging", "--from-git", "--file", str(project))
    assert result.code == 2
    assert len(result.err) == 1 and result.err[0].startswith("history: git rev-parse: ")
