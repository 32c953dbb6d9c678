"""HAR interchange: the WebSocket conversations of a HAR file as a cassette, and back.

Browser DevTools (Chrome, Edge) and Playwright write a WebSocket connection as a HAR entry
with ``"_resourceType": "websocket"`` and its messages under ``_webSocketMessages``::

    {"type": "send", "time": 1700000000.123, "opcode": 1, "data": "{\\"op\\":\\"sub\\"}"}

``type`` is ``send`` (the client's) or ``receive`` (the server's), ``time`` is seconds since
the epoch, ``opcode`` is 1 for text and 2 for binary, whose data is base64.

What HAR does not hold, and is lost on the way to HAR: close frames (neither side's close
code or reason is written; a cassette read from HAR has no close events, so replay lets the
client close), control frames, and the moment the connection opened to better than a
millisecond. Messages with other opcodes than 1 and 2 are skipped on import.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ._cassette import (
    Cassette,
    CassetteConnection,
    CassetteMessage,
    CassetteRequest,
    CassetteResponse,
    Side,
)
from ._errors import ConfigError

_SIDES: dict[str, Side] = {"send": "client", "receive": "server"}


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, where: str, expected: str, value: Any) -> ConfigError:
        shown = json.dumps(value, ensure_ascii=False, default=repr)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        return ConfigError(f"HAR {self.source}: at {where}: expected {expected}, got {shown}")

    def object(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.error(where, "a JSON object", value)
        return value

    def array(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.error(where, "a list", value)
        return value

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise self.error(where, "a string", value)
        return value

    def number(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(where, "a number", value)
        if not math.isfinite(value):
            raise self.error(where, "a finite number", value)
        return float(value)

    def headers(self, value: Any, where: str) -> tuple[tuple[str, str], ...]:
        found = []
        for index, item in enumerate(self.array(value, where)):
            header = self.object(item, f"{where}[{index}]")
            name = self.string(header.get("name"), f"{where}[{index}].name")
            if name.startswith(":"):
                continue  # an HTTP/2 pseudo-header: no HTTP/1.1 request has it
            found.append((name, self.string(header.get("value"), f"{where}[{index}].value")))
        return tuple(found)

    def connection(self, entry: Mapping[str, Any], where: str) -> CassetteConnection:
        request = self.object(entry.get("request"), f"{where}.request")
        url = self.string(request.get("url"), f"{where}.request.url")
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request_headers = self.headers(request.get("headers", []), f"{where}.request.headers")
        response = self.object(entry.get("response", {}), f"{where}.response")
        status = response.get("status", 101)
        if isinstance(status, bool) or not isinstance(status, int):
            raise self.error(f"{where}.response.status", "an HTTP status code", status)
        response_headers = self.headers(response.get("headers", []), f"{where}.response.headers")
        offered = _header(request_headers, "Sec-WebSocket-Protocol")
        chosen = _header(response_headers, "Sec-WebSocket-Protocol")
        return CassetteConnection(
            request=CassetteRequest(
                path=path,
                headers=request_headers,
                subprotocols=tuple(
                    name.strip() for name in (offered or "").split(",") if name.strip()
                ),
            ),
            response=CassetteResponse(
                status=status,
                reason=self.string(response.get("statusText", ""), f"{where}.response.statusText"),
                headers=response_headers,
                body=self.body(response.get("content", {}), f"{where}.response.content"),
                subprotocol=chosen.strip() if chosen else None,
                extensions=_header(response_headers, "Sec-WebSocket-Extensions"),
            ),
            events=self.messages(entry, where),
        )

    def body(self, value: Any, where: str) -> bytes:
        content = self.object(value, where)
        text = content.get("text")
        if text is None:
            return b""
        text = self.string(text, f"{where}.text")
        if content.get("encoding") == "base64":
            try:
                return base64.b64decode(text, validate=True)
            except binascii.Error:
                raise self.error(f"{where}.text", "base64 data", text) from None
        return text.encode("utf-8")

    def messages(self, entry: Mapping[str, Any], where: str) -> tuple[CassetteMessage, ...]:
        where = f"{where}._webSocketMessages"
        read: list[tuple[Side, str | bytes, float]] = []
        for index, item in enumerate(self.array(entry["_webSocketMessages"], where)):
            at = f"{where}[{index}]"
            message = self.object(item, at)
            kind = message.get("type")
            if kind not in _SIDES:
                raise self.error(f"{at}.type", '"send" or "receive"', kind)
            opcode = message.get("opcode", 1)
            if opcode not in (1, 2) or isinstance(opcode, bool):
                continue  # not a data message
            data = self.string(message.get("data", ""), f"{at}.data")
            payload: str | bytes = data
            if opcode == 2:
                try:
                    payload = base64.b64decode(data, validate=True)
                except binascii.Error:
                    raise self.error(f"{at}.data", "base64 data (opcode 2)", data) from None
            read.append((_SIDES[kind], payload, self.number(message.get("time"), f"{at}.time")))
        if not read:
            return ()
        first = min(moment for _, _, moment in read)
        started = _epoch(entry.get("startedDateTime"))
        base = started if started is not None and started <= first else first
        return tuple(
            CassetteMessage(
                side=side,
                kind="text" if isinstance(data, str) else "binary",
                data=data,
                time=max(0.0, round(moment - base, 3)),
            )
            for side, data, moment in read
        )


def _header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    values = [value for key, value in headers if key.lower() == name.lower()]
    return ", ".join(values) if values else None


def _epoch(value: Any) -> float | None:
    """An ISO 8601 date (``2024-05-01T10:00:00.123Z``) as epoch seconds, ``None`` if it is not
    one."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _document(har: Mapping[str, Any] | str | os.PathLike[str]) -> tuple[Any, str]:
    if isinstance(har, Mapping):
        return har, "<mapping>"
    if isinstance(har, str) and har.lstrip().startswith("{"):
        source, text = "<text>", har
    else:
        source = os.fspath(har)
        try:
            text = Path(source).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"HAR {source} is not UTF-8 text ({exc})") from None
    try:
        return json.loads(text), source
    except ValueError as exc:
        raise ConfigError(f"HAR {source} is not valid JSON ({exc})") from None


def from_har(
    har: Mapping[str, Any] | str | os.PathLike[str], *, url: str | None = None
) -> Cassette:
    """The WebSocket connections of a HAR log as a cassette, in the order of its entries.

    Args:
        har: the parsed HAR (a mapping), a path to a ``.har`` file, or the HAR's JSON text
            (a string starting with ``{``).
        url: take only the connections whose request URL is this or starts with it.

    Entries without ``_webSocketMessages`` (ordinary HTTP requests) are skipped. Message
    times become seconds from the entry's ``startedDateTime`` (from the first message when
    that is missing, not a date, or later than the first message), rounded to milliseconds.
    A ``ConfigError`` names the place in the HAR that has not the shape described.
    """
    document, source = _document(har)
    reader = _Reader(source)
    log = reader.object(reader.object(document, "the top level").get("log"), "log")
    connections = []
    for index, item in enumerate(reader.array(log.get("entries", []), "log.entries")):
        where = f"log.entries[{index}]"
        entry = reader.object(item, where)
        if "_webSocketMessages" not in entry:
            continue
        request = reader.object(entry.get("request"), f"{where}.request")
        address = reader.string(request.get("url"), f"{where}.request.url")
        if url is not None and not address.startswith(url):
            continue
        connections.append(reader.connection(entry, where))
    return Cassette(connections=tuple(connections))


def _har_headers(headers: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers]


def _with(
    headers: tuple[tuple[str, str], ...], name: str, value: str | None
) -> tuple[tuple[str, str], ...]:
    """``headers`` with ``name: value`` added when ``value`` is set and ``name`` is missing."""
    if value is None or _header(headers, name) is not None:
        return headers
    return (*headers, (name, value))


def _content(response: CassetteResponse) -> dict[str, Any]:
    mime = _header(response.headers, "Content-Type") or "x-unknown"
    content: dict[str, Any] = {"size": len(response.body), "mimeType": mime}
    if response.body:
        try:
            content["text"] = response.body.decode("utf-8")
        except UnicodeDecodeError:
            content["text"] = base64.b64encode(response.body).decode("ascii")
            content["encoding"] = "base64"
    return content


def _message(message: CassetteMessage, started: float) -> dict[str, Any]:
    binary = isinstance(message.data, bytes)
    data = (
        base64.b64encode(message.data).decode("ascii")
        if isinstance(message.data, bytes)
        else message.data
    )
    return {
        "type": "send" if message.side == "client" else "receive",
        "time": round(started + round(message.time, 3), 6),
        "opcode": 2 if binary else 1,
        "data": data,
    }


def _entry(connection: CassetteConnection, base_url: str, started: float) -> dict[str, Any]:
    request, response = connection.request, connection.response
    offered = ", ".join(request.subprotocols) or None
    request_headers = _with(request.headers, "Sec-WebSocket-Protocol", offered)
    response_headers = _with(response.headers, "Sec-WebSocket-Protocol", response.subprotocol)
    response_headers = _with(response_headers, "Sec-WebSocket-Extensions", response.extensions)
    query = urlsplit(request.path).query
    return {
        "startedDateTime": _iso(started),
        "time": 0,
        "request": {
            "method": "GET",
            "url": base_url.rstrip("/") + "/" + request.path.lstrip("/"),
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _har_headers(request_headers),
            "queryString": [
                {"name": name, "value": value}
                for name, value in parse_qsl(query, keep_blank_values=True)
            ],
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": response.status,
            "statusText": response.reason,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _har_headers(response_headers),
            "content": _content(response),
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": len(response.body),
        },
        "cache": {},
        "timings": {
            "blocked": -1,
            "dns": -1,
            "ssl": -1,
            "connect": -1,
            "send": 0,
            "wait": 0,
            "receive": 0,
        },
        "_resourceType": "websocket",
        "_webSocketMessages": [_message(message, started) for message in connection.messages],
    }


def _creator_version() -> str:
    try:
        return metadata.version("pytest-wsmock")
    except metadata.PackageNotFoundError:
        return "unknown"


def to_har(
    cassette: Cassette, *, base_url: str = "ws://127.0.0.1", started: float | None = None
) -> dict[str, Any]:
    """The cassette as a HAR 1.2 log (a dict to ``json.dump``) that DevTools and Playwright
    read: one ``websocket`` entry per connection, its messages in ``_webSocketMessages``.

    Args:
        base_url: the scheme and host put in front of each request path (``wss://host``).
        started: when the connections opened, in epoch seconds (all of them: a cassette keeps
            times within a connection only); now by default. Cut to milliseconds.

    Close events are not written (HAR has no place for them), see the module docstring.
    A ``Sec-WebSocket-Protocol`` or ``Sec-WebSocket-Extensions`` header missing from the
    recorded headers is added from the subprotocols and extensions, so they survive.
    """
    moment = time.time() if started is None else started
    moment = math.floor(moment * 1000) / 1000
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "pytest-wsmock", "version": _creator_version()},
            "pages": [],
            "entries": [
                _entry(connection, base_url, moment) for connection in cassette.connections
            ],
        }
    }


__all__ = ["from_har", "to_har"]
