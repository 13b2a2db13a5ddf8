"""`Airmy`: the client. Resources are attributes named as in the API (`client.runs`, ...)."""
from __future__ import annotations

from typing import Mapping, Optional

from ._base_client import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, BaseClient
from ._transport import Transport
from .resources import (
    Agents,
    Alerts,
    ApiKeys,
    Auth,
    Connectors,
    Deployments,
    GuardrailPolicies,
    Logs,
    Metrics,
    OrganizationResource,
    Pipelines,
    Runs,
)

__all__ = ["Airmy"]


class Airmy(BaseClient):
    """A client of one AIRMY server.

    Args:
        api_key: defaults to env `AIRMY_API_KEY`; none at all raises `AirmyError`.
        base_url: defaults to env `AIRMY_BASE_URL`, else `https://127.0.0.1:8443/v2`.
        timeout: seconds per attempt for connecting and for each read (default 60).
        max_retries: retries after the first attempt (default 2); see `_base_client`.
        ca_file: a PEM CA (the server's self-signed one) trusted besides the system store and
            `SSL_CERT_FILE`.
        http_client: a `Transport` to send requests through instead of the built-in pool.
        default_headers: sent on every request.

    Thread-safe: share one client between threads (its connection pool is locked).
    """

    agents: Agents
    runs: Runs
    deployments: Deployments
    pipelines: Pipelines
    metrics: Metrics
    logs: Logs
    alerts: Alerts
    api_keys: ApiKeys
    auth: Auth
    connectors: Connectors
    guardrail_policies: GuardrailPolicies
    organization: OrganizationResource

    def __init__(
        self,
        *,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        ca_file: Optional[str] = None,
        http_client: Optional[Transport] = None,
        default_headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            ca_file=ca_file,
            http_client=http_client,
            default_headers=default_headers,
        )
        self.agents = Agents(self)
        self.runs = Runs(self)
        self.deployments = Deployments(self)
        self.pipelines = Pipelines(self)
        self.metrics = Metrics(self)
        self.logs = Logs(self)
        self.alerts = Alerts(self)
        self.api_keys = ApiKeys(self)
        self.auth = Auth(self)
        self.connectors = Connectors(self)
        self.guardrail_policies = GuardrailPolicies(self)
        self.organization = OrganizationResource(self)

    def with_options(
        self,
        *,
        api_key: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        default_headers: Optional[Mapping[str, str]] = None,
    ) -> "Airmy":
        """A copy with some options changed, sharing this client's connection pool:
        `client.with_options(max_retries=0).runs.create(...)`."""
        copy = Airmy(
            api_key=api_key or self.api_key,
            base_url=self.base_url,
            timeout=self.timeout if timeout is None else timeout,
            max_retries=self.max_retries if max_retries is None else max_retries,
            http_client=self._transport,
            default_headers={**self._default_headers, **(default_headers or {})},
        )
        copy._owns_transport = False
        copy._sleep = self._sleep
        return copy

    def __enter__(self) -> "Airmy":
        return self
