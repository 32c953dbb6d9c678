"""Opening the proxy's upstream leg: dial, TLS, the client's opening handshake, its verdict.

Every way it can fail becomes an `UpstreamError` whose ``cause`` says what happened in words
("connection refused by 127.0.0.1:9", "TLS: certificate verify failed: ...", "answered 403
Forbidden", "wrong Sec-WebSocket-Accept ..."), so a proxy can answer its client with it.
"""

from __future__ import annotations

import contextlib
import ssl as ssl_module
import threading
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

import anyio
from anyio.abc import ByteStream

from ._connection import ConnectionRecord
from ._errors import ConfigError, WsmockError
from ._protocol import (
    ClientHandshake,
    ClientResponse,
    Request,
    RequestParser,
    ResponseParser,
    Violation,
    body_framing,
    build_request,
    check_response,
    dechunk,
    new_key,
    offer_deflate,
)
from ._records import CloseInfo, Direction, HandshakeResponse

__all__ = ["MAX_BODY", "Opened", "UpstreamError", "open_upstream", "split_url"]

#: Most bytes of a refusal's body kept.
MAX_BODY = 65536


class UpstreamError(WsmockError):
    """The upstream server could not be reached, or did not open a WebSocket connection.

    Attributes:
        url: The upstream URL.
        cause: What happened, in words: ``"connection refused by 127.0.0.1:9"``,
            ``"TLS: certificate verify failed: ..."``, ``"answered 403 Forbidden"``,
            ``"wrong Sec-WebSocket-Accept ..."``, ``"no answer to the opening handshake
            within 10 s"``.
        status: The upstream's status when it answered with something other than 101.
        response: What it answered, when it answered (a broken 101 too).
        record: The record of the attempt, once TCP was connected (else ``None``).
    """

    __module__ = "pytest_wsmock"

    def __init__(
        self,
        url: str,
        cause: str,
        status: int | None = None,
        response: HandshakeResponse | None = None,
        record: ConnectionRecord | None = None,
    ) -> None:
        super().__init__(url, cause, status, response)
        self.url = url
        self.cause = cause
        self.status = status
        self.response = response
        self.record = record

    def __str__(self) -> str:
        return f"upstream {self.url}: {self.cause}"

    def __reduce__(self) -> tuple[object, ...]:
        # The record holds a lock: it does not travel (to an xdist controller, say).
        return (type(self), (self.url, self.cause, self.status, self.response))


@dataclass(frozen=True)
class Opened:
    """An upstream connection whose 101 was correct, ready for frames."""

    stream: ByteStream
    record: ConnectionRecord
    response: HandshakeResponse
    handshake: ClientHandshake
    trailing: bytes


def split_url(url: str, target: str | None) -> tuple[bool, str, int, str, str]:
    """``(tls, host, port, target, Host header)`` of a ``ws://`` or ``wss://`` URL.

    Raises:
        ConfigError: Not a ws/wss URL with a host, or a bad port.
    """
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    example = "for example 'wss://example.com/feed' or 'ws://127.0.0.1:8765/'"
    if scheme not in ("ws", "wss") or not parts.hostname:
        raise ConfigError(
            f"the upstream URL must be a ws:// or wss:// URL, got {url!r} ({example})"
        )
    try:
        given = parts.port
    except ValueError:
        raise ConfigError(f"the upstream URL {url!r} has an invalid port ({example})") from None
    tls = scheme == "wss"
    default = 443 if tls else 80
    port = given or default
    host = parts.hostname
    if target is None:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    shown = f"[{host}]" if ":" in host else host
    return tls, host, port, target, shown if port == default else f"{shown}:{port}"


def _tls_cause(exc: BaseException) -> str:
    message = getattr(exc, "verify_message", None)
    if message:
        return f"TLS: certificate verify failed: {message}"
    return f"TLS: {getattr(exc, 'reason', None) or exc}"


async def _dial(
    url: str, host: str, port: int, context: ssl_module.SSLContext | None, timeout: float
) -> ByteStream:
    try:
        with anyio.fail_after(timeout):
            if context is None:
                return await anyio.connect_tcp(host, port)
            return await anyio.connect_tcp(
                host, port, ssl_context=context, tls_hostname=host, tls_standard_compatible=False
            )
    except TimeoutError:
        what = "no TCP connection or TLS handshake" if context else "no TCP connection"
        raise UpstreamError(url, f"{what} with {host}:{port} within {timeout} s") from None
    except ssl_module.SSLError as exc:
        raise UpstreamError(url, _tls_cause(exc)) from exc
    except anyio.BrokenResourceError as exc:
        cause = exc.__cause__
        text = _tls_cause(cause) if cause else "TLS: the connection broke during the handshake"
        raise UpstreamError(url, text) from exc
    except OSError as exc:
        inner = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
        if isinstance(inner, ConnectionRefusedError) or "refused" in str(exc).lower():
            raise UpstreamError(url, f"connection refused by {host}:{port}") from exc
        raise UpstreamError(url, f"cannot connect to {host}:{port}: {inner}") from exc


async def open_upstream(
    url: str,
    *,
    target: str | None,
    context: ssl_module.SSLContext | None,
    headers: Sequence[tuple[str, str]],
    subprotocols: Sequence[str],
    deflate: bool,
    timeout: float,
    cond: threading.Condition,
) -> Opened:
    """Connect and run the opening handshake; see ``Upstream.connect``."""
    tls, host, port, target, host_header = split_url(url, target)
    if tls and context is None:
        context = ssl_module.create_default_context()
    deadline = anyio.current_time() + timeout
    stream = await _dial(url, host, port, context if tls else None, timeout)
    record = ConnectionRecord(cond, 0, (host, port))
    try:
        return await _handshake(
            url,
            stream,
            record,
            target,
            host_header,
            (headers, subprotocols, deflate),
            timeout,
            deadline,
        )
    except anyio.get_cancelled_exc_class():
        # Cancelled (the server is stopping): the connection must not outlive the attempt.
        if not record.closed:
            record.note("the attempt was cancelled (the server stopped); closed TCP")
            await _give_up(stream, record, Direction.CLIENT)
        raise


async def _handshake(
    url: str,
    stream: ByteStream,
    record: ConnectionRecord,
    target: str,
    host_header: str,
    offer: tuple[Sequence[tuple[str, str]], Sequence[str], bool],
    timeout: float,
    deadline: float,
) -> Opened:
    """The opening handshake on a connected ``stream``, answered by ``deadline``; see
    ``Upstream.connect``; ``offer`` is the headers, subprotocols and deflate offer."""
    headers, subprotocols, deflate = offer
    key = new_key()
    extensions = offer_deflate() if deflate else None
    try:
        data = build_request(
            target,
            host_header,
            key,
            subprotocols=subprotocols,
            extensions=extensions,
            headers=headers,
        )
    except ValueError as exc:
        await _give_up(stream, record, Direction.CLIENT)
        raise ConfigError(f"cannot build the upstream request for {url!r}: {exc}") from None
    request = RequestParser(max_head=len(data) + 1, max_line=len(data)).feed(data)
    assert isinstance(request, Request)  # we built it
    record.record_request(request)
    parser = ResponseParser()
    answer: ClientResponse | Violation | None = None
    with anyio.CancelScope(deadline=deadline) as scope:
        try:
            await stream.send(data)
            while answer is None:
                answer = parser.feed(await stream.receive())
        except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
            await _give_up(stream, record, Direction.SERVER)
            raise UpstreamError(
                url, "closed the connection before answering the opening handshake", record=record
            ) from None
    if scope.cancelled_caught:
        await _give_up(stream, record, Direction.CLIENT)
        raise UpstreamError(
            url, f"no answer to the opening handshake within {timeout} s", record=record
        )
    if isinstance(answer, Violation):
        await _give_up(stream, record, Direction.CLIENT)
        raise UpstreamError(url, f"answered with a broken response: {answer.detail}", record=record)
    assert answer is not None
    if answer.status != 101:
        body, ended_by = await _read_body(stream, answer, parser.trailing, timeout)
        response = HandshakeResponse(
            answer.status, answer.reason, answer.headers, body, answer.raw + parser.trailing
        )
        record.record_response(response)
        await _give_up(stream, record, ended_by)
        reason = f" {answer.reason}" if answer.reason else ""
        raise UpstreamError(
            url, f"answered {answer.status}{reason}", answer.status, response, record
        )
    response = HandshakeResponse(answer.status, answer.reason, answer.headers, b"", answer.raw)
    handshake = check_response(answer, key=key, subprotocols=subprotocols, offered_deflate=deflate)
    record.record_response(
        response, subprotocol=handshake.subprotocol, extensions=handshake.extensions
    )
    if handshake.problems:
        for problem in handshake.problems:
            record.note(f"the upstream's 101 is broken: {problem}")
        # RFC 6455 section 4.1: the client must fail the connection (no close frame).
        await _give_up(stream, record, Direction.CLIENT)
        raise UpstreamError(url, "; ".join(handshake.problems), None, response, record)
    return Opened(stream, record, response, handshake, parser.trailing)


async def _read_body(
    stream: ByteStream, answer: ClientResponse, trailing: bytes, timeout: float
) -> tuple[bytes, Direction]:
    """A refusal's body (at most `MAX_BODY` bytes, within ``timeout``), and who ended TCP."""
    kind, length = body_framing(answer)
    data = bytearray(trailing)
    ended_by = Direction.CLIENT

    def complete() -> bool:
        if len(data) >= MAX_BODY:
            return True
        if kind == "length":
            return len(data) >= (length or 0)
        return kind == "chunked" and dechunk(bytes(data)) is not None

    with anyio.move_on_after(timeout):
        while not complete():
            try:
                data += await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                ended_by = Direction.SERVER
                break
    body = bytes(data)
    if kind == "chunked":
        body = dechunk(body) or body
    elif kind == "length":
        body = body[: length or 0]
    return body[:MAX_BODY], ended_by


async def _give_up(stream: ByteStream, record: ConnectionRecord, by: Direction) -> None:
    """Close TCP without a closing handshake, and finish the record."""
    with anyio.CancelScope(shield=True), anyio.move_on_after(5), contextlib.suppress(Exception):
        await stream.aclose()
    record.finish(
        CloseInfo(
            initiator=None,
            client_sent=False,
            client_code=None,
            client_reason="",
            server_sent=False,
            server_code=None,
            server_reason="",
            tcp_closed_by=by,
            tcp_end="fin",
        )
    )
