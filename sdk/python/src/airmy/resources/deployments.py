"""`/deployments`: immutable versions of an agent, validated, activated, rolled back; their logs."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Optional

from .._base_client import path
from .._pagination import Page
from .._streaming import Event, EventStream
from ._resource import APIResource, idempotency

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..types import CreateDeploymentParams, Deployment, DeploymentLogLine, ListDeploymentsParams

FINAL_STATUSES = frozenset(["failed", "superseded", "rolled_back"])
SETTLED_STATUSES = FINAL_STATUSES | {"active"}


def _status_in(statuses: frozenset) -> Any:
    def check(event: Event) -> bool:
        return event.get("type") == "deployment.status" and event.get("status") in statuses

    return check


class Deployments(APIResource):
    def create(self, *, idempotency_key: Optional[str] = None,
               **params: "Unpack[CreateDeploymentParams]") -> "Deployment":
        """Answers the `pending` deployment; validation runs in the background (see `wait`)."""
        return self._client._request("POST", "/deployments", body=params, headers=idempotency(idempotency_key))

    def retrieve(self, deployment_id: str) -> "Deployment":
        return self._client._request("GET", path("/deployments/{}", deployment_id))

    def list(self, **params: "Unpack[ListDeploymentsParams]") -> "Page[Deployment]":
        return Page(self._client, "/deployments", dict(params))

    def rollback(self, deployment_id: str, *, idempotency_key: Optional[str] = None) -> "Deployment":
        """Rolls back the active deployment: answers the version that serves again."""
        return self._client._request("POST", path("/deployments/{}/rollback", deployment_id),
                                     headers=idempotency(idempotency_key))

    def promote(self, deployment_id: str, *, idempotency_key: Optional[str] = None) -> "Deployment":
        """Promotes a running canary now, whatever its step: answers the now-active deployment."""
        return self._client._request("POST", path("/deployments/{}/promote", deployment_id),
                                     headers=idempotency(idempotency_key))

    def abort(self, deployment_id: str, *, idempotency_key: Optional[str] = None) -> "Deployment":
        """Aborts a running canary: it stops serving runs at once (`rolled_back`)."""
        return self._client._request("POST", path("/deployments/{}/abort", deployment_id),
                                     headers=idempotency(idempotency_key))

    def logs(self, deployment_id: str, *, limit: Optional[int] = None,
             starting_after: Optional[int] = None) -> "Page[DeploymentLogLine]":
        """The log as JSON pages (the cursor is each line's `sequence_number`)."""
        return Page(self._client, path("/deployments/{}/logs", deployment_id),
                    {"limit": limit, "starting_after": starting_after}, cursor="sequence_number")

    def stream_logs(self, deployment_id: str, *, follow: bool = True,
                    starting_after: Optional[int] = None) -> EventStream:
        """The log as a live event stream. It ends when the deployment fails or is replaced;
        an active one keeps streaming the runs it serves unless `follow=False`, which ends
        after the lines stored so far (then the end of the body is the end: no resume)."""
        stream = EventStream(self._client, None, follow_path=path("/deployments/{}/logs", deployment_id),
                             is_terminal=_status_in(FINAL_STATUSES), resume_at_end=follow,
                             query=None if follow else {"follow": False})
        stream.last_event_id = starting_after
        stream._response = stream._reconnect(max_retries=None)
        return stream

    def wait(self, deployment_id: str, *, timeout: Optional[float] = None) -> "Deployment":
        """Waits until the deployment is active or final (failed, superseded, rolled back)."""
        deployment = self.retrieve(deployment_id)
        if deployment["status"] in SETTLED_STATUSES:
            return deployment
        deadline = time.monotonic() + timeout if timeout is not None else None
        stream = EventStream(self._client, None, follow_path=path("/deployments/{}/logs", deployment_id),
                             is_terminal=_status_in(SETTLED_STATUSES), deadline=deadline)
        stream._response = stream._reconnect(max_retries=None)
        with stream:
            stream.until_done()
        return self.retrieve(deployment_id)


__all__ = ["Deployments"]
