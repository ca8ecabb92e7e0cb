"""Real botocore HTTP against a Bedrock control-plane stand-in on 127.0.0.1.

Proves over the wire what the Stubber cannot: the handler's client does no
retries of its own (so the handler's retries are the only ones), a retried
create resends the same idempotency token, and the REST paths and methods.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import boto3
import pytest

from .conftest import ARN, NAME, description, event

REGION = "us-east-1"


class StandIn:
    def __init__(self) -> None:
        self.replies: deque[tuple[int, dict, dict]] = deque()
        self.requests: list[tuple[str, str, dict]] = []
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                standin.requests.append((self.command, unquote(self.path), body))
                status, payload, headers = standin.replies.popleft()
                data = json.dumps(payload, default=str).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _serve

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def error(self, status: int, code: str, message: str) -> None:
        self.replies.append((status, {"message": message}, {"x-amzn-ErrorType": code}))

    def ok(self, payload: dict, status: int = 200) -> None:
        self.replies.append((status, payload, {}))

    def client(self, app):
        host, port = self.server.server_address
        return boto3.client(
            "bedrock",
            region_name=REGION,
            endpoint_url=f"http://{host}:{port}",
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=app.client_config(),
        )


@pytest.fixture
def standin():
    server = StandIn()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_throttled_create_is_retried_by_the_handler_alone_with_the_same_token(
    app, create_module, standin
):
    standin.error(429, "ThrottlingException", "Rate exceeded")
    standin.error(500, "InternalServerException", "Internal failure")
    standin.ok({"provisionedModelArn": ARN}, status=201)
    sleeps: list[float] = []
    answer = app.handle_on_event(event("Create"), standin.client(app), sleep=sleeps.append)
    assert answer == {"PhysicalResourceId": ARN, "Wait": "InService"}
    assert len(sleeps) == 2, "botocore retried on its own: retries would multiply"
    assert [(m, p) for m, p, _ in standin.requests] == [
        ("POST", "/provisioned-model-throughput")
    ] * 3
    bodies = [body for _, _, body in standin.requests]
    assert bodies[0] == bodies[1] == bodies[2]
    assert bodies[0]["clientRequestToken"] == create_module.client_request_token(event("Create"))
    assert bodies[0]["provisionedModelName"] == NAME and bodies[0]["modelUnits"] == 1
    assert "commitmentDuration" not in bodies[0]


def test_quota_error_is_not_retried(app, standin):
    standin.error(400, "ServiceQuotaExceededException", "Model units quota exceeded")
    with pytest.raises(app.ThroughputError, match="ServiceQuotaExceededException: Model units"):
        app.handle_on_event(event("Create"), standin.client(app), sleep=pytest.fail)
    assert len(standin.requests) == 1


def test_poll_and_delete_paths(app, standin):
    standin.ok(description())
    standin.ok({})
    answer = app.handle_on_event(event("Delete", physical_id=ARN), standin.client(app))
    assert answer == {"PhysicalResourceId": ARN}
    assert [(m, p) for m, p, _ in standin.requests] == [
        ("GET", f"/provisioned-model-throughput/{ARN}"),
        ("DELETE", f"/provisioned-model-throughput/{ARN}"),
    ]


def test_rename_is_a_patch(app, standin):
    standin.ok({})
    request = event(
        "Update",
        physical_id=ARN,
        old=event("Create")["ResourceProperties"],
        ProvisionedModelName="renamed",
    )
    app.handle_on_event(request, standin.client(app))
    assert standin.requests == [
        (
            "PATCH",
            f"/provisioned-model-throughput/{ARN}",
            {"desiredProvisionedModelName": "renamed"},
        )
    ]
