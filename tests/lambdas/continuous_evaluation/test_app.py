"""The continuous evaluator: every alias of a schedule, through its live alias, every run
published and reported, an unreachable alias a failure (Stubber, exact parameters)."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.lambdas.provisioned_throughput.cfn_fuzz import json_values
from tests.support.lambda_assets import stubbed_clients

ENVIRONMENT = "prod"
FUNCTION = "BedrockLifecycle-prod-SummarizerLiveFunction-AbCdEf123456"
PINNED = "bl0a1b2c3d-summarizer_pinned-v1"
V2, V3 = "v2@0123456789ab", "v3@ba9876543210"


def chat(text: str) -> dict:
    return {"messages": [{"role": "user", "content": [{"text": text}]}]}


def prompt_line(prompt_id: str, text: str, **checks) -> dict:
    return {"id": prompt_id, **chat(text), "checks": checks or {"contains": ["ok"]}}


def answer(text: str = "ok", version_id: str = V2, alias: str = "summarizer/live") -> dict:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
        "stopReason": "end_turn",
        "alias": alias,
        "version_id": version_id,
        "request_id": "r-1",
    }


def write_settings(
    folder: Path,
    prompts: list[dict],
    *,
    aliases: dict | None = None,
    functions: dict | None = None,
    schedule: str = "rate(1 day)",
) -> str:
    (folder / "golden").mkdir(exist_ok=True)
    (folder / "golden" / "summarizer.jsonl").write_text(
        "".join(json.dumps(p) + "\n" for p in prompts)
    )
    entries = aliases or {
        "summarizer/live": {
            "family": "summarizer",
            "alias": "live",
            "prompts": "golden/summarizer.jsonl",
            "pass_rate": 0.9,
            "sample": None,
        }
    }
    settings_file = folder / "settings.json"
    settings_file.write_text(
        json.dumps(
            {
                "environment": ENVIRONMENT,
                "schedules": {schedule: list(entries)},
                "aliases": entries,
                "functions": functions or {},
            }
        )
    )
    return str(settings_file)


def environ(**names: str) -> dict[str, str]:
    return {"ROUTER_FUNCTIONS": json.dumps(names or {"summarizer/live": FUNCTION})}


def stub_invoke(stub: Stubber, function: str, request: dict, body: dict | str) -> None:
    data = (body if isinstance(body, str) else json.dumps(body)).encode()
    stub.add_response(
        "invoke",
        {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(data), len(data))},
        {
            "FunctionName": function,
            "Qualifier": "live",  # the path callers use, never a version number
            "InvocationType": "RequestResponse",
            "Payload": json.dumps(request).encode(),
        },
    )


def run(evaluator, client, settings_file, *, env=None, lines=None, **kwargs):
    out = lines if lines is not None else []
    summary = evaluator.evaluate(
        {"schedule": "rate(1 day)"},
        lambda_client=client,
        settings_file=settings_file,
        environ=env if env is not None else environ(),
        write=out.append,
        now=lambda: 1_800_000_000.0,
        parallel=1,
        **kwargs,
    )
    return summary, [json.loads(line) for line in out]


def emf(records: list[dict]) -> list[dict]:
    return [r for r in records if "_aws" in r]


def report(records: list[dict]) -> dict:
    (found,) = [
        r for r in records if r.get("record") == "bedrock-lifecycle.continuous-evaluation.report"
    ]
    return found


def dimensions_of(document: dict) -> dict:
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    (names,) = directive["Dimensions"]
    return {name: document[name] for name in names}


def test_every_prompt_passing_publishes_100_percent_by_alias_and_by_version(evaluator, tmp_path):
    prompts = [prompt_line("a", "first"), prompt_line("b", "second")]
    settings_file = write_settings(tmp_path, prompts)
    with stubbed_clients("lambda") as [(client, stub)]:
        for p in prompts:
            stub_invoke(stub, FUNCTION, chat(p["messages"][0]["content"][0]["text"]), answer())
        summary, records = run(evaluator, client, settings_file)
    assert summary["aliases"]["summarizer/live"] == {
        "pass_rate": 1.0,
        "required": 0.9,
        "passed": True,
    }
    wide, version = emf(records)
    assert dimensions_of(wide) == {"Environment": "prod", "Family": "summarizer", "Alias": "live"}
    assert dimensions_of(version) == {**dimensions_of(wide), "Version": V2}
    for document in (wide, version):
        assert (
            document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "BedrockLifecycle/Evaluation"
        )
        assert document["ContinuousPassRate"] == 100.0
        assert document["ContinuousPrompts"] == 2
        assert len(document["ContinuousLatency"]) == 2
    record = report(records)
    (alias,) = record["aliases"]
    assert record["environment"] == "prod" and record["schedule"] == "rate(1 day)"
    assert record["started"] == "2027-01-15T08:00:00Z"
    assert alias["outcome"] == "pass" and alias["qualifier"] == "live"
    assert alias["versions"] == {V2: {"prompts": 2, "passed": 2}}
    assert [r["id"] for r in alias["results"]] == ["a", "b"]
    assert all(r["version_id"] == V2 for r in alias["results"])


def test_a_failed_check_lowers_the_pass_rate_below_the_family_and_the_run_fails(
    evaluator, tmp_path
):
    prompts = [prompt_line("a", "one"), prompt_line("b", "two")]
    settings_file = write_settings(tmp_path, prompts)
    with stubbed_clients("lambda") as [(client, stub)]:
        stub_invoke(stub, FUNCTION, chat("one"), answer("ok"))
        stub_invoke(stub, FUNCTION, chat("two"), answer("drifted"))
        summary, records = run(evaluator, client, settings_file)
    assert summary["aliases"]["summarizer/live"]["passed"] is False
    assert {d["ContinuousPassRate"] for d in emf(records)} == {50.0}
    (alias,) = report(records)["aliases"]
    assert alias["outcome"] == "fail" and alias["passed"] == 1
    failed = [r for r in alias["results"] if not r["passed"]]
    assert failed[0]["failures"] == ["contains: 'ok' missing"]


def test_an_unreachable_alias_fails_every_prompt_and_still_publishes_its_pass_rate(
    evaluator, tmp_path
):
    prompts = [prompt_line("a", "one"), prompt_line("b", "two")]
    settings_file = write_settings(tmp_path, prompts)
    with stubbed_clients("lambda") as [(client, stub)]:
        for text in ("one", "two"):
            stub.add_client_error(
                "invoke",
                "ResourceNotFoundException",
                "Function not found",
                404,
                expected_params={
                    "FunctionName": FUNCTION,
                    "Qualifier": "live",
                    "InvocationType": "RequestResponse",
                    "Payload": json.dumps(chat(text)).encode(),
                },
            )
        summary, records = run(evaluator, client, settings_file)
    assert summary["aliases"]["summarizer/live"]["passed"] is False
    # Alias-wide only (no version answered), and 0, never left out: the alarm reads it.
    (wide,) = emf(records)
    assert wide["ContinuousPassRate"] == 0.0 and wide["ContinuousPrompts"] == 2
    assert "ContinuousLatency" not in wide
    (alias,) = report(records)["aliases"]
    assert alias["versions"] == {"none": {"prompts": 2, "passed": 0}}
    assert "ResourceNotFoundException" in alias["results"][0]["failures"][0]


def test_a_router_error_fails_the_prompt_and_names_the_version_that_answered(evaluator, tmp_path):
    settings_file = write_settings(tmp_path, [prompt_line("a", "one")])
    body = {"error": {"code": "ServerError", "message": "Bedrock failed"}, "version_id": V2}
    with stubbed_clients("lambda") as [(client, stub)]:
        stub_invoke(stub, FUNCTION, chat("one"), body)
        _, records = run(evaluator, client, settings_file)
    wide, version = emf(records)
    assert wide["ContinuousPassRate"] == version["ContinuousPassRate"] == 0.0
    assert dimensions_of(version)["Version"] == V2


def test_a_canary_in_progress_is_published_per_version_served(evaluator, tmp_path):
    prompts = [prompt_line(str(i), f"p{i}") for i in range(4)]
    settings_file = write_settings(tmp_path, prompts)
    with stubbed_clients("lambda") as [(client, stub)]:
        for i, version in enumerate((V2, V3, V2, V3)):
            text = "ok" if version == V2 else "bad"
            stub_invoke(stub, FUNCTION, chat(f"p{i}"), answer(text, version_id=version))
        _, records = run(evaluator, client, settings_file)
    by_version = {dimensions_of(d).get("Version"): d["ContinuousPassRate"] for d in emf(records)}
    assert by_version == {None: 50.0, V2: 100.0, V3: 0.0}
    (alias,) = report(records)["aliases"]
    assert alias["versions"] == {V2: {"prompts": 2, "passed": 2}, V3: {"prompts": 2, "passed": 0}}


def test_a_sample_runs_that_many_prompts_drawn_at_random_and_reports_the_draw(evaluator, tmp_path):
    prompts = [prompt_line(f"p{i}", f"text {i}") for i in range(10)]
    entries = {
        "summarizer/live": {
            "family": "summarizer",
            "alias": "live",
            "prompts": "golden/summarizer.jsonl",
            "pass_rate": 1.0,
            "sample": 3,
        }
    }
    settings_file = write_settings(tmp_path, prompts, aliases=entries)
    chosen = sorted(random.Random(7).sample(range(10), 3))
    with stubbed_clients("lambda") as [(client, stub)]:
        for i in chosen:
            stub_invoke(stub, FUNCTION, chat(f"text {i}"), answer())
        _, records = run(evaluator, client, settings_file, rng=random.Random(7))
    (alias,) = report(records)["aliases"]
    assert alias["prompts"] == 3 and alias["sampled_from"] == 10
    assert [r["id"] for r in alias["results"]] == [f"p{i}" for i in chosen]
    assert {d["ContinuousPrompts"] for d in emf(records)} == {3}


def test_two_aliases_are_interleaved_and_each_names_its_own_function(evaluator, tmp_path):
    prompts = [prompt_line("a", "one"), prompt_line("b", "two")]
    entries = {
        key: {
            "family": "summarizer",
            "alias": name,
            "prompts": "golden/summarizer.jsonl",
            "pass_rate": 1.0,
            "sample": None,
        }
        for key, name in (("summarizer/live", "live"), ("summarizer/pinned-v1", "pinned-v1"))
    }
    # The pinned alias's router lives in an alias stack: its name is staged, not a token.
    settings_file = write_settings(
        tmp_path, prompts, aliases=entries, functions={"summarizer/pinned-v1": PINNED}
    )
    with stubbed_clients("lambda") as [(client, stub)]:
        stub_invoke(stub, FUNCTION, chat("one"), answer())
        stub_invoke(stub, PINNED, chat("one"), answer(alias="summarizer/pinned-v1"))
        stub_invoke(stub, FUNCTION, chat("two"), answer())
        stub_invoke(stub, PINNED, chat("two"), answer(alias="summarizer/pinned-v1"))
        summary, records = run(evaluator, client, settings_file)
    assert all(v["passed"] for v in summary["aliases"].values())
    assert [a["function"] for a in report(records)["aliases"]] == [FUNCTION, PINNED]


def test_prompts_without_time_to_end_fail_as_not_run(evaluator, tmp_path):
    settings_file = write_settings(tmp_path, [prompt_line("a", "one")])
    with stubbed_clients("lambda") as [(client, _stub)]:
        _, records = run(evaluator, client, settings_file, remaining_ms=lambda: 10_000)
    (wide,) = emf(records)
    assert wide["ContinuousPassRate"] == 0.0
    (alias,) = report(records)["aliases"]
    assert alias["results"][0]["failures"] == ["not run: out of time"]


def test_an_unreadable_prompt_file_is_a_failure_with_a_published_zero(evaluator, tmp_path):
    settings_file = write_settings(tmp_path, [prompt_line("a", "one")])
    (tmp_path / "golden" / "summarizer.jsonl").write_text("{not json\n")
    with stubbed_clients("lambda") as [(client, _stub)]:
        summary, records = run(evaluator, client, settings_file)
    assert summary["aliases"]["summarizer/live"]["passed"] is False
    (wide,) = emf(records)
    assert wide["ContinuousPassRate"] == 0.0 and wide["ContinuousPrompts"] == 0
    (alias,) = report(records)["aliases"]
    assert alias["problem"].startswith("golden prompts unreadable: line 1: not valid JSON")


def test_the_report_stays_one_bounded_record_however_many_failures(evaluator, tmp_path):
    prompts = [prompt_line(f"p{i:03}", f"t{i}", contains=["x" * 2000]) for i in range(500)]
    settings_file = write_settings(tmp_path, prompts)

    class Client:
        def invoke(self, **params):
            data = json.dumps(answer("nothing like it")).encode()
            return {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(data), len(data))}

    lines: list[str] = []
    run(evaluator, Client(), settings_file, lines=lines)
    (line,) = [x for x in lines if "continuous-evaluation.report" in x]
    assert len(line.encode()) <= evaluator.MAX_REPORT_BYTES
    (alias,) = json.loads(line)["aliases"]
    assert alias["prompts"] == 500 and alias["passed"] == 0


def test_the_functions_of_the_stack_come_from_its_environment_variable(evaluator, tmp_path):
    settings_file = write_settings(tmp_path, [prompt_line("a", "one")])
    with stubbed_clients("lambda") as [(client, stub)]:
        stub_invoke(stub, "another-name", chat("one"), answer())
        run(evaluator, client, settings_file, env=environ(**{"summarizer/live": "another-name"}))


def test_an_alias_without_a_function_name_is_refused_before_any_call(evaluator, tmp_path):
    settings_file = write_settings(tmp_path, [prompt_line("a", "one")])
    with (
        stubbed_clients("lambda") as [(client, _stub)],
        pytest.raises(evaluator.SettingsError, match="no router function is named for"),
    ):
        run(evaluator, client, settings_file, env={})


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(event=json_values | st.fixed_dictionaries({"schedule": json_values}))
def test_any_other_event_is_refused_in_one_line_before_any_call(evaluator, tmp_path, event):
    settings_file = write_settings(tmp_path, [prompt_line("a", "one")])
    if isinstance(event, dict) and event.get("schedule") == "rate(1 day)":
        return
    with (
        stubbed_clients("lambda") as [(client, _stub)],
        pytest.raises(evaluator.SettingsError) as raised,
    ):
        evaluator.evaluate(
            event, lambda_client=client, settings_file=settings_file, environ=environ()
        )
    assert "\n" not in str(raised.value) and len(str(raised.value)) < 600
