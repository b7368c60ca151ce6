"""A static file server on 127.0.0.1 that sends with ``sendfile(2)``, honours ``Range: bytes=N-``,
counts every byte it sends, and can cut a response off after a given byte (to interrupt a
download). ``http.server``'s own file handler copies through Python in 64 KiB pieces, which
would make the server, not the client, the bottleneck at a GiB."""

from __future__ import annotations

import http.server
import os
import re
import socketserver
import threading
from dataclasses import dataclass, field
from pathlib import Path

_RANGE = re.compile(r"^bytes=(\d+)-$")


@dataclass
class SendfileServer:
    folder: Path
    sent: int = 0  # body bytes sent, all responses
    requests: list[tuple[str, int]] = field(default_factory=list)  # (path, first byte)
    drop_at: int | None = None  # the next GET is cut off (connection closed) at this byte
    _server: socketserver.ThreadingTCPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def reset(self) -> None:
        with self._lock:
            self.sent = 0
            self.requests = []
            self.drop_at = None

    def _count(self, count: int) -> None:
        with self._lock:
            self.sent += count

    def start(self) -> SendfileServer:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                path = owner.folder / self.path.split("?")[0].lstrip("/")
                if ".." in self.path or not path.is_file():
                    self.send_error(404)
                    return
                size = path.stat().st_size
                start = 0
                match = _RANGE.match(self.headers.get("Range", ""))
                if match and int(match[1]) >= size:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if match:
                    start = int(match[1])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(size - start))
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                if not body:
                    return
                with owner._lock:
                    owner.requests.append((self.path, start))
                    cut, owner.drop_at = owner.drop_at, None
                end = size if cut is None or cut <= start else min(size, cut)
                with open(path, "rb") as stream:
                    offset = start
                    while offset < end:
                        try:
                            sent = os.sendfile(self.connection.fileno(), stream.fileno(), offset,
                                               min(end - offset, 1 << 24))
                        except (BrokenPipeError, ConnectionResetError):
                            self.close_connection = True
                            return
                        if sent == 0:
                            break
                        owner._count(sent)
                        offset += sent
                if end < size:
                    self.close_connection = True  # the client gets fewer bytes than promised

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
