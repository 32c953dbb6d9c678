"""Plain HTTP on the WebSocket port: telling a plain request from a handshake, reading its body.

A request with none of the WebSocket upgrade headers (no ``Upgrade``, no ``Sec-WebSocket-Key``,
no ``Sec-WebSocket-Version``) is plain HTTP: the calls clients make before they connect (a
URL-issuing endpoint, SignalR's ``negotiate``). One with some but not all of them stays a
WebSocket handshake, checked and refused as such.
"""

from __future__ import annotations

import anyio
from anyio.abc import ByteStream

from ._protocol import Request

__all__ = ["is_plain_http", "read_body"]

RECEIVE_SIZE = 65536
_UPGRADE_HEADERS = ("Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version")


def is_plain_http(request: Request) -> bool:
    """Whether ``request`` has none of the WebSocket upgrade headers."""
    return all(request.headers.get(name) is None for name in _UPGRADE_HEADERS)


async def read_body(
    stream: ByteStream, request: Request, trailing: bytes, *, limit: int, timeout: float
) -> tuple[bytes, tuple[int, str] | None]:
    """The request's body (its ``Content-Length`` bytes, ``trailing`` first), and
    ``(status, why)`` when it cannot be read: chunked (411), too large for ``limit`` (413),
    a bad length (400), or not all there within ``timeout`` (408)."""
    if request.headers.get("Transfer-Encoding") is not None:
        return b"", (
            411,
            "Transfer-Encoding request bodies are not supported by the mock: send the body "
            "with Content-Length",
        )
    length_text = request.headers.get("Content-Length")
    if length_text is None:
        return b"", None
    if not length_text.strip().isdigit():
        return b"", (400, f"invalid Content-Length {length_text!r}")
    length = int(length_text)
    if length > limit:
        return b"", (413, f"a body of {length} bytes is over max_message_size ({limit})")
    body = bytearray(trailing[:length])
    expect = (request.headers.get("Expect") or "").lower() == "100-continue"
    if expect and len(body) < length:
        # RFC 9110 section 10.1.1: the client waits for this before it sends the body.
        try:
            await stream.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            return bytes(body), (400, "the client left before sending its body")
    with anyio.move_on_after(timeout):
        try:
            while len(body) < length:
                body += await stream.receive(RECEIVE_SIZE)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            return bytes(body), (400, f"the client ended after {len(body)} of {length} bytes")
        return bytes(body[:length]), None
    return bytes(body), (
        408,
        f"only {len(body)} of {length} body bytes came within {timeout} s (handshake_timeout)",
    )
