"""The continuous evaluator against the real router (in-process, its Bedrock client on
real botocore HTTP to the stand-in on 127.0.0.1): pass, fail, an unreachable alias and a
partial sample, and the report names the version the router stamped."""

from __future__ import annotations

import io
import json
import random

from botocore.response import StreamingBody

from tests.lambdas.continuous_evaluation.test_app import (
    FUNCTION,
    emf,
    prompt_line,
    report,
    run,
    write_settings,
)
from tests.support.bedrock_standin import converse_reply, error_reply
from tests.support.router import chat_config, harness_for

VERSION = "v2@0123456789ab"


class RoutedLambda:
    """A Lambda client whose ``live`` alias of ``FUNCTION`` is the router harness; any
    other function or qualifier is not found, as Lambda answers."""

    def __init__(self, harness) -> None:
        self.harness = harness
        self.calls: list[dict] = []

    def invoke(self, **params):
        self.calls.append(params)
        if params["FunctionName"] != FUNCTION or params.get("Qualifier") != "live":
            raise RuntimeError(
                "An error occurred (ResourceNotFoundException) when calling the Invoke "
                f"operation: Function not found: {params['FunctionName']}"
            )
        answer = self.harness.invoke(json.loads(params["Payload"]), request_id="eval-1")
        data = json.dumps(answer).encode()
        return {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(data), len(data))}


def test_a_passing_run_through_the_router_names_the_version_it_stamped(
    evaluator, bedrock_standin, tmp_path
):
    bedrock_standin.script(converse_reply("Refunds take 5 days."), converse_reply("ok, 5 days"))
    prompts = [prompt_line("a", "refunds?", contains=["5 days"]), prompt_line("b", "again")]
    prompts[1]["checks"] = {"regex": "\\d+ days"}
    client = RoutedLambda(harness_for(bedrock_standin, chat_config(version_id=VERSION)))
    settings_file = write_settings(tmp_path, prompts)
    summary, records = run(evaluator, client, settings_file)
    assert summary["aliases"]["summarizer/live"]["passed"] is True
    assert [c["Qualifier"] for c in client.calls] == ["live", "live"]
    # The router sent both prompts to Bedrock with its own requestMetadata.
    assert [r.json["requestMetadata"]["version_id"] for r in bedrock_standin.requests] == [
        VERSION,
        VERSION,
    ]
    (alias,) = report(records)["aliases"]
    assert alias["versions"] == {VERSION: {"prompts": 2, "passed": 2}}


def test_a_failing_model_fails_its_prompts_but_the_version_is_still_known(
    evaluator, bedrock_standin, tmp_path
):
    bedrock_standin.script(converse_reply("no idea"), error_reply("ModelErrorException", 424))
    prompts = [prompt_line("a", "refunds?", contains=["5 days"]), prompt_line("b", "again")]
    client = RoutedLambda(harness_for(bedrock_standin, chat_config(version_id=VERSION)))
    _, records = run(evaluator, client, write_settings(tmp_path, prompts))
    by_dimensions = {d.get("Version"): d["ContinuousPassRate"] for d in emf(records)}
    assert by_dimensions == {None: 0.0, VERSION: 0.0}
    (alias,) = report(records)["aliases"]
    failures = [r["failures"][0] for r in alias["results"]]
    assert failures[0] == "contains: '5 days' missing"
    assert failures[1].startswith("router error:")


def test_an_alias_whose_router_is_gone_is_a_failure_not_a_silent_pass(
    evaluator, bedrock_standin, tmp_path
):
    client = RoutedLambda(harness_for(bedrock_standin, chat_config(version_id=VERSION)))
    settings_file = write_settings(tmp_path, [prompt_line("a", "refunds?")])
    env = {"ROUTER_FUNCTIONS": json.dumps({"summarizer/live": "deleted-function"})}
    summary, records = run(evaluator, client, settings_file, env=env)
    assert summary["aliases"]["summarizer/live"]["passed"] is False
    (wide,) = emf(records)
    assert wide["ContinuousPassRate"] == 0.0
    assert bedrock_standin.requests == []


def test_a_partial_sample_sends_only_the_drawn_prompts_to_bedrock(
    evaluator, bedrock_standin, tmp_path
):
    prompts = [prompt_line(f"p{i}", f"question {i}", contains=["answer"]) for i in range(6)]
    entry = {
        "family": "summarizer",
        "alias": "live",
        "prompts": "golden/summarizer.jsonl",
        "pass_rate": 0.5,
        "sample": 2,
    }
    settings_file = write_settings(tmp_path, prompts, aliases={"summarizer/live": entry})
    bedrock_standin.script(converse_reply("an answer"), converse_reply("an answer"))
    client = RoutedLambda(harness_for(bedrock_standin, chat_config(version_id=VERSION)))
    _, records = run(evaluator, client, settings_file, rng=random.Random(3))
    chosen = sorted(random.Random(3).sample(range(6), 2))
    sent = [r.json["messages"][0]["content"][0]["text"] for r in bedrock_standin.requests]
    assert sent == [f"question {i}" for i in chosen]
    (alias,) = report(records)["aliases"]
    assert alias["prompts"] == 2 and alias["sampled_from"] == 6 and alias["outcome"] == "pass"
