"""Server-Sent Events: an incremental parser and a stream that resumes by itself.

The parser follows the WHATWG event-stream rules (`event`, multi-line `data`, `id`, `retry`,
`:` comments) and reads the socket a line at a time, so events arrive as the server sends them.

`EventStream` yields each event's JSON (with `type` and `sequence_number`) until a terminal event.
When the connection drops before that, it reconnects to the follow endpoint with
`Last-Event-ID: <last sequence number seen>` (after the retry backoff, giving up after
`max_retries` consecutive failures) and skips any event it already yielded, so every event comes
exactly once. `event: error` raises an `APIError`.
"""
from __future__ import annotations

import http.client
import json
import socket
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, TypeVar

from ._base_client import backoff_delay
from ._exceptions import APIConnectionError, APIError, WaitTimeoutError
from ._transport import Response

if TYPE_CHECKING:
    from ._base_client import BaseClient

__all__ = ["ServerSentEvent", "SSEDecoder", "iter_sse", "EventStream"]

Event = Dict[str, Any]
_Self = TypeVar("_Self", bound="EventStream")


class ServerSentEvent:
    __slots__ = ("event", "data", "id", "retry")

    def __init__(self, event: Optional[str], data: str, id: Optional[str], retry: Optional[int]) -> None:
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry

    def __repr__(self) -> str:
        return "ServerSentEvent(event=%r, id=%r, data=%r)" % (self.event, self.id, self.data[:80])


class SSEDecoder:
    """Feed it lines without their line ending; it returns an event at each blank line."""

    def __init__(self) -> None:
        self._event: Optional[str] = None
        self._data: List[str] = []
        self._id: Optional[str] = None
        self._retry: Optional[int] = None

    def decode(self, line: str) -> Optional[ServerSentEvent]:
        if not line:
            if self._event is None and not self._data:
                return None
            sse = ServerSentEvent(self._event, "\n".join(self._data), self._id, self._retry)
            self._event, self._data, self._retry = None, [], None  # the id carries over, per the spec
            return sse
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry":
            if value.isdigit():
                self._retry = int(value)
        return None


def iter_sse(response: Response, on_line: Optional[Callable[[], None]] = None) -> Iterator[ServerSentEvent]:
    """Events as they arrive; an event cut off by the end of the body is dropped (per the spec)."""
    decoder = SSEDecoder()
    while True:
        raw = response.readline()
        if not raw:
            return
        if on_line is not None:
            on_line()
        line = raw.decode("utf-8")
        if line.endswith("\n"):
            line = line[:-1]
        if line.endswith("\r"):
            line = line[:-1]
        sse = decoder.decode(line)
        if sse is not None:
            yield sse


class EventStream(Iterator[Event]):
    """Iterate for events; `close()` (or leaving a `with` block) drops the connection.

    `last_event_id` is the sequence number of the last event yielded; `final_event` the
    terminal event once it came.
    """

    def __init__(
        self,
        client: "BaseClient",
        response: Optional[Response],
        *,
        follow_path: Optional[str],
        is_terminal: Callable[[Event], bool],
        resume_at_end: bool = True,
        deadline: Optional[float] = None,
        query: Optional[Dict[str, Any]] = None,
    ) -> None:
        self._client = client
        self._response = response
        self._follow_path = follow_path
        self._is_terminal = is_terminal
        self._resume_at_end = resume_at_end
        self._deadline = deadline
        self._query = query
        self._closed = False
        self.last_event_id: Optional[int] = None
        self.final_event: Optional[Event] = None
        self.reconnects = 0
        self._iterator = self._events()

    def __iter__(self: _Self) -> _Self:
        return self

    def __next__(self) -> Event:
        return next(self._iterator)

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._closed = True
        response, self._response = self._response, None
        if response is not None:
            response.close()

    def until_done(self) -> Optional[Event]:
        """Reads the stream to its end; returns the terminal event (None if there was none)."""
        for _ in self:
            pass
        return self.final_event

    # -- the loop ----------------------------------------------------------------------------

    def _observe(self, event: Event) -> None:
        """Hook for subclasses: learn the follow path from an event (a run's id, say)."""

    def _reconnect(self, max_retries: Optional[int] = 0) -> Response:
        """Opens the follow endpoint after `last_event_id`. Reconnects pass max_retries=0: the
        loop in `_events` is the one that retries them; the first connection uses the client's."""
        if self._follow_path is None:
            raise APIConnectionError("The stream dropped before its first event.")
        headers = {"Accept": "text/event-stream"}
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = str(self.last_event_id)
        return self._client._send("GET", self._follow_path, query=self._query, headers=headers,
                                  timeout=self._attempt_timeout(), max_retries=max_retries)

    def _attempt_timeout(self) -> float:
        if self._deadline is None:
            return self._client.timeout
        return max(0.001, min(self._client.timeout, self._deadline - time.monotonic()))

    def _check_deadline(self) -> None:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            self.close()
            raise WaitTimeoutError("Gave up waiting: the stream did not end in time.")

    def _events(self) -> Iterator[Event]:
        failures = 0
        while not self._closed:
            dropped: Optional[BaseException] = None
            try:
                if self._response is None:
                    self._response = self._reconnect()
                for sse in iter_sse(self._response, self._check_deadline):
                    if sse.event == "error":
                        self.close()
                        body = _json(sse.data)
                        raise APIError("The stream failed", body=body if isinstance(body, dict) else None)
                    event = _json(sse.data)
                    if not isinstance(event, dict):
                        continue
                    seq = event.get("sequence_number")
                    if not isinstance(seq, int) and sse.id is not None and sse.id.isdigit():
                        seq = int(sse.id)
                    if isinstance(seq, int):
                        if self.last_event_id is not None and seq <= self.last_event_id:
                            continue  # already yielded before the reconnect
                        self.last_event_id = seq
                    failures = 0
                    self._observe(event)
                    terminal = self._is_terminal(event)
                    if terminal:
                        self.final_event = event
                        self.close()
                    yield event
                    if terminal or self._closed:
                        return
            except (socket.timeout, TimeoutError, OSError, http.client.HTTPException, APIConnectionError) as exc:
                if self._closed:
                    return
                dropped = exc
            response, self._response = self._response, None
            if response is not None:
                response.close()
            if dropped is None and not self._resume_at_end:
                self._closed = True
                return
            self._check_deadline()
            if failures >= self._client.max_retries:
                self._closed = True
                if isinstance(dropped, APIConnectionError):
                    raise dropped
                raise APIConnectionError("The stream dropped and could not be resumed.", cause=dropped)
            self._client._sleep(backoff_delay(failures))
            failures += 1
            self.reconnects += 1


def _json(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None
