"""Script steps: what the server says and expects, one step at a time, as values."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from ._errors import ConfigError, ConnectionClosed
from ._matchers import Matcher, check_message, describe_matcher
from ._protocol import Opcode
from ._records import Frame, Message, preview
from ._websocket import OutFrame, WebSocket


class StepFailed(Exception):
    """Internal: an expectation of a script was not met (becomes a ScriptError at teardown)."""


class StepEnded(StepFailed):
    """Internal: an expectation could not be met because the connection ended first (the
    script lifecycle decides what that means: see ``_script.py``)."""


class Step:
    """One step of a script (see :meth:`MockServer.script`).

    Steps are made by the step functions (``send_text(...)``, ``expect_text(...)``, ...) and
    by the catalogues (``FRAME_VIOLATIONS``). Subclass it and implement :meth:`run` for a step
    of your own, or wrap an ``async`` function with :func:`call`.
    """

    #: Whether the step is an expectation: when the connection ends before the step is met,
    #: the script fails (the client did not send what it expected). Other steps (sends, waits,
    #: faults) are skipped with a note instead (see the lifecycle in docs/scripts.md).
    expects: bool = False
    #: Whether the step needs the connection to run without permessage-deflate (the server
    #: then declines deflate at the handshake for the connection that runs it).
    needs_no_deflate: bool = False

    def describe(self) -> str:
        """How the step reads in messages and transcripts, e.g. ``expect_text('hello')``."""
        return type(self).__name__

    async def run(self, ws: WebSocket) -> None:
        """Carry the step out on one connection; raise to fail the script."""
        raise NotImplementedError

    def trigger_kind(self) -> str | None:
        """What a background rule can use the step as a trigger for (see ``rule()``):
        ``message`` (the ``expect_*`` steps of data messages), ``ping`` or ``pong``; ``None``
        when it cannot be a trigger."""
        return None

    def matches(self, item: Message | Frame) -> bool:
        """Whether the client's message (or ping or pong ``Frame``) is what this expectation
        waits for: how a rule uses the step as its trigger (see :meth:`trigger_kind`)."""
        raise NotImplementedError(f"{self.describe()} cannot match a message")

    def __repr__(self) -> str:
        return self.describe()


# -- sending ----------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class _Send(Step):
    value: str | bytes
    compress: bool | None = None
    fragments: tuple[int, ...] = ()
    ping_between: bytes | None = None
    label: str = "send_text"

    def describe(self) -> str:
        extra = f", fragments={list(self.fragments)}" if self.fragments else ""
        extra += f", ping_between={self.ping_between!r}" if self.ping_between is not None else ""
        extra += f", compress={self.compress}" if self.compress is not None else ""
        shown = self.value if isinstance(self.value, str) else self.value[:40]
        return f"{self.label}({shown!r}{extra})"

    async def run(self, ws: WebSocket) -> None:
        await ws.send_fragmented(
            self.value, self.fragments, ping_between=self.ping_between, compress=self.compress
        )


def send_text(text: str, *, compress: bool | None = None) -> Step:
    """Send a text message (``compress``: ``None`` follows the negotiation, ``False`` sends it
    uncompressed, ``True`` requires permessage-deflate)."""
    if not isinstance(text, str):
        raise ConfigError(f"send_text takes a str, got {type(text).__name__}: {text!r}")
    return _Send(text, compress, label="send_text")


def send_binary(data: bytes, *, compress: bool | None = None) -> Step:
    """Send a binary message."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ConfigError(f"send_binary takes bytes, got {type(data).__name__}: {data!r}")
    return _Send(bytes(data), compress, label="send_binary")


def send_json(value: Any, *, compress: bool | None = None) -> Step:
    """Send ``value`` serialized as a JSON text message."""
    return _Send(json.dumps(value), compress, label="send_json")


def send_fragmented(
    message: str | bytes,
    sizes: Sequence[int],
    *,
    ping_between: bytes | None = None,
    compress: bool | None = None,
) -> Step:
    """Send one message in several frames of these payload sizes (the rest goes last),
    optionally with a ping between fragments."""
    if not isinstance(message, (str, bytes)):
        raise ConfigError(f"send_fragmented takes str or bytes, got {message!r}")
    total = len(message.encode() if isinstance(message, str) else message)
    if compress is not True and (any(s < 0 for s in sizes) or sum(sizes) > total):
        raise ConfigError(f"send_fragmented sizes {list(sizes)} do not fit a {total}-byte message")
    return _Send(message, compress, tuple(sizes), ping_between, label="send_fragmented")


@dataclass(frozen=True, repr=False)
class _SendControl(Step):
    opcode: Opcode
    payload: bytes

    def describe(self) -> str:
        return f"send_{self.opcode.name.lower()}({self.payload!r})"

    async def run(self, ws: WebSocket) -> None:
        await ws.send_control(self.opcode, self.payload)


def send_ping(payload: bytes = b"") -> Step:
    """Send a ping (strict mode checks that the client's pong echoes ``payload``)."""
    return _SendControl(Opcode.PING, payload)


def send_pong(payload: bytes = b"") -> Step:
    """Send an unsolicited pong."""
    return _SendControl(Opcode.PONG, payload)


@dataclass(frozen=True, repr=False)
class _SendFrame(Step):
    frame: OutFrame

    def describe(self) -> str:
        f = self.frame
        flags = [
            name
            for name, on in (("fin", f.fin), ("rsv1", f.rsv1), ("rsv2", f.rsv2), ("rsv3", f.rsv3))
            if on
        ]
        if f.mask_key is not None:
            flags.append(f"mask={f.mask_key!r}")
        return f"send_frame({f.opcode}, {f.payload[:40]!r}, {' '.join(flags) or 'no flags'})"

    async def run(self, ws: WebSocket) -> None:
        f = self.frame
        await ws.send_frame(
            f.opcode,
            f.payload,
            fin=f.fin,
            rsv1=f.rsv1,
            rsv2=f.rsv2,
            rsv3=f.rsv3,
            mask_key=f.mask_key,
            length=f.length,
            length_bits=f.length_bits,
        )


def send_frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    mask_key: bytes | None = None,
    length: int | None = None,
    length_bits: int | None = None,
) -> Step:
    """Write one raw frame exactly as described, legal or not (see ``WebSocket.send_frame``)."""
    return _SendFrame(
        OutFrame(opcode, payload, fin, rsv1, rsv2, rsv3, mask_key, length, length_bits)
    )


# -- expecting ---------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class _Expect(Step):
    expects = True
    kind: str  # text, binary, json, message
    expected: Matcher
    subset: bool = False
    timeout: float | None = None
    skip_unmatched: bool = False

    def describe(self) -> str:
        subset = ", subset=True" if self.subset else ""
        skip = ", skip_unmatched=True" if self.skip_unmatched else ""
        return f"expect_{self.kind}({describe_matcher(self.expected)}{subset}{skip})"

    def trigger_kind(self) -> str:
        return "message"

    async def run(self, ws: WebSocket) -> None:
        if self.skip_unmatched:
            await self._skip_to_match(ws)
            return
        try:
            message = await ws.receive(self.timeout)
        except TimeoutError as exc:
            raise StepFailed(f"no message came: {exc}") from None
        except ConnectionClosed as exc:
            raise StepEnded(f"the connection closed first ({exc})") from None
        self.check(message)

    def check(self, message: Message) -> None:
        why = check_message(
            self.expected, message, kind=self.kind, subset=self.subset, restate=False
        )
        if why is not None:
            raise StepFailed(why)

    def matches(self, item: Message | Frame) -> bool:
        return isinstance(item, Message) and (
            check_message(self.expected, item, kind=self.kind, subset=self.subset) is None
        )

    async def _skip_to_match(self, ws: WebSocket) -> None:
        """Take messages until one matches; each one that does not is noted and skipped."""
        record = ws.connection
        progress = record.script
        where = (
            f"script {record.step_text(progress.position)}"
            if progress is not None and progress.steps[progress.position] == self.describe()
            else self.describe()
        )
        limit = ws.default_timeout if self.timeout is None else self.timeout
        skipped: list[tuple[int, Message]] = []
        why: str | None = None
        with anyio.move_on_after(limit):
            while True:
                try:
                    # The outer deadline ends the wait first (this one is set later).
                    message = await ws.receive(limit)
                except ConnectionClosed as exc:
                    raise StepEnded(f"the connection closed first ({exc})") from None
                why = check_message(self.expected, message, kind=self.kind, subset=self.subset)
                if why is None:
                    return
                received = record.received  # its number: its position there, found from the end
                number = next(i for i in reversed(range(len(received))) if received[i] is message)
                record.note(f"{where}: skipped message #{number} ({preview(message.data)})")
                skipped.append((number, message))
        if not skipped:
            raise StepFailed(f"no message came within {limit} s (skip_unmatched=True)")
        shown = ", ".join(f"#{n} {preview(m.data)}" for n, m in skipped[-3:])  # the last 3
        raise StepFailed(
            f"no matching message came within {limit} s; {len(skipped)} message(s) skipped "
            f"(skip_unmatched=True), the last: {shown}; the last did not match: {why}"
        )


def expect_text(
    expected: Matcher, *, timeout: float | None = None, skip_unmatched: bool = False
) -> Step:
    """Wait for the client's next message and check it is text matching ``expected``: an equal
    ``str``, a compiled regex (searched), or a predicate. ``timeout`` defaults to the server's.
    ``skip_unmatched=True``: skip (and note) messages that do not match, until one does or
    the timeout runs out."""
    return _Expect("text", expected, timeout=timeout, skip_unmatched=_flag(skip_unmatched))


def expect_binary(
    expected: Matcher, *, timeout: float | None = None, skip_unmatched: bool = False
) -> Step:
    """Wait for the client's next message and check it is binary matching ``expected``."""
    return _Expect("binary", expected, timeout=timeout, skip_unmatched=_flag(skip_unmatched))


def expect_json(
    expected: Any,
    *,
    subset: bool = False,
    timeout: float | None = None,
    skip_unmatched: bool = False,
) -> Step:
    """Wait for a text message holding JSON equal to ``expected`` (or containing it, with
    ``subset=True``: every key of a dict must be there with a matching value; lists match
    element by element), or accepted by ``expected`` when it is a predicate."""
    return _Expect("json", expected, subset, timeout, _flag(skip_unmatched))


def expect_message(
    expected: Matcher, *, timeout: float | None = None, skip_unmatched: bool = False
) -> Step:
    """Wait for the next message, text (as ``str``) or binary (as ``bytes``), matching
    ``expected``."""
    return _Expect("message", expected, timeout=timeout, skip_unmatched=_flag(skip_unmatched))


def _flag(skip_unmatched: object) -> bool:
    if not isinstance(skip_unmatched, bool):
        raise ConfigError(f"skip_unmatched takes True or False, got {skip_unmatched!r}")
    return skip_unmatched


@dataclass(frozen=True, repr=False)
class _ExpectControl(Step):
    expects = True
    opcode: Opcode
    payload: bytes | None
    timeout: float | None = None

    def trigger_kind(self) -> str:
        return self.opcode.name.lower()

    def describe(self) -> str:
        shown = "" if self.payload is None else repr(self.payload)
        return f"expect_{self.opcode.name.lower()}({shown})"

    def matches(self, item: Message | Frame) -> bool:
        return (
            isinstance(item, Frame)
            and item.opcode == self.opcode
            and (self.payload is None or item.payload == self.payload)
        )

    async def run(self, ws: WebSocket) -> None:
        name = self.opcode.name.lower()
        wanted = name if self.payload is None else f"{name} with {self.payload!r}"
        skipped: list[bytes] = []
        limit = ws.default_timeout if self.timeout is None else self.timeout
        with anyio.move_on_after(limit):
            while True:
                try:
                    frame: Frame = await ws.receive_control(limit, opcode=self.opcode)
                except ConnectionClosed as exc:
                    raise StepEnded(f"the connection closed before a {wanted} ({exc})") from None
                if self.payload is None or frame.payload == self.payload:
                    return
                skipped.append(frame.payload)
        seen = f"; other {name}s seen: {skipped!r}" if skipped else ""
        raise StepFailed(f"no {wanted} came within {limit} s{seen}")


def expect_ping(payload: bytes | None = None, *, timeout: float | None = None) -> Step:
    """Wait for a ping from the client that the script has not consumed yet (with this
    payload, when given: others are skipped). The server has answered it already."""
    return _ExpectControl(Opcode.PING, payload, timeout)


def expect_pong(payload: bytes | None = None, *, timeout: float | None = None) -> Step:
    """Wait for a pong from the client that the script has not consumed yet (with this
    payload, when given: others, such as answers to earlier pings, are skipped)."""
    return _ExpectControl(Opcode.PONG, payload, timeout)


@dataclass(frozen=True, repr=False)
class _ExpectClose(Step):
    expects = True
    code: int | None
    timeout: float | None = None

    def describe(self) -> str:
        return f"expect_close({'' if self.code is None else self.code})"

    async def run(self, ws: WebSocket) -> None:
        limit = ws.default_timeout if self.timeout is None else self.timeout
        with anyio.move_on_after(limit):
            async for message in ws:
                raise StepFailed(f"expected the client to close, it sent {message!r}")
        client_close = ws.client_close
        if client_close is None and not ws.open:
            raise StepEnded(
                f"expected a close frame from the client; the connection ended without one "
                f"({ws.connection.describe()})"
            )
        if client_close is None:
            raise StepFailed(
                f"expected a close frame from the client within {limit} s; "
                f"{ws.connection.describe()}"
            )
        if self.code is not None and client_close[0] != self.code:
            raise StepFailed(f"expected close code {self.code}, the client sent {client_close[0]}")


def expect_close(code: int | None = None, *, timeout: float | None = None) -> Step:
    """Wait for the client to start the closing handshake (with this code, when given)."""
    return _ExpectClose(code, timeout)


# -- time and control ---------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class _Wait(Step):
    seconds: float

    def describe(self) -> str:
        return f"wait({self.seconds})"

    async def run(self, ws: WebSocket) -> None:
        await ws.pause(self.seconds)


def wait(seconds: float) -> Step:
    """Pause the script for ``seconds`` (less when the connection ends first)."""
    if seconds < 0:
        raise ConfigError(f"wait() takes a duration >= 0, got {seconds}")
    return _Wait(seconds)


@dataclass(frozen=True, repr=False)
class _WaitForRelease(Step):
    # A release the test never gave is the test's unmet expectation.
    expects = True
    label: str

    def describe(self) -> str:
        return f"wait_for_release({self.label!r})" if self.label else "wait_for_release()"

    async def run(self, ws: WebSocket) -> None:
        await ws.wait_for_release(self.label)


def wait_for_release(label: str = "") -> Step:
    """Pause the script until the test calls ``server.release(label)``, so the test can act
    in between (a release that came first is remembered)."""
    return _WaitForRelease(label)


@dataclass(frozen=True, repr=False)
class _Close(Step):
    code: int | None
    reason: str

    def describe(self) -> str:
        reason = f", {self.reason!r}" if self.reason else ""
        return f"close({self.code}{reason})"

    async def run(self, ws: WebSocket) -> None:
        await ws.close(self.code, self.reason)


def close(code: int | None = 1000, reason: str = "") -> Step:
    """Run the closing handshake from the server's side (``code=None``: empty payload)."""
    return _Close(code, reason)


@dataclass(frozen=True, repr=False)
class _Call(Step):
    fn: Callable[[WebSocket], Awaitable[Any]] = field()

    def describe(self) -> str:
        return f"call({getattr(self.fn, '__name__', repr(self.fn))})"

    async def run(self, ws: WebSocket) -> None:
        await self.fn(ws)


def call(fn: Callable[[WebSocket], Awaitable[Any]]) -> Step:
    """Run an ``async`` function with the connection's :class:`WebSocket`, as a handler would."""
    return _Call(fn)


def check_steps(steps: Sequence[object]) -> tuple[Step, ...]:
    """Validate the arguments of ``script()``."""
    for index, step in enumerate(steps):
        if not isinstance(step, Step):
            raise ConfigError(
                f"script step {index} is {step!r}, not a step: use send_text(...), "
                f"expect_text(...), close(...) and the like"
            )
    return tuple(steps)  # type: ignore[arg-type]
