"""AliasClient: invokes the Lambda alias (Stubber checks every request) and raises typed errors."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from bedrock_lifecycle.client import AliasClient, AliasClientError, AliasServerError
from tests.support.bedrock_standin import converse_reply, error_reply, shared_standin
from tests.support.router import chat_config, embedding_config, harness_for

ALIAS_ARN = "arn:aws:lambda:us-east-1:222222222222:function:BedrockLifecycle-prod-Router:live"
MESSAGES = [{"role": "user", "content": [{"text": "hello"}]}]


def payload(value: object) -> StreamingBody:
    raw = json.dumps(value).encode() if not isinstance(value, bytes) else value
    return StreamingBody(io.BytesIO(raw), len(raw))


@pytest.fixture
def lambda_client():
    client = boto3.client(
        "lambda",
        region_name="us-east-1",
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key="test-secret",
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def expect(stubber, request: dict, response: dict, *, function_error: str | None = None) -> None:
    reply = {"StatusCode": 200, "Payload": payload(response)}
    if function_error is not None:
        reply["FunctionError"] = function_error
    stubber.add_response(
        "invoke",
        reply,
        expected_params={
            "FunctionName": ALIAS_ARN,
            "InvocationType": "RequestResponse",
            "Payload": json.dumps(request).encode(),
        },
    )


def test_converse_sends_a_router_request_and_returns_the_answer(lambda_client):
    client, stubber = lambda_client
    answer = {"output": {}, "alias": "summarizer/live", "version_id": "v2@0123456789ab"}
    expect(
        stubber,
        {
            "messages": MESSAGES,
            "system": [{"text": "be brief"}],
            "inferenceConfig": {"maxTokens": 64},
        },
        answer,
    )
    got = AliasClient(ALIAS_ARN, lambda_client=client).converse(
        MESSAGES, system=[{"text": "be brief"}], inference_config={"maxTokens": 64}
    )
    assert got == answer


def test_embed_sends_input_text(lambda_client):
    client, stubber = lambda_client
    expect(stubber, {"inputText": "hello"}, {"embedding": [0.1], "version_id": "v1@a"})
    assert AliasClient(ALIAS_ARN, lambda_client=client).embed("hello")["embedding"] == [0.1]


def test_router_client_error_raises_client_error_with_the_field(lambda_client):
    client, stubber = lambda_client
    refused = {
        "error": {
            "type": "ClientError",
            "code": "InvalidRequest",
            "message": "must be user or assistant, got 'system'",
            "field": "messages[0].role",
            "retryable": False,
        },
        "alias": "summarizer/live",
    }
    expect(stubber, {"messages": MESSAGES}, refused)
    with pytest.raises(
        AliasClientError, match=r"InvalidRequest at messages\[0\]\.role: must be"
    ) as err:
        AliasClient(ALIAS_ARN, lambda_client=client).converse(MESSAGES)
    assert err.value.field == "messages[0].role"
    assert err.value.response == refused
    assert not isinstance(err.value, AliasServerError)


def test_router_server_error_raises_server_error(lambda_client):
    client, stubber = lambda_client
    throttled = {
        "error": {
            "type": "ServerError",
            "code": "ThrottlingException",
            "message": "slow down",
            "retryable": True,
        }
    }
    expect(stubber, {"messages": MESSAGES}, throttled)
    with pytest.raises(AliasServerError, match="ThrottlingException: slow down") as err:
        AliasClient(ALIAS_ARN, lambda_client=client).converse(MESSAGES)
    assert err.value.retryable is True and err.value.code == "ThrottlingException"


def test_function_error_is_a_server_error(lambda_client):
    client, stubber = lambda_client
    expect(
        stubber,
        {"messages": MESSAGES},
        {"errorMessage": "Task timed out after 240.00 seconds"},
        function_error="Unhandled",
    )
    with pytest.raises(AliasServerError, match=r"FunctionError\.Unhandled: Task timed out"):
        AliasClient(ALIAS_ARN, lambda_client=client).converse(MESSAGES)


def test_empty_alias_arn_is_refused():
    with pytest.raises(ValueError, match="alias_arn must be a Lambda function or alias ARN"):
        AliasClient("", lambda_client=object())


def test_a_missing_alias_arn_is_refused_with_what_was_received():
    # For example os.environ.get of an unset variable: the error must not claim ''.
    with pytest.raises(
        ValueError, match=r"alias_arn must be a Lambda function or alias ARN, got None$"
    ):
        AliasClient(None, lambda_client=object())  # type: ignore[arg-type]


class _LambdaThroughRouter:
    """A ``lambda`` client stand-in that runs the real router in-process."""

    def __init__(self, harness):
        self.harness = harness

    def invoke(self, *, FunctionName, InvocationType, Payload):
        answer = self.harness.invoke(json.loads(Payload))
        return {"StatusCode": 200, "Payload": payload(answer)}


def test_client_and_router_agree_on_the_error_contract():
    """End to end without Lambda: the router's real answers become the client's typed errors."""
    standin = shared_standin()
    standin.reset()
    client = AliasClient(
        ALIAS_ARN, lambda_client=_LambdaThroughRouter(harness_for(standin, chat_config()))
    )
    standin.script(converse_reply("hi"))
    assert client.converse(MESSAGES)["version_id"] == "v2@0123456789ab"
    with pytest.raises(AliasClientError) as refused:
        client.converse([{"role": "robot", "content": [{"text": "x"}]}])
    assert refused.value.field == "messages[0].role"
    standin.script(error_reply("AccessDeniedException", 403, "no model access"))
    with pytest.raises(AliasServerError, match="AccessDeniedException: no model access"):
        client.converse(MESSAGES)
    standin.reset()


# -- the examples of docs/aliases.md run as written ---------------------------

DOCS = Path(__file__).resolve().parents[1] / "docs/aliases.md"
EMBEDDER_ARN = "arn:aws:lambda:us-east-1:222222222222:function:BedrockLifecycle-prod-Embed:live"


def python_example(heading: str) -> str:
    """The first ```python block after ``heading`` in docs/aliases.md."""
    text = DOCS.read_text()
    after = text[text.index(heading) :]
    match = re.search(r"```python\n(.*?)```", after, re.S)
    assert match is not None, heading
    return match.group(1)


class _LambdaThroughRouters(_LambdaThroughRouter):
    """Routes by FunctionName: the summarizer's router or the embedder's."""

    def __init__(self, harnesses: dict):
        self.harnesses = harnesses
        self.calls: list[str] = []

    def invoke(self, *, FunctionName, Payload, InvocationType="RequestResponse"):
        self.calls.append(FunctionName)
        self.harness = self.harnesses[FunctionName]
        return super().invoke(
            FunctionName=FunctionName, InvocationType=InvocationType, Payload=Payload
        )


@pytest.fixture
def routed(monkeypatch):
    """boto3.client("lambda") answers through the real routers, against the stand-in."""
    standin = shared_standin()
    standin.reset()
    lam = _LambdaThroughRouters(
        {
            ALIAS_ARN: harness_for(
                standin, chat_config(allowed_overrides=["maxTokens", "temperature"])
            ),
            EMBEDDER_ARN: harness_for(standin, embedding_config()),
        }
    )
    real_client = boto3.client

    def client(service, *args, **kwargs):
        return lam if service == "lambda" else real_client(service, *args, **kwargs)

    monkeypatch.setattr(boto3, "client", client)
    yield standin, lam
    standin.reset()


def test_docs_client_example_runs(routed, capsys):
    standin, lam = routed
    standin.script(converse_reply("The printer is on fire."))
    code = python_example("### Python, with the project's client").replace(
        '"arn:aws:lambda:us-east-1:222222222222:function:...:live"', repr(ALIAS_ARN)
    )
    exec(code, {"embedder_alias_arn": EMBEDDER_ARN})
    assert capsys.readouterr().out == "The printer is on fire. v2@0123456789ab\n"
    assert lam.calls == [ALIAS_ARN, EMBEDDER_ARN]
    converse, embed = standin.requests
    assert converse.json["inferenceConfig"]["maxTokens"] == 200
    assert json.loads(embed.body)["inputText"] == "reset my password"


def test_docs_boto3_example_runs(routed):
    _, lam = routed
    namespace = {"alias_arn": ALIAS_ARN}
    exec(python_example("### Python, with boto3 only"), namespace)
    assert namespace["answer"]["version_id"] == "v2@0123456789ab"
    assert "error" not in namespace["answer"]
    assert lam.calls == [ALIAS_ARN]


def test_docs_cli_payload_is_a_valid_router_request(routed):
    _, lam = routed
    text = DOCS.read_text()
    cli = text[text.index("### AWS CLI") :]
    match = re.search(r"--payload '(.*?)'", cli)
    assert match is not None
    reply = lam.invoke(FunctionName=ALIAS_ARN, Payload=match.group(1).encode())
    answer = json.loads(reply["Payload"].read())
    assert "error" not in answer, answer
    assert answer["alias"] == "summarizer/live"


def test_the_old_error_names_still_import_with_a_warning():
    import bedrock_lifecycle.client as client

    with pytest.warns(DeprecationWarning, match="ClientError is now AliasClientError"):
        assert client.ClientError is AliasClientError
    with pytest.warns(DeprecationWarning, match="ServerError is now AliasServerError"):
        assert client.ServerError is AliasServerError
    with pytest.raises(AttributeError):
        client.NoSuchError  # noqa: B018
