"""The page the Chromium adapter opens its WebSockets from (page.html), served over plain
HTTP from 127.0.0.1: Chromium refuses WebSockets to 127.0.0.1 from ``about:blank`` and
``data:`` pages."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from typing import Any

PAGE = (Path(__file__).parent / "page.html").read_bytes()


class _QuietHandler(http.server.BaseHTTPRequestHandler):
    """Serves the page at every path, logging nothing."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class PageServer:
    """The page over plain HTTP on 127.0.0.1 and a free port, in a daemon thread."""

    def __init__(self) -> None:
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _QuietHandler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/wsmock"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="chromium-page", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
