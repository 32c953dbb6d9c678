"""The client role of the opening handshake (RFC 6455 section 4.1) and of outgoing frames.

Theory of operation: a client writes `build_request` (with a `new_key`), feeds what comes
back to a `ResponseParser` until it returns a `ClientResponse`, and judges it with
`check_response`, which lists every rule of section 4.1 the answer broke, in words. The
bytes after the head (``ResponseParser.trailing``) are the server's first frames, read by a
``FrameDecoder(role="client")``; the client's own frames are masked by `encode_client_frame`.
A refusal's body is read with `body_framing` and `dechunk`. Nothing here touches a socket.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from ._deflate import DeflateParams, check_deflate_answer
from ._encode import encode_frame
from ._handshake import accept_key
from ._headers import Headers
from ._request import parse_extensions, parse_tokens
from ._violations import Violation

__all__ = [
    "ClientHandshake",
    "ClientResponse",
    "ResponseParser",
    "body_framing",
    "build_request",
    "check_response",
    "dechunk",
    "encode_client_frame",
    "new_key",
]

_CLIENT_RFC = "RFC 6455 section 4.1"
# token = 1*tchar (RFC 9110 section 5.6.2).
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 section 4); a
# missing SP before an empty reason is tolerated, as clients do.
_STATUS_LINE = re.compile(rb"(HTTP/[0-9]\.[0-9]) ([0-9]{3})(?: (.*))?")
_OWS = " \t"


def new_key() -> str:
    """A fresh ``Sec-WebSocket-Key``: 16 random bytes, base64 (RFC 6455 section 4.1 item 7)."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def _encode(text: str, what: str) -> bytes:
    if "\r" in text or "\n" in text:
        raise ValueError(f"{what} must not contain CR or LF, got {text!r}")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def build_request(
    target: str,
    host: str,
    key: str,
    *,
    subprotocols: Sequence[str] = (),
    extensions: str | None = None,
    headers: Sequence[tuple[str, str]] = (),
) -> bytes:
    """Serialize the client's opening handshake request (RFC 6455 section 4.1).

    ``GET target HTTP/1.1`` with ``Host``, ``Upgrade: websocket``, ``Connection: Upgrade``,
    ``Sec-WebSocket-Key``, ``Sec-WebSocket-Version: 13``, ``Sec-WebSocket-Protocol`` (when
    ``subprotocols`` is not empty) and ``Sec-WebSocket-Extensions`` (when given), then
    ``headers``. A header in ``headers`` that names one of the first ones replaces it in
    place (a second one of that name is added after it), except ``Sec-WebSocket-Key`` and
    ``Sec-WebSocket-Version``, which are always ours and are left out of ``headers``.

    Args:
        target: The request-target: path and query, e.g. ``"/chat?room=1"``.
        host: The ``Host`` value: the host, plus ``:port`` unless it is the default.
        key: The ``Sec-WebSocket-Key`` (see `new_key`).
        subprotocols: Offered subprotocols, in preference order.
        extensions: The ``Sec-WebSocket-Extensions`` offer (see `offer_deflate`).
        headers: More ``(name, value)`` pairs, in order.

    Returns:
        The request head, lines ending with CRLF, with its blank line.

    Raises:
        ValueError: a target, name or value holds CR or LF, or the target holds a space.
    """
    if not target or " " in target:
        raise ValueError(f"request target must be non-empty and hold no space, got {target!r}")
    base = [
        ("Host", host),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key),
        ("Sec-WebSocket-Version", "13"),
    ]
    if subprotocols:
        base.append(("Sec-WebSocket-Protocol", ", ".join(subprotocols)))
    if extensions is not None:
        base.append(("Sec-WebSocket-Extensions", extensions))
    replaceable = {name.lower() for name, _ in base} - {
        "sec-websocket-key",
        "sec-websocket-version",
    }
    result = Headers(base)
    replaced: set[str] = set()
    for name, value in headers:
        lowered = name.lower()
        if lowered in ("sec-websocket-key", "sec-websocket-version"):
            continue
        if lowered in replaceable and lowered not in replaced:
            result = result.replaced(name, value)
            replaced.add(lowered)
        else:
            result = result.with_added(name, value)
    lines = [_encode(f"GET {target} HTTP/1.1", "request target")]
    for name, value in result:
        if not _TOKEN.fullmatch(_encode(name, "header name")):
            raise ValueError(f"header name must be a token, got {name!r}")
        lines.append(_encode(name, "header name") + b": " + _encode(value, f"header {name}"))
    return b"\r\n".join([*lines, b"", b""])


def encode_client_frame(
    opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False
) -> bytes:
    """One client frame, masked with a fresh random key (RFC 6455 section 5.3)."""
    return encode_frame(opcode, payload, fin=fin, rsv1=rsv1, mask_key=os.urandom(4))


# -- The response -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientResponse:
    """The server's answer to the opening request, as parsed by `ResponseParser`.

    Attributes:
        status: The status code, e.g. ``101``.
        reason: The reason phrase (may be empty).
        http_version: e.g. ``"HTTP/1.1"``.
        headers: Header fields in wire order.
        raw: The whole head as received, status line to the blank line included.
    """

    status: int
    reason: str
    http_version: str
    headers: Headers
    raw: bytes = b""


def _malformed(detail: str) -> Violation:
    return Violation("malformed-response", detail, "RFC 9112 section 4")


class ResponseParser:
    """Incremental HTTP/1.1 response-head parser, bounded by ``max_head`` bytes.

    Returns ``None`` until the head is complete, then the `ClientResponse` (`trailing`
    holds the bytes after it), or a `Violation` (``malformed-response``,
    ``response-too-large``) as soon as the head is known to be broken or too long.
    Obsolete line folding is replaced by a space, as RFC 9112 section 5.2 tells a user agent.

    Args:
        max_head: Longest head accepted, blank line included.
    """

    def __init__(self, max_head: int = 65536) -> None:
        self.max_head = max_head
        #: Bytes received after the head; valid once a `ClientResponse` was returned.
        self.trailing = b""
        self._buffer = bytearray()
        self._done = False

    def feed(self, data: bytes) -> ClientResponse | Violation | None:
        """Add received bytes; see the class docstring for what comes back.

        Raises:
            RuntimeError: Called again after a response or a violation was returned.
        """
        if self._done:
            raise RuntimeError("ResponseParser.feed() called after the head was parsed or rejected")
        self._buffer += data
        end = self._head_end()
        if end is None:
            if len(self._buffer) > self.max_head:
                return self._finish(self._too_large())
            return None
        if end > self.max_head:
            return self._finish(self._too_large())
        self.trailing = bytes(self._buffer[end:])
        return self._finish(self._parse(bytes(self._buffer[:end])))

    def _head_end(self) -> int | None:
        crlf = self._buffer.find(b"\r\n\r\n")
        lf = self._buffer.find(b"\n\n")
        ends = [index + size for index, size in ((crlf, 4), (lf, 2)) if index >= 0]
        return min(ends) if ends else None

    def _finish(self, result: ClientResponse | Violation) -> ClientResponse | Violation:
        self._done = True
        self._buffer = bytearray()
        return result

    def _too_large(self) -> Violation:
        return Violation(
            "response-too-large",
            f"the response head is longer than {self.max_head} bytes",
            "RFC 9112 section 2.3",
        )

    def _parse(self, head: bytes) -> ClientResponse | Violation:
        lines = [line.removesuffix(b"\r") for line in head.split(b"\n")][:-2]
        status = _STATUS_LINE.fullmatch(lines[0]) if lines else None
        if status is None:
            return _malformed(f"invalid status line {bytes(lines[0][:80]) if lines else b''!r}")
        fields: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line[:1] in (b" ", b"\t"):
                if not fields:
                    return _malformed(f"a folded line before any header: {line[:80]!r}")
                previous, value = fields[-1]
                fields[-1] = (previous, f"{value} {line.decode('latin-1').strip(_OWS)}".strip())
                continue
            raw_name, colon, raw_value = line.partition(b":")
            if not colon or not _TOKEN.fullmatch(raw_name):
                return _malformed(f"invalid header line {line[:80]!r}")
            fields.append((raw_name.decode("ascii"), raw_value.decode("latin-1").strip(_OWS)))
        version, code, reason = status.groups()
        return ClientResponse(
            int(code),
            (reason or b"").decode("latin-1"),
            version.decode("ascii"),
            Headers(fields),
            head,
        )


# -- Checking the response ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientHandshake:
    """What the server's answer means for the client, and the rules it broke.

    Attributes:
        subprotocol: The subprotocol the server chose (``None``: none).
        extensions: The ``Sec-WebSocket-Extensions`` value answered, as written (several
            lines joined with ``", "``), or ``None``.
        deflate: The permessage-deflate parameters in force, or ``None``.
        problems: Each rule of RFC 6455 section 4.1 (client steps 1-6) and RFC 7692 the
            answer broke, as a sentence; empty when the handshake is correct.
    """

    subprotocol: str | None = None
    extensions: str | None = None
    deflate: DeflateParams | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the answer broke no rule: the connection is open."""
        return not self.problems


def check_response(
    response: ClientResponse,
    *,
    key: str,
    subprotocols: Sequence[str],
    offered_deflate: bool,
) -> ClientHandshake:
    """Judge the server's answer as RFC 6455 section 4.1 tells a client to (steps 1-6).

    Args:
        response: The parsed answer.
        key: The ``Sec-WebSocket-Key`` the client sent.
        subprotocols: The subprotocols the client offered.
        offered_deflate: Whether the client offered permessage-deflate (`offer_deflate`).

    Returns:
        The negotiated subprotocol and extensions, and every rule broken. A status other
        than 101 is the only problem listed (the other rules are about a 101).
    """
    headers = response.headers
    if response.status != 101:
        reason = f" {response.reason}" if response.reason else ""
        return ClientHandshake(
            problems=[
                f"the server answered {response.status}{reason}, not 101 Switching Protocols "
                f"({_CLIENT_RFC}, step 1)"
            ]
        )
    problems: list[str] = []
    upgrade = headers.get_all("Upgrade")
    if [token.lower() for token in parse_tokens(upgrade)] != ["websocket"]:
        shown = f"{', '.join(upgrade)!r}" if upgrade else "no Upgrade header"
        problems.append(
            f"the 101 has {shown} where Upgrade: websocket is required ({_CLIENT_RFC}, step 2)"
        )
    connection = headers.get_all("Connection")
    if not any(token.lower() == "upgrade" for token in parse_tokens(connection)):
        shown = f"Connection {', '.join(connection)!r}" if connection else "no Connection header"
        problems.append(
            f"the 101 has {shown}, which lacks the 'Upgrade' token ({_CLIENT_RFC}, step 3)"
        )
    problems += _accept_problems(headers.get_all("Sec-WebSocket-Accept"), key)
    extensions = headers.get_all("Sec-WebSocket-Extensions")
    deflate, extension_problems = _extension_problems(extensions, offered_deflate)
    problems += extension_problems
    chosen, subprotocol_problems = _subprotocol(
        headers.get_all("Sec-WebSocket-Protocol"), subprotocols
    )
    problems += subprotocol_problems
    return ClientHandshake(
        subprotocol=chosen,
        extensions=", ".join(extensions) if extensions else None,
        deflate=deflate,
        problems=problems,
    )


def _accept_problems(values: list[str], key: str) -> list[str]:
    expected = accept_key(key)
    if not values:
        return [f"the 101 has no Sec-WebSocket-Accept header ({_CLIENT_RFC}, step 4)"]
    if len(values) > 1:
        return [
            f"the 101 has {len(values)} Sec-WebSocket-Accept headers {values!r}; it must have "
            f"exactly one ({_CLIENT_RFC}, step 4)"
        ]
    if values[0].strip(_OWS) != expected:
        return [
            f"wrong Sec-WebSocket-Accept {values[0]!r}: the key sent gives {expected!r} "
            f"({_CLIENT_RFC}, step 4)"
        ]
    return []


def _extension_problems(
    values: list[str], offered_deflate: bool
) -> tuple[DeflateParams | None, list[str]]:
    problems: list[str] = []
    deflate: DeflateParams | None = None
    answers = parse_extensions(values)
    for answer in answers:
        if answer.name.lower() != "permessage-deflate" or not offered_deflate:
            problems.append(
                f"the 101 accepts the extension {answer.name!r}, which the client did not "
                f"offer ({_CLIENT_RFC}, step 5)"
            )
            continue
        if deflate is not None:
            problems.append(
                f"the 101 accepts permessage-deflate more than once ({_CLIENT_RFC}, step 5)"
            )
            continue
        checked = check_deflate_answer(answer)
        if isinstance(checked, str):
            problems.append(checked)
        else:
            deflate = checked
    if problems:
        deflate = None
    return deflate, problems


def _subprotocol(values: list[str], offered: Sequence[str]) -> tuple[str | None, list[str]]:
    chosen = parse_tokens(values)
    if not chosen:
        return None, []
    if len(chosen) > 1:
        return None, [
            f"the 101 selects {len(chosen)} subprotocols {list(chosen)!r}; a server selects at "
            f"most one ({_CLIENT_RFC}, step 6)"
        ]
    if chosen[0] not in offered:
        what = f"offered {list(offered)!r}" if offered else "offered none"
        return None, [
            f"the 101 selects the subprotocol {chosen[0]!r}, but the client {what} "
            f"({_CLIENT_RFC}, step 6)"
        ]
    return chosen[0], []


# -- A refusal's body ---------------------------------------------------------------------

#: How a response's body is delimited (RFC 9112 section 6.3).
BodyFraming = tuple[Literal["length"], int] | tuple[Literal["chunked", "close"], None]


def body_framing(response: ClientResponse) -> BodyFraming:
    """How the body after a (non-101) response head ends: a length, chunked, or at close.

    A 1xx, 204 or 304 answer has no body (``("length", 0)``).
    """
    status = response.status
    if status < 200 or status in (204, 304):
        return ("length", 0)
    codings = [
        token.lower() for token in parse_tokens(response.headers.get_all("Transfer-Encoding"))
    ]
    if codings and codings[-1] == "chunked":
        return ("chunked", None)
    length = response.headers.get("Content-Length")
    if length is not None and length.strip(_OWS).isdigit():
        return ("length", int(length))
    return ("close", None)


def dechunk(data: bytes) -> bytes | None:
    """Decode a chunked body (RFC 9112 section 7.1); ``None`` while it is incomplete.

    Chunk extensions and trailers are skipped; a malformed chunk size ends the body where
    it stands (a refusal's body is shown, not trusted).
    """
    body = bytearray()
    offset = 0
    while True:
        line_end = data.find(b"\n", offset)
        if line_end < 0:
            return None
        size_text = data[offset:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return bytes(body)
        if size == 0:
            return bytes(body) if data.find(b"\n", line_end + 1) >= 0 else None
        start = line_end + 1
        if len(data) < start + size + 1:
            return None
        body += data[start : start + size]
        offset = start + size
        offset = data.find(b"\n", offset)
        if offset < 0:
            return None
        offset += 1
