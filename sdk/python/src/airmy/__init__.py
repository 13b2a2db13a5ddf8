"""The AIRMY Python SDK: `from airmy import Airmy`.

    client = Airmy()  # AIRMY_API_KEY, AIRMY_BASE_URL
    run = client.runs.create(agent_id="ag_01HXYZ", input={"query": "Q1?"})
"""
from . import types
from ._base_client import AirmyObject, get_request_id
from ._client import Airmy
from ._exceptions import (
    AirmyError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    WaitTimeoutError,
)
from ._pagination import Page
from ._streaming import EventStream, ServerSentEvent
from ._transport import HTTPTransport, Response, Transport
from ._version import __version__
from .resources import RunStream

__all__ = [
    "Airmy",
    "AirmyError",
    "AirmyObject",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "EventStream",
    "HTTPTransport",
    "InternalServerError",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
    "RateLimitError",
    "Response",
    "RunStream",
    "ServerSentEvent",
    "Transport",
    "UnprocessableEntityError",
    "WaitTimeoutError",
    "__version__",
    "get_request_id",
    "types",
]
