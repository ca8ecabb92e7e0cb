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
(a successful Converse or embedding answer) is served. Like Bedrock, and unlike
botocore (which checks names, types and lengths but not patterns), the stand-in
first checks ``modelId`` and ``requestMetadata`` against the patterns of
botocore's Bedrock Runtime model and answers a 400 ``ValidationException``
naming what broke them (:func:`wire_problems`); no scripted reply is consumed.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import EllipsisType
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from botocore.config import Config
from botocore.loaders import Loader

REGION = "us-east-1"
# Statuses whose responses have no body in HTTP/1.1 (RFC 9112 6.3).
NO_BODY_STATUSES = frozenset({204, 304})


@dataclass(frozen=True)
class Reply:
    """One scripted answer: HTTP status, JSON body, extra headers, delay before answering.

    The wire can be made as broken as a test needs:

    :param raw_body: bytes sent as the body instead of ``body`` as JSON. Default: ``body``.
    :param content_type: the Content-Type header; None sends none.
        Default: ``application/json``.
    :param content_length: the Content-Length header; None sends none (the body
        then ends when the connection closes). A value larger than the body
        truncates it, a smaller one cuts it short. Default: the body's length.
    :param drop_after: reset the connection (TCP RST) after this many body bytes.
        Default: the whole body is sent.

    A reply whose framing is not exact (any of the last three) is sent with
    ``Connection: close`` and closes the connection, so no leftover bytes or
    half-read response reach the next request.
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0
    raw_body: bytes | None = None
    content_type: str | None = "application/json"
    content_length: int | EllipsisType | None = ...
    drop_after: int | None = None

    def payload(self) -> bytes:
        """The body bytes sent (before any truncation)."""
        if self.raw_body is not None:
            return self.raw_body
        return json.dumps(self.body).encode() if self.body is not None else b""

    @property
    def exact(self) -> bool:
        """Whether the framing is the one HTTP/1.1 keep-alive needs (a 204 or 304 has no
        body, so one sent after it would be read as the next response)."""
        return (
            self.content_length is ...
            and self.drop_after is None
            and self.status not in NO_BODY_STATUSES
        )


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


@functools.cache
def _patterns() -> dict[str, re.Pattern[str]]:
    """Bedrock Runtime's own patterns, from the installed botocore model."""
    shapes = Loader().load_service_model("bedrock-runtime", "service-2")["shapes"]
    return {
        "converse": re.compile(shapes["ConversationalModelId"]["pattern"]),
        "invoke": re.compile(shapes["InvokeModelIdentifier"]["pattern"]),
        "key": re.compile(shapes["RequestMetadataKeyString"]["pattern"]),
        "value": re.compile(shapes["RequestMetadataValueString"]["pattern"]),
    }


def metadata_problems(metadata: Any) -> list[str]:
    """What Bedrock refuses in a ``requestMetadata`` map: 1-16 entries, keys 1-256 and
    values 0-256 characters of letters, digits, whitespace and ``:_@$#=/+,-.``."""
    patterns = _patterns()
    if not isinstance(metadata, dict) or not 1 <= len(metadata) <= 16:
        return [f"requestMetadata must map 1-16 keys to strings, got {metadata!r}"]
    problems = []
    for key, value in metadata.items():
        if not (isinstance(key, str) and 1 <= len(key) <= 256 and patterns["key"].fullmatch(key)):
            problems.append(f"requestMetadata key {key!r} does not match the key pattern")
        if not (
            isinstance(value, str) and len(value) <= 256 and patterns["value"].fullmatch(value)
        ):
            problems.append(f"requestMetadata[{key!r}] {value!r} does not match the value pattern")
    return problems


def wire_problems(request: RecordedRequest) -> list[str]:
    """Why Bedrock would answer ``request`` with a ValidationException (empty: it would not)."""
    pattern = _patterns().get(request.operation)
    if pattern is None:
        return [f"unknown operation {request.operation!r}"]
    problems = []
    if not (1 <= len(request.model_id) <= 2048 and pattern.fullmatch(request.model_id)):
        problems.append(
            f"modelId {request.model_id!r} does not match the {request.operation} pattern"
        )
    if request.operation == "converse":
        body = request.json
        if "requestMetadata" in body:
            problems += metadata_problems(body["requestMetadata"])
    else:
        # InvokeModel: the map travels JSON-encoded in a header of at most 8500 characters.
        header = request.headers.get("x-amzn-bedrock-request-metadata")
        if header is not None:
            if len(header) > 8500:
                problems.append("X-Amzn-Bedrock-Request-Metadata is over 8500 characters")
            try:
                problems += metadata_problems(json.loads(header))
            except ValueError:
                problems.append(f"X-Amzn-Bedrock-Request-Metadata is not JSON: {header!r}")
    return problems


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
                request = RecordedRequest(
                    method="POST",
                    path=self.path,
                    operation=operation,
                    model_id=model_id,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                problems = wire_problems(request)
                if problems:
                    with standin._lock:
                        standin.requests.append(request)
                    reply = error_reply("ValidationException", 400, "; ".join(problems))
                else:
                    reply = standin._record(request)
                if reply.delay_seconds:
                    time.sleep(reply.delay_seconds)
                # The client may have given up (read timeout): expected in timeout tests.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(reply)

            def _answer(self, reply: Reply) -> None:
                payload = reply.payload()
                self.send_response(reply.status)
                if reply.content_type is not None:
                    self.send_header("Content-Type", reply.content_type)
                if reply.content_length is ...:
                    self.send_header("Content-Length", str(len(payload)))
                elif reply.content_length is not None:
                    self.send_header("Content-Length", str(reply.content_length))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if not reply.exact:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                if reply.drop_after is None:
                    self.wfile.write(payload)
                    return
                self.wfile.write(payload[: reply.drop_after])
                # SO_LINGER 0: close() sends a reset instead of a clean end of stream.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()

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
