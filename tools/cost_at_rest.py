"""What an environment costs per month at rest, counted from its synthesized templates,
and the tokens its continuous evaluation spends, from lifecycle.yaml.

``python -m tools.cost_at_rest`` (after ``make synth``) prints the two Markdown tables
of docs/operations.md; ``tests/test_operations_doc.py`` keeps the doc equal to them.

At rest means no traffic: routers, functions, CodeDeploy, Step Functions, SQS and log
groups cost nothing until they are used (storage of logs aside). What bills every month
regardless is below, at the list prices in ``PRICES`` (us-east-1, USD; AWS's pricing
pages are the authority, and the committed purchases of provisioned throughput are a
separate matter: docs/provisioned-throughput.md).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOURS_PER_MONTH = 730
DAYS_PER_MONTH = 30
# USD per month (per hour for an interface endpoint in one Availability Zone).
PRICES = {
    "standard_alarm_metric": 0.10,
    "high_resolution_alarm_metric": 0.30,
    "composite_alarm": 0.50,
    "dashboard": 3.00,
    "kms_key": 1.00,
    "interface_endpoint_az_hour": 0.01,
    "advanced_parameter": 0.05,
}
BEGIN_COSTS = "<!-- cost-at-rest: begin (python -m tools.cost_at_rest) -->"
END_COSTS = "<!-- cost-at-rest: end -->"
BEGIN_TOKENS = "<!-- evaluation-tokens: begin (python -m tools.cost_at_rest) -->"
END_TOKENS = "<!-- evaluation-tokens: end -->"


@dataclass(frozen=True)
class Row:
    item: str
    unit_price: str
    counts: tuple[int, ...]
    monthly: tuple[float, ...]


def _resources(templates: Iterable[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    return [(k, r) for t in templates for k, r in t.get("Resources", {}).items()]


def alarm_metrics(alarm: Mapping[str, Any]) -> tuple[int, bool]:
    """(metrics the alarm is billed for, whether at high resolution: a period under 60 s)."""
    props = alarm["Properties"]
    if "Metrics" not in props:
        return 1, int(props.get("Period", 60)) < 60
    stats = [m["MetricStat"] for m in props["Metrics"] if "MetricStat" in m]
    return len(stats), any(int(s.get("Period", 60)) < 60 for s in stats)


def runs_per_month(schedule: str) -> float | None:
    """Runs of an EventBridge schedule in a 30-day month; None when it varies by month."""
    rate = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", schedule)
    if rate:
        minutes = int(rate.group(1)) * {"minute": 1, "hour": 60, "day": 1440}[rate.group(2)]
        return DAYS_PER_MONTH * 1440 / minutes
    cron = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)", schedule)
    if not cron or not cron.group(1).isdigit() or cron.group(4) != "*" or cron.group(6) != "*":
        return None
    hours, day_of_month, day_of_week = cron.group(2), cron.group(3), cron.group(5)
    if day_of_month not in ("*", "?") or day_of_week not in ("*", "?"):
        return None
    if hours == "*":
        return DAYS_PER_MONTH * 24.0
    step = re.fullmatch(r"\*/(\d+)", hours)
    if step:
        return DAYS_PER_MONTH * len(range(0, 24, int(step.group(1))))
    if re.fullmatch(r"\d+(,\d+)*", hours):
        return DAYS_PER_MONTH * len(hours.split(","))
    return None


def cost_rows(environments: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Row]:
    """One row per billed item, a count and a monthly figure per environment."""
    counted: dict[str, list[int]] = {}
    for templates in environments.values():
        standard = high = composite = dashboards = keys = endpoint_azs = advanced = 0
        evaluator_rules = watcher_rules = 0
        evaluator_runs = watcher_runs = 0.0
        for logical_id, resource in _resources(templates):
            kind, props = resource["Type"], resource.get("Properties", {})
            if kind == "AWS::CloudWatch::Alarm":
                metrics, high_resolution = alarm_metrics(resource)
                high += metrics if high_resolution else 0
                standard += 0 if high_resolution else metrics
            composite += kind == "AWS::CloudWatch::CompositeAlarm"
            dashboards += kind == "AWS::CloudWatch::Dashboard"
            keys += kind == "AWS::KMS::Key"
            if kind == "AWS::EC2::VPCEndpoint" and props.get("VpcEndpointType") == "Interface":
                endpoint_azs += len(props.get("SubnetIds", []))
            advanced += kind == "AWS::SSM::Parameter" and props.get("Tier") == "Advanced"
            if kind == "AWS::Events::Rule" and "ScheduleExpression" in props:
                runs = runs_per_month(props["ScheduleExpression"]) or DAYS_PER_MONTH
                if logical_id.startswith("ContinuousEvaluation"):
                    evaluator_rules, evaluator_runs = evaluator_rules + 1, evaluator_runs + runs
                else:
                    watcher_rules, watcher_runs = watcher_rules + 1, watcher_runs + runs
        for key, value in {
            "standard": standard,
            "high": high,
            "composite": composite,
            "dashboards": dashboards,
            "keys": keys,
            "endpoint_azs": endpoint_azs,
            "advanced": advanced,
            "evaluator_rules": evaluator_rules,
            "evaluator_runs": round(evaluator_runs),
            "watcher_rules": watcher_rules,
            "watcher_runs": round(watcher_runs),
        }.items():
            counted.setdefault(key, []).append(value)
    p = PRICES
    endpoint_month = p["interface_endpoint_az_hour"] * HOURS_PER_MONTH
    table = [
        (
            "Standard-resolution alarm metrics",
            f"${p['standard_alarm_metric']:.2f}",
            "standard",
            p["standard_alarm_metric"],
        ),
        (
            "High-resolution alarm metrics (period under 60 s)",
            f"${p['high_resolution_alarm_metric']:.2f}",
            "high",
            p["high_resolution_alarm_metric"],
        ),
        ("Composite alarms", f"${p['composite_alarm']:.2f}", "composite", p["composite_alarm"]),
        (
            "Dashboards (the first 3 of an account are free)",
            f"${p['dashboard']:.2f}",
            "dashboards",
            p["dashboard"],
        ),
        ("KMS customer managed keys", f"${p['kms_key']:.2f}", "keys", p["kms_key"]),
        (
            "Interface VPC endpoints, per Availability Zone",
            f"${endpoint_month:.2f}",
            "endpoint_azs",
            endpoint_month,
        ),
        (
            "Advanced SSM parameters (standard ones are free)",
            f"${p['advanced_parameter']:.2f}",
            "advanced",
            p["advanced_parameter"],
        ),
        (
            "Continuous-evaluation schedules (rules are free; tokens below)",
            "$0",
            "evaluator_rules",
            0.0,
        ),
        ("Continuous-evaluation runs a month (Lambda: under $0.01)", "$0", "evaluator_runs", 0.0),
        ("Lifecycle watcher schedules (free)", "$0", "watcher_rules", 0.0),
        ("Lifecycle watcher runs a month (Lambda: under $0.01)", "$0", "watcher_runs", 0.0),
    ]
    return [
        Row(item, price, tuple(counted[key]), tuple(n * each for n in counted[key]))
        for item, price, key, each in table
        if any(counted[key])
    ]


def render_costs(environments: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    """The Markdown table: per environment, the count and the monthly cost of each item."""
    names = list(environments)
    rows = cost_rows(environments)
    header = "| at rest, per month | price each | " + " | ".join(names) + " |"
    lines = [header, "| --- | --- |" + " ---: |" * len(names)]
    for row in rows:
        cells = [
            f"{n} (${m:.2f})" if m else str(n) for n, m in zip(row.counts, row.monthly, strict=True)
        ]
        lines.append(f"| {row.item} | {row.unit_price} | " + " | ".join(cells) + " |")
    totals = [sum(r.monthly[i] for r in rows) for i in range(len(names))]
    lines.append("| **total** | | " + " | ".join(f"**${t:.2f}**" for t in totals) + " |")
    return "\n".join(lines)


def render_tokens(config: Any) -> str:
    """Per environment and alias: prompts a run, the output-token ceiling of a run
    (prompts x the version's ``max_tokens``), runs a month and the monthly ceiling."""
    from bedrock_lifecycle.shared.golden import read_prompts

    columns = [
        "environment",
        "alias",
        "schedule",
        "prompts a run",
        "max_tokens",
        "output tokens a run, at most",
        "runs a month",
        "output tokens a month, at most",
    ]
    lines = ["| " + " | ".join(columns) + " |", "| --- | --- | --- |" + " ---: |" * 5]
    for environment in config.file.environments:
        for alias in config.aliases_for(environment):
            evaluation = config.file.families[alias.family].evaluation
            if evaluation is None or not evaluation.continuous.runs_in(environment):
                continue
            text = (config.base_dir / evaluation.golden_prompts).read_text(encoding="utf-8")
            count = len(read_prompts(text))
            prompts = min(count, evaluation.continuous.sample or count)
            runs = runs_per_month(evaluation.continuous.schedule)
            max_tokens = alias.version.inference.max_tokens
            if max_tokens is None:  # an embedding: no output tokens
                per_run, month, shown = "0 (embedding)", "0", "-"
            else:
                per_run = f"{prompts * max_tokens:,}"
                month = "varies" if runs is None else f"{round(prompts * max_tokens * runs):,}"
                shown = str(max_tokens)
            lines.append(
                f"| {environment} | {alias.qualified_name} | `{evaluation.continuous.schedule}` "
                f"| {prompts} of {count} | {shown} | {per_run} | "
                f"{'varies' if runs is None else round(runs)} | {month} |"
            )
    return "\n".join(lines)


def environment_templates(cdk_out: Path, environments: Iterable[str]) -> dict[str, list[dict]]:
    """Every stack template of each environment in a cloud assembly folder."""
    return {
        env: [
            json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(cdk_out.glob(f"BedrockLifecycle-{env}*.template.json"))
        ]
        for env in environments
    }


def main(argv: Sequence[str] | None = None) -> int:
    from bedrock_lifecycle.config import load_lifecycle

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdk-out", default="cdk.out", type=Path)
    parser.add_argument("--file", default="lifecycle.yaml", type=Path)
    args = parser.parse_args(argv)
    config = load_lifecycle(args.file)
    print(render_costs(environment_templates(args.cdk_out, config.file.environments)))
    print()
    print(render_tokens(config))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
