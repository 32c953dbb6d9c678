"""A client in any language, driven through a subprocess that speaks JSON lines.

The driver protocol (docs/drivers.md): the kit writes one JSON object per line on the
driver's stdin and reads exactly one JSON line back on its stdout for each; stderr is free
text, kept for messages. One WebSocket connection at a time.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import os
import queue
import signal
import ssl
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from typing import IO, Any

from .._errors import WsmockError
from ._adapter import ClientHung

__all__ = ["DriverClient", "DriverError", "DriverFailure", "DriverHung", "DriverSession"]

#: Seconds a driver gets on top of an operation's own timeout before it counts as hung.
MARGIN = 5.0
#: How much of the driver's stderr is kept (the end of it), in characters.
STDERR_KEPT = 64 * 1024
#: How many of the driver's stderr lines are kept (the last ones), before the cut to size.
STDERR_LINES = 4096
#: The bound for an operation that takes no timeout of its own before a connection exists.
DEFAULT_TIMEOUT = 5.0


class DriverFailure(WsmockError):
    """The client reported a failure: its error type and message, and how the connection
    ended (``{"code": ..., "reason": ..., "clean": ...}``) when it knows."""

    __module__ = "pytest_wsmock.conformance"

    def __init__(self, type: str, message: str, close: dict[str, Any] | None = None) -> None:
        super().__init__(type, message, close)
        self.type = type
        self.message = message
        self.close = close

    def __str__(self) -> str:
        return f"{self.type}: {self.message}"


class DriverHung(ClientHung):
    """The driver did not answer within the operation's timeout plus a margin: it was killed
    (and starts again at the next operation). Not a client failure: the kit's verdict "hung"."""

    __module__ = "pytest_wsmock.conformance"


class DriverError(WsmockError, RuntimeError):
    """The driver broke the protocol (it exited, wrote something that is not an answer, or
    could not be started): a bug in the driver, not a verdict on the client."""

    __module__ = "pytest_wsmock.conformance"


class _Process:
    """One running driver: its pipes and the threads that read them without blocking us."""

    def __init__(
        self,
        command: Sequence[str],
        cwd: str | os.PathLike[str] | None,
        env: Mapping[str, str] | None,
        stderr: collections.deque[str],
    ) -> None:
        try:
            self.popen = subprocess.Popen(
                list(command),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=cwd,
                env=None if env is None else dict(env),
                # Its own process group: a driver started through a script dies with it.
                start_new_session=True,
            )
        except OSError as exc:
            raise DriverError(f"cannot start driver {list(command)}: {exc}") from exc
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        assert self.popen.stdout is not None
        assert self.popen.stderr is not None
        threading.Thread(target=self._read_lines, args=(self.popen.stdout,), daemon=True).start()
        threading.Thread(
            target=self._read_stderr, args=(self.popen.stderr, stderr), daemon=True
        ).start()

    def _read_lines(self, stream: IO[bytes]) -> None:
        """Each stdout line into ``lines``, then ``None`` at the end; closes the stream."""
        try:
            with stream, contextlib.suppress(OSError, ValueError):
                for line in stream:
                    self.lines.put(line)
        finally:
            self.lines.put(None)

    @staticmethod
    def _read_stderr(stream: IO[bytes], kept: collections.deque[str]) -> None:
        with stream, contextlib.suppress(OSError, ValueError):
            for line in stream:
                kept.append(line.decode("utf-8", "replace"))

    def alive(self) -> bool:
        return self.popen.poll() is None

    def write(self, line: bytes, bound: float) -> bool | OSError | None:
        """Write ``line`` to the driver's stdin within ``bound`` seconds: True when written,
        the error if the pipe is closed, None if the driver did not read it in time (a full
        pipe blocks the writer: it writes in a thread, freed when the driver is killed)."""
        outcome: list[OSError | bool] = []

        def write() -> None:
            assert self.popen.stdin is not None
            try:
                self.popen.stdin.write(line)
                self.popen.stdin.flush()
            except (OSError, ValueError) as exc:
                outcome.append(exc if isinstance(exc, OSError) else OSError(str(exc)))
            else:
                outcome.append(True)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        writer.join(bound)
        return outcome[0] if outcome else None

    def kill(self) -> None:
        if self.popen.returncode is None:  # not reaped yet: its pid is still its group's id
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except OSError:  # not a group leader after all: kill the process itself
                self.popen.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL ends it: bounded anyway
            self.popen.wait(timeout=MARGIN)
        # stdout and stderr reach their end with the process: their threads close them.
        if self.popen.stdin is not None:
            with contextlib.suppress(OSError):
                self.popen.stdin.close()


class DriverClient:
    """A sync conformance ``Client`` over a driver program (any language, docs/drivers.md).

    ``command`` starts the driver; it is started at the first ``connect`` and kept for the
    session, started again if it exited or was killed. Every operation is bounded: a driver
    that does not answer within the operation's timeout plus ``margin`` (5 s) is killed and
    the operation raises ``DriverHung``. The driver's stderr is kept (its end) in ``stderr``.

    Args:
        command: the program and its arguments, e.g. ``["node", "drivers/node/ws_driver.mjs"]``.
        name: the client's column name in the report, e.g. ``"node-ws"``.
        cwd: the driver's working directory.
        env: the driver's environment (default: this process's).
        margin: seconds a driver gets on top of an operation's timeout before it counts as
            hung (5 by default).
    """

    failures: tuple[type[BaseException], ...] = (DriverFailure,)

    def __init__(
        self,
        command: Sequence[str],
        *,
        name: str,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        margin: float = MARGIN,
    ) -> None:
        self.command = tuple(command)
        self.margin = margin
        self.name = name
        self.cwd = cwd
        self.env = env
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._process: _Process | None = None
        self._generation = 0
        #: How many times the driver was started (1 after the first connect).
        self.starts = 0

    def __repr__(self) -> str:
        return f"DriverClient({list(self.command)!r}, name={self.name!r})"

    def __enter__(self) -> DriverClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def stderr(self) -> str:
        """What the driver wrote on stderr (its last 64 KiB), across restarts."""
        return "".join(list(self._stderr))[-STDERR_KEPT:]

    def connect(
        self,
        url: str,
        *,
        ssl: ssl.SSLContext | None = None,
        ca_path: str | os.PathLike[str] | None = None,
        subprotocols: Sequence[str] = (),
        timeout: float = DEFAULT_TIMEOUT,
    ) -> DriverSession:
        """Open a connection through the driver; a driver takes its CA as the file ``ca_path``
        (an ``ssl`` context cannot cross the process boundary and is not used)."""
        answer = self.request(
            {
                "op": "connect",
                "url": url,
                "subprotocols": list(subprotocols),
                "ca": None if ca_path is None else os.fspath(ca_path),
                "timeout": timeout,
            },
            timeout,
        )
        if not answer.get("ok"):
            raise _failure(answer)
        return DriverSession(self, self._generation, answer.get("subprotocol"), timeout)

    def request(self, message: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        """Send one operation and return the driver's answer (started if needed); raises
        ``DriverHung`` if no answer comes within ``timeout`` + ``margin``, ``DriverError`` if the
        driver exits or answers something that is not a JSON object."""
        process = self._running()
        line = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        op = message.get("op")
        bound = timeout + self.margin
        deadline = time.monotonic() + bound
        written = process.write(line, bound)
        if isinstance(written, OSError):
            self._discard()
            raise DriverError(
                self._explain(f"driver {self.name} no longer reads its stdin ({written}) at {op!r}")
            ) from written
        try:
            raw = process.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            written = None
        if written is None:
            self._discard()
            raise DriverHung(
                self._explain(
                    f"driver {self.name} gave no answer to {op!r} within {bound:g} s "
                    f"(the operation's {timeout:g} s + {self.margin:g} s); it was killed"
                )
            )
        if raw is None:
            self._discard()
            raise DriverError(self._explain(f"driver {self.name} exited during {op!r}"))
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            self._discard()
            raise DriverError(
                self._explain(f"driver {self.name} answered {op!r} with {raw[:200]!r}")
            )
        return answer

    def stop(self) -> None:
        """Ask the driver to quit (bounded), kill it if it does not; idempotent."""
        process = self._process
        if process is None:
            return
        if process.alive():
            try:
                self.request({"op": "quit"}, 0.0)
            except (DriverHung, DriverError):
                pass
            else:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.popen.wait(timeout=MARGIN)
        self._discard()

    def alive(self, generation: int) -> bool:
        """Whether the driver that served connection ``generation`` still runs."""
        process = self._process
        return generation == self._generation and process is not None and process.alive()

    def _running(self) -> _Process:
        if self._process is not None and not self._process.alive():
            self._discard()
        if self._process is None:
            self._process = _Process(self.command, self.cwd, self.env, self._stderr)
            self._generation += 1
            self.starts += 1
        return self._process

    def _discard(self) -> None:
        """Kill the driver (if it runs); the next operation starts a new one."""
        if self._process is not None:
            self._process.kill()
            self._process = None
            self._generation += 1

    def _explain(self, what: str) -> str:
        tail = self.stderr[-2000:].rstrip()
        return f"{what}; its stderr ends with:\n{tail}" if tail else f"{what}; no stderr"


class DriverSession:
    """The connection a driver opened (the kit's ``Session``)."""

    def __init__(
        self, client: DriverClient, generation: int, subprotocol: str | None, timeout: float
    ) -> None:
        self.client = client
        self.generation = generation
        #: The subprotocol the client says was selected.
        self.subprotocol = subprotocol
        self.timeout = timeout
        #: How the connection ended as the client saw it, once it did (``close()``, or a
        #: ``DriverFailure`` from ``receive``/``send``): ``{"code", "reason", "clean"}``.
        self.close_info: dict[str, Any] | None = None

    def send(self, message: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message."""
        if isinstance(message, str):
            op: dict[str, Any] = {"op": "send", "text": message}
        else:
            op = {"op": "send", "binary": base64.b64encode(message).decode("ascii")}
        self._check()
        answer = self.client.request({**op, "timeout": self.timeout}, self.timeout)
        if not answer.get("ok"):
            raise self._ended(answer)

    def receive(self, timeout: float) -> str | bytes:
        """The next message; ``TimeoutError`` if none came within ``timeout`` (the connection
        stays open), ``DriverFailure`` if the connection ended or failed."""
        self._check()
        answer = self.client.request({"op": "receive", "timeout": timeout}, timeout)
        if answer.get("ok"):
            if "binary" in answer:
                return base64.b64decode(answer["binary"])
            text = answer.get("text")
            if not isinstance(text, str):
                raise DriverError(f"driver {self.client.name} answered receive with {answer!r}")
            return text
        if answer.get("timeout"):
            raise TimeoutError(f"{self.client.name}: no message within {timeout:g} s")
        raise self._ended(answer)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (a no-op if the driver was restarted since it opened)."""
        if not self.client.alive(self.generation):
            return
        answer = self.client.request(
            {"op": "close", "code": code, "reason": reason, "timeout": self.timeout},
            self.timeout,
        )
        if not answer.get("ok"):
            raise self._ended(answer)
        close = answer.get("close")
        self.close_info = close if isinstance(close, dict) else self.close_info

    def _check(self) -> None:
        if not self.client.alive(self.generation):
            raise DriverError(
                f"driver {self.client.name} exited or was restarted since this connection opened"
            )

    def _ended(self, answer: Mapping[str, Any]) -> DriverFailure:
        failure = _failure(answer)
        self.close_info = failure.close
        return failure


def _failure(answer: Mapping[str, Any]) -> DriverFailure:
    """The ``DriverFailure`` for an ``{"ok": false, ...}`` answer."""
    error = answer.get("error")
    close = answer.get("close")
    close = close if isinstance(close, dict) else None
    if isinstance(error, dict):
        return DriverFailure(str(error.get("type")), str(error.get("message", "")), close)
    if close is not None:
        reason = close.get("reason") or ""
        detail = f" {reason!r}" if reason else ""
        return DriverFailure(
            "closed", f"the connection closed with code {close.get('code')}{detail}", close
        )
    return DriverFailure("closed", "the connection ended without a close code", None)
