"""Keeping secrets out of cassette files: :class:`Secrets` says what to filter, :func:`scrub`
filters a cassette before it is written.

By default the values of credential headers (:data:`DEFAULT_SECRET_HEADERS`, both ways) and
of token-like query parameters (:data:`DEFAULT_SECRET_QUERY`) become ``FILTERED``; the names
stay, so a replayed request still shows which headers and parameters were sent. Message data
goes through a hook of the test author's (``message=``), and literal values (``values=``, for
a token that may turn up anywhere: a subprotocol, a message, an error body) are replaced
everywhere in the cassette. Names compare case-insensitively.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote_plus

from ._cassette import (
    Cassette,
    CassetteClose,
    CassetteConnection,
    CassetteEvent,
    CassetteMessage,
    CassetteRequest,
    CassetteResponse,
    Side,
)
from ._errors import ConfigError

#: Headers whose values are filtered by default, in requests and responses alike.
DEFAULT_SECRET_HEADERS: tuple[str, ...] = (
    "Authorization",
    "Proxy-Authorization",
    "Cookie",
    "Set-Cookie",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Accept",
    "X-Api-Key",
    "Api-Key",
    "X-Auth-Token",
)
#: Query parameters of the request target whose values are filtered by default.
DEFAULT_SECRET_QUERY: tuple[str, ...] = (
    "token",
    "access_token",
    "api_key",
    "apikey",
    "key",
    "secret",
    "password",
    "auth",
    "signature",
    "sig",
    "jwt",
)

#: The message hook: ``(side, data) -> data``, the same type back (``str`` for text).
MessageHook = Callable[[Side, str | bytes], str | bytes]


def _names(value: Any, field: str, example: str) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list, frozenset, set)):
        raise ConfigError(
            f"Secrets({field}=...) must be a list of names, got {value!r}; e.g. {example}"
        )
    if not all(isinstance(name, str) and name for name in value):
        raise ConfigError(f"Secrets({field}=...) must hold non-empty strings, got {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class Secrets:
    """What :func:`scrub` filters out of a cassette.

    Attributes:
        headers: header names whose values are replaced (case-insensitive). Extend the
            defaults with ``headers=(*DEFAULT_SECRET_HEADERS, "X-Session")``.
        query: query parameter names whose values are replaced (case-insensitive); the other
            parameters and their order stay.
        message: called as ``message(side, data)`` for every message (``side`` is
            ``"client"`` or ``"server"``); returns the data to write, ``str`` for a text
            message and ``bytes`` for a binary one.
        placeholder: what replaces a filtered value.
        values: literal strings (a token, a password) replaced by the placeholder wherever
            they occur: the path, header values, subprotocols, messages, bodies, close
            reasons. See :meth:`replacing`.
    """

    headers: tuple[str, ...] = DEFAULT_SECRET_HEADERS
    query: tuple[str, ...] = DEFAULT_SECRET_QUERY
    message: MessageHook | None = None
    placeholder: str = "FILTERED"
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Lists become tuples, so a Secrets stays hashable and cannot change afterwards.
        headers = _names(self.headers, "headers", "headers=('Authorization', 'X-Session')")
        object.__setattr__(self, "headers", headers)
        query = _names(self.query, "query", "query=('token', 'session')")
        object.__setattr__(self, "query", query)
        object.__setattr__(self, "values", _names(self.values, "values", "values=(TOKEN,)"))
        if self.message is not None and not callable(self.message):
            raise ConfigError(
                f"Secrets(message=...) must be a function (side, data) -> data, got "
                f"{self.message!r}"
            )
        if not isinstance(self.placeholder, str):
            raise ConfigError(
                f"Secrets(placeholder=...) must be a string, got {self.placeholder!r}"
            )

    def replacing(self, *values: str) -> Secrets:
        """These settings, plus literal ``values`` to replace everywhere in the cassette::

        Secrets().replacing(os.environ["FEED_TOKEN"])
        """
        return dataclasses.replace(self, values=(*self.values, *values))


class _Scrubber:
    def __init__(self, secrets: Secrets) -> None:
        self.secrets = secrets
        self.headers = {name.lower() for name in secrets.headers}
        self.query = {name.lower() for name in secrets.query}
        # Longest first, so a value that contains another is replaced whole.
        self.values = sorted(set(secrets.values), key=len, reverse=True)

    def text(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, self.secrets.placeholder)
        return text

    def data(self, data: bytes) -> bytes:
        placeholder = self.secrets.placeholder.encode("utf-8")
        for value in self.values:
            data = data.replace(value.encode("utf-8"), placeholder)
        return data

    def header_list(self, headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        return tuple(
            (name, self.secrets.placeholder if name.lower() in self.headers else self.text(value))
            for name, value in headers
        )

    def path(self, path: str) -> str:
        target, mark, query = path.partition("?")
        if mark:
            parts = []
            for part in query.split("&"):
                name, equals, _value = part.partition("=")
                if equals and unquote_plus(name).lower() in self.query:
                    part = f"{name}={quote(self.secrets.placeholder, safe='')}"
                parts.append(part)
            path = f"{target}?{'&'.join(parts)}"
        return self.text(path)

    def message(self, event: CassetteMessage, where: str) -> CassetteMessage:
        data = event.data
        if self.secrets.message is not None:
            data = self.secrets.message(event.side, event.data)
            wanted = str if isinstance(event.data, str) else bytes
            if not isinstance(data, wanted):
                raise ConfigError(
                    f"the Secrets message hook returned {type(data).__name__} for {where}, "
                    f"a {event.kind} message; it must return {wanted.__name__} for a "
                    f"{event.kind} message (the data, changed or not)"
                )
        data = self.text(data) if isinstance(data, str) else self.data(data)
        return dataclasses.replace(event, data=data)

    def event(self, event: CassetteEvent, where: str) -> CassetteEvent:
        if isinstance(event, CassetteClose):
            return dataclasses.replace(event, reason=self.text(event.reason))
        return self.message(event, where)

    def connection(self, connection: CassetteConnection, index: int) -> CassetteConnection:
        request, response = connection.request, connection.response
        maybe = self.text
        return CassetteConnection(
            request=CassetteRequest(
                path=self.path(request.path),
                headers=self.header_list(request.headers),
                subprotocols=tuple(maybe(name) for name in request.subprotocols),
            ),
            response=CassetteResponse(
                status=response.status,
                reason=maybe(response.reason),
                headers=self.header_list(response.headers),
                body=self.data(response.body),
                subprotocol=None if response.subprotocol is None else maybe(response.subprotocol),
                extensions=None if response.extensions is None else maybe(response.extensions),
            ),
            events=tuple(
                self.event(event, f"connection #{index}, event #{number}")
                for number, event in enumerate(connection.events)
            ),
        )


def scrub(cassette: Cassette, secrets: Secrets) -> Cassette:
    """``cassette`` with the ``secrets`` filtered out (a new cassette; the match rules and
    the version stay)."""
    scrubber = _Scrubber(secrets)
    return dataclasses.replace(
        cassette,
        connections=tuple(
            scrubber.connection(connection, index)
            for index, connection in enumerate(cassette.connections)
        ),
    )


__all__ = [
    "DEFAULT_SECRET_HEADERS",
    "DEFAULT_SECRET_QUERY",
    "MessageHook",
    "Secrets",
    "scrub",
]
