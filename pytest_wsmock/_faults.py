"""Transport faults: TCP going wrong on purpose, as script steps (the ``TRANSPORT_FAULTS``)."""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Literal

from ._errors import ConfigError
from ._handshakes import Handshake
from ._steps import Step
from ._websocket import WebSocket

FaultKind = Literal[
    "drop",
    "reset",
    "half-close",
    "stop-reading",
    "no-close-reply",
    "close-frame-only",
    "close-then-drop",
    "stall",
    "delay-writes",
    "throttle",
    "split-frames",
]


@dataclass(frozen=True, repr=False)
class Fault(Step):
    """A transport fault: a script step that makes TCP misbehave at that point.

    Build one with a named constructor (``Fault.drop()``, ``Fault.reset()``,
    ``Fault.stall(2)``, ...) or take one from ``TRANSPORT_FAULTS``. Put it in a script:
    ``ws_server.script(send_text("hi"), Fault.drop())``. When it fires, the connection's
    :attr:`Connection.notes` (and the transcript) say when and what; what the client did next
    is in the rest of the record (its close frame, its FIN or RST, its next connection).

    Some faults happen once (``drop``, ``reset``, ``half-close``, ``stall``, ...); others
    change the connection from then on (``delay-writes``, ``throttle``, ``split-frames``,
    ``no-close-reply``, ``stop-reading`` without a duration). :attr:`ends_connection` says
    which ones end the connection.

    Attributes:
        id: short name, used as the pytest id.
        description: what the server does.
        kind: which fault.
        seconds: a duration (stall, stop-reading, delay-writes, throttle and split-frames
            intervals); ``None`` for "until the connection ends".
        size: bytes per write (throttle).
        code: the close code (close-frame-only, close-then-drop).
    """

    id: str
    description: str
    kind: FaultKind
    seconds: float | None = None
    size: int = 1
    code: int = 1000

    @property
    def ends_connection(self) -> bool:
        """Whether the connection ends because of this fault, whatever the client does: the
        server closes TCP (``drop``, ``reset``, ``close-then-drop``), or leaves the client
        nothing to do but close (``half-close``: no more bytes will come; ``close-frame-only``:
        the server's close frame). The others slow or hold the connection, which stays open
        (and a script goes on after them)."""
        return self.kind in _ENDING

    def describe(self) -> str:
        return f"Fault.{self.id}"

    async def run(self, ws: WebSocket) -> None:
        transport = ws.transport
        at = time.monotonic() - ws.connection.accepted_at
        transport.note(f"fault {self.id} fired at +{at:.4f}s: the server {self.description}")
        kind = self.kind
        if kind == "drop":
            await transport.abort()
        elif kind == "reset":
            await transport.abort(reset=True)
        elif kind == "close-then-drop":
            # Whatever the client answers is not looked at: the drop follows at once.
            transport.freeze_input()
            await transport.send_close_frame(self.code)
            await transport.abort()
        elif kind == "half-close":
            await transport.half_close()
        elif kind == "close-frame-only":
            await transport.send_close_frame(self.code, keep_tcp_open=True)
        elif kind == "no-close-reply":
            transport.hold_close_reply()
        elif kind == "stop-reading":
            await transport.pause_reading(self.seconds)
        elif kind == "stall":
            # No duration: until the connection ends (the pause ends with it).
            seconds = math.inf if self.seconds is None else self.seconds
            await transport.pause_reading(seconds, block_writes=True)
        elif kind == "delay-writes":
            transport.shape_writes(delay=self.seconds or 0.0)
        elif kind == "throttle":
            transport.shape_writes(chunks=(self.size, self.seconds or 0.0))
        elif kind == "split-frames":
            transport.shape_writes(split_interval=self.seconds or 0.0)

    def named(self, id: str, description: str | None = None) -> Fault:
        """The same fault under another id (and description)."""
        return dataclasses.replace(
            self, id=id, description=self.description if description is None else description
        )

    def as_handshake(self) -> Handshake:
        """This fault during the opening handshake, as a :class:`Handshake` outcome.

        ``ws_server.handshake(Fault.reset())`` does the same as
        ``ws_server.handshake(Handshake.reset_after_request())``. Meaningful for ``drop`` and
        ``half-close`` (FIN after the request, no response), ``reset`` (RST), ``stall`` and
        ``delay-writes`` (the response comes late) and ``throttle`` (the response trickles).

        Raises:
            ConfigError: the fault has no meaning before the connection is open.
        """
        name = f"fault-{self.id}"
        if self.kind in ("drop", "half-close"):
            return Handshake.close_after_request().named(name)
        if self.kind == "reset":
            return Handshake.reset_after_request().named(name)
        if self.kind == "stall" and self.seconds is None:
            return Handshake.never_respond().named(name, "never answers the handshake")
        if self.kind in ("stall", "delay-writes"):
            return (
                Handshake.accept()
                .delayed(self.seconds or 0.0)
                .named(name, f"answers the handshake {self.seconds} s late")
            )
        if self.kind == "throttle":
            return (
                Handshake.accept()
                .trickled(self.size, self.seconds or 0.0)
                .named(name, f"writes the 101 response {self.size} byte(s) every {self.seconds} s")
            )
        raise ConfigError(
            f"Fault.{self.id} has no meaning during the opening handshake; as a handshake "
            f"outcome use drop, half_close, reset, stall, delay_writes or throttle, or a "
            f"Handshake (e.g. Handshake.never_respond())"
        )

    # -- TCP ending ---------------------------------------------------------------------------

    @classmethod
    def drop(cls) -> Fault:
        """Close TCP (FIN) without a close frame: the client should report 1006."""
        return cls("drop", "closes TCP (FIN) without a close frame", "drop")

    @classmethod
    def reset(cls) -> Fault:
        """Abort the connection with RST (SO_LINGER 0), without a close frame."""
        return cls("reset", "resets TCP (RST, SO_LINGER 0) without a close frame", "reset")

    @classmethod
    def half_close(cls) -> Fault:
        """Shut down the server's sending side (FIN) and keep reading what the client sends;
        the server can no longer answer, so the client must close TCP itself."""
        return cls(
            "half-close",
            "shuts down its sending side (FIN) and keeps reading",
            "half-close",
        )

    @classmethod
    def stop_reading(cls, seconds: float | None = None) -> Fault:
        """Stop reading from the socket (for ``seconds``, or for good): the client's frames
        pile up in the kernel's buffers, then its sends block."""
        what = f"for {seconds} s" if seconds is not None else "until the connection ends"
        return cls("stop-reading", f"stops reading {what}", "stop-reading", seconds)

    @classmethod
    def no_close_reply(cls) -> Fault:
        """From now on, take the client's close frame and never answer it, keeping TCP open:
        tests the client's close timeout. (The script goes on at once.)"""
        return cls(
            "no-close-reply",
            "does not answer the client's close frame and keeps TCP open",
            "no-close-reply",
        )

    @classmethod
    def close_frame_only(cls, code: int = 1000) -> Fault:
        """Send a close frame, then never close TCP, even after the client's answer: the
        client must close the connection itself."""
        return cls(
            "close-frame-only",
            f"sends close {code} but never closes TCP",
            "close-frame-only",
            code=code,
        )

    @classmethod
    def close_then_drop(cls, code: int = 1000) -> Fault:
        """Send a close frame and close TCP at once, without waiting for the client's answer."""
        return cls(
            "close-then-drop",
            f"sends close {code} and closes TCP at once",
            "close-then-drop",
            code=code,
        )

    # -- timing -------------------------------------------------------------------------------

    @classmethod
    def stall(cls, seconds: float | None = None) -> Fault:
        """Neither read nor write for ``seconds``, with the socket open; without a duration,
        until the connection ends (the client gives up, or the test ends: the step is then
        still running, which is not a failure)."""
        if seconds is None:
            return cls("stall", "neither reads nor writes until the connection ends", "stall")
        _positive("stall", seconds)
        return cls("stall", f"neither reads nor writes for {seconds} s", "stall", seconds)

    @classmethod
    def delay_writes(cls, seconds: float) -> Fault:
        """From now on, wait ``seconds`` before each write (latency)."""
        _positive("delay_writes", seconds)
        return cls("delay-writes", f"waits {seconds} s before each write", "delay-writes", seconds)

    @classmethod
    def throttle(cls, size: int = 1, seconds: float = 0.01) -> Fault:
        """From now on, write ``size`` bytes at a time, ``seconds`` apart: a frame reaches
        the client in many small TCP segments."""
        _positive("throttle", seconds)
        if size < 1:
            raise ConfigError(f"Fault.throttle takes a size of at least 1 byte, got {size}")
        return cls(
            "throttle",
            f"writes {size} byte(s) every {seconds} s",
            "throttle",
            seconds,
            size,
        )

    @classmethod
    def split_frames(cls, seconds: float = 0.05) -> Fault:
        """From now on, write each frame's header and payload as two writes, ``seconds``
        apart."""
        _positive("split_frames", seconds)
        return cls(
            "split-frames",
            f"writes each frame header, then {seconds} s later its payload",
            "split-frames",
            seconds,
        )


def _positive(name: str, seconds: float) -> None:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise ConfigError(f"Fault.{name} takes a duration >= 0 in seconds, got {seconds!r}")


#: The kinds that end the connection (see ``Fault.ends_connection``).
_ENDING = frozenset({"drop", "reset", "half-close", "close-then-drop", "close-frame-only"})

#: The transport faults a robust client must survive, each a script step with a readable
#: pytest id. Durations are short, for test suites; build your own with the constructors.
TRANSPORT_FAULTS: tuple[Fault, ...] = (
    Fault.drop(),
    Fault.reset(),
    Fault.half_close(),
    Fault.close_then_drop(),
    Fault.close_frame_only(),
    Fault.no_close_reply(),
    Fault.stall(0.3),
    Fault.stop_reading(0.3),
    Fault.delay_writes(0.05),
    Fault.throttle(1, 0.002),
    Fault.split_frames(0.05),
)
