"""The AWS session of the read-back commands: credentials checked before any call."""

from __future__ import annotations

from typing import Any


class OperateError(Exception):
    """What the person running the command must fix; one line."""


class NoCredentials(OperateError):
    """No AWS credentials at all: nothing was asked of AWS."""


NO_CREDENTIALS = (
    "no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID, or log in with "
    "`aws sso login`); nothing was asked of AWS"
)


def new_session(region: str | None) -> Any:
    """A boto3 session in ``region`` (the seam tests replace)."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        return boto3.session.Session(region_name=region)
    except ProfileNotFound as exc:
        raise NoCredentials(f"{exc}; set AWS_PROFILE to a configured profile or unset it") from None


def checked_session(session: Any, environment: str, account: str | None) -> Any:
    """``session``, once it has credentials, a region and (when the environment declares
    one) the environment's account.

    :raises NoCredentials: without credentials (no AWS call was made).
    :raises OperateError: no region, or another account's credentials.
    """
    if session.get_credentials() is None:
        raise NoCredentials(NO_CREDENTIALS)
    if session.region_name is None:
        raise OperateError(
            f"environment {environment} declares no region and the session has none; set AWS_REGION"
        )
    if account is not None:
        caller = session.client("sts").get_caller_identity()["Account"]
        if caller != account:
            raise OperateError(
                f"the credentials are of account {caller}, environment {environment} is "
                f"{account}; use credentials of {account}"
            )
    return session


def aws_message(exc: BaseException) -> str:
    """One line for a botocore failure: the error code and message, or the text."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        return f"AWS refused: {error.get('Code')}: {error.get('Message')}"
    return f"AWS: {exc}"
