"""Rebuild the model catalog snapshot from Bedrock's control plane API.

``ListFoundationModels`` names every model of the region; ``GetFoundationModel``
gives each one's ``modelLifecycle`` (status, legacy, public extended access and
end-of-life times). The client is injected, so tests stub it with botocore's
Stubber and nothing here needs credentials.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError

from . import CatalogEntry, ModelCatalog

SOURCE = "ListFoundationModels + GetFoundationModel"


def fetch_catalog(
    client: Any,
    *,
    region: str,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    keep: Iterable[CatalogEntry] = (),
) -> ModelCatalog:
    """Every foundation model of the region with its provider lifecycle.

    :param client: a boto3 ``bedrock`` client.
    :param region: recorded in the snapshot.
    :param now: the capture time. Default: the current UTC time.
    :param keep: entries of an older snapshot to carry over when the region no
        longer lists them (a model past its end of life disappears from the
        listing, and forgetting it would hide that it ended). Default: none.
    """
    summaries = client.list_foundation_models()["modelSummaries"]
    entries: dict[str, CatalogEntry] = {}
    for summary in summaries:
        model_id = summary["modelId"]
        try:
            details = client.get_foundation_model(modelIdentifier=model_id)["modelDetails"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            details = summary  # listed but already gone: the summary still has its lifecycle
        entries[model_id] = CatalogEntry.from_api(details)
    for entry in keep:
        entries.setdefault(entry.model_id, entry)
    return ModelCatalog(entries=entries, captured_at=now(), region=region, source=SOURCE)
