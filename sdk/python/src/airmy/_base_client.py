"""Requests, and the SDK's one retry loop.

A call is tried once plus up to `max_retries` more times (default 2), on a connection error, a
timeout, 408, 409 `idempotency_key_in_use`, 429 and 5xx, unless the server's `x-should-retry`
header says otherwise. The wait is the server's `retry-after-ms` / `Retry-After` when it is
between 0 and 60 s, else exponential backoff from 0.5 s capped at 8 s, minus up to 25 % jitter.
Every POST carries an `Idempotency-Key` made once per call and sent on each of its retries, so a
POST whose answer was lost is replayed by the server instead of creating a second object.
"""
from __future__ import annotations

import http.client
import json
import os
import random
import socket
import ssl
import time
import urllib.parse
import uuid
from typing import Any, Callable, Dict, Mapping, Optional, Union

from ._exceptions import APIConnectionError, APIStatusError, APITimeoutError, make_status_error, parse_retry_after
from ._transport import HTTPTransport, Response, Transport
from ._version import __version__

DEFAULT_BASE_URL = "https://127.0.0.1:8443/v2"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0

Query = Mapping[str, Any]


class AirmyObject(Dict[str, Any]):
    """A response object: a plain dict (typed by `airmy.types`) plus the call's `_request_id`."""

    _request_id: Optional[str] = None


def get_request_id(obj: Any) -> Optional[str]:
    """The `Request-Id` of the call that answered `obj` (a response dict or a `Page`); the same
    as `obj._request_id`, for code that type-checks (a TypedDict has no attributes)."""
    return getattr(obj, "_request_id", None) or getattr(obj, "request_id", None)


def ssl_context_for(ca_file: Optional[str]) -> ssl.SSLContext:
    """The system store (and `SSL_CERT_FILE`/`SSL_CERT_DIR` besides it), plus `ca_file`."""
    ctx = ssl.create_default_context()  # honours SSL_CERT_FILE / SSL_CERT_DIR instead of the system store
    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        paths = ssl.get_default_verify_paths()  # so load the system store too: both are trusted
        try:
            ctx.load_verify_locations(
                cafile=paths.openssl_cafile if os.path.isfile(paths.openssl_cafile) else None,
                capath=paths.openssl_capath if os.path.isdir(paths.openssl_capath) else None,
            )
        except (ssl.SSLError, OSError, TypeError):
            pass
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    return ctx


def backoff_delay(attempt: int) -> float:
    """0.5 s, 1 s, 2 s … capped at 8 s, each shortened by up to 25 % (attempt counts from 0)."""
    return min(INITIAL_RETRY_DELAY * (2.0 ** attempt), MAX_RETRY_DELAY) * (1 - 0.25 * random.random())


def retry_delay(attempt: int, headers: Optional[Mapping[str, str]]) -> float:
    hinted = parse_retry_after(headers) if headers else None
    if hinted is not None and 0 < hinted <= MAX_RETRY_AFTER:
        return hinted
    return backoff_delay(attempt)


def should_retry(status: int, headers: Mapping[str, str], body: Any) -> bool:
    override = headers.get("x-should-retry")
    if override == "true":
        return True
    if override == "false":
        return False
    if status == 409:
        error = body.get("error") if isinstance(body, dict) else None
        return isinstance(error, dict) and error.get("code") == "idempotency_key_in_use"
    return status == 408 or status == 429 or status >= 500


def encode_query(query: Optional[Query]) -> str:
    """`a=1&b=true`; lists repeat the key (`status=failed&status=timed_out`); a dict value `m`
    becomes `m[k]=v` (the runs list's `metadata` filter); None is left out."""
    pairs = []
    for key, value in (query or {}).items():
        if value is None:
            continue
        if isinstance(value, dict):
            pairs.extend(("%s[%s]" % (key, k), _scalar(v)) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            pairs.extend((key, _scalar(v)) for v in value)
        else:
            pairs.append((key, _scalar(value)))
    return urllib.parse.urlencode(pairs)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def path(template: str, *params: str) -> str:
    """`path("/agents/{}", id)`: each parameter URL-encoded, `/` included."""
    return template.format(*(urllib.parse.quote(str(p), safe="") for p in params))


class BaseClient:
    api_key: str
    base_url: str
    timeout: float
    max_retries: int

    def __init__(
        self,
        *,
        api_key: Optional[str],
        base_url: Optional[str],
        timeout: float,
        max_retries: int,
        ca_file: Optional[str],
        http_client: Optional[Transport],
        default_headers: Optional[Mapping[str, str]],
    ) -> None:
        api_key = api_key if api_key is not None else os.environ.get("AIRMY_API_KEY")
        if not api_key:
            from ._exceptions import AirmyError

            raise AirmyError(
                "No API key: pass Airmy(api_key=...) or set AIRMY_API_KEY (a key looks like sk-airmy-...)."
            )
        self.api_key = api_key
        self.base_url = (base_url or os.environ.get("AIRMY_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self._ca_file = ca_file
        self._default_headers = dict(default_headers or {})
        self._transport: Transport = http_client or HTTPTransport(ssl_context_for(ca_file))
        self._owns_transport = http_client is None
        self._sleep: Callable[[float], None] = time.sleep

    def close(self) -> None:
        """Closes the pooled connections (only those of the transport the client made itself)."""
        if self._owns_transport:
            self._transport.close()

    def __enter__(self) -> "BaseClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- requests ---------------------------------------------------------------------------

    def _headers(self, method: str, extra: Optional[Mapping[str, str]]) -> Dict[str, str]:
        headers = {
            "Authorization": "Bearer %s" % self.api_key,
            "User-Agent": "airmy-python/%s" % __version__,
            "Accept": "application/json",
        }
        headers.update(self._default_headers)
        headers.update(extra or {})
        if method == "POST" and not any(k.lower() == "idempotency-key" for k in headers):
            headers["Idempotency-Key"] = "airmy-python-retry-%s" % uuid.uuid4()
        return headers

    def _send(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Query] = None,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
    ) -> Response:
        """Sends the request through the retry loop; returns the 2xx response unread."""
        url = self.base_url + path
        qs = encode_query(query)
        if qs:
            url += "?" + qs
        all_headers = self._headers(method, headers)
        payload: Optional[bytes] = None
        if body is not None:
            payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        retries = self.max_retries if max_retries is None else max_retries
        attempt_timeout = self.timeout if timeout is None else timeout
        attempt = 0
        while True:
            if attempt:
                all_headers["X-Airmy-Retry-Count"] = str(attempt)
            hinted: Optional[Mapping[str, str]] = None
            try:
                response = self._transport.request(method, url, all_headers, payload, attempt_timeout)
            except ssl.SSLCertVerificationError as exc:
                raise APIConnectionError("TLS certificate not trusted (pass ca_file=...)", cause=exc)
            except (socket.timeout, TimeoutError) as exc:
                error: Exception = APITimeoutError(cause=exc)
            except (OSError, http.client.HTTPException) as exc:
                error = APIConnectionError(cause=exc)
            else:
                if response.status < 400:
                    return response
                error = self._status_error(response)
                hinted = response.headers
                if not should_retry(response.status, response.headers, getattr(error, "body", None)):
                    raise error
            if attempt >= retries:
                raise error
            self._sleep(retry_delay(attempt, hinted))
            attempt += 1

    @staticmethod
    def _status_error(response: Response) -> APIStatusError:
        try:
            raw = response.read()
        except (OSError, http.client.HTTPException):
            raw = b""
        body: Union[str, Any]
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        return make_status_error(response.status, response.headers, body)

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Sends, reads and parses the JSON answer (None for an empty body)."""
        response = self._send(method, path, **kwargs)
        try:
            raw = response.read()
        except (socket.timeout, TimeoutError) as exc:
            raise APITimeoutError(cause=exc)
        except (OSError, http.client.HTTPException) as exc:
            raise APIConnectionError("Connection lost while reading the answer.", cause=exc)
        if not raw:
            return None
        data = json.loads(raw.decode("utf-8"))
        if isinstance(data, dict):
            data = AirmyObject(data)
            data._request_id = response.headers.get("request-id")
        return data
