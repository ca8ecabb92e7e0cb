"""AWS behind botocore's Stubber for the commands that read AWS (``customize``,
``history``, ``audit``): real botocore clients per (service, region) that answer from
queued responses and check every call's parameters exactly, and boto3-like sessions with
or without credentials, handed to a command through its ``sessions`` seam."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.credentials import Credentials
from botocore.stub import Stubber

_BOTOCORE = botocore.session.get_session()


@dataclass
class StubbedAws:
    """Stubbed clients per (service, region); sessions with or without credentials."""

    credentials: bool = True
    regions: list[str | None] = field(default_factory=list)
    stubs: dict[tuple[str, str], tuple[Any, Stubber]] = field(default_factory=dict)

    def stub(self, service: str, region: str = "us-east-1") -> Stubber:
        return self._pair(service, region)[1]

    def _pair(self, service: str, region: str) -> tuple[Any, Stubber]:
        if (service, region) not in self.stubs:
            client = _BOTOCORE.create_client(
                service,
                region_name=region,
                aws_access_key_id="AKIASTUBBED",
                aws_secret_access_key="stubbed",  # never sent anywhere
            )
            stubber = Stubber(client)
            stubber.activate()
            self.stubs[service, region] = (client, stubber)
        return self.stubs[service, region]

    def __call__(self, region: str | None) -> FakeSession:
        self.regions.append(region)
        return FakeSession(self, region)

    def calls_left(self) -> None:
        for client, stubber in self.stubs.values():
            stubber.assert_no_pending_responses()
            stubber.deactivate()
            del client


class FakeSession:
    """What the command uses of a boto3 session: credentials, region, clients."""

    def __init__(self, aws: StubbedAws, region: str | None) -> None:
        self._aws = aws
        self.region_name = region

    def get_credentials(self) -> Credentials | None:
        return Credentials("AKIASTUBBED", "stubbed") if self._aws.credentials else None

    def client(self, service: str) -> Any:
        assert self.region_name is not None
        return self._aws._pair(service, self.region_name)[0]
