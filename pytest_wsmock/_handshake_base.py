"""The data of a handshake outcome: its fields, how it refines, and how it renders a response.

`HandshakeBase` is everything a :class:`Handshake` is except its named constructors and the
catalogues, which live in ``_handshakes.py``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

from ._errors import ConfigError
from ._protocol import Headers, Request, accept_key, reason_phrase


class Auto(enum.Enum):
    """Marker for "what a correct server would write here"."""

    #: let the server choose, as a correct server would
    AUTO = "auto"

    def __repr__(self) -> str:
        return "AUTO"


#: Let the server choose (the correct value): the default of most :class:`Handshake` fields.
AUTO = Auto.AUTO


class Wrong(enum.Enum):
    WRONG = "wrong"

    def __repr__(self) -> str:
        return "WRONG"


#: A plausible but wrong ``Sec-WebSocket-Accept``: valid base64 of 20 bytes, for another key.
WRONG = Wrong.WRONG

#: What the server does instead of, or on top of, writing a response.
Action = Literal[
    "respond",
    "never-respond",
    "close-after-request",
    "reset-after-request",
    "close-before-request",
    "garbage",
]

#: The headers a correct 101 response carries, which `with_headers` may override.
HeaderItems = tuple[tuple[str, str], ...]


def header_items(
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None, more: Mapping[str, str]
) -> HeaderItems:
    items: list[tuple[str, str]] = []
    if isinstance(headers, Mapping):
        items += headers.items()
    elif headers is not None:
        items += headers
    items += more.items()
    for name, value in items:
        if not isinstance(name, str) or not isinstance(value, str):
            raise ConfigError(f"headers must be str names and str values, got {name!r}: {value!r}")
    return tuple(items)


@dataclass(frozen=True)
class Rendered:
    """A response ready to write, and what the server should assume was negotiated."""

    status: int
    reason: str
    headers: Headers
    body: bytes
    http_version: str
    subprotocol: str | None
    extensions: str | None


_H = TypeVar("_H", bound="HandshakeBase")


@dataclass(frozen=True)
class HandshakeBase:
    """The fields and behaviour of :class:`Handshake` (see its documentation)."""

    id: str = "accept"
    description: str = "a correct 101 Switching Protocols"
    rfc: str = ""
    subprotocols_offered: bool | None = None
    status: int = 101
    reason: str | None = None
    http_version: str = "HTTP/1.1"
    upgrade: str | None = "websocket"
    connection: str | None = "Upgrade"
    accept_header: str | Auto | Wrong | None = AUTO
    accept_twice: bool = False
    subprotocol: str | tuple[str | Auto, ...] | Auto | None = AUTO
    extensions: str | Auto | None = AUTO
    headers: HeaderItems = ()
    body: bytes = b""
    delay: float = 0.0
    chunk_size: int | None = None
    chunk_interval: float = 0.0
    truncate_at: int | None = None
    action: Action = "respond"
    garbage: bytes = b""
    allowed_origins: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.status, int) or not 100 <= self.status <= 999:
            raise ConfigError(f"Handshake status must be a 3-digit int, got {self.status!r}")
        if self.delay < 0 or self.chunk_interval < 0:
            raise ConfigError("Handshake delay and chunk_interval must not be negative")
        if self.chunk_size is not None and self.chunk_size < 1:
            raise ConfigError(f"Handshake chunk_size must be at least 1, got {self.chunk_size}")
        if self.truncate_at is not None and self.truncate_at < 0:
            raise ConfigError(f"Handshake truncate_at must be >= 0, got {self.truncate_at}")

    def __repr__(self) -> str:
        return f"Handshake.{self.id}"

    @property
    def accepts(self) -> bool:
        """Whether the server writes a 101 and then treats the connection as open."""
        return self.action == "respond" and self.status == 101 and self.truncate_at is None

    def is_correct_for(self, request: Request) -> bool:
        """Whether this answer to ``request`` is one a compliant client must accept.

        Strict mode holds the client to the closing handshake only then: after a broken
        answer, a compliant client fails the connection by dropping TCP.
        """
        standard = {
            "upgrade",
            "connection",
            "sec-websocket-accept",
            "sec-websocket-protocol",
            "sec-websocket-extensions",
        }
        if (
            not self.accepts
            or self.action != "respond"
            or self.http_version != "HTTP/1.1"
            or self.upgrade != "websocket"
            or self.connection != "Upgrade"
            or self.accept_header is not AUTO
            or self.accept_twice
            or self.extensions not in (AUTO, None)
            or any(name.lower() in standard for name, _ in self.headers)
        ):
            return False
        if self.subprotocol is AUTO:
            return True
        if self.subprotocol is None:
            # RFC 6455 allows it; WHATWG clients fail the connection (missing-subprotocol).
            return not request.subprotocols
        return isinstance(self.subprotocol, str) and self.subprotocol in request.subprotocols

    # -- refinements ----------------------------------------------------------------------

    def with_headers(
        self: _H,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        **more: str,
    ) -> _H:
        """The same answer with extra (or overriding) headers. Keyword names use ``_`` for
        ``-``: ``with_headers(x_trace="1")`` writes ``x-trace: 1``."""
        added = header_items(headers, {k.replace("_", "-"): v for k, v in more.items()})
        return dataclasses.replace(self, headers=self.headers + added)

    def delayed(self: _H, seconds: float) -> _H:
        """The same answer, written ``seconds`` after the request was read."""
        return dataclasses.replace(self, delay=seconds)

    def trickled(self: _H, chunk_size: int = 1, interval: float = 0.01) -> _H:
        """The same answer, written ``chunk_size`` bytes at a time, ``interval`` apart."""
        return dataclasses.replace(self, chunk_size=chunk_size, chunk_interval=interval)

    def named(self: _H, id: str, description: str | None = None, rfc: str | None = None) -> _H:
        """The same answer under another id (and description, and rule)."""
        return dataclasses.replace(
            self,
            id=id,
            description=self.description if description is None else description,
            rfc=self.rfc if rfc is None else rfc,
        )

    # -- rendering ---------------------------------------------------------------------------

    def render(
        self,
        request: Request,
        *,
        auto_subprotocol: str | None,
        auto_extensions: str | None,
        base_url: str,
    ) -> Rendered:
        """The response this outcome writes to ``request``.

        Args:
            request: the client's request.
            auto_subprotocol: what the server would select (used for ``AUTO``).
            auto_extensions: what the server would negotiate (used for ``AUTO``).
            base_url: the server's URL, to make a ``Location`` path absolute.
        """
        items: list[tuple[str, str]] = []
        if self.upgrade is not None:
            items.append(("Upgrade", self.upgrade))
        if self.connection is not None:
            items.append(("Connection", self.connection))
        accept = self._accept_value(request.key or "")
        if accept is not None:
            items.append(("Sec-WebSocket-Accept", accept))
            if self.accept_twice:
                items.append(("Sec-WebSocket-Accept", accept))
        subprotocol = self._subprotocol_value(request, auto_subprotocol)
        if subprotocol is not None:
            items.append(("Sec-WebSocket-Protocol", subprotocol))
        extensions = auto_extensions if self.extensions is AUTO else self.extensions
        if extensions is not None:
            assert isinstance(extensions, str)
            items.append(("Sec-WebSocket-Extensions", extensions))
        headers = Headers(items)
        standard = {name.lower() for name, _ in items}
        for name, value in self.headers:
            if name.lower() == "location" and value.startswith("/"):
                value = base_url + value
            if name.lower() in standard:
                # An override: it takes the place of the header a correct server writes.
                headers = headers.replaced(name, value)
                standard.discard(name.lower())
            else:
                headers = headers.with_added(name, value)
        return Rendered(
            status=self.status,
            reason=self.reason or reason_phrase(self.status),
            headers=headers,
            body=self.body,
            http_version=self.http_version,
            subprotocol=subprotocol,
            extensions=extensions,
        )

    def _accept_value(self, key: str) -> str | None:
        if self.accept_header is AUTO:
            return accept_key(key)
        if self.accept_header is WRONG:
            # Same form as a right answer (base64 of a SHA-1), computed for another key.
            return accept_key("wsmock" + key)
        assert not isinstance(self.accept_header, (Auto, Wrong))
        return self.accept_header

    def _subprotocol_value(self, request: Request, auto: str | None) -> str | None:
        if self.subprotocol is AUTO:
            return auto
        if isinstance(self.subprotocol, tuple):
            offered = auto or (request.subprotocols[0] if request.subprotocols else "chat")
            return ", ".join(offered if name is AUTO else name for name in self.subprotocol)
        assert not isinstance(self.subprotocol, Auto)
        return self.subprotocol
