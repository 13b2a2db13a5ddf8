"""HTTP over `http.client` with a small thread-safe pool of keep-alive connections per host.

A `Transport` is what `Airmy(http_client=...)` accepts: anything with `request(...)` returning a
`Response` (status, lower-cased headers, `read()`, `readline()` for streams, `close()`). The
default, `HTTPTransport`, keeps idle connections per (scheme, host, port) and hands each request
one of them, or a new one; a connection goes back to the pool only after its response was read to
the end, so a stream closed half-way never leaves a half-read socket in the pool. An idle
connection the server has closed meanwhile (readable while idle means EOF or junk) is discarded
before use instead of failing the request, as urllib3 does.
"""
from __future__ import annotations

import http.client
import select
import ssl
import threading
import urllib.parse
from typing import Dict, List, Mapping, Optional, Protocol, Tuple

__all__ = ["Response", "Transport", "HTTPTransport"]


class Response(Protocol):
    @property
    def status(self) -> int:
        ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Lower-cased header names."""
        ...

    def read(self) -> bytes:
        """The whole (remaining) body; releases the connection."""
        ...

    def readline(self) -> bytes:
        """One line of the body including its newline; b"" at the end."""
        ...

    def close(self) -> None:
        """Done with the response (a half-read one drops its connection)."""
        ...


class Transport(Protocol):
    def request(
        self, method: str, url: str, headers: Mapping[str, str], body: Optional[bytes], timeout: float
    ) -> Response:
        ...

    def close(self) -> None:
        ...


_Key = Tuple[str, str, int]


class _PooledResponse:
    def __init__(self, transport: "HTTPTransport", key: _Key, conn: http.client.HTTPConnection,
                 resp: http.client.HTTPResponse) -> None:
        self._transport = transport
        self._key = key
        self._conn: Optional[http.client.HTTPConnection] = conn
        self._resp = resp
        self.status = resp.status
        self.headers: Dict[str, str] = {k.lower(): v for k, v in resp.getheaders()}

    def read(self) -> bytes:
        try:
            return self._resp.read()
        finally:
            self.close()

    def readline(self) -> bytes:
        line = self._resp.readline()
        if not line:
            self.close()
        return line

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._resp.isclosed() and not self._resp.will_close:
            self._transport._release(self._key, conn)
        else:
            self._resp.close()
            conn.close()


class HTTPTransport:
    """The default transport: `http.client` connections, TLS by `ssl_context`, pooled."""

    def __init__(self, ssl_context: Optional[ssl.SSLContext] = None, max_idle_per_host: int = 64) -> None:
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._max_idle = max_idle_per_host
        self._idle: Dict[_Key, List[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def request(
        self, method: str, url: str, headers: Mapping[str, str], body: Optional[bytes], timeout: float
    ) -> Response:
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or (443 if scheme == "https" else 80)
        key: _Key = (scheme, parts.hostname or "", port)
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        conn = self._acquire(key, timeout)
        try:
            conn.request(method, target, body=body, headers=dict(headers))
            resp = conn.getresponse()
        except BaseException:
            conn.close()
            raise
        return _PooledResponse(self, key, conn, resp)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def _acquire(self, key: _Key, timeout: float) -> http.client.HTTPConnection:
        while True:
            with self._lock:
                conns = self._idle.get(key)
                conn = conns.pop() if conns else None
            if conn is None:
                break
            if _usable(conn):
                if conn.sock is not None:
                    conn.sock.settimeout(timeout)
                conn.timeout = timeout
                return conn
            conn.close()
        scheme, host, port = key
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=self._ssl_context)
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def _release(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            conns = self._idle.setdefault(key, [])
            if len(conns) < self._max_idle:
                conns.append(conn)
                return
        conn.close()


def _usable(conn: http.client.HTTPConnection) -> bool:
    sock = conn.sock
    if sock is None:
        return False
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable
