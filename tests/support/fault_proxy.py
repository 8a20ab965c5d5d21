"""An HTTP proxy that injects faults between a storage client and the GCS emulator.

Tests point ``STORAGE_EMULATOR_HOST`` at :attr:`FaultProxy.endpoint` and script failures::

    with FaultProxy(emulator.endpoint) as proxy:
        proxy.inject("503", when="after", match="POST /upload/")
        bucket.create("a", b"x")   # the write lands, the client sees 503, retries, gets 412

Kinds: ``"500"``, ``"503"``, ``"429"`` (an error status with a GCS-style JSON body) and
``"reset"`` (the connection is closed with a TCP RST and no response). ``when="before"``
fails the request without forwarding it; ``when="after"`` forwards it, lets the emulator
act on it, then replaces the real response with the fault: the lost-response case.

The proxy speaks HTTP/1.1 with keep-alive, reads request bodies by Content-Length or
chunked encoding, and forwards each request on a fresh upstream connection. It buffers
whole bodies, which is fine for test-sized objects.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Literal

FaultKind = Literal["500", "503", "429", "reset"]
When = Literal["before", "after"]

_KINDS: frozenset[str] = frozenset({"500", "503", "429", "reset"})
# Headers that describe one hop, not the message (RFC 9110 section 7.6.1).
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


@dataclass
class _Rule:
    kind: FaultKind
    remaining: int
    when: When
    match: str | None

    def matches(self, request_line: str) -> bool:
        return self.remaining > 0 and (self.match is None or self.match in request_line)


@dataclass(frozen=True, slots=True)
class Seen:
    """One request the proxy handled: ``"METHOD /path?query"`` and the fault it got."""

    request: str
    fault: str | None
    when: When | None


class FaultProxy:
    """A threaded HTTP proxy on ``127.0.0.1:<free port>`` in front of ``upstream_endpoint``.

    Thread-safe: faults may be scripted while requests are in flight.
    """

    def __init__(self, upstream_endpoint: str, *, upstream_timeout_s: float = 30.0) -> None:
        parsed = urllib.parse.urlsplit(upstream_endpoint)
        if parsed.scheme != "http" or not parsed.hostname or not parsed.port:
            raise ValueError(
                f"upstream must be http://host:port, got {upstream_endpoint!r} "
                "(the proxy does not speak TLS)"
            )
        self.upstream_endpoint = upstream_endpoint
        self._upstream = (parsed.hostname, parsed.port)
        self._upstream_timeout_s = upstream_timeout_s
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._offline = False
        self._seen: list[Seen] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control ------------------------------------------------------------------------

    def inject(
        self,
        kind: FaultKind,
        count: int = 1,
        *,
        when: When = "before",
        match: str | None = None,
    ) -> None:
        """Fail the next ``count`` requests whose ``"METHOD /path?query"`` contains
        ``match`` (every request if ``None``) with ``kind``, ``before`` or ``after``
        forwarding them. Rules apply in the order they were added."""
        if kind not in _KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {sorted(_KINDS)}")
        if when not in ("before", "after"):
            raise ValueError(f"when must be 'before' or 'after', got {when!r}")
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        with self._lock:
            self._rules.append(_Rule(kind, count, when, match))

    @property
    def offline(self) -> bool:
        """While true, every connection and request is reset without a response."""
        return self._offline

    @offline.setter
    def offline(self, value: bool) -> None:
        self._offline = value

    def clear(self) -> None:
        """Drop pending faults and go back online (counters are kept)."""
        with self._lock:
            self._rules.clear()
            self._offline = False

    @property
    def requests_seen(self) -> int:
        """How many requests reached the proxy (including failed ones)."""
        with self._lock:
            return len(self._seen)

    @property
    def faults_injected(self) -> int:
        """How many requests got a fault (scripted or offline)."""
        with self._lock:
            return sum(1 for s in self._seen if s.fault is not None)

    @property
    def pending_faults(self) -> int:
        """Scripted faults not yet delivered."""
        with self._lock:
            return sum(r.remaining for r in self._rules)

    @property
    def seen(self) -> list[Seen]:
        """Every request handled so far, in order."""
        with self._lock:
            return list(self._seen)

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``: the value for ``STORAGE_EMULATOR_HOST``."""
        if self._server is None:
            raise RuntimeError("FaultProxy is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        """Listen on a free port and serve in a background thread; returns ``self``."""
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FaultProxy:{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening; connections still open are dropped with their threads."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- used by the handler ------------------------------------------------------------

    def _take_fault(self, request_line: str) -> tuple[FaultKind, When] | None:
        with self._lock:
            if self._offline:
                self._seen.append(Seen(request_line, "reset", "before"))
                return "reset", "before"
            for rule in self._rules:
                if rule.matches(request_line):
                    rule.remaining -= 1
                    self._seen.append(Seen(request_line, rule.kind, rule.when))
                    return rule.kind, rule.when
            self._seen.append(Seen(request_line, None, None))
            return None

    def _record_offline_connection(self) -> None:
        with self._lock:
            self._seen.append(Seen("(new connection)", "reset", "before"))

    def _forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes | None
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self._upstream, timeout=self._upstream_timeout_s)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", f"{self._upstream[0]}:{self._upstream[1]}")
            for key, value in headers:
                conn.putheader(key, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            data = response.read()
            return response.status, response.reason, response.getheaders(), data
        finally:
            conn.close()


def _make_handler(proxy: FaultProxy) -> Callable[..., BaseHTTPRequestHandler]:
    class Handler(_ProxyHandler):
        owner = proxy

    return Handler


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the storage client expects
    timeout = 30.0  # idle keep-alive connections are closed after this
    owner: FaultProxy

    def handle(self) -> None:
        if self.owner.offline:
            self.owner._record_offline_connection()
            self._reset()
            return
        try:
            super().handle()
        except (ConnectionError, TimeoutError, OSError):
            self.close_connection = True  # the client went away; nothing to answer

    def log_message(self, format: str, *args: object) -> None:
        pass  # the request log is kept in FaultProxy.seen instead

    def _dispatch(self) -> None:
        request_line = f"{self.command} {self.path}"
        body = self._read_body()
        fault = self.owner._take_fault(request_line)
        if fault is not None and fault[1] == "before":
            self._fail(fault[0])
            return
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP]
        headers = [(k, v) for k, v in headers if k.lower() not in ("host", "content-length")]
        try:
            status, reason, response_headers, data = self.owner._forward(
                self.command, self.path, headers, body
            )
        except OSError as exc:
            if fault is not None:
                self._fail(fault[0])
            else:
                self._send(502, f"upstream {self.owner.upstream_endpoint} failed: {exc}")
            return
        if fault is not None:
            self._fail(fault[0])  # the upstream acted; the client never learns it did
            return
        self.send_response(status, reason)
        for key, value in response_headers:
            lower = key.lower()
            if lower in _HOP_BY_HOP or (lower == "content-length" and self.command != "HEAD"):
                continue
            self.send_header(key, value)
        if self.command != "HEAD" and status not in (204, 304) and status >= 200:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # Skip trailers up to the blank line that ends the message.
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)  # CRLF after each chunk
            return b"".join(chunks)
        length = self.headers.get("Content-Length")
        if length is not None:
            return self.rfile.read(int(length))
        return None

    def _fail(self, kind: FaultKind) -> None:
        if kind == "reset":
            self._reset()
        else:
            self._send(int(kind), f"fault injected by FaultProxy ({kind})")

    def _send(self, status: int, message: str) -> None:
        body = json.dumps({"error": {"code": status, "message": message, "errors": []}})
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN: the client
        # sees "connection reset by peer", not a clean end of stream.
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass


__all__ = ["FaultKind", "FaultProxy", "Seen", "When"]
