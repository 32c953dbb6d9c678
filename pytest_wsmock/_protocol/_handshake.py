"""The RFC 6455 opening handshake: check the client's request, build any response.

The request itself is parsed in `_request`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import http
from collections.abc import Iterable

from ._request import HTTP_VERSION, Request, parse_tokens
from ._violations import Violation

__all__ = [
    "GUID",
    "accept_headers",
    "accept_key",
    "build_response",
    "check_request",
    "reason_phrase",
]

#: Appended to the client's key before hashing (RFC 6455 section 1.3).
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

_HANDSHAKE_RFC = "RFC 6455 section 4.2.1"
# The client's requirements, of which section 4.2.1 is the server's view.
_CLIENT_RFC = "RFC 6455 section 4.1"


def accept_key(key: str) -> str:
    """Compute ``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key`` (RFC 6455 section 4.2.2).

    Args:
        key: The client's key, exactly as sent (no stripping or validation).

    Returns:
        ``base64(sha1(key + GUID))``.
    """
    digest = hashlib.sha1((key + GUID).encode("latin-1", "replace")).digest()
    return base64.b64encode(digest).decode("ascii")


# -- Checks a server makes ----------------------------------------------------------------


def _bad_request(kind: str, detail: str, status: int = 400) -> Violation:
    return Violation(kind, detail, _HANDSHAKE_RFC, status=status)


def check_request(
    request: Request, *, port: int | None = None, tls: bool = False
) -> list[Violation]:
    """Check a request against the rules of RFC 6455 sections 4.1 and 4.2.1.

    Every broken rule gives its own `Violation` (status 400, or 426 for the
    version), so a test can see all of them at once.

    Args:
        request: The parsed request.
        port: The port the server listens on; when given, the ``Host`` header
            must carry it, or omit it only when it is the default port.
        tls: Whether the connection is wss (default port 443) rather than ws (80).

    Returns:
        The violations, in the order of section 4.2.1; empty for a valid request.
    """
    violations: list[Violation] = []
    headers = request.headers
    if request.method != "GET":
        violations.append(
            _bad_request("method-not-get", f"method must be GET, got {request.method!r}")
        )
    if not _is_resource_target(request.target):
        violations.append(
            Violation(
                "invalid-target",
                f"request-target must be a resource name (origin-form, like '/chat?x=1', "
                f"or an absolute http or https URI), got {request.target!r}",
                _CLIENT_RFC,
                status=400,
            )
        )
    match = HTTP_VERSION.fullmatch(request.http_version.encode("ascii", "replace"))
    if match is None or (int(match[1]), int(match[2])) < (1, 1):
        violations.append(
            _bad_request(
                "http-version-too-old",
                f"HTTP version must be 1.1 or higher, got {request.http_version!r}",
            )
        )
    host = headers.get("Host")
    if host is None:
        violations.append(_bad_request("missing-host", "no Host header"))
    elif port is not None:
        mismatch = _host_port_mismatch(host, port, 443 if tls else 80)
        if mismatch is not None:
            violations.append(Violation("host-port-mismatch", mismatch, _CLIENT_RFC, status=400))
    upgrade = headers.get_all("Upgrade")
    if not any(token.lower() == "websocket" for token in parse_tokens(upgrade)):
        violations.append(
            _bad_request("missing-upgrade", f"Upgrade must contain 'websocket', got {upgrade!r}")
        )
    connection = headers.get_all("Connection")
    if not any(token.lower() == "upgrade" for token in parse_tokens(connection)):
        violations.append(
            _bad_request(
                "missing-connection-upgrade",
                f"Connection must contain 'Upgrade', got {connection!r}",
            )
        )
    keys = headers.get_all("Sec-WebSocket-Key")
    if not keys:
        violations.append(_bad_request("missing-key", "no Sec-WebSocket-Key header"))
    elif len(keys) > 1 or not _is_valid_key(keys[0]):
        violations.append(
            _bad_request(
                "invalid-key",
                "Sec-WebSocket-Key must be one base64 value of 16 bytes, "
                f"got {keys[0] if len(keys) == 1 else keys!r}",
            )
        )
    versions = headers.get_all("Sec-WebSocket-Version")
    if len(versions) != 1 or versions[0] != "13":
        violations.append(
            _bad_request(
                "unsupported-version",
                f"Sec-WebSocket-Version must be '13', got {versions or None!r}",
                status=426,
            )
        )
    return violations


def _is_resource_target(target: str) -> bool:
    """Whether ``target`` names a resource as RFC 6455 section 4.1 item 2 allows.

    That is origin-form (RFC 9112 section 3.2.1: an absolute path and optional
    query), or an absolute http or https URI with a host (section 3.2.2, which a
    server must accept). Asterisk-form (``*``), authority-form, a bare query
    (``?``) and ws/wss URIs name no resource.
    """
    if target.startswith("/"):
        return True
    scheme, separator, rest = target.partition("://")
    return bool(separator) and scheme.lower() in ("http", "https") and rest[:1] not in ("", "/")


def _host_port_mismatch(host: str, port: int, default: int) -> str | None:
    """Why ``host`` does not name the server's ``port``, or ``None`` when it does.

    RFC 6455 section 4.1 item 4: Host is the host, plus ``:port`` when the port
    is not the default (80 for ws, 443 for wss). Every client we know of
    (browsers, websockets, aiohttp, Node's ws, Go's gorilla...) sends it so.
    """
    if host.startswith("["):  # IP-literal (RFC 3986 section 3.2.2): [::1]:8765
        _, _, after = host.partition("]")
        given = after[1:] if after.startswith(":") else None
    else:
        _, colon, given = host.rpartition(":")
        given = given if colon else None
    if not given:  # RFC 3986 section 3.2.3: an empty port means the default
        if port == default:
            return None
        return (
            f"Host {host!r} has no port, but the server listens on {port} "
            f"(only the default port {default} may be left out)"
        )
    if given.isascii() and given.isdigit():
        if int(given) == port:
            return None
        return f"Host {host!r} names port {int(given)}, but the server listens on {port}"
    return f"Host {host!r} has an invalid port {given!r}; the server listens on {port}"


def _is_valid_key(key: str) -> bool:
    try:
        return len(base64.b64decode(key.encode("ascii"), validate=True)) == 16
    except (binascii.Error, UnicodeEncodeError):
        return False


# -- Responses ----------------------------------------------------------------------------


def reason_phrase(status: int) -> str:
    """The standard reason phrase for ``status``, or ``"Unknown"``."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _encode(text: str) -> bytes:
    # Latin-1 is what HTTP/1.1 bytes map to; anything else is written as UTF-8
    # rather than crashing, since a mock may be asked to write odd headers.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def build_response(
    status: int,
    reason: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    http_version: str = "HTTP/1.1",
    content_length: bool | None = None,
) -> bytes:
    """Serialize an HTTP response head and body, exactly as asked (no validation).

    A mock must be able to write wrong responses on purpose, so the headers are
    written verbatim, in order, duplicates included.

    Args:
        status: Status code (any integer).
        reason: Reason phrase; `reason_phrase` of ``status`` when ``None``.
        headers: ``(name, value)`` pairs written in order.
        body: Bytes after the head.
        http_version: Written at the start of the status line.
        content_length: ``True`` always appends ``Content-Length: len(body)``,
            ``False`` never does; ``None`` appends it unless the status is 101 or
            a ``Content-Length`` header was given.

    Returns:
        The response bytes; lines end with CRLF.
    """
    if reason is None:
        reason = reason_phrase(status)
    lines = [_encode(f"{http_version} {status} {reason}")]
    has_length = False
    for name, value in headers:
        has_length = has_length or name.lower() == "content-length"
        lines.append(_encode(name) + b": " + _encode(value))
    if content_length or (content_length is None and status != 101 and not has_length):
        lines.append(b"Content-Length: %d" % len(body))
    lines.append(b"")
    lines.append(b"")
    return b"\r\n".join(lines) + body


def accept_headers(
    key: str, *, subprotocol: str | None = None, extensions: str | None = None
) -> list[tuple[str, str]]:
    """The headers of a correct 101 response (RFC 6455 section 4.2.2, step 5).

    Args:
        key: The client's ``Sec-WebSocket-Key``.
        subprotocol: Selected subprotocol, if any.
        extensions: ``Sec-WebSocket-Extensions`` response value, if any.
    """
    result = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept_key(key)),
    ]
    if subprotocol is not None:
        result.append(("Sec-WebSocket-Protocol", subprotocol))
    if extensions is not None:
        result.append(("Sec-WebSocket-Extensions", extensions))
    return result
