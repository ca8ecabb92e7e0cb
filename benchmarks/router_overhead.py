"""Router overhead: the router's in-process cost over a direct boto3 ``converse`` call.

Both paths send the same Converse request over real botocore HTTP to the same
Bedrock Runtime stand-in on 127.0.0.1 (tests/support/bedrock_standin.py):

- direct: ``bedrock.converse(...)`` with the merged settings and request metadata,
  what a caller would send without the project;
- router: ``Router.handle(event, context)``: validation, merging, the same call,
  one EMF document and one audit record (written to an in-memory sink).

They alternate request by request in this one process, so machine noise hits
both alike. Prints the median and p90 of each, the absolute overhead of the
medians, and the ratio router / direct. Lambda's own invoke overhead is not
measured (no AWS account here).

    python -m benchmarks.router_overhead [--requests 2000] [--warmup 200]
"""

from __future__ import annotations

import argparse
import statistics
import time
from types import SimpleNamespace

from tests.support.bedrock_standin import shared_standin
from tests.support.router import chat_config, harness_for

EVENT = {
    "messages": [{"role": "user", "content": [{"text": "Ticket 42: the printer is on fire."}]}],
    "inferenceConfig": {"maxTokens": 100},
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args(argv)
    if args.requests < 1000:
        parser.error(f"--requests must be at least 1000 for a stable median, got {args.requests}")

    standin = shared_standin()
    config = chat_config()
    harness = harness_for(standin, config)
    harness.router.write = lambda line: None  # the lines are built, then dropped
    direct_client = standin.client()
    direct_params = {
        "modelId": config["model_id"],
        "messages": EVENT["messages"],
        "system": [{"text": config["system"]}],
        "inferenceConfig": {**config["inference"], **EVENT["inferenceConfig"]},
        "requestMetadata": {
            "alias": "summarizer/live",
            "version_id": config["version_id"],
            "environment": config["environment"],
            "request_id": "bench",
        },
    }
    context = SimpleNamespace(aws_request_id="bench", function_version="1")

    def direct() -> None:
        direct_client.converse(**direct_params)

    def routed() -> None:
        answer = harness.router.handle(EVENT, context)
        assert "error" not in answer, answer

    for _ in range(args.warmup):
        direct()
        routed()
    direct_ms: list[float] = []
    router_ms: list[float] = []
    clock = time.perf_counter
    for _ in range(args.requests):
        start = clock()
        direct()
        direct_ms.append((clock() - start) * 1000)
        start = clock()
        routed()
        router_ms.append((clock() - start) * 1000)
    standin.reset()

    d, r = statistics.median(direct_ms), statistics.median(router_ms)
    print(f"router overhead: {args.requests} requests each against the stand-in, alternating")
    print(f"{'path':>8} {'median ms':>10} {'p90 ms':>8}")
    print(f"{'direct':>8} {d:>10.3f} {percentile(direct_ms, 0.9):>8.3f}")
    print(f"{'router':>8} {r:>10.3f} {percentile(router_ms, 0.9):>8.3f}")
    print(f"overhead {r - d:.3f} ms per request (median), ratio router/direct {r / d:.2f}")


if __name__ == "__main__":
    main()
