"""The BeforeAllowTraffic gate against stubbed CodeDeploy and Lambda (botocore Stubber)."""

from __future__ import annotations

import io
import json
from contextlib import contextmanager

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from tests.lambdas.evaluation_gate.codedeploy_stubs import (
    EVENT,
    FUNCTION,
    GROUP,
    stub_report,
    stub_target,
)
from tests.support.lambda_assets import stubbed_clients


@contextmanager
def hook_clients():
    """codedeploy and lambda clients behind Stubbers; every stubbed call must be made."""
    with stubbed_clients("codedeploy", "lambda") as [(codedeploy, cd_stub), (lam, lambda_stub)]:
        yield codedeploy, cd_stub, lam, lambda_stub


@pytest.fixture
def settings(tmp_path):
    """A settings file like the construct writes, with three golden prompts."""
    (tmp_path / "golden").mkdir()
    prompts = [
        {
            "id": "refund",
            "messages": [{"role": "user", "content": [{"text": "Ticket: refund A-1"}]}],
            "checks": {"contains": ["A-1"], "not_contains": ["I cannot"], "max_output_tokens": 50},
        },
        {
            "id": "json",
            "messages": [{"role": "user", "content": [{"text": "JSON please"}]}],
            "checks": {"valid_json": True, "regex": "(?i)days"},
        },
        {
            "id": "fast",
            "messages": [{"role": "user", "content": [{"text": "hi"}]}],
            "checks": {"max_latency_ms": 1000},
        },
    ]
    (tmp_path / "golden/summarizer.jsonl").write_text(
        "\n".join(json.dumps(p) for p in prompts) + "\n\n"
    )
    (tmp_path / "golden/embedder.jsonl").write_text(
        json.dumps({"id": "vec", "input": "leave policy", "checks": {"dimensions": 4}}) + "\n"
    )
    group = {
        "environment": "prod",
        "family": "summarizer",
        "alias": "live",
        "kind": "chat",
        "version_id": "v2@0123456789ab",
        "strategy": "canary",
        "evaluation": {"file": "golden/summarizer.jsonl", "pass_rate": 0.6},
    }
    groups = {
        GROUP: group,
        "embedder.live": {
            **group,
            "family": "embedder",
            "kind": "embedding",
            "evaluation": {"file": "golden/embedder.jsonl", "pass_rate": 1.0},
        },
        "assistant.live": {**group, "family": "assistant", "evaluation": None},
    }
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"groups": groups}))
    return str(path)


def answer(text: str, tokens: int = 20) -> dict:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "usage": {"inputTokens": 10, "outputTokens": tokens, "totalTokens": 10 + tokens},
        "stopReason": "end_turn",
        "alias": "summarizer/live",
        "version_id": "v2@0123456789ab",
    }


def stub_invoke(stub: Stubber, request: dict, body: dict | str, function_error=None) -> None:
    data = (body if isinstance(body, str) else json.dumps(body)).encode()
    response = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(data), len(data))}
    if function_error:
        response["FunctionError"] = function_error
    stub.add_response(
        "invoke",
        response,
        {
            "FunctionName": FUNCTION,
            "Qualifier": "7",  # the target version itself, never the alias
            "InvocationType": "RequestResponse",
            "Payload": json.dumps(request).encode(),
        },
    )


def chat(text: str) -> dict:
    return {"messages": [{"role": "user", "content": [{"text": text}]}]}


class Clock:
    """A monotonic clock that advances ``step`` seconds per reading."""

    def __init__(self, step: float = 0.1) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def evaluate(gate, settings, codedeploy, lam, **kwargs):
    return gate.evaluate(
        EVENT,
        codedeploy=codedeploy,
        lambda_client=lam,
        settings_file=settings,
        parallel=1,
        **kwargs,
    )


def metric_lines(capsys) -> list[dict]:
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    return [line for line in out if "_aws" in line]


def report_lines(caplog) -> list[dict]:
    """The structured reports the gate logged (Powertools puts ``extra`` keys on the record)."""
    return [vars(r) for r in caplog.records if r.getMessage() == "evaluation report"]


def test_passes_and_publishes_the_pass_rate(gate, settings, capsys):
    with hook_clients() as (codedeploy, cd_stub, lam, lambda_stub):
        stub_target(cd_stub)
        stub_invoke(lambda_stub, chat("Ticket: refund A-1"), answer("Refund for A-1 issued."))
        stub_invoke(lambda_stub, chat("JSON please"), answer('```json\n{"days": 5}\n```'))
        stub_invoke(lambda_stub, chat("hi"), answer("Hello"))
        stub_report(cd_stub, "Succeeded")
        status = evaluate(gate, settings, codedeploy, lam, clock=Clock(0.1))
    assert status == "Succeeded"
    (emf,) = metric_lines(capsys)
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "BedrockLifecycle/Rollouts"
    assert directive["Dimensions"] == [["Environment", "Family", "Alias", "Version"]]
    assert directive["Metrics"] == [{"Name": "EvaluationPassRate", "Unit": "Percent"}]
    assert emf["EvaluationPassRate"] == [100.0] or emf["EvaluationPassRate"] == 100.0
    assert (emf["Family"], emf["Alias"], emf["Version"]) == (
        "summarizer",
        "live",
        "v2@0123456789ab",
    )


def test_fails_on_quality_below_the_pass_rate(gate, settings, caplog):
    with hook_clients() as (codedeploy, cd_stub, lam, lambda_stub):
        stub_target(cd_stub)
        # refund: code missing and too many tokens; json: not JSON; fast: passes.
        stub_invoke(lambda_stub, chat("Ticket: refund A-1"), answer("I cannot help", tokens=80))
        stub_invoke(lambda_stub, chat("JSON please"), answer("five days"))
        stub_invoke(lambda_stub, chat("hi"), answer("Hello"))
        stub_report(cd_stub, "Failed")
        status = evaluate(gate, settings, codedeploy, lam, clock=Clock(0.1))
    assert status == "Failed"
    (report,) = report_lines(caplog)
    assert report["verdict"] == "Failed"
    assert report["pass_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert report["required_pass_rate"] == 0.6
    assert (report["current_version"], report["target_version"]) == ("6", "7")
    failures = {r["id"]: r["failures"] for r in report["results"]}
    assert failures == {
        "refund": [
            "contains: 'A-1' missing",
            "not_contains: 'I cannot' present",
            "max_output_tokens: 80 > 50",
        ],
        "json": ["valid_json: the answer is not JSON"],
        "fast": [],
    }


def test_slow_answers_errors_and_router_errors_fail_their_prompt(gate, settings, caplog):
    with hook_clients() as (codedeploy, cd_stub, lam, lambda_stub):
        stub_target(cd_stub)
        stub_invoke(lambda_stub, chat("Ticket: refund A-1"), {"errorMessage": "boom"}, "Unhandled")
        stub_invoke(
            lambda_stub,
            chat("JSON please"),
            {"error": {"type": "ServerError", "code": "Timeout", "message": "slow"}},
        )
        stub_invoke(lambda_stub, chat("hi"), answer("Hello"))
        stub_report(cd_stub, "Failed")
        status = evaluate(gate, settings, codedeploy, lam, clock=Clock(1.4))  # 1.4 s per call
    assert status == "Failed"
    (report,) = report_lines(caplog)
    failures = {r["id"]: r["failures"] for r in report["results"]}
    assert failures["refund"][0].startswith("function error: ")
    assert failures["json"][0].startswith("router error: ")
    assert failures["fast"] == ["max_latency_ms: 1400 > 1000"]


def test_embedding_dimension_check(gate, settings, caplog):
    with hook_clients() as (codedeploy, cd_stub, lam, lambda_stub):
        stub_target(cd_stub, "embedder.live")
        stub_invoke(lambda_stub, {"inputText": "leave policy"}, {"embedding": [0.1, 0.2, 0.3]})
        stub_report(cd_stub, "Failed")
        assert evaluate(gate, settings, codedeploy, lam) == "Failed"
    (report,) = report_lines(caplog)
    assert report["results"][0]["failures"] == ["dimensions: expected 4, got 3"]


def test_alias_without_golden_prompts_passes_without_invoking(gate, settings):
    with hook_clients() as (codedeploy, cd_stub, lam, _):
        stub_target(cd_stub, "assistant.live")
        stub_report(cd_stub, "Succeeded")
        assert evaluate(gate, settings, codedeploy, lam) == "Succeeded"


def test_out_of_time_prompts_count_as_failed_and_the_report_still_goes_out(gate, settings, caplog):
    budget = iter([600_000, 5_000, 5_000])
    with hook_clients() as (codedeploy, cd_stub, lam, lambda_stub):
        stub_target(cd_stub)
        stub_invoke(lambda_stub, chat("Ticket: refund A-1"), answer("Refund for A-1 issued."))
        stub_report(cd_stub, "Failed")
        status = evaluate(gate, settings, codedeploy, lam, remaining_ms=lambda: next(budget, 5_000))
    assert status == "Failed"
    (report,) = report_lines(caplog)
    failures = {r["id"]: r["failures"] for r in report["results"]}
    assert failures["json"] == failures["fast"] == ["not run: out of time"]


def test_an_exception_still_reports_failed(gate, settings):
    with hook_clients() as (codedeploy, cd_stub, lam, _):
        cd_stub.add_client_error(
            "get_deployment", "DeploymentDoesNotExistException", "no such deployment"
        )
        stub_report(cd_stub, "Failed")
        assert evaluate(gate, settings, codedeploy, lam) == "Failed"


def test_unknown_deployment_group_reports_failed(gate, settings):
    with hook_clients() as (codedeploy, cd_stub, lam, _):
        stub_target(cd_stub, "someone-else.live")
        stub_report(cd_stub, "Failed")
        assert evaluate(gate, settings, codedeploy, lam) == "Failed"


def test_missing_settings_file_reports_failed(gate, tmp_path):
    with hook_clients() as (codedeploy, cd_stub, lam, _):
        stub_report(cd_stub, "Failed")
        status = evaluate(gate, str(tmp_path / "absent.json"), codedeploy, lam)
    assert status == "Failed"


@pytest.mark.parametrize("event", [None, {}, {"DeploymentId": "d-1"}])
def test_an_event_without_ids_is_refused_before_any_call(gate, settings, event):
    # Any call would raise: nothing is stubbed.
    with (
        hook_clients() as (codedeploy, _, lam, _),
        pytest.raises(ValueError, match="CodeDeploy hook"),
    ):
        gate.evaluate(event, codedeploy=codedeploy, lambda_client=lam, settings_file=settings)


@pytest.mark.parametrize(
    ("text", "expected"),
    [('{"a": 1}', True), ('```json\n{"a": 1}\n```', True), ("```\n[1]\n```", True), ("a", False)],
)
def test_valid_json_accepts_bare_and_fenced_json(gate, text, expected):
    assert gate.is_json(text) is expected
