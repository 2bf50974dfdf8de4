"""A fault-injecting HTTP proxy between the optimizer (a CLI subprocess) and the emulator.

Bound to 127.0.0.1 on a free port; every request is forwarded to the emulator unchanged
unless a fault is armed for it. Faults, for *mutating* calls only (what the optimizer's dry-run
guard calls mutating: not Describe/List/Get/BatchGet/Search):

* ``kill_at(n, pid)``: the n-th mutating call is forwarded (AWS applies it), its response is
  held, the CLI process is killed with SIGKILL, and the connection is dropped;
* ``lose(ops)``: the first response of each named operation is lost (forwarded, applied,
  then the connection is closed without an answer), so the SDK retries an applied call;
* ``throttle(op, times)``: the next ``times`` calls of ``op`` get a ``ThrottlingException``
  without being forwarded (AWS throttles before applying);
* ``hold_at(n)``: the n-th mutating call is forwarded and its response held until
  :meth:`release` (``held`` is set meanwhile), so a test can signal the CLI mid-call.

Every mutating request that reached the emulator is kept in ``writes`` as (operation, body),
so a test can check that the journal shows each of them.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Set, Tuple
from urllib.parse import parse_qs, urlsplit

from ecs_optimizer.live.aws import is_mutating

#: Headers http.client sets itself, or that must not be relayed hop by hop.
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def operation_of(headers: "http.client.HTTPMessage", path: str, body: bytes) -> str:
    """The API operation of a request: X-Amz-Target (JSON protocols), the Smithy RPC v2 path
    (CloudWatch's CBOR), or the query protocol's Action."""
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    if "/operation/" in path:
        return path.rsplit("/operation/", 1)[1].strip("/")
    action = parse_qs(body.decode("utf-8", "replace")).get("Action")
    return action[0] if action else ""


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._lock = threading.Lock()
        self.held = threading.Event()
        self._release = threading.Event()
        self.reset()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _any(self) -> None:
                proxy.handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ arming faults

    def reset(self) -> None:
        with self._lock:
            self.mutating = 0
            self.writes: List[Tuple[str, bytes]] = []
            self._kill: Optional[Tuple[int, int]] = None
            self._hold: Optional[int] = None
            self._lose: Set[str] = set()
            self._throttle: Dict[str, int] = {}
            self.lost: List[str] = []
            self.throttled = 0
            self.killed = False
        self.held.clear()
        self._release.clear()

    def kill_at(self, n: int, pid: int) -> None:
        with self._lock:
            self._kill = (n, pid)

    def lose(self, operations: Set[str]) -> None:
        with self._lock:
            self._lose = set(operations)

    def throttle(self, operation: str, times: int) -> None:
        with self._lock:
            self._throttle[operation] = times

    def hold_at(self, n: int) -> None:
        with self._lock:
            self._hold = n

    def release(self) -> None:
        self._release.set()

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ serving

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        operation = operation_of(h.headers, h.path, body)
        mutating = bool(operation) and is_mutating(operation)
        kill = hold = lose = False
        with self._lock:
            if mutating and self._throttle.get(operation, 0) > 0:
                self._throttle[operation] -= 1
                self.throttled += 1
                throttled = True
            else:
                throttled = False
                if mutating:
                    self.mutating += 1
                    self.writes.append((operation, body))
                    kill = self._kill is not None and self._kill[0] == self.mutating
                    hold = self._hold == self.mutating
                    if operation in self._lose:
                        self._lose.discard(operation)
                        self.lost.append(operation)
                        lose = True
        if throttled:
            payload = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
            self._answer(
                h,
                400,
                [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", "ThrottlingException")],
                payload,
            )
            return
        status, headers, payload = self._forward(h, body)
        if kill:
            assert self._kill is not None
            os.kill(self._kill[1], signal.SIGKILL)
            self.killed = True
            lose = True
        if hold:
            self.held.set()
            self._release.wait(timeout=60)
        if lose:
            h.close_connection = True
            try:
                h.connection.shutdown(2)
            except OSError:
                pass
            return
        self._answer(h, status, headers, payload)

    def _forward(self, h: BaseHTTPRequestHandler, body: bytes) -> Tuple[int, List[Tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            headers = {k: v for k, v in h.headers.items() if k.lower() not in _HOP}
            conn.request(h.command, h.path, body=body, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            return resp.status, [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP], payload
        finally:
            conn.close()

    @staticmethod
    def _answer(h: BaseHTTPRequestHandler, status: int, headers: List[Tuple[str, str]], payload: bytes) -> None:
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)
