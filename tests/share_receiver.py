"""A real webhook receiver on 127.0.0.1 (stdlib HTTP server in a thread) for share tests.

It records every request and answers from a script: ``reply(status, body, headers)`` entries
are used in order, then ``default``. ``HANG`` as a status holds the request until the test
ends (for timeouts).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG = -1


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.script: deque[Reply] = deque()
        self.default = Reply(200, b"ok")
        self.release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(
                        Request(self.path, dict(self.headers.items()), body))
                    reply = receiver.script.popleft() if receiver.script else receiver.default
                if reply.status == HANG:
                    receiver.release.wait(30)
                    return
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, path: str = "/hooks/T000/B000/s3cr3tT0kenXYZ") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reply(self, status: int, body: bytes | str = b"ok", **headers: str) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.script.append(Reply(status, data, {k.replace("_", "-"): v
                                                for k, v in headers.items()}))

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
