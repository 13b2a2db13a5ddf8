"""`/pipelines`: DAGs of agent steps; trigger them and follow, wait for or cancel their runs."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Dict, Optional

from .._base_client import path
from .._pagination import Page
from .._streaming import Event, EventStream
from ._resource import APIResource, idempotency

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._base_client import BaseClient
    from ..types import (
        CreatePipelineParams,
        CreatePipelineScheduleParams,
        DeletePipelineScheduleResponse,
        ListPipelineRunsParams,
        ListPipelineSchedulesParams,
        ListPipelinesParams,
        Pipeline,
        PipelineRun,
        PipelineSchedule,
        TriggerPipelineParams,
        UpdatePipelineParams,
        UpdatePipelineScheduleParams,
    )

TERMINAL_STATUSES = frozenset(["completed", "failed", "cancelled", "timed_out"])
_TERMINAL_EVENTS = frozenset(["pipeline.completed", "pipeline.failed", "pipeline.cancelled", "pipeline.timed_out"])


def is_terminal_pipeline_event(event: Event) -> bool:
    return event.get("type") in _TERMINAL_EVENTS


class PipelineRuns(APIResource):
    """`/pipelines/{id}/runs`."""

    def list(self, pipeline_id: str, **params: "Unpack[ListPipelineRunsParams]") -> "Page[PipelineRun]":
        return Page(self._client, path("/pipelines/{}/runs", pipeline_id), dict(params))

    def retrieve(self, pipeline_id: str, run_id: str) -> "PipelineRun":
        return self._client._request("GET", path("/pipelines/{}/runs/{}", pipeline_id, run_id))

    def cancel(self, pipeline_id: str, run_id: str) -> "PipelineRun":
        return self._client._request("POST", path("/pipelines/{}/runs/{}/cancel", pipeline_id, run_id))

    def events(self, pipeline_id: str, run_id: str, *, starting_after: Optional[int] = None,
               timeout: Optional[float] = None) -> EventStream:
        """Follows a pipeline run's events (steps starting and ending) to its terminal event."""
        deadline = time.monotonic() + timeout if timeout is not None else None
        stream = EventStream(self._client, None, follow_path=path("/pipelines/{}/runs/{}/events", pipeline_id, run_id),
                             is_terminal=is_terminal_pipeline_event, deadline=deadline)
        stream.last_event_id = starting_after
        stream._response = stream._reconnect(max_retries=None)
        return stream

    def wait(self, pipeline_id: str, run_id: str, *, timeout: Optional[float] = None) -> "PipelineRun":
        run = self.retrieve(pipeline_id, run_id)
        if run["status"] in TERMINAL_STATUSES:
            return run
        with self.events(pipeline_id, run_id, timeout=timeout) as events:
            events.until_done()
        return self.retrieve(pipeline_id, run_id)


class PipelineSchedules(APIResource):
    """`/pipelines/{id}/schedules`: a cron (in a time zone) that triggers the pipeline."""

    def create(self, pipeline_id: str, *, idempotency_key: Optional[str] = None,
               **params: "Unpack[CreatePipelineScheduleParams]") -> "PipelineSchedule":
        return self._client._request("POST", path("/pipelines/{}/schedules", pipeline_id), body=params,
                                     headers=idempotency(idempotency_key))

    def retrieve(self, pipeline_id: str, schedule_id: str) -> "PipelineSchedule":
        return self._client._request("GET", path("/pipelines/{}/schedules/{}", pipeline_id, schedule_id))

    def update(self, pipeline_id: str, schedule_id: str,
               **params: "Unpack[UpdatePipelineScheduleParams]") -> "PipelineSchedule":
        return self._client._request("PATCH", path("/pipelines/{}/schedules/{}", pipeline_id, schedule_id),
                                     body=params)

    def list(self, pipeline_id: str, **params: "Unpack[ListPipelineSchedulesParams]") -> "Page[PipelineSchedule]":
        return Page(self._client, path("/pipelines/{}/schedules", pipeline_id), dict(params))

    def delete(self, pipeline_id: str, schedule_id: str) -> "DeletePipelineScheduleResponse":
        return self._client._request("DELETE", path("/pipelines/{}/schedules/{}", pipeline_id, schedule_id))


class Pipelines(APIResource):
    runs: PipelineRuns
    schedules: PipelineSchedules

    def __init__(self, client: "BaseClient") -> None:
        super().__init__(client)
        self.runs = PipelineRuns(client)
        self.schedules = PipelineSchedules(client)

    def create(self, *, idempotency_key: Optional[str] = None,
               **params: "Unpack[CreatePipelineParams]") -> "Pipeline":
        return self._client._request("POST", "/pipelines", body=params, headers=idempotency(idempotency_key))

    def retrieve(self, pipeline_id: str) -> "Pipeline":
        return self._client._request("GET", path("/pipelines/{}", pipeline_id))

    def update(self, pipeline_id: str, **params: "Unpack[UpdatePipelineParams]") -> "Pipeline":
        return self._client._request("PATCH", path("/pipelines/{}", pipeline_id), body=params)

    def list(self, **params: "Unpack[ListPipelinesParams]") -> "Page[Pipeline]":
        return Page(self._client, "/pipelines", dict(params))

    def delete(self, pipeline_id: str) -> Dict[str, Any]:
        return self._client._request("DELETE", path("/pipelines/{}", pipeline_id))

    def trigger(self, pipeline_id: str, *, idempotency_key: Optional[str] = None,
                **params: "Unpack[TriggerPipelineParams]") -> "PipelineRun":
        """Starts a pipeline run; answers it `queued`."""
        return self._client._request("POST", path("/pipelines/{}/trigger", pipeline_id), body=params,
                                     headers=idempotency(idempotency_key))

    def trigger_and_wait(self, pipeline_id: str, *, timeout: Optional[float] = None,
                         idempotency_key: Optional[str] = None,
                         **params: "Unpack[TriggerPipelineParams]") -> "PipelineRun":
        run = self.trigger(pipeline_id, idempotency_key=idempotency_key, **params)
        return self.runs.wait(pipeline_id, run["id"], timeout=timeout)
