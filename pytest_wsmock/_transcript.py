"""The transcript: a readable account of a server's connections, for failure reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._records import Direction, Frame, Message, preview

if TYPE_CHECKING:
    from ._connection import ConnectionRecord as Connection
    from ._server import MockServer

_ARROW = {Direction.CLIENT: "client -> server", Direction.SERVER: "server -> client"}

#: At most this many frames per connection are listed; the rest are counted.
MAX_FRAMES = 200


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


def render_connection(conn: Connection) -> str:
    """Everything recorded about one connection: request, response, frames, close, problems."""
    lines = [f"{conn.label} from {conn.peer[0]}:{conn.peer[1]}"]
    if conn.tls_error:
        lines.append(f"  TLS handshake failed: {conn.tls_error}")
    request = conn.request
    if request is None:
        lines.append("  no handshake request was read")
    else:
        lines.append(f"  > {request.method} {request.target} {request.http_version}")
        lines += [f"  >   {name}: {value}" for name, value in request.headers]
    response = conn.response
    if response is None:
        if request is not None:
            lines.append("  the server wrote no handshake response")
    else:
        status_line = response.raw.split(b"\r\n", 1)[0].decode("latin-1")
        lines.append(f"  < {status_line}")
        lines += [f"  <   {name}: {value}" for name, value in response.headers]
        if response.body:
            lines.append(f"  <   (body) {preview(response.body, 120)}")
    frames = conn.frames
    lines += render_frames(frames[:MAX_FRAMES], conn.messages, conn.accepted_at, "  ")
    if len(frames) > MAX_FRAMES:
        lines.append(f"  ... and {len(frames) - MAX_FRAMES} more frames")
    lines.append(f"  close: {conn.close}" if conn.close else "  still open")
    lines += [f"  violation: {violation}" for violation in conn.violations]
    lines += [f"  note: {note}" for note in conn.notes]
    if conn.script_failure:
        lines.append(f"  script failed: {conn.script_failure}")
    return "\n".join(lines)


def render_server(server: MockServer) -> str:
    """The transcript of every connection of one server."""
    connections = server.connections
    head = f"{server.url}: {len(connections)} connection(s)"
    head += "".join(f"\n  server note: {note}" for note in server.notes)
    if not connections:
        return head + "; no client connected"
    return "\n".join([head, *(render_connection(conn) for conn in connections)])
