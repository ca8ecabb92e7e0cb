"""A small client for callers of a model alias: invoke the router's Lambda alias, get typed errors.

::

    from bedrock_lifecycle.client import AliasClient, AliasClientError, AliasServerError

    summarizer = AliasClient("arn:aws:lambda:us-east-1:222222222222:function:...:live")
    answer = summarizer.converse([{"role": "user", "content": [{"text": "..."}]}])
    print(answer["output"]["message"]["content"][0]["text"], answer["version_id"])

The caller needs ``lambda:InvokeFunction`` on the alias ARN (``ModelAlias.grant_invoke``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import boto3
from botocore.config import Config

# The router may take up to 4 minutes (3 attempts of 3 s connect + 60 s read,
# plus backoff) before it answers with a structured error: wait longer than that.
READ_TIMEOUT_SECONDS = 300
CONNECT_TIMEOUT_SECONDS = 5


class AliasError(Exception):
    """A request the alias did not answer.

    Attributes: ``code`` (``InvalidRequest``, ``ValidationException``,
    ``ThrottlingException``, ...), ``message``, ``field`` (the request field at
    fault, when known), ``retryable``, ``response`` (the router's whole answer).
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        retryable: bool = False,
        response: Mapping[str, Any] | None = None,
    ) -> None:
        where = f" at {field}" if field is not None else ""
        super().__init__(f"{code}{where}: {message}")
        self.code = code
        self.message = message
        self.field = field
        self.retryable = retryable
        self.response = dict(response) if response is not None else {}


class AliasClientError(AliasError):
    """The request was refused as the caller's fault: fix it before sending it again."""


class AliasServerError(AliasError):
    """The alias or Bedrock failed (throttled after retries, timed out, model error, bug)."""


class AliasClient:
    """Invoke one model alias (the router's Lambda alias ``live``).

    :param alias_arn: the Lambda alias ARN (stack output ``...AliasArn``) or any
        ``FunctionName`` the Lambda API accepts.
    :param lambda_client: a ``lambda`` client. Default: a new one from the default
        session with a read timeout above the router's own time budget.
    """

    def __init__(self, alias_arn: str, *, lambda_client: Any = None) -> None:
        if not isinstance(alias_arn, str) or not alias_arn:
            raise ValueError(f"alias_arn must be a Lambda function or alias ARN, got {alias_arn!r}")
        self.alias_arn = alias_arn
        self.lambda_client = (
            lambda_client
            if lambda_client is not None
            else boto3.client(
                "lambda",
                config=Config(
                    connect_timeout=CONNECT_TIMEOUT_SECONDS,
                    read_timeout=READ_TIMEOUT_SECONDS,
                    retries={"mode": "standard", "total_max_attempts": 3},
                ),
            )
        )

    def converse(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        system: Sequence[Mapping[str, Any]] | None = None,
        inference_config: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Converse with the alias's current version.

        :param messages: Converse messages (``role``, ``content`` blocks).
        :param system: system blocks sent after the version's own system prompt.
            Default: the version's system prompt alone.
        :param inference_config: overrides the alias allows (``maxTokens``,
            ``temperature``, ``topP``, ``stopSequences``). Default: the version's.
        :returns: Bedrock's Converse response plus ``alias``, ``version_id``,
            ``model_arn`` and ``request_id``.
        :raises AliasClientError: the request was malformed or refused by Bedrock's validation.
        :raises AliasServerError: anything else that kept the alias from answering.
        """
        request: dict[str, Any] = {"messages": list(messages)}
        if system is not None:
            request["system"] = list(system)
        if inference_config is not None:
            request["inferenceConfig"] = dict(inference_config)
        return self.invoke(request)

    def embed(self, input_text: str) -> dict[str, Any]:
        """The embedding of ``input_text`` from an embedding alias.

        :returns: ``embedding``, ``inputTextTokenCount`` plus ``alias``, ``version_id``,
            ``model_arn`` and ``request_id``.
        :raises AliasClientError: or :class:`AliasServerError`, as for :meth:`converse`.
        """
        return self.invoke({"inputText": input_text})

    def invoke(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Send a raw router request; return the answer or raise the typed error."""
        response = self.lambda_client.invoke(
            FunctionName=self.alias_arn,
            InvocationType="RequestResponse",
            Payload=json.dumps(request).encode("utf-8"),
        )
        raw = response["Payload"].read()
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = {"errorMessage": raw.decode("utf-8", errors="replace")[:1000]}
        if response.get("FunctionError"):
            # The router raised (a bug) or Lambda stopped it (timeout, out of memory).
            message = answer.get("errorMessage", "") if isinstance(answer, dict) else str(answer)
            raise AliasServerError(
                f"FunctionError.{response['FunctionError']}",
                str(message),
                retryable=False,
                response=answer if isinstance(answer, dict) else None,
            )
        if not isinstance(answer, dict):
            raise AliasServerError(
                "InvalidResponse", f"expected a JSON object, got {answer!r:.200}"
            )
        error = answer.get("error")
        if error is None:
            return answer
        kind = AliasClientError if error.get("type") == "ClientError" else AliasServerError
        raise kind(
            str(error.get("code", "Unknown")),
            str(error.get("message", "")),
            field=error.get("field"),
            retryable=bool(error.get("retryable", False)),
            response=answer,
        )


# The names these errors had before (ClientError shadowed botocore's): still importable,
# with a DeprecationWarning.
_RENAMED = {"ClientError": "AliasClientError", "ServerError": "AliasServerError"}


def __getattr__(name: str) -> type[AliasError]:
    if name in _RENAMED:
        import warnings

        warnings.warn(
            f"bedrock_lifecycle.client.{name} is now {_RENAMED[name]}",
            DeprecationWarning,
            stacklevel=2,
        )
        return globals()[_RENAMED[name]]  # type: ignore[no-any-return]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
