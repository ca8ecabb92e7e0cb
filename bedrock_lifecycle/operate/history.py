"""``bedrock-lifecycle history ENV [ALIAS]``: which version each alias served, when.

From AWS: every version of the environment's version manifests (one SSM parameter per
stack, ``/bedrock-lifecycle/<project>/<env>/manifest`` and ``.../manifest-aliases<N>``),
read with ``GetParameterHistory``. CloudFormation writes a manifest only once every
alias update of its stack, rollout included, has succeeded, so each version of it says
what served from then on. SSM keeps the last 100 versions of a parameter.

Offline (``--from-git``): the same question answered from the commits of
``lifecycle.lock``, whose ``aliases`` record where each alias stood: when a change was
committed, not when it was deployed.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..versions import id_of_hash
from .session import OperateError

# GetParameterHistory answers at most 50 versions a page; SSM keeps 100 per parameter.
PAGE_SIZE = 50
MAX_PAGES = 10
# git: at most this many commits of the lock, each read within the timeout.
MAX_COMMITS = 2000
GIT_TIMEOUT_SECONDS = 30
MAX_LOCK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Snapshot:
    """Where every alias stood at one moment: ``family/alias`` -> (version id, model ARN)."""

    at: dt.datetime
    source: str  # "ssm:<parameter>:<version>" or "git:<commit>"
    aliases: Mapping[str, tuple[str, str | None]]


@dataclass(frozen=True)
class Served:
    """One alias serving one version from ``since`` until ``until`` (None: still)."""

    environment: str
    alias: str
    version_id: str
    model_arn: str | None
    since: dt.datetime
    until: dt.datetime | None
    source: str


def manifest_snapshots(ssm: Any, name: str) -> list[Snapshot]:
    """Every version of manifest ``name`` that SSM keeps, oldest first.

    :raises OperateError: more pages than a parameter can have (a misbehaving endpoint),
        or a value that is not a manifest.
    """
    entries: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {"Name": name, "MaxResults": PAGE_SIZE}
        if token:
            params["NextToken"] = token
        page = ssm.get_parameter_history(**params)
        entries += page.get("Parameters", [])
        token = page.get("NextToken")
        if not token:
            break
    else:
        raise OperateError(f"{name}: more than {MAX_PAGES * PAGE_SIZE} versions; stopped reading")
    snapshots = []
    for entry in sorted(entries, key=lambda e: e["Version"]):
        source = f"ssm:{name}:{entry['Version']}"
        snapshots.append(Snapshot(entry["LastModifiedDate"], source, _manifest(entry, source)))
    return snapshots


def _manifest(entry: Mapping[str, Any], source: str) -> dict[str, tuple[str, str | None]]:
    try:
        value = json.loads(entry["Value"])
    except (ValueError, KeyError):
        raise OperateError(f"{source} is not a version manifest (not JSON)") from None
    if not isinstance(value, dict):
        raise OperateError(f"{source} is not a version manifest (not an object)")
    out = {}
    for alias, item in value.items():
        if isinstance(item, dict) and isinstance(item.get("version_id"), str):
            arn = item.get("model_arn")
            out[str(alias)] = (item["version_id"], arn if isinstance(arn, str) else None)
    return out


def served(environment: str, snapshots: Iterable[Snapshot]) -> list[Served]:
    """The intervals ``snapshots`` (of one stack, in time order) describe, per alias.

    An alias is served from the first snapshot naming its version until the first one
    naming another version or leaving the alias out.
    """
    out: list[Served] = []
    open_: dict[str, tuple[str, str | None, dt.datetime, str]] = {}
    for snapshot in snapshots:
        for alias in list(open_):
            version_id, arn, since, source = open_[alias]
            if snapshot.aliases.get(alias, (None,))[0] != version_id:
                out.append(Served(environment, alias, version_id, arn, since, snapshot.at, source))
                del open_[alias]
        for alias, (version_id, arn) in snapshot.aliases.items():
            if alias not in open_:
                open_[alias] = (version_id, arn, snapshot.at, snapshot.source)
    for alias, (version_id, arn, since, source) in open_.items():
        out.append(Served(environment, alias, version_id, arn, since, None, source))
    return out


def from_ssm(ssm: Any, environment: str, names: Sequence[str]) -> list[Served]:
    """The history of every manifest in ``names`` (the stacks of ``environment``).

    A manifest not found is skipped (a stack not deployed yet); none found at all is an
    OperateError.
    """
    from botocore.exceptions import ClientError

    out: list[Served] = []
    found = 0
    for name in names:
        try:
            snapshots = manifest_snapshots(ssm, name)
        except ClientError as exc:
            if (exc.response.get("Error") or {}).get("Code") == "ParameterNotFound":
                continue
            raise
        found += 1
        out += served(environment, snapshots)
    if not found:
        raise OperateError(
            f"{environment}: no version manifest found ({', '.join(names)}); is the "
            "environment deployed in this account and region?"
        )
    return sort(out)


def _git(root: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(  # noqa: S603 (git, fixed arguments)
            ["git", "-C", str(root), *args],  # noqa: S607
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise OperateError("--from-git needs git on PATH") from None
    except subprocess.TimeoutExpired:
        raise OperateError(f"git {args[0]} took longer than {GIT_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise OperateError(f"git {args[0]}: {message[0] if message else 'failed'}")
    return done.stdout


def lock_snapshots(lock_path: Path, environment: str) -> Iterator[Snapshot]:
    """Where ``environment``'s aliases stood in each commit of ``lock_path``, oldest first.

    Version ids come from the same commit's ``versions`` (``label@<12 hex>``); a commit
    whose lock is unreadable is skipped.
    """
    path = lock_path.resolve()
    root = Path(_git(path.parent, "rev-parse", "--show-toplevel").decode().strip())
    relative = path.relative_to(root.resolve()).as_posix()
    log = _git(root, "log", f"--max-count={MAX_COMMITS}", "--format=%H %cI", "--", relative)
    for line in reversed(log.decode().splitlines()):
        commit, _, when = line.partition(" ")
        try:
            data = json.loads(_git(root, "show", f"{commit}:{relative}")[:MAX_LOCK_BYTES])
        except (OperateError, ValueError):
            continue  # deleted in that commit, or not a lock
        if not isinstance(data, dict):
            continue
        versions = data.get("versions") or {}
        positions = (data.get("aliases") or {}).get(environment) or {}
        aliases: dict[str, tuple[str, str | None]] = {}
        for alias, label in positions.items():
            family = str(alias).split("/")[0]
            digest = versions.get(f"{family}/{label}")
            if isinstance(digest, str):
                aliases[str(alias)] = (id_of_hash(str(label), digest), None)
        yield Snapshot(dt.datetime.fromisoformat(when), f"git:{commit[:12]}", aliases)


def from_git(lock_path: Path, environment: str) -> list[Served]:
    """The history of ``environment`` in the commits of ``lock_path``."""
    return sort(served(environment, lock_snapshots(lock_path, environment)))


def sort(items: Iterable[Served]) -> list[Served]:
    """By alias, newest first."""
    return sorted(items, key=lambda s: (s.alias, -s.since.timestamp()))


def only(items: Iterable[Served], alias: str | None) -> list[Served]:
    """The intervals of ``alias`` (``family/alias``), or all of them."""
    return [s for s in items if alias is None or s.alias == alias]


def _time(value: dt.datetime | None) -> str:
    if value is None:
        return "now"
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_text(items: Sequence[Served]) -> list[str]:
    """One line per interval: ``ENV ALIAS VERSION FROM -> UNTIL (SOURCE)``."""
    if not items:
        return ["no history"]
    width = max(len(s.alias) for s in items)
    version_width = max(len(s.version_id) for s in items)
    return [
        f"{s.environment} {s.alias:<{width}} {s.version_id:<{version_width}} "
        f"{_time(s.since)} -> {_time(s.until)} ({s.source})"
        for s in items
    ]


def render_json(items: Sequence[Served]) -> str:
    """``{"history": [...]}`` with ISO 8601 UTC times (``until`` null while serving)."""
    rows = []
    for item in items:
        row = asdict(item)
        row["since"] = _time(item.since)
        row["until"] = None if item.until is None else _time(item.until)
        rows.append(row)
    return json.dumps({"history": rows}, indent=1)
