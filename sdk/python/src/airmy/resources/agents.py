from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

from .._base_client import path
from .._pagination import Page
from ._resource import APIResource, idempotency

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..types import Agent, CreateAgentParams, ListAgentsParams, UpdateAgentParams


class Agents(APIResource):
    """`/agents`: a model, instructions and parameters that runs invoke."""

    def create(self, *, idempotency_key: Optional[str] = None, **params: "Unpack[CreateAgentParams]") -> "Agent":
        return self._client._request("POST", "/agents", body=params, headers=idempotency(idempotency_key))

    def retrieve(self, agent_id: str) -> "Agent":
        return self._client._request("GET", path("/agents/{}", agent_id))

    def update(self, agent_id: str, **params: "Unpack[UpdateAgentParams]") -> "Agent":
        return self._client._request("PATCH", path("/agents/{}", agent_id), body=params)

    def list(self, **params: "Unpack[ListAgentsParams]") -> "Page[Agent]":
        return Page(self._client, "/agents", dict(params))

    def delete(self, agent_id: str) -> Dict[str, Any]:
        return self._client._request("DELETE", path("/agents/{}", agent_id))
