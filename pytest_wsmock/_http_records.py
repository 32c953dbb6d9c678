"""The record of one plain-HTTP request answered on a WebSocket server's port."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from ._protocol import Headers

__all__ = ["HttpRequest"]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A plain (non-upgrade) HTTP request the server answered, and how.

    You get them from ``ws_server.http_requests``, in the order they were read; each is
    recorded before its response is written.

    Attributes:
        method: e.g. ``"POST"``.
        target: the raw request-target, e.g. ``"/negotiate?negotiateVersion=1"``.
        path: the target's path, without the query.
        query: the target after ``?`` (``""`` without one); :attr:`query_params` decodes it.
        headers: the request's header fields, in wire order (case-insensitive ``get``).
        body: the request body (``b""`` without one).
        time: ``time.monotonic()`` when the request was answered.
        status: the status the server answered.
        route: the path or pattern of the ``http()`` answer that matched (``None``: none did).
    """

    method: str
    target: str
    path: str
    query: str
    headers: Headers
    body: bytes
    time: float
    status: int
    route: str | None

    @property
    def query_params(self) -> dict[str, list[str]]:
        """The query decoded by `urllib.parse.parse_qs`, blank values kept."""
        return urllib.parse.parse_qs(self.query, keep_blank_values=True)

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def __str__(self) -> str:
        route = f"http({self.route!r})" if self.route is not None else "no http() answer"
        if self.status == 405 and self.route is None:
            route = f"no http() answer for {self.method}"
        size = f", {len(self.body)} byte body" if self.body else ""
        return f"{self.method} {self.target} -> {self.status} ({route}{size})"
