"""A stand-in on 127.0.0.1 for the AWS control-plane calls ``customize`` makes.

Real botocore (through boto3 sessions, with ``AWS_ENDPOINT_URL`` pointing here)
serializes, signs and sends each request; the stand-in keeps state the way the
services do: Bedrock's model customization jobs (Create is idempotent on
``clientRequestToken``; a name taken by another token is a ConflictException;
Get by name or ARN), SSM parameters (GetParameter) and STS GetCallerIdentity.
A test moves a job on with :meth:`ControlPlane.finish`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

REGION = "us-east-1"


@dataclass
class ControlPlane:
    """What the stand-in holds, and every request it answered (service, operation, body)."""

    account: str
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    endpoint: str = ""

    def finish(self, name: str, status: str = "Completed", failure: str | None = None) -> str:
        """Move job ``name`` to ``status``; a completed one gets its output model ARN."""
        job = self.jobs[name]
        job["status"] = status
        if status == "Completed":
            base = job["baseModelArn"].rsplit("/", 1)[-1]
            suffix = hashlib.sha256(name.encode()).hexdigest()[:12]
            job["outputModelArn"] = (
                f"arn:aws:bedrock:{REGION}:{self.account}:custom-model/{base}/{suffix}"
            )
        if failure is not None:
            job["failureMessage"] = failure
        return str(job.get("outputModelArn", ""))

    def calls(self, service: str) -> list[str]:
        return [operation for s, operation, _ in self.requests if s == service]

    # -- the services ------------------------------------------------------------------

    def bedrock(self, method: str, path: str, body: Any) -> tuple[int, dict[str, str], Any]:
        if method == "POST" and path == "/model-customization-jobs":
            self.requests.append(("bedrock", "CreateModelCustomizationJob", body))
            name = body["jobName"]
            job = self.jobs.get(name)
            if job is not None:
                if job["clientRequestToken"] == body.get("clientRequestToken"):
                    return 201, {}, {"jobArn": job["jobArn"]}
                return _error("ConflictException", 409, f"a job named {name} exists")
            arn = f"arn:aws:bedrock:{REGION}:{self.account}:model-customization-job/{name}"
            self.jobs[name] = {
                **body,
                "jobArn": arn,
                "status": "InProgress",
                "baseModelArn": (
                    f"arn:aws:bedrock:{REGION}::foundation-model/{body['baseModelIdentifier']}"
                ),
                "outputModelName": body["customModelName"],
                "creationTime": dt.datetime.now(dt.UTC).isoformat(),
            }
            return 201, {}, {"jobArn": arn}
        if method == "GET" and path.startswith("/model-customization-jobs/"):
            identifier = unquote(path.removeprefix("/model-customization-jobs/"))
            self.requests.append(("bedrock", "GetModelCustomizationJob", identifier))
            job = self.jobs.get(identifier) or next(
                (j for j in self.jobs.values() if j["jobArn"] == identifier), None
            )
            if job is None:
                return _error("ResourceNotFoundException", 404, f"no job {identifier}")
            keys = (
                "jobArn",
                "jobName",
                "outputModelName",
                "outputModelArn",
                "clientRequestToken",
                "roleArn",
                "status",
                "failureMessage",
                "creationTime",
                "baseModelArn",
                "customizationType",
                "trainingDataConfig",
                "validationDataConfig",
                "outputDataConfig",
                "hyperParameters",
            )
            return 200, {}, {k: job[k] for k in keys if k in job}
        return _error("UnknownOperationException", 404, f"{method} {path}")

    def ssm(self, target: str, body: Any) -> tuple[int, dict[str, str], Any]:
        self.requests.append(("ssm", target, body))
        if target != "AmazonSSM.GetParameter":
            return 400, {}, {"__type": "UnknownOperationException", "message": target}
        value = self.parameters.get(body["Name"])
        if value is None:
            return 400, {}, {"__type": "ParameterNotFound", "message": body["Name"]}
        return 200, {}, {"Parameter": {"Name": body["Name"], "Type": "String", "Value": value}}

    def sts(self, form: dict[str, list[str]]) -> tuple[int, dict[str, str], str]:
        self.requests.append(("sts", form.get("Action", ["?"])[0], form))
        xml = (
            '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            "<GetCallerIdentityResult>"
            f"<Arn>arn:aws:sts::{self.account}:assumed-role/platform/engineer</Arn>"
            "<UserId>AROAEXAMPLE:engineer</UserId>"
            f"<Account>{self.account}</Account>"
            "</GetCallerIdentityResult>"
            "<ResponseMetadata><RequestId>standin</RequestId></ResponseMetadata>"
            "</GetCallerIdentityResponse>"
        )
        return 200, {"Content-Type": "text/xml"}, xml


def _error(code: str, status: int, message: str) -> tuple[int, dict[str, str], Any]:
    return status, {"x-amzn-ErrorType": code}, {"message": message}


@contextmanager
def control_plane(account: str) -> Iterator[ControlPlane]:
    """A running stand-in; its ``endpoint`` goes into ``AWS_ENDPOINT_URL``."""
    plane = ControlPlane(account)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            target = self.headers.get("X-Amz-Target")
            with lock:
                if target is not None:
                    status, headers, body = plane.ssm(target, json.loads(raw or "{}"))
                elif "Action=" in raw:
                    status, headers, body = plane.sts(parse_qs(raw))
                else:
                    status, headers, body = plane.bedrock(
                        self.command, self.path.split("?")[0], json.loads(raw) if raw else None
                    )
            payload = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            headers.setdefault("Content-Type", "application/json")
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    plane.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield plane
    finally:
        server.shutdown()
        server.server_close()
