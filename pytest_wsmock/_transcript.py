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

from ._preview import (
    DEFAULT_PREVIEW,
    clean,
    inflate,
    show_control,
    show_data,
    show_raw,
    without_frames,
)
from ._protocol import Opcode, Request, Violation
from ._records import CloseInfo, Direction, Frame, HandshakeResponse, Message

__all__ = [
    "CREDENTIAL_HEADERS",
    "MAX_FRAMES",
    "clean",
    "clean_lines",
    "mask_credential",
    "render_connection",
    "render_frames",
    "render_server",
]


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


Arrows = dict[Direction, str]
_ARROW: Arrows = {Direction.CLIENT: "client -> server", Direction.SERVER: "server -> client"}
#: A relayed connection's upstream leg: the proxy is the client there.
_UPSTREAM_ARROW: Arrows = {
    Direction.CLIENT: "proxy -> upstream",
    Direction.SERVER: "upstream -> proxy",
}

#: At most this many frames per connection are listed; the rest are counted.
MAX_FRAMES = 200

#: Header fields whose values are credentials (lower case): masked unless show_credentials.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


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


def _head(frame: Frame, start: float, arrows: Arrows) -> str:
    return (
        f"+{frame.time - start:.4f}s  {arrows[frame.direction]}  {frame.opcode_name:<12} "
        f"{frame.flags():<22}"
    )


def _owners(
    frames: Sequence[Frame], messages: Sequence[Message]
) -> dict[int, tuple[Message, list[int]]]:
    """Which recorded message each data frame carried (and the indices of all the frames
    that carried it), by the frame's index.

    A message's time is its last frame's (the client's), or a moment before its last frame
    left (the server's: the message is recorded just before): so a message belongs to the
    first final data frame, in its direction, not before it. Frames that carried no message
    (refused, broken, cut off) keep no owner and are shown as they were.
    """
    queues = {d: [m for m in messages if m.direction is d] for d in Direction}
    taken = dict.fromkeys(Direction, 0)
    runs: dict[Direction, list[int] | None] = dict.fromkeys(Direction)
    owners: dict[int, tuple[Message, list[int]]] = {}
    for index, frame in enumerate(frames):
        if frame.is_control:
            continue
        side = frame.direction
        run = runs[side]
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            run = [index]
        elif frame.opcode == Opcode.CONTINUATION and run is not None:
            run.append(index)
        else:
            run = None  # a reserved opcode, or a continuation of nothing
        runs[side] = None if frame.fin else run
        if not frame.fin:
            continue
        queue, first = queues[side], taken[side]
        last = first
        while last < len(queue) and queue[last].time <= frame.time:
            last += 1
        taken[side] = last
        if last == first or run is None:
            continue
        message = queue[last - 1]
        if message.opcode == frames[run[0]].opcode and message.frames == len(run):
            owners.update(dict.fromkeys(run, (message, run)))
    return owners


def _whole(message: Message, wire: int, limit: int) -> str:
    """``56 B (deflate, 41 B on the wire)  {"a":1}``: a message's size and data."""
    deflate = f" (deflate, {wire} B on the wire)" if message.compressed else ""
    return f"{len(message.data):>7} B{deflate}  {show_data(message.data, message.is_text, limit)}"


def _alone(frame: Frame, limit: int) -> str:
    """A frame that carried no recorded message, as it was. A compressed one is also shown
    inflated on its own when that works: a guess (it may be no deflate data at all, or refer
    to earlier messages' context), so the wire bytes come first."""
    raw = f"{len(frame.payload):>7} B  {show_raw(frame.payload, limit)}"
    if frame.rsv1 and frame.fin and frame.opcode in (Opcode.TEXT, Opcode.BINARY):
        data = inflate(frame.payload)
        if data is not None:
            shown = show_data(data, frame.opcode == Opcode.TEXT, limit)
            return f"{raw}  (inflated alone: {len(data)} B {shown})"
    return raw


def _fragment(
    frame: Frame,
    index: int,
    owner: tuple[Message, list[int]],
    head: str,
    indent: str,
    frames: Sequence[Frame],
    limit: int,
) -> list[str]:
    """A frame of a message in several: its own payload (or which part it is, when the
    message is compressed), then, after the last one, the whole message."""
    message, run = owner
    if message.compressed:
        shown = f"(compressed, part {run.index(index) + 1} of {len(run)})"
    else:
        shown = show_raw(frame.payload, limit)
    lines = [f"{head} {len(frame.payload):>7} B  {shown}"]
    if index == run[-1]:
        wire = sum(len(frames[i].payload) for i in run)
        kind = "text" if message.is_text else "binary"
        whole = _whole(message, wire, limit).lstrip()
        lines.append(f"{indent}{'':>9}= {kind} in {len(run)} frames: {whole}")
    return lines


def render_frames(
    frames: Sequence[Frame],
    messages: Sequence[Message],
    start: float,
    indent: str,
    *,
    first: int = 0,
    preview: int = DEFAULT_PREVIEW,
    arrows: Arrows = _ARROW,
) -> list[str]:
    """One line per frame from ``frames[first]`` on (the ones before still tell which frame
    carried which message). A message in one frame is shown on its line, decoded (JSON
    compacted, deflate undone, the wire size noted); a message in several frames is shown
    whole after its last frame. ``preview`` caps each payload shown (0: no cap)."""
    owners = _owners(frames, messages)
    lines = []
    for index in range(first, len(frames)):
        frame = frames[index]
        head = indent + _head(frame, start, arrows)
        owner = owners.get(index)
        if frame.is_control:
            shown = show_control(frame.opcode, frame.payload, preview)
            lines.append(f"{head} {len(frame.payload):>7} B  {shown}")
        elif owner is None:
            lines.append(f"{head} {_alone(frame, preview)}")
        elif len(owner[1]) == 1:
            lines.append(f"{head} {_whole(owner[0], len(frame.payload), preview)}")
        else:
            lines += _fragment(frame, index, owner, head, indent, frames, preview)
    return lines


def render_connection(
    conn: Connection,
    *,
    show_credentials: bool = False,
    preview: int = DEFAULT_PREVIEW,
    upstream: float | None = None,
) -> str:
    """Everything recorded about one connection: request, response, frames, close, problems;
    for a relayed connection (one with an ``upstream`` record), its upstream leg after it,
    indented (``upstream``: render ``conn`` as such a leg, its times from this moment, the
    client connection's start, so both legs' times compare).

    Text from the client is escaped, and credential header values are masked unless
    ``show_credentials``. ``preview`` caps each payload shown, in characters (text) or bytes
    (binary); 0 shows payloads whole.
    """
    where = f"{conn.peer[0]}:{conn.peer[1]}"
    if upstream is not None:
        request = conn.request
        what = f" ({request.method} {request.target})" if request else ""
        lines = [clean(f"upstream leg to {where}{what}")]
    else:
        lines = [clean(f"{conn.label} from {where}")]
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
            lines.append(f"  <   (body) {show_raw(response.body, preview)}")
    frames = conn.frames
    arrows, start = (_ARROW, conn.accepted_at) if upstream is None else (_UPSTREAM_ARROW, upstream)
    lines += render_frames(
        frames[:MAX_FRAMES], conn.messages, start, "  ", preview=preview, arrows=arrows
    )
    if len(frames) > MAX_FRAMES:
        lines.append(f"  ... and {len(frames) - MAX_FRAMES} more frames")
    lines.append(f"  close: {clean(str(conn.close))}" if conn.close else "  still open")
    lines += [f"  violation: {clean_lines(str(violation))}" for violation in conn.violations]
    lines += [f"  note: {clean_lines(note)}" for note in conn.notes]
    if conn.script_failure:
        # Without its last frames: they are listed above.
        failure = without_frames(conn.script_failure)
        lines.append(f"  script failed: {clean_lines(failure)}")
    leg: Connection | None = getattr(conn, "upstream", None)  # a relayed connection's
    if leg is not None and upstream is None:
        shown = render_connection(
            leg, show_credentials=show_credentials, preview=preview, upstream=conn.accepted_at
        )
        lines += [f"  {line}" for line in shown.split("\n")]
    return "\n".join(lines)


def render_server(server: Server, *, preview: int = DEFAULT_PREVIEW) -> str:
    """The transcript of every connection of one server (credentials masked unless its
    ``show_credentials`` option is on; payloads cut to ``preview``, 0: whole)."""
    connections = server.connections
    show = server.show_credentials
    head = f"{server.url}: {len(connections)} connection(s)" + render_http_requests(server)
    head += "".join(f"\n  server note: {clean_lines(note)}" for note in server.notes)
    if not connections:
        return head + "; no client connected"
    return "\n".join(
        [
            head,
            *(
                render_connection(conn, show_credentials=show, preview=preview)
                for conn in connections
            ),
        ]
    )


def render_http_requests(server: object) -> str:
    """The plain-HTTP requests a server answered (``""`` for none, or a server without)."""
    requests: Sequence[object] = getattr(server, "http_requests", ())
    if not requests:
        return ""
    lines = "".join(f"\n  http #{n}: {clean(str(request))}" for n, request in enumerate(requests))
    return f", {len(requests)} plain HTTP request(s){lines}"
