"""Who calls: `/organization`, `/api-keys`, `/auth/token` (short-lived session tokens)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .._base_client import path
from .._pagination import Page
from ._resource import APIResource, idempotency

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..types import (
        ApiKey,
        ApiKeyWithSecret,
        CreateApiKeyParams,
        CreateSessionTokenParams,
        ListApiKeysParams,
        Organization,
        SessionToken,
    )


class OrganizationResource(APIResource):
    def retrieve(self) -> "Organization":
        """The organization of the key in use, with its plan and limits."""
        return self._client._request("GET", "/organization")


class ApiKeys(APIResource):
    """Needs an API key with `keys:admin` (a session token cannot manage keys)."""

    def create(self, *, idempotency_key: Optional[str] = None,
               **params: "Unpack[CreateApiKeyParams]") -> "ApiKeyWithSecret":
        """`secret` is in this answer only."""
        return self._client._request("POST", "/api-keys", body=params, headers=idempotency(idempotency_key))

    def retrieve(self, key_id: str) -> "ApiKey":
        return self._client._request("GET", path("/api-keys/{}", key_id))

    def list(self, **params: "Unpack[ListApiKeysParams]") -> "Page[ApiKey]":
        return Page(self._client, "/api-keys", dict(params))

    def rotate(self, key_id: str, *, idempotency_key: Optional[str] = None) -> "ApiKeyWithSecret":
        """A new secret (shown once); the old one keeps working for 24 h."""
        return self._client._request("POST", path("/api-keys/{}/rotate", key_id), headers=idempotency(idempotency_key))

    def revoke(self, key_id: str) -> "ApiKey":
        """`DELETE /api-keys/{id}`: the key stops working at once."""
        return self._client._request("DELETE", path("/api-keys/{}", key_id))

    delete = revoke


class Auth(APIResource):
    def create_token(self, *, idempotency_key: Optional[str] = None,
                     **params: "Unpack[CreateSessionTokenParams]") -> "SessionToken":
        """`POST /auth/token`: a 1-hour Bearer token, optionally with narrower `scopes`."""
        return self._client._request("POST", "/auth/token", body=params, headers=idempotency(idempotency_key))
