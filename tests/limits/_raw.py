"""A minimal raw-socket WebSocket client for the limit tests: it writes exactly the bytes a
test asks for (a frame header claiming 2**62 bytes, a 70 KB header block) and reads frames."""

from __future__ import annotations

import base64
import os
import socket
import struct

#: Seconds every socket read may take.
TIMEOUT = 3.0


def request(host: str, port: int, extra: str = "") -> bytes:
    """A correct opening-handshake request, with ``extra`` header lines (CRLF-terminated)."""
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"{extra}\r\n"
    ).encode()


def read_response_head(sock: socket.socket) -> bytes:
    """The response head, up to and including the blank line."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.partition(b"\r\n\r\n")[0]


def status_of(head: bytes) -> int:
    """The status code of a response head."""
    return int(head.split(b" ", 2)[1])


def connect(host: str, port: int) -> socket.socket:
    """A TCP connection that has completed the opening handshake (101)."""
    sock = socket.create_connection((host, port), timeout=TIMEOUT)
    sock.sendall(request(host, port))
    head = read_response_head(sock)
    assert status_of(head) == 101, head
    return sock


def masked_header(opcode: int, length: int, *, fin: bool = True) -> bytes:
    """A client frame header (MASK bit set, key ``0000``) declaring ``length`` payload bytes."""
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        head = struct.pack("!BB", first, 0x80 | length)
    elif length < 2**16:
        head = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, length)
    return head + b"\x00\x00\x00\x00"  # an all-zero key leaves the payload as it is


def close_frame(code: int) -> bytes:
    """A masked client close frame with ``code``."""
    return masked_header(0x8, 2) + struct.pack("!H", code)


def read_frame(sock: socket.socket) -> tuple[int, bytes]:
    """One server frame (unmasked, short): ``(opcode, payload)``."""
    head = _exactly(sock, 2)
    length = head[1] & 0x7F
    if length == 126:
        length = struct.unpack("!H", _exactly(sock, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", _exactly(sock, 8))[0]
    return head[0] & 0x0F, _exactly(sock, length)


def read_until_eof(sock: socket.socket) -> bytes:
    """Everything until the server closes TCP."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError(f"EOF after {len(data)} of {size} bytes")
        data += chunk
    return data


def rss_bytes() -> int:
    """This process's resident set size, from /proc/self/statm."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")
