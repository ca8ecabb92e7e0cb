"""Small lifecycle files for the plan tests, written into a temporary folder.

``BASE`` is one production environment with a committed throughput, a summarizer
family with an evaluation gate and an output-tokens term in its Regression alarm,
and an assistant on the throughput. A test copies it, changes what it is about
and runs the plan of the head against the base.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from bedrock_lifecycle.cli import main

TODAY = "2026-11-26"
PROMPT = {
    "messages": [{"role": "user", "content": [{"text": "Summarize: error PAY-409."}]}],
    "checks": {"contains": ["PAY-409"]},
}
BASE: dict[str, Any] = {
    "schema_version": 1,
    "project": "acme",
    "environments": {
        "prod": {
            "provisioned_throughput": True,
            "rollout": {"strategy": "canary", "percent": 10, "interval_minutes": 10},
            "alarms": {"error_rate_percent": 2},
            "audit": {
                "object_lock_mode": "COMPLIANCE",
                "retention_days": 400,
                "log_retention_days": 400,
            },
        }
    },
    "provisioned_throughputs": {
        "assistant": {
            "model": "amazon.nova-pro-v1:0:300k",
            "model_units": 1,
            "commitment": "one_month",
            "environments": ["prod"],
        }
    },
    "families": {
        "summarizer": {
            "evaluation": {"golden_prompts": "evals/summarizer.jsonl", "pass_rate": 0.9},
            "versions": {
                "v1": {"target": {"foundation_model": "anthropic.claude-3-haiku-20240307-v1:0"}},
                "v2": {
                    "target": {"inference_profile": "us.anthropic.claude-haiku-4-5-20251001-v1:0"}
                },
            },
            "aliases": {"live": {"version": "v2", "alarms": {"baseline_output_tokens": 180}}},
        },
        "assistant": {
            "versions": {"v1": {"target": {"provisioned_throughput": "assistant"}}},
            "aliases": {"live": {"version": "v1"}},
        },
    },
}


def write(folder: Path, data: dict[str, Any], prompts: Sequence[str] = ("a", "b")) -> Path:
    """``folder/lifecycle.yaml`` holding ``data``, and its golden prompts with these ids."""
    (folder / "evals").mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps({"id": i, **PROMPT}) + "\n" for i in prompts)
    (folder / "evals/summarizer.jsonl").write_text(lines, encoding="utf-8")
    path = folder / "lifecycle.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def head_of(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A deep copy of ``BASE`` with ``change`` applied."""
    data = copy.deepcopy(BASE)
    change(data)
    return data


def run_plan(
    tmp_path: Path,
    change: Callable[[dict[str, Any]], None],
    *args: str,
    prompts: Sequence[str] = ("a", "b"),
) -> tuple[int, Path, Path]:
    """Write the base and the changed head under ``tmp_path``; run ``plan`` on them."""
    base = write(tmp_path / "base", BASE)
    head = write(tmp_path / "head", head_of(change), prompts)
    argv = ["plan", str(head), "--base", str(base), "--no-lock", "--today", TODAY, *args]
    return main(argv), base, head
