"""The client's opening handshake request: the incremental head parser and header grammars."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass

from ._headers import Headers
from ._violations import Violation

__all__ = [
    "HTTP_VERSION",
    "ExtensionOffer",
    "Request",
    "RequestParser",
    "parse_extensions",
    "parse_tokens",
]

# token = 1*tchar (RFC 9110 section 5.6.2).
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN_STR = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# request-target: visible ASCII only (RFC 9112 section 3.2).
_TARGET = re.compile(rb"[\x21-\x7e]+")
#: HTTP-version (RFC 9112 section 2.6); groups are the major and minor digits.
HTTP_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")
_OWS = " \t"


# -- Header value grammars ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExtensionOffer:
    """One element of a ``Sec-WebSocket-Extensions`` header (RFC 6455 section 9.1).

    Attributes:
        name: Extension token, e.g. ``"permessage-deflate"``.
        params: ``(name, value)`` pairs in order; ``value`` is ``None`` for a bare
            parameter, and unquoted when it was a quoted-string.
    """

    name: str
    params: tuple[tuple[str, str | None], ...] = ()

    def __str__(self) -> str:
        parts = [self.name]
        for key, value in self.params:
            if value is None:
                parts.append(key)
            elif _TOKEN_STR.fullmatch(value):
                parts.append(f"{key}={value}")
            else:
                escaped = value.replace("\\", "\\\\").replace('"', '\\"')
                parts.append(f'{key}="{escaped}"')
        return "; ".join(parts)


def parse_tokens(values: Iterable[str]) -> tuple[str, ...]:
    """Split comma-separated lists spread over several header lines (RFC 9110 section 5.6.1).

    Used for ``Sec-WebSocket-Protocol``, ``Connection`` and ``Upgrade``: elements
    are stripped of optional whitespace, empty elements dropped, order and
    duplicates kept.
    """
    return tuple(
        element
        for value in values
        for element in (part.strip(_OWS) for part in value.split(","))
        if element
    )


def _split_top_level(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside quoted-strings (backslash escapes honoured)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    """Remove the quotes and backslash escapes of a quoted-string (RFC 9110 section 5.6.4)."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_extensions(values: Iterable[str]) -> tuple[ExtensionOffer, ...]:
    """Parse ``Sec-WebSocket-Extensions`` header values (RFC 6455 section 9.1).

    Best effort by design: a mock must record whatever a client offered, so this
    never raises. Empty elements and parameters are skipped; a malformed element
    is kept with what could be parsed; quoted parameter values are unquoted
    (RFC 6455 section 9.1 allows them and requires the unquoted value to be a token).

    Args:
        values: Every ``Sec-WebSocket-Extensions`` value, in wire order.

    Returns:
        The offers in order.
    """
    offers: list[ExtensionOffer] = []
    for value in values:
        for element in _split_top_level(value, ","):
            pieces = _split_top_level(element, ";")
            name = pieces[0].strip(_OWS)
            params: list[tuple[str, str | None]] = []
            for piece in pieces[1:]:
                key, equals, raw = piece.partition("=")
                key = key.strip(_OWS)
                if not key and not equals:
                    continue
                params.append((key, _unquote(raw.strip(_OWS)) if equals else None))
            if name or params:
                offers.append(ExtensionOffer(name, tuple(params)))
    return tuple(offers)


# -- The request --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """The client's opening handshake request, as parsed by `RequestParser`.

    Attributes:
        method: Request method, e.g. ``"GET"``.
        target: Raw request-target, e.g. ``"/chat?room=1"``.
        http_version: e.g. ``"HTTP/1.1"``.
        headers: Header fields in wire order.
        raw: The whole request head as received, request line to the blank line included.
    """

    method: str
    target: str
    http_version: str
    headers: Headers
    raw: bytes

    @property
    def path(self) -> str:
        """The target's path, percent-encoding kept: before ``?`` for ``"/chat?x=1"``.

        For an absolute-form target (``"http://host:port/chat?x=1"``, RFC 9112
        section 3.2.2) it is the path after the authority, ``"/"`` when empty.
        """
        path = self.target.partition("?")[0]
        scheme, separator, rest = path.partition("://")
        if separator and not scheme.startswith("/"):
            return "/" + rest.partition("/")[2]
        return path

    @property
    def query(self) -> str:
        """The target after ``?``, or ``""``."""
        return self.target.partition("?")[2]

    @property
    def query_params(self) -> dict[str, list[str]]:
        """The query decoded by `urllib.parse.parse_qs`, blank values kept."""
        return urllib.parse.parse_qs(self.query, keep_blank_values=True)

    @property
    def host(self) -> str | None:
        """The ``Host`` header, or ``None``."""
        return self.headers.get("Host")

    @property
    def origin(self) -> str | None:
        """The ``Origin`` header, or ``None``."""
        return self.headers.get("Origin")

    @property
    def key(self) -> str | None:
        """The ``Sec-WebSocket-Key`` header, or ``None``."""
        return self.headers.get("Sec-WebSocket-Key")

    @property
    def version(self) -> str | None:
        """The ``Sec-WebSocket-Version`` header, or ``None``."""
        return self.headers.get("Sec-WebSocket-Version")

    @property
    def subprotocols(self) -> tuple[str, ...]:
        """Offered subprotocols in preference order (every ``Sec-WebSocket-Protocol`` line)."""
        return parse_tokens(self.headers.get_all("Sec-WebSocket-Protocol"))

    @property
    def extensions(self) -> tuple[ExtensionOffer, ...]:
        """Offered extensions (every ``Sec-WebSocket-Extensions`` line)."""
        return parse_extensions(self.headers.get_all("Sec-WebSocket-Extensions"))

    def __repr__(self) -> str:
        fields = [f"{self.method} {self.target!r} {self.http_version}"]
        for label, value in (("host", self.host), ("origin", self.origin), ("key", self.key)):
            if value is not None:
                fields.append(f"{label}={value!r}")
        if self.subprotocols:
            fields.append(f"subprotocols={self.subprotocols!r}")
        fields.append(f"{len(self.headers)} headers")
        return f"Request({', '.join(fields)})"


def _quote_line(line: bytes | bytearray) -> str:
    """Render an offending line for a violation detail, truncated to 80 characters."""
    text = repr(bytes(line))
    return text if len(text) <= 80 else text[:77] + "..."


class RequestParser:
    """Incremental HTTP/1.1 request-head parser with limits.

    Feed it bytes as they arrive; it returns ``None`` until the head is
    complete, then a `Request`, or a `Violation` as soon as the head is known to
    be malformed or over a limit. Lines are checked as they complete and limits
    as bytes arrive, so a hostile or broken client can never make it buffer
    more than ``max_head`` bytes plus one chunk.

    Args:
        max_line: Longest request line, in bytes without the line ending
            (longer: 414); also the longest header line (longer: 431).
        max_head: Longest request head, blank line included (longer: 431).
        max_headers: Most header fields (more: 431).
    """

    def __init__(
        self, *, max_line: int = 8192, max_head: int = 65536, max_headers: int = 128
    ) -> None:
        self.max_line = max_line
        self.max_head = max_head
        self.max_headers = max_headers
        #: Bytes received after the head; valid once a `Request` was returned.
        self.trailing = b""
        self._buffer = bytearray()
        self._start = 0  # start of the current (incomplete) line in _buffer
        self._head_start = 0  # leading empty lines are skipped (RFC 9112 section 2.2)
        self._request_line: tuple[str, str, str] | None = None
        self._headers: list[tuple[str, str]] = []
        self._done = False

    def feed(self, data: bytes) -> Request | Violation | None:
        """Add received bytes.

        Returns:
            ``None`` while more bytes are needed, the `Request` once the head is
            complete (see `trailing` for what followed it), or a `Violation`
            (status 400, 414 or 431).

        Raises:
            RuntimeError: Called again after a `Request` or `Violation` was returned.
        """
        if self._done:
            raise RuntimeError("RequestParser.feed() called after the head was parsed or rejected")
        buffer = self._buffer
        buffer += data
        while True:
            end = buffer.find(b"\n", self._start)
            if end < 0:
                break
            line = buffer[self._start : end]
            if line.endswith(b"\r"):
                line = line[:-1]  # bare LF is accepted too, like h11 (RFC 9112 section 2.2)
            over = self._over_limit(end, len(line) > self.max_line)
            if over is not None:
                return self._finish(over)
            self._start = end + 1
            result = self._line(line, end + 1)
            if result is not None:
                return self._finish(result)
        # Incomplete line: enforce the limits now, before the line ending arrives.
        # "+ 1": the CR of a CRLF may already be there.
        over = self._over_limit(len(buffer) - 1, len(buffer) - self._start > self.max_line + 1)
        if over is not None:
            return self._finish(over)
        if self._start == len(buffer) and self._request_line is None:
            # Only empty lines so far: forget them instead of buffering them.
            del buffer[:]
            self._start = self._head_start = 0
        return None

    def _finish(self, result: Request | Violation) -> Request | Violation:
        self._done = True
        if isinstance(result, Request):
            self.trailing = bytes(self._buffer[self._start :])
        self._buffer = bytearray()
        return result

    def _over_limit(self, last: int, line_too_long: bool) -> Violation | None:
        """The size limit crossed first by the bytes up to buffer offset ``last``, if any.

        Each limit is crossed at a fixed byte: a line is known to be too long at
        its ``max_line + 2``-th byte (its content plus a possible CR), the head at
        its ``max_head + 1``-th. The verdict is the limit whose byte comes first
        (the line's on a tie), so it is the same however TCP split the bytes:
        checking one limit before the other would answer 431 for a request that,
        cut elsewhere, gets 414.

        Args:
            last: Offset of the last byte to judge (a line's LF, or the last byte held).
            line_too_long: Whether the current line is over ``max_line`` by then.
        """
        head_at = self._head_start + self.max_head
        if line_too_long and self._start + self.max_line + 1 <= head_at:
            if self._request_line is None:
                return self._line_too_long()
            return self._too_large(f"a header line longer than {self.max_line} bytes")
        if head_at <= last:
            return self._too_large(f"a request head longer than {self.max_head} bytes")
        return None

    def _line(self, line: bytearray, end: int) -> Request | Violation | None:
        """Handle one complete line within the limits; ``end`` is the offset just after it."""
        if self._request_line is None:
            if not line:
                self._head_start = end  # RFC 9112 section 2.2: ignore empty lines before it
                return None
            return self._parse_request_line(line)
        if not line:
            method, target, version = self._request_line
            raw = bytes(self._buffer[self._head_start : end])
            return Request(method, target, version, Headers(self._headers), raw)
        if len(self._headers) >= self.max_headers:
            return self._too_large(f"more than {self.max_headers} header fields")
        return self._parse_header_line(line)

    def _parse_request_line(self, line: bytearray) -> Violation | None:
        parts = line.split(b" ")
        if (
            len(parts) != 3
            or not _TOKEN.fullmatch(parts[0])
            or not _TARGET.fullmatch(parts[1])
            or not HTTP_VERSION.fullmatch(parts[2])
        ):
            return _malformed(f"invalid request line {_quote_line(line)}")
        method, target, version = (part.decode("ascii") for part in parts)
        self._request_line = (method, target, version)
        return None

    def _parse_header_line(self, line: bytearray) -> Violation | None:
        if line[0] in b" \t":
            # RFC 9112 section 5.2: obs-fold must be rejected (or replaced) by a server.
            return _malformed(f"obsolete line folding in header line {_quote_line(line)}")
        name, colon, value = line.partition(b":")
        if not colon:
            return _malformed(f"header line without a colon {_quote_line(line)}")
        if not _TOKEN.fullmatch(name):
            # Covers whitespace before the colon (RFC 9112 section 5.1), an empty
            # name and non-ASCII bytes in the name.
            return _malformed(f"invalid header name in header line {_quote_line(line)}")
        self._headers.append((name.decode("ascii"), value.decode("latin-1").strip(_OWS)))
        return None

    def _line_too_long(self) -> Violation:
        return Violation(
            "request-line-too-long",
            f"request line longer than {self.max_line} bytes (the limit)",
            "RFC 9112 section 3",  # a server answers an over-long request-target with 414
            status=414,
            limit=True,
        )

    def _too_large(self, what: str) -> Violation:
        return Violation(
            "headers-too-large", f"received {what}", "RFC 6585 section 5", status=431, limit=True
        )


def _malformed(detail: str) -> Violation:
    return Violation("malformed-request", detail, "RFC 9112 section 2.2", status=400)
