"""A quiet threaded HTTP server on 127.0.0.1 serving a folder, for tests that fetch by URL.

It answers HEAD and single-range GET requests (http.server alone ignores `Range`, which
yt-dlp needs to resume a `.part` file and ffprobe to seek to an mp4's trailing header),
and records every request so a test can tell whether media was read.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class Request(NamedTuple):
    method: str
    path: str
    range: str | None


@dataclass
class RequestLog:
    entries: list[Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, method: str, path: str, range_header: str | None) -> None:
        with self._lock:
            self.entries.append(Request(method, path, range_header))

    def gets(self, suffix: str = "") -> list[Request]:
        """GET requests whose path (without the query) ends with `suffix`."""
        with self._lock:
            return [r for r in self.entries
                    if r.method == "GET" and r.path.split("?")[0].endswith(suffix)]

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()


class _Handler(SimpleHTTPRequestHandler):
    log: RequestLog

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.log.add("GET", self.path, self.headers.get("Range"))
        self._serve(with_body=True)

    def do_HEAD(self) -> None:
        self.log.add("HEAD", self.path, self.headers.get("Range"))
        self._serve(with_body=False)

    def _serve(self, with_body: bool) -> None:
        path = Path(self.translate_path(self.path))
        if path.is_dir() or not path.is_file():
            if with_body:
                super().do_GET()
            else:
                super().do_HEAD()
            return
        size = path.stat().st_size
        span = self._range(size)
        if span is None:
            self.send_error(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            return
        start, end = span
        partial = self.headers.get("Range") is not None
        self.send_response(HTTPStatus.PARTIAL_CONTENT if partial else HTTPStatus.OK)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Length", str(end - start + 1 if size else 0))
        self.send_header("Accept-Ranges", "bytes")
        if partial:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if with_body and size:
            self._copy(path, start, end - start + 1)

    def _range(self, size: int) -> tuple[int, int] | None:
        header = self.headers.get("Range")
        if header is None:
            return 0, max(size - 1, 0)
        match = _RANGE.match(header.strip())
        if not match or match.group(1) == match.group(2) == "":
            return None
        first, last = match.groups()
        if first == "":
            start, end = max(size - int(last), 0), size - 1
        else:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
        if start >= size or start > end:
            return None
        return start, end

    def _copy(self, path: Path, start: int, length: int) -> None:
        with path.open("rb") as fh:
            fh.seek(start)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                while length > 0:
                    chunk = fh.read(min(length, 64 * 1024))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    length -= len(chunk)


class ServedDir(str):
    """The base URL (no trailing slash), carrying the server's request log as `.log`."""

    log: RequestLog

    def __new__(cls, base_url: str, log: RequestLog) -> ServedDir:
        obj = super().__new__(cls, base_url)
        obj.log = log
        return obj


@contextlib.contextmanager
def serve_dir(path: Path | str) -> Iterator[ServedDir]:
    """Serve `path` on a free port until the block ends; yields the base URL."""
    log = RequestLog()
    handler = type("Handler", (_Handler,), {"log": log})
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(handler, directory=os.fspath(path)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield ServedDir(f"http://127.0.0.1:{server.server_address[1]}", log)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
