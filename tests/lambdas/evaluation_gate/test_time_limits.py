"""No check outlives the gate's budget, and the hooks' front door refuses what is not
CodeDeploy's event before any AWS call."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.lambdas.evaluation_gate.codedeploy_stubs import EVENT, stub_report, stub_target
from tests.lambdas.evaluation_gate.test_app import answer, chat, hook_clients, stub_invoke
from tests.lambdas.provisioned_throughput.cfn_fuzz import HOSTILE, json_values, no_aws_calls
from tests.support.lambda_assets import stubbed_clients

EVIL = "^(a+)+$"
EVIL_TEXT = "a" * 40 + "b"  # about 2**40 steps for re: never finishes unaided


@pytest.fixture(scope="module")
def regex_check():
    # A shared module (bedrock_lifecycle/shared), staged beside the gate's own.
    from bedrock_lifecycle.shared import regex_check

    return regex_check


def test_a_catastrophic_regex_is_stopped_at_its_limit(regex_check):
    started = time.monotonic()
    with pytest.raises(regex_check.RegexTimeout, match=r"did not finish within 0\.2 s"):
        regex_check.search_within(EVIL, EVIL_TEXT, 0.2)
    assert time.monotonic() - started < 1.0


def test_an_ordinary_regex_answers_like_re(regex_check):
    assert regex_check.search_within("(?i)DAYS", "within 5 days") is True
    assert regex_check.search_within(r"^\d+$", "12a") is False


def test_no_time_left_refuses_at_once(regex_check):
    with pytest.raises(regex_check.RegexTimeout, match="no time left"):
        regex_check.search_within("a", "a", 0)


def test_a_catastrophic_check_fails_its_prompt_and_the_gate_still_reports(gate, tmp_path):
    (tmp_path / "golden").mkdir()
    prompts = [
        {"id": "evil", "messages": chat("x")["messages"], "checks": {"regex": EVIL}},
        {"id": "fine", "messages": chat("y")["messages"], "checks": {"regex": "b$"}},
    ]
    (tmp_path / "golden/summarizer.jsonl").write_text("\n".join(json.dumps(p) for p in prompts))
    group = {
        "environment": "prod",
        "family": "summarizer",
        "alias": "live",
        "kind": "chat",
        "version_id": "v2@0123456789ab",
        "evaluation": {"file": "golden/summarizer.jsonl", "pass_rate": 0.5},
    }
    (tmp_path / "settings.json").write_text(json.dumps({"groups": {"summarizer.live": group}}))
    # 1 s per check at most; with 23.4 s left and 23 s kept for the report, 0.4 s.
    remaining = iter([900_000, 900_000])
    with hook_clients() as (codedeploy, cd_stub, lam, lambda_stub):
        stub_target(cd_stub)
        stub_invoke(lambda_stub, chat("x"), answer(EVIL_TEXT))
        stub_invoke(lambda_stub, chat("y"), answer(EVIL_TEXT))
        stub_report(cd_stub, "Succeeded")
        started = time.monotonic()
        status = gate.evaluate(
            EVENT,
            codedeploy=codedeploy,
            lambda_client=lam,
            settings_file=str(tmp_path / "settings.json"),
            parallel=1,
            remaining_ms=lambda: next(remaining, gate.REPORT_RESERVE_MS + 400),
        )
        elapsed = time.monotonic() - started
    assert status == "Succeeded"  # one of two passed: 0.5
    assert elapsed < 2.0


def test_check_answer_words_a_stopped_regex(gate, regex_check):
    def stopped(pattern, text):
        raise gate.RegexTimeout("the search did not finish within 1 s")

    failures, _ = gate.check_answer({"regex": EVIL}, answer("aaa"), 5, stopped)
    assert failures == [
        "regex: '^(a+)+$' was stopped: the search did not finish within 1 s on a 3-character "
        "answer (catastrophic backtracking?): simplify the pattern"
    ]


# -- the hooks' front door -------------------------------------------------------------------

# No id of CodeDeploy's: hostile strings, the empty one, and values that are not strings.
bad_ids = st.sampled_from([*HOSTILE, ""]) | json_values.filter(lambda v: not isinstance(v, str))
bad_deployment_ids = bad_ids | st.sampled_from(["d-abc", "d-" + "A" * 65, "D-ABC"])


@st.composite
def invalid_hook_events(draw):
    kind = draw(st.sampled_from(["value", "dict", "field"]))
    if kind == "value":
        return draw(json_values.filter(lambda v: not isinstance(v, dict)))
    if kind == "dict":
        return draw(st.dictionaries(st.text(max_size=12), json_values, max_size=4))
    event = dict(EVENT)
    key = draw(st.sampled_from(sorted(EVENT)))
    if draw(st.booleans()):
        del event[key]
    else:
        event[key] = draw(bad_deployment_ids if key == "DeploymentId" else bad_ids)
    return event


@pytest.fixture(scope="module")
def quiet_clients():
    with (
        stubbed_clients("codedeploy", "lambda", "cloudwatch") as [(cd, _), (lam, _), (cw, _)],
        no_aws_calls(cd, lam, cw) as calls,
    ):
        yield cd, lam, cw, calls


@settings(max_examples=150, deadline=None)
@given(bad=invalid_hook_events())
def test_no_malformed_hook_event_reaches_aws(gate, analysis, quiet_clients, bad):
    codedeploy, lam, cloudwatch, calls = quiet_clients
    for run in (
        lambda: gate.evaluate(bad, codedeploy=codedeploy, lambda_client=lam),
        lambda: analysis.analyse(
            bad, codedeploy=codedeploy, lambda_client=lam, cloudwatch=cloudwatch
        ),
    ):
        with pytest.raises(ValueError) as raised:
            run()
        message = str(raised.value)
        assert type(raised.value).__name__ == "HookInputError"
        assert "\n" not in message and len(message.encode()) < 600, message
        assert message.startswith(("expected a CodeDeploy hook event", "CodeDeploy hook event:"))
    assert calls == []


def test_a_3000_character_deployment_id_is_named_briefly(gate):
    with pytest.raises(ValueError) as raised:
        gate.evaluate(
            {**EVENT, "DeploymentId": "d-" + "A" * 3000}, codedeploy=None, lambda_client=None
        )
    assert str(raised.value).startswith("CodeDeploy hook event: DeploymentId must be d- and")
    assert len(str(raised.value)) < 300
