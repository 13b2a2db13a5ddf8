"""`/runs`: invoke an agent sync, in the background or streamed; follow, wait for, cancel runs."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Dict, Optional

from .._base_client import path
from .._pagination import Page
from .._streaming import Event, EventStream
from .._transport import Response
from ._resource import APIResource, idempotency

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._base_client import BaseClient
    from ..types import CreateRunParams, ListRunsParams, Run

TERMINAL_STATUSES = frozenset(["completed", "failed", "cancelled", "timed_out", "expired"])
_NOT_TERMINAL_EVENTS = frozenset(["run.created", "run.started", "run.output.delta", "run.tool_call", "run.tool_result"])


def is_terminal_run_event(event: Event) -> bool:
    kind = event.get("type")
    return isinstance(kind, str) and kind.startswith("run.") and kind not in _NOT_TERMINAL_EVENTS


class RunStream(EventStream):
    """The events of a run created with `runs.stream(...)`.

    `run_id` is known from the first event (`run.created`). If the connection drops before
    that, the POST is sent again with the same Idempotency-Key, which the server answers with
    that same run, so the stream picks up the run it already started rather than a new one.
    """

    def __init__(self, client: "BaseClient", response: Response, body: Dict[str, Any], headers: Dict[str, str],
                 run_id: Optional[str] = None) -> None:
        super().__init__(client, response, follow_path=None, is_terminal=is_terminal_run_event)
        self._body = body
        self._headers = headers
        self.run_id: Optional[str] = None
        if run_id:
            self._set_run(run_id)

    @property
    def run(self) -> Optional["Run"]:
        """The finished run, once the terminal event came."""
        return self.final_event.get("run") if self.final_event else None

    def _set_run(self, run_id: str) -> None:
        self.run_id = run_id
        self._follow_path = path("/runs/{}/events", run_id)

    def _observe(self, event: Event) -> None:
        if self.run_id is None and isinstance(event.get("run_id"), str):
            self._set_run(event["run_id"])

    def _reconnect(self, max_retries: Optional[int] = 0) -> Response:
        if self.run_id is not None:
            return super()._reconnect(max_retries)
        response = _post_stream(self._client, self._body, self._headers, max_retries=max_retries)
        run_id = _replayed_run_id(response)
        if run_id is None:
            return response  # a new event stream of the same run
        self._set_run(run_id)
        return super()._reconnect(max_retries)


def _post_stream(client: "BaseClient", body: Dict[str, Any], headers: Dict[str, str],
                 max_retries: Optional[int] = None) -> Response:
    return client._send("POST", "/runs", body=body, headers=headers, max_retries=max_retries)


def _replayed_run_id(response: Response) -> Optional[str]:
    """A replayed streamed POST answers the run as JSON instead of an event stream."""
    if "text/event-stream" in response.headers.get("content-type", ""):
        return None
    import json

    run = json.loads(response.read().decode("utf-8"))
    return run.get("id")


class Runs(APIResource):
    def create(self, *, idempotency_key: Optional[str] = None, **params: "Unpack[CreateRunParams]") -> "Run":
        """Sync by default: answers the finished run (or, past the server's wait bound, the run as
        it stands, `status` queued/running). `background=True` answers the queued run at once.
        For `stream=True` use `runs.stream(...)`."""
        if params.get("stream"):
            raise ValueError("runs.create does not stream: use runs.stream(...)")
        return self._client._request("POST", "/runs", body=params, headers=idempotency(idempotency_key))

    def retrieve(self, run_id: str) -> "Run":
        return self._client._request("GET", path("/runs/{}", run_id))

    def list(self, *, metadata: Optional[Dict[str, str]] = None, **params: "Unpack[ListRunsParams]") -> "Page[Run]":
        """Newest first. `status` may be a list; `metadata={"batch": "b7"}` filters on metadata."""
        query: Dict[str, Any] = dict(params)
        if metadata:
            query["metadata"] = metadata
        return Page(self._client, "/runs", query)

    def cancel(self, run_id: str) -> "Run":
        """`DELETE /runs/{id}`: a queued run never starts, a running one is aborted."""
        return self._client._request("DELETE", path("/runs/{}", run_id))

    def stream(self, *, idempotency_key: Optional[str] = None, **params: "Unpack[CreateRunParams]") -> RunStream:
        """Creates a streamed run and iterates its events (`run.created` … `run.completed`),
        resuming by itself if the connection drops. Use it as a context manager to close early."""
        body: Dict[str, Any] = dict(params, stream=True)
        headers = self._client._headers("POST", idempotency(idempotency_key))  # one key for every (re)POST
        headers["Accept"] = "text/event-stream"
        response = _post_stream(self._client, body, headers)
        run_id = _replayed_run_id(response)
        return RunStream(self._client, None if run_id else response, body, headers, run_id)  # type: ignore[arg-type]

    def events(self, run_id: str, *, starting_after: Optional[int] = None,
               timeout: Optional[float] = None) -> EventStream:
        """Follows an existing run's events (from the first, or after `starting_after`) to the end.
        `timeout` bounds the whole stream (WaitTimeoutError), not one request."""
        deadline = time.monotonic() + timeout if timeout is not None else None
        stream = EventStream(self._client, None, follow_path=path("/runs/{}/events", run_id),
                             is_terminal=is_terminal_run_event, deadline=deadline)
        stream.last_event_id = starting_after
        stream._response = stream._reconnect(max_retries=None)
        return stream

    def wait(self, run_id: str, *, timeout: Optional[float] = None) -> "Run":
        """Waits until the run is terminal (following its event stream) and returns it."""
        run = self.retrieve(run_id)
        if run["status"] in TERMINAL_STATUSES:
            return run
        with self.events(run_id, timeout=timeout) as events:
            events.until_done()
        return self.retrieve(run_id)

    def create_and_wait(self, *, timeout: Optional[float] = None, idempotency_key: Optional[str] = None,
                        **params: "Unpack[CreateRunParams]") -> "Run":
        """Creates a background run and waits for it: the terminal run, whatever its status."""
        body: Dict[str, Any] = dict(params, background=True)
        run = self._client._request("POST", "/runs", body=body, headers=idempotency(idempotency_key))
        return self.wait(run["id"], timeout=timeout)
