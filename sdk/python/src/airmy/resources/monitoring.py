"""Watching: `/metrics` (time series), `/logs` (the audit log), `/alerts` (rules on metrics)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .._base_client import path
from .._pagination import Page
from ._resource import APIResource, idempotency

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..types import (
        Alert,
        AlertEvent,
        AuditLog,
        CreateAlertParams,
        DeleteAlertResponse,
        GetMetricsParams,
        ListAlertEventsParams,
        ListAlertsParams,
        ListAuditLogsParams,
        Metric,
        UpdateAlertParams,
        VerifyAuditLogsResponse,
    )


class Metrics(APIResource):
    def query(self, **params: "Unpack[GetMetricsParams]") -> "Metric":
        """`GET /metrics`, e.g. `query(metric="run_latency_ms", stat="p95", interval="1h")`."""
        return self._client._request("GET", "/metrics", query=params)


class Logs(APIResource):
    """The audit log: who changed what, and every refused request."""

    def list(self, **params: "Unpack[ListAuditLogsParams]") -> "Page[AuditLog]":
        return Page(self._client, "/logs", dict(params))

    def verify(self) -> "VerifyAuditLogsResponse":
        """Walks the organization's hash chain: `{"valid": bool, "checked": n, ...}`."""
        return self._client._request("GET", "/logs/verify")


class Alerts(APIResource):
    def create(self, *, idempotency_key: Optional[str] = None, **params: "Unpack[CreateAlertParams]") -> "Alert":
        """Keys that are Python keywords go through a dict: `create(**{"for": "2m", ...})`."""
        return self._client._request("POST", "/alerts", body=params, headers=idempotency(idempotency_key))

    def retrieve(self, alert_id: str) -> "Alert":
        return self._client._request("GET", path("/alerts/{}", alert_id))

    def update(self, alert_id: str, **params: "Unpack[UpdateAlertParams]") -> "Alert":
        return self._client._request("PATCH", path("/alerts/{}", alert_id), body=params)

    def list(self, **params: "Unpack[ListAlertsParams]") -> "Page[Alert]":
        return Page(self._client, "/alerts", dict(params))

    def delete(self, alert_id: str) -> "DeleteAlertResponse":
        return self._client._request("DELETE", path("/alerts/{}", alert_id))

    def list_events(self, alert_id: str, **params: "Unpack[ListAlertEventsParams]") -> "Page[AlertEvent]":
        """The rule's transitions, newest first, each with its delivery attempts."""
        return Page(self._client, path("/alerts/{}/events", alert_id), dict(params))
