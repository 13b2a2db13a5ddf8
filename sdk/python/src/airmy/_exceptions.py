"""The SDK's errors: one factory (`make_status_error`) maps an HTTP status to its class.

Every API error carries what the server's envelope says (`type`, `code`, `message`, `param`) and
the request id (`request_id`, from the body or the `Request-Id` header) so a support request can
name the exact call.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

__all__ = [
    "AirmyError",
    "APIError",
    "APIStatusError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "UnprocessableEntityError",
    "RateLimitError",
    "InternalServerError",
    "APIConnectionError",
    "APITimeoutError",
    "WaitTimeoutError",
]


class AirmyError(Exception):
    """Base of every error this SDK raises."""


class APIError(AirmyError):
    """The server answered with an error (or an `event: error` in a stream)."""

    message: str
    status_code: Optional[int]
    type: Optional[str]
    code: Optional[str]
    param: Optional[str]
    request_id: Optional[str]
    headers: Mapping[str, str]
    body: Any

    def __init__(
        self,
        message: str,
        *,
        status_code: Optional[int] = None,
        headers: Optional[Mapping[str, str]] = None,
        body: Any = None,
    ) -> None:
        envelope: Dict[str, Any] = {}
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            envelope = body["error"]
        self.message = str(envelope.get("message") or message)
        self.status_code = status_code
        self.type = envelope.get("type")
        self.code = envelope.get("code")
        self.param = envelope.get("param")
        self.headers = headers or {}
        self.request_id = envelope.get("request_id") or self.headers.get("request-id")
        self.body = body
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = [str(self.status_code)] if self.status_code else []
        if self.code:
            parts.append(self.code)
        text = "%s: %s" % (" ".join(parts), self.message) if parts else self.message
        return "%s (request %s)" % (text, self.request_id) if self.request_id else text


class APIStatusError(APIError):
    """An HTTP error status; the subclasses below name the common ones."""


class BadRequestError(APIStatusError):
    """400: malformed request, unknown or mistyped field (see `param`)."""


class AuthenticationError(APIStatusError):
    """401: missing, invalid, revoked or expired credential."""


class PermissionDeniedError(APIStatusError):
    """403: the key lacks a scope, or the request is not allowed."""


class NotFoundError(APIStatusError):
    """404: no such object in your organization."""


class ConflictError(APIStatusError):
    """409: e.g. `idempotency_key_in_use` while the first request with the key still runs."""


class UnprocessableEntityError(APIStatusError):
    """422: understood but refused (e.g. `idempotency_key_reused`, `run_not_cancellable`)."""


class RateLimitError(APIStatusError):
    """429: rate limited; `retry_after` is the server's `Retry-After` in seconds (or None)."""

    retry_after: Optional[float]

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = parse_retry_after(self.headers)


class InternalServerError(APIStatusError):
    """5xx: the server failed; it logged the request id."""


class APIConnectionError(AirmyError):
    """No answer: refused, reset, TLS failure, connection closed before a response."""

    def __init__(self, message: str = "Connection error.", *, cause: Optional[BaseException] = None) -> None:
        super().__init__(message if cause is None else "%s (%s: %s)" % (message, type(cause).__name__, cause))
        self.__cause__ = cause


class APITimeoutError(APIConnectionError):
    """The server did not answer within the client's timeout."""

    def __init__(self, message: str = "Request timed out.", *, cause: Optional[BaseException] = None) -> None:
        super().__init__(message, cause=cause)


class WaitTimeoutError(AirmyError, TimeoutError):
    """A wait helper (`runs.wait`, `create_and_wait`, `trigger_and_wait`) ran out of time."""


_BY_STATUS = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def make_status_error(status_code: int, headers: Mapping[str, str], body: Any) -> APIStatusError:
    """The error for an HTTP status: the class named for it, else `InternalServerError` for
    5xx, else a plain `APIStatusError`."""
    cls = _BY_STATUS.get(status_code) or (InternalServerError if status_code >= 500 else APIStatusError)
    message = body if isinstance(body, str) and body else "HTTP %d" % status_code
    return cls(message, status_code=status_code, headers=headers, body=body)


def parse_retry_after(headers: Mapping[str, str]) -> Optional[float]:
    """Seconds to wait per `retry-after-ms`, else `Retry-After` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    import email.utils
    import time

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()
