"""A deliberately broken WebSocket client: a raw socket, a correct opening handshake by hand,
then hand-built frames, so a test can put on the wire what real clients refuse to send.

It is also copied next to the inner test files of the ``pytester`` tests, so it imports only
the standard library and ``pytest_wsmock._protocol``. Server frames are parsed here with a few
lines of our own rather than with the server's decoder, so the tests check the server against
an independent reading of RFC 6455 section 5.2.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
import time
from dataclasses import dataclass

from pytest_wsmock._protocol import encode_frame

#: Seconds any read from the server may take before the test fails instead of hanging.
TIMEOUT = 5.0
#: The mask key of every frame this client sends (any 4 bytes will do; a fixed one makes the
#: recorded frames predictable).
MASK_KEY = b"\x37\xfa\x21\x3d"


def handshake_request(host: str, port: int, **changes: str | None) -> bytes:
    """A correct opening-handshake request; ``changes`` replace or (with ``None``) drop
    headers, written with ``_`` for ``-`` (``Sec_WebSocket_Version="8"``), and ``method``,
    ``path`` and ``http_version`` change the request line."""
    method = changes.pop("method", None) or "GET"
    path = changes.pop("path", None) or "/"
    version = changes.pop("http_version", None) or "HTTP/1.1"
    headers: dict[str, str | None] = {
        "Host": f"{host}:{port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": "13",
    }
    for name, value in changes.items():
        headers[name.replace("_", "-")] = value
    lines = [f"{method} {path} {version}"]
    lines += [f"{name}: {value}" for name, value in headers.items() if value is not None]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass(frozen=True)
class HttpResponse:
    """A handshake response as read off the socket."""

    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or ``None``."""
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class ServerFrame:
    """A frame the server wrote, as this client parsed it."""

    fin: bool
    rsv: int
    opcode: int
    masked: bool
    payload: bytes

    @property
    def close_code(self) -> int | None:
        """The code of a close frame (``None`` when its payload is empty)."""
        return int.from_bytes(self.payload[:2], "big") if len(self.payload) >= 2 else None

    @property
    def close_reason(self) -> str:
        """The reason of a close frame."""
        return self.payload[2:].decode("utf-8")


class RawClient:
    """One connection to the mock server, driven byte by byte by the test."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = b""

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, host: str, port: int, request: bytes | None = None) -> RawClient:
        """Open TCP and send ``request`` (a correct handshake request by default); read
        nothing yet."""
        sock = socket.create_connection((host, port), timeout=TIMEOUT)
        client = cls(sock)
        client.send_raw(request if request is not None else handshake_request(host, port))
        return client

    @classmethod
    def connect(cls, host: str, port: int) -> RawClient:
        """Open TCP, do a correct opening handshake, and check the server accepted it."""
        client = cls.open(host, port)
        response = client.read_response()
        assert response.status == 101, response
        return client

    def read_response(self) -> HttpResponse:
        """Read the handshake response head (and body, per Content-Length)."""
        while b"\r\n\r\n" not in self._buffer:
            self._fill(f"a handshake response, got {self._buffer!r}")
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self._buffer) < length:
            self._fill(f"a {length}-byte response body")
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return HttpResponse(int(status_line.split(" ")[1]), headers, body)

    # -- writing -------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are."""
        self.sock.sendall(data)

    def send_frame(
        self,
        opcode: int,
        payload: bytes = b"",
        *,
        fin: bool = True,
        rsv1: bool = False,
        rsv2: bool = False,
        rsv3: bool = False,
        masked: bool = True,
        length: int | None = None,
        length_bits: int | None = None,
    ) -> None:
        """Write one frame, masked with :data:`MASK_KEY` unless ``masked=False``."""
        self.send_raw(
            encode_frame(
                opcode,
                payload,
                fin=fin,
                rsv1=rsv1,
                rsv2=rsv2,
                rsv3=rsv3,
                mask_key=MASK_KEY if masked else None,
                length=length,
                length_bits=length_bits,
            )
        )

    def send_close(self, code: int | None = 1000, reason: bytes = b"") -> None:
        """Write a close frame with ``code`` (none when ``None``) and a raw ``reason``."""
        payload = b"" if code is None else struct.pack("!H", code)
        self.send_frame(0x8, payload + reason)

    def close_tcp(self, *, reset: bool = False) -> None:
        """Close the socket with no closing handshake: FIN, or RST with ``reset=True``."""
        if reset:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    # -- reading -------------------------------------------------------------------------

    def _fill(self, awaited: str, timeout: float = TIMEOUT) -> None:
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise AssertionError(f"no bytes within {timeout} s while awaiting {awaited}") from None
        if not chunk:
            raise EOFError(f"the server closed TCP while awaiting {awaited}")
        self._buffer += chunk

    def _need(self, size: int, awaited: str, timeout: float) -> None:
        while len(self._buffer) < size:
            self._fill(awaited, timeout)

    def read_frame(self, timeout: float = TIMEOUT) -> ServerFrame:
        """Read the server's next frame."""
        self._need(2, "a frame", timeout)
        first, second = self._buffer[0], self._buffer[1]
        length, offset = second & 0x7F, 2
        if length >= 126:
            extra = 2 if length == 126 else 8
            self._need(2 + extra, "a frame length", timeout)
            length = int.from_bytes(self._buffer[2 : 2 + extra], "big")
            offset += extra
        masked = bool(second & 0x80)
        offset += 4 if masked else 0
        self._need(offset + length, f"a {length}-byte frame payload", timeout)
        payload = self._buffer[offset : offset + length]
        self._buffer = self._buffer[offset + length :]
        return ServerFrame(bool(first & 0x80), (first >> 4) & 0x7, first & 0x0F, masked, payload)

    def read_close(self, timeout: float = TIMEOUT) -> ServerFrame:
        """Read frames until the server's close frame, and return it."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.read_frame(max(deadline - time.monotonic(), 0.01))
            if frame.opcode == 0x8:
                assert not frame.masked, f"the server masked its close frame: {frame}"
                return frame

    def read_eof(self, timeout: float = TIMEOUT) -> bytes:
        """Read until the server closes TCP; return the bytes that came first."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._fill("the end of the connection", max(deadline - time.monotonic(), 0.01))
            except EOFError:
                data, self._buffer = self._buffer, b""
                return data

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.sock.close()
