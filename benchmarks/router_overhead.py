"""Router overhead: the router's cost over a direct boto3 ``converse`` call, warm and cold.

Both paths send the same Converse request over real botocore HTTP to the same
Bedrock Runtime stand-in on 127.0.0.1 (tests/support/bedrock_standin.py), started
once in this process:

- direct: ``bedrock.converse(...)`` with the merged settings and request metadata,
  what a caller would send without the project;
- router: the router's validation, merging, the same call, one EMF document and
  one audit record.

Warm (``--requests`` each, after ``--warmup`` each): ``Router.handle(event, context)``
(its lines built, then dropped) against ``client.converse(...)``, alternating request
by request in this one process, so machine noise hits both alike. Prints the median,
p90 and p99 of each, the absolute overhead of the medians, and the ratio router /
direct at p50 and at p99 with its target (at most 1.15 and 1.25), and the median
CPU time of this thread per request (the waits on the stand-in and on other
processes of a loaded machine left out).

Cold (``--cold-runs`` each, alternating, after one unmeasured pair that warms the
page cache): a fresh ``sys.executable -I`` process per request. The router child
is set up as Lambda sets up the function (``ROUTER_CONFIG``, ``POWERTOOLS_*``,
region, fake credentials, ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` naming the stand-in,
``AWS_EC2_METADATA_DISABLED``, no AWS config files), puts the asset folder
bedrock_lifecycle/lambdas/router and bedrock_lifecycle/shared on ``sys.path``
(the asset has the shared modules beside its own), imports ``app`` (which builds
the router and its client at import) and calls ``app.handler`` once. The direct
child, with the same environment, imports boto3, creates a ``bedrock-runtime``
client with an explicit ``endpoint_url`` and sends the same Converse request.
Each child prints one final JSON line (its EMF and audit lines go to the same
captured standard output and are skipped); the stand-in must have received
exactly one request from each. Prints the medians of the wall time measured here
(from just before ``subprocess.run`` to the child's exit: interpreter start,
imports, first request, exit) and of the child's own time from its first line
(imports and client or router, then the first request), the median CPU time
(user and system) of the child, and the wall ratio router / direct with its
target (at most 1.3). Lambda's own init and invoke overhead is
not measured (no AWS account here); the interpreter reads the ``.pyc`` files
already cached, where Lambda compiles the asset's modules at each cold start.

    python -m benchmarks.router_overhead [--requests 2000] [--warmup 200] [--cold-runs 7]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from tests.support.bedrock_standin import REGION, BedrockStandIn, shared_standin
from tests.support.lambda_assets import SHARED_DIR, asset_root
from tests.support.router import chat_config, harness_for

EVENT = {
    "messages": [{"role": "user", "content": [{"text": "Ticket 42: the printer is on fire."}]}],
    "inferenceConfig": {"maxTokens": 100},
}
TARGET_P50 = 1.15
TARGET_P99 = 1.25
TARGET_COLD = 1.3

# The children's code: the clock starts at their first line; the last line they
# print is the JSON the parent reads. argv: asset folder, shared folder, stand-in URL,
# event (router) or stand-in URL, Converse parameters (direct).
ROUTER_CHILD = """\
import time
started = time.perf_counter()
import json, sys
from types import SimpleNamespace
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import app
built = time.perf_counter()
endpoint = app.ROUTER.bedrock.meta.endpoint_url
assert endpoint == sys.argv[3], f"the router's client is aimed at {endpoint}"
context = SimpleNamespace(aws_request_id="cold", function_version="1")
answer = app.handler(json.loads(sys.argv[4]), context)
done = time.perf_counter()
assert "error" not in answer, answer
print(json.dumps({"setup_ms": (built - started) * 1000, "first_ms": (done - built) * 1000}))
"""
DIRECT_CHILD = """\
import time
started = time.perf_counter()
import json, sys
import boto3
from botocore.config import Config
config = Config(retries={"mode": "standard", "total_max_attempts": 3})
client = boto3.client("bedrock-runtime", endpoint_url=sys.argv[1], config=config)
built = time.perf_counter()
answer = client.converse(**json.loads(sys.argv[2]))
done = time.perf_counter()
assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200, answer
print(json.dumps({"setup_ms": (built - started) * 1000, "first_ms": (done - built) * 1000}))
"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def verdict(ratio: float, target: float) -> str:
    return f"target at most {target:.2f}: {'met' if ratio <= target else 'not met'}"


def direct_params(config: dict[str, Any], request_id: str) -> dict[str, Any]:
    """What the router sends for ``EVENT``, written out by hand."""
    return {
        "modelId": config["model_id"],
        "messages": EVENT["messages"],
        "system": [{"text": config["system"]}],
        "inferenceConfig": {**config["inference"], **EVENT["inferenceConfig"]},
        "requestMetadata": {
            "alias": f"{config['family']}/{config['alias']}",
            "version_id": config["version_id"],
            "environment": config["environment"],
            "request_id": request_id,
        },
    }


def child_env(standin: BedrockStandIn, config: dict[str, Any]) -> dict[str, str]:
    """A Lambda-like environment that can reach nothing but the stand-in."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "AKIDSTANDIN",
        "AWS_SECRET_ACCESS_KEY": "standin-secret",
        "AWS_SESSION_TOKEN": "standin-token",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": standin.url,
        "POWERTOOLS_SERVICE_NAME": "router",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "ROUTER_CONFIG": json.dumps(config),
    }


def run_child(argv: list[str], env: dict[str, str], standin: BedrockStandIn) -> dict[str, float]:
    """One fresh process: its wall time seen from here, and the times it printed."""
    standin.reset()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    wall_ms = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_ms = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    if result.returncode != 0:
        raise RuntimeError(f"cold-start child failed:\n{result.stderr[-3000:]}")
    lines = result.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"cold-start child printed nothing:\n{result.stderr[-3000:]}")
    timings = json.loads(lines[-1])
    if len(standin.requests) != 1:
        raise RuntimeError(f"the stand-in got {len(standin.requests)} requests from one child")
    standin.reset()
    inside_ms = timings["setup_ms"] + timings["first_ms"]
    return {"wall_ms": wall_ms, "cpu_ms": cpu_ms, "inside_ms": inside_ms, **timings}


def warm(args: argparse.Namespace, standin: BedrockStandIn, config: dict[str, Any]) -> None:
    harness = harness_for(standin, config)
    harness.router.write = lambda line: None  # the lines are built, then dropped
    direct_client = standin.client()
    params = direct_params(config, "bench")
    context = SimpleNamespace(aws_request_id="bench", function_version="1")

    def direct() -> None:
        direct_client.converse(**params)

    def routed() -> None:
        answer = harness.router.handle(EVENT, context)
        assert "error" not in answer, answer

    for _ in range(args.warmup):
        direct()
        routed()
    direct_ms: list[float] = []
    router_ms: list[float] = []
    cpu_ms: dict[Callable[[], None], list[float]] = {direct: [], routed: []}
    clock, cpu = time.perf_counter, time.thread_time
    for _ in range(args.requests):
        for run, wall_ms in ((direct, direct_ms), (routed, router_ms)):
            cpu_start = cpu()
            start = clock()
            run()
            end = clock()
            cpu_ms[run].append((cpu() - cpu_start) * 1000)
            wall_ms.append((end - start) * 1000)
    standin.reset()

    d50, r50 = statistics.median(direct_ms), statistics.median(router_ms)
    d99, r99 = percentile(direct_ms, 0.99), percentile(router_ms, 0.99)
    print(
        f"router overhead, warm: {args.requests} requests each against the stand-in, "
        f"alternating (after {args.warmup} each)"
    )
    print(f"{'path':>8} {'median ms':>10} {'p90 ms':>8} {'p99 ms':>8}")
    for name, values, p50, p99 in (
        ("direct", direct_ms, d50, d99),
        ("router", router_ms, r50, r99),
    ):
        print(f"{name:>8} {p50:>10.3f} {percentile(values, 0.9):>8.3f} {p99:>8.3f}")
    print(f"overhead {r50 - d50:.3f} ms per request (median), ratio router/direct {r50 / d50:.2f}")
    print(f"ratio router/direct at p50: {r50 / d50:.3f} ({verdict(r50 / d50, TARGET_P50)})")
    print(f"ratio router/direct at p99: {r99 / d99:.3f} ({verdict(r99 / d99, TARGET_P99)})")
    dc, rc = statistics.median(cpu_ms[direct]), statistics.median(cpu_ms[routed])
    print(
        f"CPU time of this thread per request (median): direct {dc:.3f} ms, router {rc:.3f} ms, "
        f"ratio {rc / dc:.3f} (no target: the same work as the wall clock, less the waits)"
    )


def cold(args: argparse.Namespace, standin: BedrockStandIn, config: dict[str, Any]) -> None:
    env = child_env(standin, config)
    router_dir, shared_dir = str(asset_root("router")), str(SHARED_DIR)
    argvs = {
        "router": [sys.executable, "-I", "-c", ROUTER_CHILD, router_dir, shared_dir, standin.url],
        "direct": [sys.executable, "-I", "-c", DIRECT_CHILD, standin.url],
    }
    argvs["router"].append(json.dumps(EVENT))
    argvs["direct"].append(json.dumps(direct_params(config, "cold")))
    kinds = {name: functools.partial(run_child, argv, env, standin) for name, argv in argvs.items()}
    for run in kinds.values():  # unmeasured: page cache, .pyc files
        run()
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in kinds}
    for i in range(args.cold_runs):
        order = ("router", "direct") if i % 2 == 0 else ("direct", "router")
        for name in order:
            runs[name].append(kinds[name]())

    def med(name: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[name])

    print(
        f"router overhead, cold start: {args.cold_runs} fresh processes each, alternating, "
        "one request each against the same stand-in"
    )
    print(
        f"{'path':>8} {'wall median ms':>15} {'min':>8} {'max':>8} "
        f"{'in-child median ms':>19} {'setup':>8} {'request':>8} {'child CPU ms':>13}"
    )
    for name in ("direct", "router"):
        walls = [run["wall_ms"] for run in runs[name]]
        print(
            f"{name:>8} {statistics.median(walls):>15.1f} {min(walls):>8.1f} {max(walls):>8.1f} "
            f"{med(name, 'inside_ms'):>19.1f} {med(name, 'setup_ms'):>8.1f} "
            f"{med(name, 'first_ms'):>8.1f} {med(name, 'cpu_ms'):>13.1f}"
        )
    wall = med("router", "wall_ms") / med("direct", "wall_ms")
    inside_ratio = med("router", "inside_ms") / med("direct", "inside_ms")
    print(
        f"cold-start ratio router/direct (wall, median): {wall:.3f} ({verdict(wall, TARGET_COLD)})"
    )
    print(f"cold-start ratio router/direct (in child, median): {inside_ratio:.3f}")
    cpu_ratio = med("router", "cpu_ms") / med("direct", "cpu_ms")
    print(f"cold-start ratio router/direct (child CPU, user+system, median): {cpu_ratio:.3f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--cold-runs", type=int, default=7)
    args = parser.parse_args(argv)
    if args.requests < 1000:
        parser.error(f"--requests must be at least 1000 for a stable median, got {args.requests}")
    if args.cold_runs < 3:
        parser.error(f"--cold-runs must be at least 3 for a median, got {args.cold_runs}")

    standin = shared_standin()
    config = chat_config()
    warm(args, standin, config)
    print()
    cold(args, standin, config)


if __name__ == "__main__":
    main()
