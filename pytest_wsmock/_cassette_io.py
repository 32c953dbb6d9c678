"""The cassette file: a :class:`~pytest_wsmock._cassette.Cassette` as readable JSON.

The file is UTF-8 JSON, indented by two spaces, its keys in a fixed reading order (version,
match, connections; per connection request, response, events), so that recording again
changes only the lines that changed and a review diff stays small::

    {
      "version": 1,
      "match": {
        "ignore": ["$.id"],
        "replace": [
          ["\\\\d{13}", "<ms>"]
        ]
      },
      "connections": [
        {
          "request": {"path": "/feed?symbol=BTC", "headers": [["Host", "..."]], ...},
          "response": {"status": 101, "reason": "Switching Protocols", ...},
          "events": [
            {"side": "client", "time": 0.012, "json": {"op": "subscribe"}},
            {"side": "server", "time": 0.031, "text": "hello"},
            {"side": "server", "time": 0.032, "binary": "AAEC"},
            {"side": "client", "time": 0.5, "close": 1000, "reason": ""}
          ]
        }
      ]
    }

Each event is one line. A text message is written as ``"json": <value>`` only when it is a
JSON object or array whose compact form (``separators=(",", ":")``, non-ASCII kept) is the
message, byte for byte, so that reading the file gives the same text back; any other text is
``"text"``. Binary data is base64. A close is ``"close": <code or null>`` with its reason;
``"frame": false`` marks a TCP end without a close frame. Times are seconds from the
connection's opening, rounded to milliseconds. Header lists are ``[name, value]`` pairs; a
body is a string when it is UTF-8, else ``{"base64": ...}``.

:func:`dumps` of :func:`loads` of a file that :func:`dumps` wrote gives the same text back.
Bad input raises :class:`~pytest_wsmock.ConfigError` naming the file, the place in it
(``connections[1].events[4]``) and what was expected there.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from ._cassette import (
    FORMAT_VERSION,
    Cassette,
    CassetteClose,
    CassetteConnection,
    CassetteEvent,
    CassetteMessage,
    CassetteRequest,
    CassetteResponse,
    MatchRules,
)
from ._cassette_match import check_rules
from ._errors import ConfigError

#: The forms an event takes: exactly one of these keys says what it is.
EVENT_FORMS = ("text", "json", "binary", "close")


# --- writing -------------------------------------------------------------------------------


class _Line:
    """A value written on one line (an event, a header pair)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _one_line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))


def _render(value: Any, level: int) -> str:
    if isinstance(value, _Line):
        return _one_line(value.value)
    if not isinstance(value, (dict, list)) or not value:
        return _one_line(value)
    pad = "  " * (level + 1)
    if isinstance(value, dict):
        items = [
            f"{pad}{_one_line(key)}: {_render(item, level + 1)}" for key, item in value.items()
        ]
        opening, closing = "{", "}"
    else:
        items = [f"{pad}{_render(item, level + 1)}" for item in value]
        opening, closing = "[", "]"
    return opening + "\n" + ",\n".join(items) + "\n" + "  " * level + closing


def json_form(text: str) -> Any | None:
    """The JSON object or array that ``text`` is, when writing it compactly gives ``text``
    back byte for byte; else ``None`` (the message is then written as text)."""
    if not text or text[0] not in "{[":
        return None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
        again = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError:
        return None
    return value if again == text else None


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _time(value: float, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"cannot write the cassette: {where}.time is {value!r}, not seconds")
    return float(round(value, 3))


def _body(body: bytes) -> Any:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(body).decode("ascii")}


def _headers(headers: tuple[tuple[str, str], ...]) -> list[Any]:
    return [_Line([name, value]) for name, value in headers]


def _event_out(event: CassetteEvent, where: str) -> _Line:
    out: dict[str, Any] = {"side": event.side, "time": _time(event.time, where)}
    if isinstance(event, CassetteClose):
        out["close"] = event.code
        out["reason"] = event.reason
        if not event.frame:
            out["frame"] = False
    elif isinstance(event.data, str):
        value = json_form(event.data)
        if value is None:
            out["text"] = event.data
        else:
            out["json"] = value
    else:
        out["binary"] = base64.b64encode(event.data).decode("ascii")
    return _Line(out)


def _connection_out(connection: CassetteConnection, where: str) -> dict[str, Any]:
    request, response = connection.request, connection.response
    return {
        "request": {
            "path": request.path,
            "headers": _headers(request.headers),
            "subprotocols": _Line(list(request.subprotocols)),
        },
        "response": {
            "status": response.status,
            "reason": response.reason,
            "headers": _headers(response.headers),
            "body": _body(response.body),
            "subprotocol": response.subprotocol,
            "extensions": response.extensions,
        },
        "events": [
            _event_out(event, f"{where}.events[{index}]")
            for index, event in enumerate(connection.events)
        ],
    }


def dumps(cassette: Cassette) -> str:
    """The cassette file's text (ending with a newline)."""
    document = {
        "version": cassette.version,
        "match": {
            "ignore": _Line(list(cassette.match.ignore)),
            "replace": [_Line([pattern, repl]) for pattern, repl in cassette.match.replace],
        },
        "connections": [
            _connection_out(connection, f"connections[{index}]")
            for index, connection in enumerate(cassette.connections)
        ],
    }
    return _render(document, 0) + "\n"


# --- reading -------------------------------------------------------------------------------


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _Reader:
    """Reads the parsed JSON into the data model, failing with the place that is wrong."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, where: str, expected: str, value: Any = None, *, got: str = "") -> ConfigError:
        got = got or f"got {_show(value)}"
        return ConfigError(f"cassette {self.source}: at {where}: expected {expected}, {got}")

    def object(self, value: Any, where: str, keys: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.error(where, "a JSON object", value)
        unknown = [key for key in value if key not in keys]
        if unknown:
            raise self.error(
                where,
                f"only the keys {', '.join(keys)}",
                got=f"got the unknown key {unknown[0]!r}",
            )
        return value

    def require(self, obj: Mapping[str, Any], key: str, where: str, expected: str) -> Any:
        if key not in obj:
            raise self.error(where, f"a key {key!r} ({expected})", got="it is missing")
        return obj[key]

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise self.error(where, "a string", value)
        return value

    def optional_string(self, value: Any, where: str) -> str | None:
        return None if value is None else self.string(value, where)

    def strings(self, value: Any, where: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.error(where, "a list of strings", value)
        return tuple(self.string(item, f"{where}[{index}]") for index, item in enumerate(value))

    def pairs(self, value: Any, where: str, what: str) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, list):
            raise self.error(where, f"a list of {what}", value)
        found = []
        for index, item in enumerate(value):
            if not (isinstance(item, list) and len(item) == 2):
                raise self.error(f"{where}[{index}]", what, item)
            first = self.string(item[0], f"{where}[{index}][0]")
            found.append((first, self.string(item[1], f"{where}[{index}][1]")))
        return tuple(found)

    def headers(self, value: Any, where: str) -> tuple[tuple[str, str], ...]:
        return self.pairs(value, where, '["Name", "value"] pairs')

    def base64(self, value: Any, where: str) -> bytes:
        text = self.string(value, where)
        try:
            return base64.b64decode(text.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise self.error(where, "base64 data", value) from None

    def time(self, value: Any, where: str) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise self.error(where, "seconds since the connection opened (a number >= 0)", value)
        return float(value)

    def cassette(self, document: Any) -> Cassette:
        top = self.object(document, "the top level", ("version", "match", "connections"))
        version = self.require(
            top, "version", "the top level", f"the format version, {FORMAT_VERSION}"
        )
        if type(version) is not int or version != FORMAT_VERSION:
            raise self.error(
                "version",
                f"{FORMAT_VERSION}, the cassette format this pytest-wsmock reads",
                version,
                got=f"got {_show(version)} (record the cassette again with this version, or "
                f"upgrade pytest-wsmock)",
            )
        match = self.match(top.get("match", {}))
        connections = top.get("connections", [])
        if not isinstance(connections, list):
            raise self.error("connections", "a list of connections", connections)
        return Cassette(
            connections=tuple(
                self.connection(item, f"connections[{index}]")
                for index, item in enumerate(connections)
            ),
            match=match,
            version=FORMAT_VERSION,
        )

    def match(self, value: Any) -> MatchRules:
        obj = self.object(value, "match", ("ignore", "replace"))
        rules = MatchRules(
            ignore=self.strings(obj.get("ignore", []), "match.ignore"),
            replace=self.pairs(obj.get("replace", []), "match.replace", '["regex", "replacement"]'),
        )
        try:
            return check_rules(rules)
        except ConfigError as exc:
            raise ConfigError(f"cassette {self.source}: at match: {exc}") from None

    def connection(self, value: Any, where: str) -> CassetteConnection:
        obj = self.object(value, where, ("request", "response", "events"))
        request = self.request(
            self.require(obj, "request", where, "the opening request"), f"{where}.request"
        )
        response = self.response(
            self.require(obj, "response", where, "the answer"), f"{where}.response"
        )
        events = obj.get("events", [])
        if not isinstance(events, list):
            raise self.error(f"{where}.events", "a list of events", events)
        return CassetteConnection(
            request=request,
            response=response,
            events=tuple(
                self.event(item, f"{where}.events[{index}]") for index, item in enumerate(events)
            ),
        )

    def request(self, value: Any, where: str) -> CassetteRequest:
        obj = self.object(value, where, ("path", "headers", "subprotocols"))
        path = self.require(obj, "path", where, "the request target, like /feed?x=1")
        return CassetteRequest(
            path=self.string(path, f"{where}.path"),
            headers=self.headers(obj.get("headers", []), f"{where}.headers"),
            subprotocols=self.strings(obj.get("subprotocols", []), f"{where}.subprotocols"),
        )

    def response(self, value: Any, where: str) -> CassetteResponse:
        keys = ("status", "reason", "headers", "body", "subprotocol", "extensions")
        obj = self.object(value, where, keys)
        status = self.require(obj, "status", where, "101 or the refusal's status")
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 999:
            raise self.error(f"{where}.status", "an HTTP status code (101, 403, ...)", status)
        return CassetteResponse(
            status=status,
            reason=self.string(obj.get("reason", ""), f"{where}.reason"),
            headers=self.headers(obj.get("headers", []), f"{where}.headers"),
            body=self.body(obj.get("body", ""), f"{where}.body"),
            subprotocol=self.optional_string(obj.get("subprotocol"), f"{where}.subprotocol"),
            extensions=self.optional_string(obj.get("extensions"), f"{where}.extensions"),
        )

    def body(self, value: Any, where: str) -> bytes:
        if isinstance(value, str):
            try:
                return value.encode("utf-8")
            except UnicodeEncodeError:
                raise self.error(where, "a body that is UTF-8 text", value) from None
        if isinstance(value, dict) and set(value) == {"base64"}:
            return self.base64(value["base64"], f"{where}.base64")
        raise self.error(where, 'the body as a string, or {"base64": "..."}', value)

    def event(self, value: Any, where: str) -> CassetteEvent:
        obj = self.object(value, where, ("side", "time", *EVENT_FORMS, "reason", "frame"))
        side = self.require(obj, "side", where, '"client" or "server"')
        if side not in ("client", "server"):
            raise self.error(f"{where}.side", '"client" or "server"', side)
        time = self.time(self.require(obj, "time", where, "seconds"), f"{where}.time")
        forms = [key for key in EVENT_FORMS if key in obj]
        if len(forms) != 1:
            raise self.error(
                where,
                "an event with exactly one of the keys text, json, binary or close",
                value,
            )
        form = forms[0]
        if form != "close" and ("reason" in obj or "frame" in obj):
            extra = "reason" if "reason" in obj else "frame"
            raise self.error(where, f"{extra!r} only in a close event", value)
        if form == "text":
            return CassetteMessage(side, "text", self.string(obj["text"], f"{where}.text"), time)
        if form == "binary":
            return CassetteMessage(
                side, "binary", self.base64(obj["binary"], f"{where}.binary"), time
            )
        if form == "json":
            try:
                text = json.dumps(
                    obj["json"], ensure_ascii=False, allow_nan=False, separators=(",", ":")
                )
            except ValueError:
                raise self.error(f"{where}.json", "a JSON value", obj["json"]) from None
            return CassetteMessage(side, "text", text, time)
        code = obj["close"]
        if code is not None and (isinstance(code, bool) or not isinstance(code, int)):
            raise self.error(f"{where}.close", "a close code (1000, ...) or null", code)
        frame = obj.get("frame", True)
        if not isinstance(frame, bool):
            raise self.error(f"{where}.frame", "true or false", frame)
        if not frame and code is not None:
            raise self.error(f"{where}.close", 'null when "frame" is false (no close frame)', code)
        reason = self.string(obj.get("reason", ""), f"{where}.reason")
        return CassetteClose(side, code, reason, time, frame)


def loads(text: str, *, source: str = "<cassette>") -> Cassette:
    """The cassette in ``text`` (a cassette file's content); ``source`` names it in errors."""
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise ConfigError(
            f"cassette {source} is not valid JSON ({exc}); fix the file or delete it and "
            f"record it again"
        ) from None
    return _Reader(source).cassette(document)


def save(cassette: Cassette, path: str | os.PathLike[str]) -> None:
    """Write ``cassette`` to ``path``: parent folders are created, and the file is written to
    a temporary file beside it, then renamed, so a reader never sees half a cassette."""
    target = Path(path)
    try:
        data = dumps(cassette).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ConfigError(
            f"cannot write cassette {target}: a text has a character that is not UTF-8 ({exc})"
        ) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def load(path: str | os.PathLike[str]) -> Cassette:
    """The cassette in the file at ``path`` (``FileNotFoundError`` when there is none)."""
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cassette {path} is not UTF-8 text ({exc})") from None
    return loads(text, source=str(path))


__all__ = ["EVENT_FORMS", "dumps", "json_form", "load", "loads", "save"]
