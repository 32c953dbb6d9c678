"""The opening of one connection: TLS, the handshake request, and the outcome's answer.

Everything here writes the record before the bytes it describes leave (the response is in
``conn.response`` before the client can read its 101), and ends a connection that does not open
through the state machine's ``REFUSED`` transition.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Sequence
from typing import Protocol

import anyio
from anyio.abc import ByteStream, SocketAttribute
from anyio.streams.tls import TLSStream

from ._connection import ConnectionRecord
from ._fastio import WriteStalled
from ._handshakes import Handshake
from ._http import is_plain_http, read_body
from ._options import ServerOptions
from ._protocol import (
    ConnectionState,
    DeflateParams,
    Headers,
    Outcome,
    PerMessageDeflate,
    Request,
    RequestParser,
    StateEvent,
    Violation,
    build_response,
    check_request,
    negotiate_deflate,
    parse_extensions,
    reason_phrase,
)
from ._records import HandshakeResponse
from ._routes import Behaviour, Prepare
from ._steps import Step
from ._tls import TlsFault

RECEIVE_SIZE = 65536


class _Host(Protocol):
    @property
    def url(self) -> str: ...

    def tls_context(self) -> ssl.SSLContext: ...

    def early_behaviour(self, record: ConnectionRecord) -> Behaviour | None: ...

    def answer_http(
        self, request: Request, body: bytes, problem: tuple[int, str] | None
    ) -> bytes: ...


class Opening(Protocol):
    """What opening a connection needs from its engine (the engine implements it)."""

    @property
    def host(self) -> _Host: ...

    options: ServerOptions
    record: ConnectionRecord
    machine: ConnectionState
    stream: ByteStream
    outcome: Handshake
    prepare: Prepare | None
    steps: tuple[Step, ...] | None
    deflate: PerMessageDeflate | None
    unparsed: int
    write_lock: anyio.Lock

    plain_http: bool

    def note(self, text: str) -> None: ...

    def adopt(self, behaviour: Behaviour) -> None: ...

    def choose(self, request: Request | None) -> None: ...

    async def act(self, outcome: Outcome) -> None: ...

    async def tls_failed(self, exc: ssl.SSLError) -> None: ...

    async def abort(self, *, reset: bool = False) -> None: ...


async def open_connection(engine: Opening) -> bytes | None:
    """TLS (when on), then the opening handshake; the bytes after the request head when the
    connection is now open, or ``None`` when it is not (the connection is then ending).

    What the connection does is chosen once its request is parsed (``engine.choose``), which
    lists it as a WebSocket connection; one that ends before a complete request is listed
    then, before the server writes anything more."""
    if engine.options.tls and not await _tls_handshake(engine):
        engine.choose(None)
        return None
    return await _opening_handshake(engine)


# -- TLS ------------------------------------------------------------------------------------------


async def _tls_handshake(engine: Opening) -> bool:
    options = engine.options
    if options.tls_fault is TlsFault.CLOSE_DURING_HANDSHAKE:
        # Take the client's first TLS bytes (its ClientHello), then close TCP.
        with anyio.move_on_after(options.handshake_timeout):
            with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
                await engine.stream.receive(RECEIVE_SIZE)
        engine.record.record_tls_error("tls_fault close-during-handshake: the server closed TCP")
        engine.note("tls_fault close-during-handshake: read the ClientHello, closed TCP")
        engine.record.handshake_handled()
        return False
    try:
        with anyio.fail_after(options.handshake_timeout):
            engine.stream = await TLSStream.wrap(
                engine.stream,
                server_side=True,
                ssl_context=engine.host.tls_context(),
                standard_compatible=False,
            )
    except TimeoutError:
        engine.record.record_tls_error(
            f"the client did not finish the TLS handshake within "
            f"{options.handshake_timeout} s (handshake_timeout)"
        )
        return False
    except anyio.ClosedResourceError:
        return False  # the server closed it (send_close, teardown)
    except (ssl.SSLError, OSError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
        why = str(exc.__cause__ or exc)
        reset = isinstance(exc, (ConnectionResetError, anyio.BrokenResourceError)) or isinstance(
            exc.__cause__, ConnectionResetError
        )
        if not why:
            # asyncio clients that refuse the certificate just close, without an alert.
            why = (
                "the client closed TCP during the TLS handshake without a TLS alert "
                "(a client that does not accept the server's certificate may do that)"
            )
        engine.record.record_tls_error(why)
        if "reset by peer" in why or reset:
            # The client reset the connection: the record says so, not "closed by server".
            await engine.act(engine.machine.client_ended_tcp(reset=True))
        return False
    return True


# -- the opening handshake --------------------------------------------------------------------


async def _opening_handshake(engine: Opening) -> bytes | None:
    options = engine.options
    early = engine.host.early_behaviour(engine.record)
    if early is not None:
        # An outcome that acts before the request is read: it cannot wait for the request.
        engine.adopt(early)
        engine.note("handshake outcome close-before-request: closed TCP before reading")
        await _refuse(engine)
        return None
    parser = RequestParser(max_head=options.max_header_size)
    result: Request | Violation | None = None
    with anyio.move_on_after(options.handshake_timeout):
        while result is None:
            try:
                data = await engine.stream.receive(RECEIVE_SIZE)
            except anyio.ClosedResourceError:
                return None  # the server closed it (send_close, teardown): the record says so
            except (anyio.EndOfStream, anyio.BrokenResourceError) as exc:
                reset = isinstance(exc, anyio.BrokenResourceError)
                engine.choose(None)
                engine.note(
                    "the client closed TCP before sending a complete handshake request"
                    + (" (reset)" if reset else "")
                )
                engine.record.handshake_handled()
                await engine.act(engine.machine.client_ended_tcp(reset=reset))
                return None
            result = parser.feed(data)
    if result is None:
        engine.choose(None)
        engine.note(
            f"no complete handshake request within {options.handshake_timeout} s "
            f"(handshake_timeout); the server closed the connection"
        )
        engine.record.handshake_handled()
        return None
    if isinstance(result, Violation):
        engine.choose(None)
        engine.record.violation(result)
        await _reject(engine, result.status or 400, [result])
        return None
    request = result
    if is_plain_http(request):
        await _serve_http(engine, request, parser.trailing)
        return None
    engine.record.record_request(request)
    engine.choose(request)
    violations = check_request(request, port=_local_port(engine), tls=options.tls)
    if violations:
        for violation in violations:
            engine.record.violation(violation)
        status = 426 if any(v.status == 426 for v in violations) else 400
        await _reject(engine, status, violations)
        return None
    outcome = _check_origin(engine, request, engine.outcome)
    if engine.prepare is not None and outcome.accepts:
        outcome = await engine.prepare(request)
    if not await _carry_out(engine, request, outcome):
        return None
    return parser.trailing


async def _serve_http(engine: Opening, request: Request, trailing: bytes) -> None:
    """A plain-HTTP request: no WebSocket connection (never listed). Read its body, let the
    host record and answer it, write the answer, then close like a refused handshake."""
    engine.plain_http = True
    options = engine.options
    body, problem = await read_body(
        engine.stream,
        request,
        trailing,
        limit=options.max_message_size,
        timeout=options.handshake_timeout,
    )
    raw = engine.host.answer_http(request, body, problem)  # recorded before it is written
    await _write(engine, raw, Handshake())
    await _refuse(engine)


def _local_port(engine: Opening) -> int | None:
    """The port the client connected to, for the Host check (RFC 6455 section 4.1)."""
    try:
        return int(engine.stream.extra(SocketAttribute.local_port))
    except Exception:  # no socket under this stream (never in practice): skip the check
        return None


def _check_origin(engine: Opening, request: Request, outcome: Handshake) -> Handshake:
    if outcome.allowed_origins is None:
        return outcome
    allowed = request.origin is not None and request.origin in outcome.allowed_origins
    engine.record.record_origin(allowed)
    if allowed:
        return outcome
    # RFC 6455 section 4.2.2 and 10.2: refuse an origin we do not trust with 403.
    shown = "no Origin header" if request.origin is None else f"Origin {request.origin!r}"
    return Handshake.reject(
        403, body=f"{shown} is not in the allow-list {list(outcome.allowed_origins)}\n"
    ).named("forbidden-origin")


def _needs_no_deflate(steps: Sequence[Step] | None) -> Step | None:
    """The first step of the connection's script that needs deflate off, if any."""
    return next((step for step in steps or () if step.needs_no_deflate), None)


async def _carry_out(engine: Opening, request: Request, outcome: Handshake) -> bool:
    """Write what ``outcome`` says; True when the connection is now open."""
    if outcome.action == "close-after-request":
        engine.note("handshake outcome close-after-request: closed TCP (FIN), no response")
        await _refuse(engine)
        return False
    if outcome.action == "reset-after-request":
        engine.note("handshake outcome reset-after-request: reset TCP (RST), no response")
        engine.record.handshake_handled()
        await engine.abort(reset=True)
        return False
    if outcome.action == "never-respond":
        engine.note("handshake outcome never-respond: read the request, answered nothing")
        engine.record.handshake_handled()
        await _read_until_eof(engine)
        return False
    if outcome.delay:
        await anyio.sleep(outcome.delay)
    if outcome.action == "garbage":
        engine.note(f"handshake outcome garbage: wrote {outcome.garbage!r}, then closed")
        engine.record.handshake_handled()
        await _write(engine, outcome.garbage, outcome)
        await _refuse(engine)
        return False
    subprotocol = next((p for p in request.subprotocols if p in engine.options.subprotocols), None)
    params = None
    if engine.options.deflate:
        needs_off = _needs_no_deflate(engine.steps)
        params = negotiate_deflate(
            request.extensions,
            keep_client_no_context_takeover=engine.options.deflate_client_no_context_takeover,
        )
        if params is not None and needs_off is not None:
            # The script needs this connection without deflate (RSV1 is legal with it):
            # decline the client's offer rather than fail the step.
            engine.note(
                f"declined the client's permessage-deflate offer: the script's step "
                f"{needs_off.describe()} needs a connection without it"
            )
            params = None
    rendered = outcome.render(
        request,
        auto_subprotocol=subprotocol,
        auto_extensions=params.header_value() if params else None,
        base_url=engine.host.url,
    )
    raw = build_response(
        rendered.status,
        rendered.reason,
        rendered.headers,
        rendered.body,
        http_version=rendered.http_version,
    )
    if outcome.truncate_at is not None:
        engine.note(f"wrote {outcome.truncate_at} of {len(raw)} response bytes, then closed")
        engine.record.handshake_handled()
        await _write(engine, raw[: outcome.truncate_at], outcome)
        await _refuse(engine)
        return False
    # Record before the bytes leave: a client holding its 101 finds it in the record.
    response = HandshakeResponse(
        rendered.status, rendered.reason, _written_headers(raw), rendered.body, raw
    )
    engine.record.record_response(
        response, subprotocol=rendered.subprotocol, extensions=rendered.extensions
    )
    if rendered.status != 101:
        await _write(engine, raw, outcome)
        await _refuse(engine)
        return False
    # Open from now on (the record says so), but frames from the test or a close queue behind
    # the 101 on the write lock: a trickled response is never interleaved with a frame.
    async with engine.write_lock:
        engine.deflate = _deflate_for(rendered.extensions)
        await engine.act(engine.machine.handle(StateEvent.OPENED))
        if not outcome.is_correct_for(request):
            # A client that fails a broken answer may drop TCP without a closing handshake.
            await engine.act(engine.machine.deliberate_break())
        await _write(engine, raw, outcome)
    return not engine.machine.ended


async def _write(engine: Opening, data: bytes, outcome: Handshake) -> None:
    """Write handshake bytes, in one piece or trickled as the outcome says."""
    try:
        if outcome.chunk_size is None:
            await engine.stream.send(data)
            return
        for start in range(0, len(data), outcome.chunk_size):
            if start and outcome.chunk_interval:
                await anyio.sleep(outcome.chunk_interval)
            await engine.stream.send(data[start : start + outcome.chunk_size])
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError, WriteStalled):
        engine.note("writing the handshake response failed: the client is gone")
        await engine.act(engine.machine.client_ended_tcp(reset=True))


async def _reject(engine: Opening, status: int, violations: list[Violation]) -> None:
    body = "".join(f"{v}\n" for v in violations).encode()
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")]
    if status == 426:
        # RFC 6455 section 4.4: tell the client which versions we speak.
        headers.append(("Sec-WebSocket-Version", "13"))
    reason = reason_phrase(status)
    raw = build_response(status, reason, headers, body)
    engine.record.record_response(
        HandshakeResponse(status, reason, _written_headers(raw), body, raw)
    )
    await _write(engine, raw, Handshake())
    await _refuse(engine)


async def _refuse(engine: Opening) -> None:
    """The handshake ended without opening: half-close, then read and drop bytes until the
    client's FIN, for at most close_timeout."""
    engine.record.handshake_handled()
    await engine.act(engine.machine.handle(StateEvent.REFUSED))
    with anyio.move_on_after(engine.options.close_timeout):
        await _read_until_eof(engine)


async def _read_until_eof(engine: Opening) -> None:
    try:
        while True:
            engine.unparsed += len(await engine.stream.receive(RECEIVE_SIZE))
    except anyio.EndOfStream:
        await engine.act(engine.machine.client_ended_tcp(reset=False))
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        await engine.act(engine.machine.client_ended_tcp(reset=True))
    except ssl.SSLError as exc:
        await engine.tls_failed(exc)


def _written_headers(raw: bytes) -> Headers:
    """The headers of a response we built, read back from its bytes: what was really written."""
    head = raw.partition(b"\r\n\r\n")[0]
    items = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        items.append((name, value.strip()))
    return Headers(items)


def _deflate_for(extensions: str | None) -> PerMessageDeflate | None:
    """The compression our side uses after answering with ``extensions`` (best effort for
    deliberately odd answers: unknown or invalid parameters are ignored)."""
    if not extensions:
        return None
    offers = parse_extensions([extensions])
    if not offers or offers[0].name != "permessage-deflate":
        return None
    values = dict(offers[0].params)

    def bits(name: str) -> int | None:
        value = values.get(name)
        return int(value) if value and value.isdigit() and 8 <= int(value) <= 15 else None

    return PerMessageDeflate(
        DeflateParams(
            server_no_context_takeover="server_no_context_takeover" in values,
            client_no_context_takeover="client_no_context_takeover" in values,
            server_max_window_bits=bits("server_max_window_bits"),
            client_max_window_bits=bits("client_max_window_bits"),
        )
    )
