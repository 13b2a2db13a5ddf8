"""What the live tests need: a real AIRMY server over TLS, its CLI, and a TCP proxy they control.

`LiveServer` spawns `<repo>/node_modules/.bin/node <repo>/src/main.ts serve` on a free port with a
temporary data dir (SQLite) or a fresh PostgreSQL database, and waits for the lines
`listening: https://HOST:PORT/v2` and `Trust this CA: <path>`.

`TcpProxy` forwards raw TCP (the TLS bytes, so the SDK talks TLS to the real server through it)
and can be told to cut every open connection now, or to reset the next connection right after
the client's request went through to the server, so the server handles the request while the
client only sees a reset.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import unittest
from typing import Dict, List, Optional

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
NODE = os.path.join(REPO, "node_modules", ".bin", "node")
MAIN = os.path.join(REPO, "src", "main.ts")
SDK_SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "src"))
if SDK_SRC not in sys.path:
    sys.path.insert(0, SDK_SRC)

PG_URL = os.environ.get("AIRMY_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")


def targets() -> List[str]:
    """SQLite always; PostgreSQL when reachable (under CI=true it must be)."""
    found = ["sqlite"]
    if _pg_reachable():
        found.append("postgres")
    elif os.environ.get("CI") == "true":
        raise RuntimeError("PostgreSQL at %s is unreachable and CI=true" % PG_URL)
    return found


def _pg_reachable() -> bool:
    if shutil.which("psql") is None:
        return False
    ok = subprocess.run(["psql", PG_URL, "-tAc", "SELECT 1"], capture_output=True, text=True)
    return ok.returncode == 0


class LiveServer:
    def __init__(self, target: str) -> None:
        self.target = target
        self.dir = tempfile.mkdtemp(prefix="airmy-sdk-py-%s-" % target)
        self.env: Dict[str, str] = {
            "PATH": os.environ.get("PATH", ""),
            "AIRMY_PORT": "0",
            "AIRMY_DATA_DIR": self.dir,
            "AIRMY_LOG_LEVEL": "warn",
        }
        self.database: Optional[str] = None
        if target == "postgres":
            self.database = "airmy_sdk_py_%d_%s" % (os.getpid(), os.urandom(4).hex())
            _psql("CREATE DATABASE %s" % self.database)
            self.env["AIRMY_DATABASE_URL"] = re.sub(r"/[^/]*$", "/" + self.database, PG_URL)
        self.proc: Optional[subprocess.Popen] = None
        self.output: List[str] = []
        self.port = 0
        self.ca_file = ""

    @property
    def base_url(self) -> str:
        return "https://127.0.0.1:%d/v2" % self.port

    def cli(self, *args: str) -> str:
        done = subprocess.run([NODE, MAIN] + list(args), env=self.env, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError("airmy %s failed: %s" % (" ".join(args), done.stderr))
        return done.stdout.strip()

    def new_key(self, plan: str = "enterprise", rpm: int = 6000, burst: int = 1000,
                scopes: Optional[str] = None) -> str:
        """A fresh organization (with the CLI, as an operator would) and an API key of it."""
        org = self.cli("orgs", "create", "--name", "sdk-py", "--plan", plan, "--rpm", str(rpm), "--burst", str(burst))
        args = ["keys", "create", "--org", org] + (["--scopes", scopes] if scopes else [])
        return self.cli(*args)

    def start(self) -> "LiveServer":
        self.proc = subprocess.Popen([NODE, MAIN, "serve"], env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # blocks until the server prints what we wait for, or exits
            self.output.append(line)
            m = re.search(r"listening: https://[^:]+:(\d+)/v2", line)
            if m:
                self.port = int(m.group(1))
            c = re.search(r"Trust this CA:\s+(\S+)", line)
            if c:
                self.ca_file = c.group(1)
            if self.port and self.ca_file:
                break
        if not (self.port and self.ca_file):
            raise RuntimeError("server did not start:\n" + "".join(self.output))
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        if self.database:
            _psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.database)
        shutil.rmtree(self.dir, ignore_errors=True)


def _psql(sql: str) -> None:
    subprocess.run(["psql", PG_URL, "-qc", sql], check=True, capture_output=True)


def _reset(sock: socket.socket) -> None:
    """Close with RST (linger 0), as a crashed peer or a middlebox would."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class TcpProxy:
    REQUEST_RECORD_MIN = 150
    """A TLS application-data record from the client longer than this is its HTTP request (the
    client's encrypted Finished message, the only other one, is under 100 bytes)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.requests_reset = 0
        self._lock = threading.Lock()
        self._open: List[socket.socket] = []
        self._reset_next_requests = 0
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base_url(self) -> str:
        return "https://127.0.0.1:%d/v2" % self.port

    def cut_all(self) -> None:
        """Resets every open client connection now (new ones are forwarded as usual)."""
        with self._lock:
            conns, self._open = self._open, []
        for sock in conns:
            _reset(sock)

    def reset_after_request(self, count: int = 1) -> None:
        """The next `count` connections: once the client's request reached the server, reset the
        client's side; the server's side stays open so the server answers (into the void)."""
        with self._lock:
            self._reset_next_requests += count

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        self.cut_all()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self._lock:
                self.connections += 1
                self._open.append(client)
                reset = self._reset_next_requests > 0
                if reset:
                    self._reset_next_requests -= 1
            threading.Thread(target=self._client_to_server, args=(client, upstream, reset), daemon=True).start()
            threading.Thread(target=self._server_to_client, args=(upstream, client), daemon=True).start()

    def _client_to_server(self, client: socket.socket, upstream: socket.socket, reset: bool) -> None:
        buffered = b""
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                upstream.sendall(data)
                if not reset:
                    continue
                buffered += data
                while len(buffered) >= 5:
                    kind, length = buffered[0], struct.unpack(">H", buffered[3:5])[0]
                    if len(buffered) < 5 + length:
                        break
                    buffered = buffered[5 + length:]
                    if kind == 0x17 and length > self.REQUEST_RECORD_MIN:
                        with self._lock:
                            self.requests_reset += 1
                        _reset(client)
                        return
        except OSError:
            pass
        finally:
            try:
                upstream.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def _server_to_client(self, upstream: socket.socket, client: socket.socket) -> None:
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                try:
                    client.sendall(data)
                except OSError:
                    pass  # client side gone: keep draining so the server can finish its answer
        except OSError:
            pass
        finally:
            upstream.close()
            try:
                client.close()
            except OSError:
                pass


class Blackhole:
    """Accepts TCP connections and never answers: for timeouts."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self._held: List[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self._held.append(conn)

    def close(self) -> None:
        self.listener.close()
        for conn in self._held:
            conn.close()


def free_port() -> int:
    """A port nobody listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


__all__ = ["LiveServer", "TcpProxy", "Blackhole", "free_port", "targets", "unittest", "REPO"]
