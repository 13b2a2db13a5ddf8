"""What agents use and obey: `/connectors` (tools) and `/guardrails` (policies, templates)."""
from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

from .._base_client import path
from .._pagination import Page
from ._resource import APIResource, idempotency

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..types import (
        Connector,
        CreateConnectorParams,
        CreateGuardrailPolicyParams,
        DeleteConnectorResponse,
        DeleteGuardrailPolicyResponse,
        GuardrailPolicy,
        GuardrailTemplate,
        ListConnectorsParams,
        ListGuardrailPoliciesParams,
        UpdateConnectorParams,
        UpdateGuardrailPolicyParams,
    )


class Connectors(APIResource):
    def create(self, *, idempotency_key: Optional[str] = None,
               **params: "Unpack[CreateConnectorParams]") -> "Connector":
        return self._client._request("POST", "/connectors", body=params, headers=idempotency(idempotency_key))

    def retrieve(self, connector_id: str) -> "Connector":
        return self._client._request("GET", path("/connectors/{}", connector_id))

    def update(self, connector_id: str, **params: "Unpack[UpdateConnectorParams]") -> "Connector":
        return self._client._request("PATCH", path("/connectors/{}", connector_id), body=params)

    def list(self, **params: "Unpack[ListConnectorsParams]") -> "Page[Connector]":
        """Your connectors (newest first), then the built-in ones."""
        return Page(self._client, "/connectors", dict(params))

    def delete(self, connector_id: str) -> "DeleteConnectorResponse":
        return self._client._request("DELETE", path("/connectors/{}", connector_id))


class GuardrailPolicies(APIResource):
    """`/guardrails/policies`, and the built-in templates a policy may extend."""

    def create(self, *, idempotency_key: Optional[str] = None,
               **params: "Unpack[CreateGuardrailPolicyParams]") -> "GuardrailPolicy":
        return self._client._request("POST", "/guardrails/policies", body=params,
                                     headers=idempotency(idempotency_key))

    def retrieve(self, policy_id: str) -> "GuardrailPolicy":
        return self._client._request("GET", path("/guardrails/policies/{}", policy_id))

    def update(self, policy_id: str, **params: "Unpack[UpdateGuardrailPolicyParams]") -> "GuardrailPolicy":
        return self._client._request("PATCH", path("/guardrails/policies/{}", policy_id), body=params)

    def list(self, **params: "Unpack[ListGuardrailPoliciesParams]") -> "Page[GuardrailPolicy]":
        return Page(self._client, "/guardrails/policies", dict(params))

    def delete(self, policy_id: str) -> "DeleteGuardrailPolicyResponse":
        return self._client._request("DELETE", path("/guardrails/policies/{}", policy_id))

    def list_templates(self) -> "List[GuardrailTemplate]":
        """The built-in templates (`none`, `baseline`, `pii-redact`, `pii-block`, `strict`)."""
        return list(self._client._request("GET", "/guardrails/templates")["data"])
