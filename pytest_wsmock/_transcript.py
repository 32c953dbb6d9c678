"""The transcript: a readable account of a server's connections, for failure reports.

Much of what it shows comes from the client under test (header values, paths, subprotocols,
close reasons, notes that quote them), and the report goes to a terminal. So every piece of
text is passed through :func:`clean`, which escapes what a terminal would act on (``ESC``
sequences that recolour, retitle or clear it, bidi overrides that reorder a line), and the
values of credential headers are masked by :func:`mask_credential` unless the server's
``show_credentials`` option asks for them: CI logs are often readable by more people than the
tokens they would leak.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from ._protocol import Request, Violation
from ._records import CloseInfo, Direction, Frame, HandshakeResponse, Message, preview


class Connection(Protocol):
    """What the transcript reads of a connection record."""

    @property
    def label(self) -> str: ...
    @property
    def peer(self) -> tuple[str, int]: ...
    @property
    def tls_error(self) -> str | None: ...
    @property
    def request(self) -> Request | None: ...
    @property
    def response(self) -> HandshakeResponse | None: ...
    @property
    def frames(self) -> list[Frame]: ...
    @property
    def accepted_at(self) -> float: ...
    @property
    def messages(self) -> list[Message]: ...
    @property
    def close(self) -> CloseInfo | None: ...
    @property
    def violations(self) -> list[Violation]: ...
    @property
    def notes(self) -> list[str]: ...
    @property
    def script_failure(self) -> str | None: ...


class Server(Protocol):
    """What the transcript reads of a server."""

    @property
    def connections(self) -> Sequence[Connection]: ...
    @property
    def url(self) -> str: ...
    @property
    def notes(self) -> list[str]: ...
    @property
    def show_credentials(self) -> bool: ...


_ARROW = {Direction.CLIENT: "client -> server", Direction.SERVER: "server -> client"}

#: At most this many frames per connection are listed; the rest are counted.
MAX_FRAMES = 200

#: Header fields whose values are credentials (lower case): masked unless show_credentials.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


def clean(text: str) -> str:
    """``text`` with every non-printable character escaped as Python writes it (``\\x1b``).

    Printable text, non-ASCII letters included, is kept as it is. Backslashes are not
    doubled: the transcript is for reading, and notes already quote payloads with ``repr``.
    """
    if text.isprintable():
        return text  # the common case, checked in C
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


def clean_lines(text: str) -> str:
    """:func:`clean` line by line, for text whose line breaks are the server's own layout."""
    return "\n".join(clean(line) for line in text.split("\n"))


def _hidden(secret: str) -> str:
    return f"***({len(secret)} chars)"


def _mask_cookie(pair: str) -> str:
    # A cookie's name is not a secret, and tells the reader which cookie was sent.
    name, equals, value = pair.strip().partition("=")
    return f"{name}={_hidden(value)}" if equals else _hidden(name)


def mask_credential(name: str, value: str) -> str:
    """The value of header ``name`` as a report shows it: credentials masked, keeping what
    helps debugging (the auth scheme, cookie names and Set-Cookie attributes) and the length.

    ``Authorization: Bearer ***(43 chars)``, ``Cookie: session=***(32 chars); theme=***(4
    chars)``. Other headers come back unchanged.
    """
    lowered = name.lower()
    if lowered not in CREDENTIAL_HEADERS or not value:
        return value
    if lowered == "cookie":
        return "; ".join(_mask_cookie(pair) for pair in value.split(";"))
    if lowered == "set-cookie":
        pair, semicolon, attributes = value.partition(";")
        return _mask_cookie(pair) + semicolon + attributes
    # RFC 9110 section 11.4: credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
    scheme, space, secret = value.partition(" ")
    return f"{scheme} {_hidden(secret)}" if space and secret else _hidden(value)


def _header_lines(
    prefix: str, headers: Iterable[tuple[str, str]], show_credentials: bool
) -> list[str]:
    lines = []
    for name, value in headers:
        shown = value if show_credentials else mask_credential(name, value)
        lines.append(f"{prefix}{clean(name)}: {clean(shown)}")
    return lines


def render_frame(frame: Frame, start: float) -> str:
    """``+0.0012s  client -> server  TEXT    fin masked      5 B  'hello'``."""
    return (
        f"+{frame.time - start:.4f}s  {_ARROW[frame.direction]}  {frame.opcode_name:<12} "
        f"{frame.flags():<22} {len(frame.payload):>7} B  {preview(frame.payload)}"
    )


def render_frames(
    frames: Sequence[Frame], messages: Sequence[Message], start: float, indent: str
) -> list[str]:
    """One line per frame; a message that was compressed or fragmented is shown whole, decoded,
    after its last frame (its time is that frame's)."""
    whole = {(m.direction, m.time): m for m in messages if m.compressed or m.frames > 1}
    lines = []
    for frame in frames:
        lines.append(indent + render_frame(frame, start))
        message = whole.get((frame.direction, frame.time)) if frame.fin else None
        if message is not None and frame.opcode < 8:
            lines.append(f"{indent}{'':>9}= {message!r}")
    return lines


def render_connection(conn: Connection, *, show_credentials: bool = False) -> str:
    """Everything recorded about one connection: request, response, frames, close, problems.

    Text from the client is escaped, and credential header values are masked unless
    ``show_credentials``.
    """
    lines = [clean(f"{conn.label} from {conn.peer[0]}:{conn.peer[1]}")]
    if conn.tls_error:
        lines.append(f"  TLS handshake failed: {clean_lines(conn.tls_error)}")
    request = conn.request
    if request is None:
        lines.append("  no handshake request was read")
    else:
        lines.append(clean(f"  > {request.method} {request.target} {request.http_version}"))
        lines += _header_lines("  >   ", request.headers, show_credentials)
    response = conn.response
    if response is None:
        if request is not None:
            lines.append("  the server wrote no handshake response")
    else:
        status_line = response.raw.split(b"\r\n", 1)[0].decode("latin-1")
        lines.append(f"  < {clean(status_line)}")
        lines += _header_lines("  <   ", response.headers, show_credentials)
        if response.body:
            lines.append(f"  <   (body) {preview(response.body, 120)}")
    frames = conn.frames
    lines += render_frames(frames[:MAX_FRAMES], conn.messages, conn.accepted_at, "  ")
    if len(frames) > MAX_FRAMES:
        lines.append(f"  ... and {len(frames) - MAX_FRAMES} more frames")
    lines.append(f"  close: {clean(str(conn.close))}" if conn.close else "  still open")
    lines += [f"  violation: {clean_lines(str(violation))}" for violation in conn.violations]
    lines += [f"  note: {clean_lines(note)}" for note in conn.notes]
    if conn.script_failure:
        lines.append(f"  script failed: {clean_lines(conn.script_failure)}")
    return "\n".join(lines)


def render_server(server: Server) -> str:
    """The transcript of every connection of one server (credentials masked unless its
    ``show_credentials`` option is on)."""
    connections = server.connections
    show = server.show_credentials
    head = f"{server.url}: {len(connections)} connection(s)" + render_http_requests(server)
    head += "".join(f"\n  server note: {clean_lines(note)}" for note in server.notes)
    if not connections:
        return head + "; no client connected"
    return "\n".join(
        [head, *(render_connection(conn, show_credentials=show) for conn in connections)]
    )


def render_http_requests(server: object) -> str:
    """The plain-HTTP requests a server answered (``""`` for none, or a server without)."""
    requests: Sequence[object] = getattr(server, "http_requests", ())
    if not requests:
        return ""
    lines = "".join(f"\n  http #{n}: {clean(str(request))}" for n, request in enumerate(requests))
    return f", {len(requests)} plain HTTP request(s){lines}"
