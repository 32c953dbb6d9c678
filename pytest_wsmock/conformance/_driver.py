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
import ssl
import subprocess
import threading
from collections.abc import Mapping, Sequence
from typing import IO, Any

__all__ = ["DriverClient", "DriverError", "DriverFailure", "DriverHung", "DriverSession"]

#: Seconds a driver gets on top of an operation's own timeout before it counts as hung.
MARGIN = 5.0
#: How much of the driver's stderr is kept (the end of it), in characters.
STDERR_KEPT = 64 * 1024
#: The bound for an operation that takes no timeout of its own before a connection exists.
DEFAULT_TIMEOUT = 5.0


class DriverFailure(Exception):
    """The client reported a failure: its error type and message, and how the connection
    ended (``{"code": ..., "reason": ..., "clean": ...}``) when it knows."""

    def __init__(self, type: str, message: str, close: dict[str, Any] | None = None) -> None:
        super().__init__(type, message, close)
        self.type = type
        self.message = message
        self.close = close

    def __str__(self) -> str:
        return f"{self.type}: {self.message}"


class DriverHung(Exception):
    """The driver did not answer within the operation's timeout plus a margin: it was killed
    (and starts again at the next operation). Not a client failure: the kit's verdict "hung"."""


class DriverError(RuntimeError):
    """The driver broke the protocol (it exited, wrote something that is not an answer, or
    could not be started): a bug in the driver, not a verdict on the client."""


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
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    @staticmethod
    def _read_stderr(stream: IO[bytes], kept: collections.deque[str]) -> None:
        for line in stream:
            kept.append(line.decode("utf-8", "replace"))

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.popen.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL ends it: bounded anyway
            self.popen.wait(timeout=MARGIN)
        for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if stream is not None:
                stream.close()


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
        self._stderr: collections.deque[str] = collections.deque()
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
        text = "".join(self._stderr)
        while len(text) > STDERR_KEPT and len(self._stderr) > 1:
            self._stderr.popleft()
            text = "".join(self._stderr)
        return text[-STDERR_KEPT:]

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
        try:
            assert process.popen.stdin is not None
            process.popen.stdin.write(line)
            process.popen.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            self._discard()
            raise DriverError(
                self._explain(f"the driver's stdin is closed ({exc}) at {op!r}")
            ) from exc
        try:
            raw = process.lines.get(timeout=timeout + self.margin)
        except queue.Empty:
            self._discard()
            raise DriverHung(
                self._explain(
                    f"driver {self.name} gave no answer to {op!r} within "
                    f"{timeout + self.margin:g} s (the operation's {timeout:g} s + "
                    f"{self.margin:g} s); it was killed"
                )
            ) from None
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
        return generation == self._generation and self._process is not None

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
                f"driver {self.client.name} was restarted since this connection opened"
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
