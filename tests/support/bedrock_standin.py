"""A Bedrock Runtime stand-in on 127.0.0.1 for real botocore HTTP calls.

Real botocore serializes the request, signs it, sends it over HTTP, parses the
response or the error and retries, exactly as against Bedrock; the stand-in
records what arrived on the wire and answers from a script.

Register the fixture in your test folder's ``conftest.py``::

    from tests.support.bedrock_standin import bedrock_standin  # noqa: F401 (fixture)

then, in a test::

    def test_x(bedrock_standin):
        bedrock_standin.script(converse_reply(text="hi"))
        client = bedrock_standin.client()            # plain boto3 client
        ...
        (request,) = bedrock_standin.requests         # RecordedRequest
        assert request.model_id == "..." and request.json["requestMetadata"] == {...}

Replies are consumed in order; when the script is empty the default reply
(a successful Converse or embedding answer) is served.
"""

from __future__ import annotations

import atexit
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from botocore.config import Config

REGION = "us-east-1"


@dataclass(frozen=True)
class Reply:
    """One scripted answer: HTTP status, JSON body, extra headers, delay before answering."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


@dataclass(frozen=True)
class RecordedRequest:
    """What the stand-in received."""

    method: str
    path: str
    operation: str  # "converse" or "invoke"
    model_id: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def converse_reply(
    text: str = "A short answer.",
    *,
    input_tokens: int = 12,
    output_tokens: int = 5,
    stop_reason: str = "end_turn",
    request_id: str = "standin-request-1",
) -> Reply:
    """A successful Converse answer."""
    return Reply(
        body={
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": stop_reason,
            "usage": {
                "inputTokens": input_tokens,
                "outputTokens": output_tokens,
                "totalTokens": input_tokens + output_tokens,
            },
            "metrics": {"latencyMs": 42},
        },
        headers={"x-amzn-RequestId": request_id},
    )


def embedding_reply(
    embedding: list[float] | None = None, *, input_tokens: int = 7, request_id: str = "standin-1"
) -> Reply:
    """A successful Titan text embeddings answer (InvokeModel body)."""
    return Reply(
        body={
            "embedding": embedding if embedding is not None else [0.125, -0.5, 0.25],
            "inputTextTokenCount": input_tokens,
        },
        headers={"x-amzn-RequestId": request_id},
    )


def error_reply(code: str, status: int, message: str = "stand-in error") -> Reply:
    """A Bedrock error as rest-json returns it (error type header and message body)."""
    return Reply(
        status=status,
        body={"message": message},
        headers={
            "x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/",
            "x-amzn-RequestId": "standin-err",
        },
    )


class BedrockStandIn:
    """The server: ``url``, ``requests`` received, ``script(*replies)``, ``client(**config)``."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in separate writes: without TCP_NODELAY the body
            # waits for the client's delayed ACK (40 ms on Linux) on a kept-alive connection.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                parts = self.path.split("?", 1)[0].split("/")
                # /model/{modelId}/converse or /model/{modelId}/invoke
                model_id = unquote(parts[2]) if len(parts) > 3 else ""
                operation = parts[3] if len(parts) > 3 else ""
                reply = standin._record(
                    RecordedRequest(
                        method="POST",
                        path=self.path,
                        operation=operation,
                        model_id=model_id,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                    )
                )
                if reply.delay_seconds:
                    time.sleep(reply.delay_seconds)
                payload = json.dumps(reply.body).encode() if reply.body is not None else b""
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (read timeout): expected in timeout tests

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"

    def _record(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self._replies:
                return self._replies.popleft()
        if request.operation == "invoke":
            return embedding_reply()
        return converse_reply()

    def script(self, *replies: Reply) -> None:
        """Queue replies, served in order to the next requests."""
        with self._lock:
            self._replies.extend(replies)

    def reset(self) -> None:
        """Forget requests and unserved replies."""
        with self._lock:
            self.requests.clear()
            self._replies.clear()

    @property
    def pending(self) -> int:
        """Scripted replies not served yet."""
        return len(self._replies)

    def client(self, **config: Any) -> Any:
        """A boto3 ``bedrock-runtime`` client aimed at the stand-in (fake credentials)."""
        session = boto3.Session(
            aws_access_key_id="AKIDSTANDIN",
            aws_secret_access_key="standin-secret",
            region_name=REGION,
        )
        settings = {"retries": {"mode": "standard", "total_max_attempts": 3}, **config}
        return session.client("bedrock-runtime", endpoint_url=self.url, config=Config(**settings))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


_SERVER: BedrockStandIn | None = None


def shared_standin() -> BedrockStandIn:
    """One stand-in per test process, started on first use (so importing one fixture is enough)."""
    global _SERVER
    if _SERVER is None:
        _SERVER = BedrockStandIn()
        atexit.register(_SERVER.close)
    return _SERVER


@pytest.fixture
def bedrock_standin() -> Iterator[BedrockStandIn]:
    """The process's stand-in, emptied before and after each test."""
    server = shared_standin()
    server.reset()
    yield server
    server.reset()
