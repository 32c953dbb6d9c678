"""The ini options (``wsmock_timeout = 2.5`` in pytest.ini): their help texts, and how their
strings become typed option values (checked afterwards by :class:`ServerOptions`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._errors import ConfigError
from ._options import split_kinds


def parse_ini(values: Mapping[str, str]) -> dict[str, Any]:
    """Turn ini strings (``wsmock_timeout = 2.5``) into typed option values."""
    converters: dict[str, Any] = {
        "host": str,
        "backend": str,
        "timeout": float,
        "close_timeout": float,
        "violation_grace": float,
        "handshake_timeout": float,
        "max_message_size": int,
        "max_header_size": int,
        "strict": _parse_bool,
        "show_credentials": _parse_bool,
        "strict_routes": _parse_bool,
        "idle_timeout": _optional_float,
        "deadline": _optional_float,
        "max_connections": _optional_int,
        "max_record_size": _optional_int,
        "allow": split_kinds,
    }
    result: dict[str, Any] = {}
    for name, raw in values.items():
        try:
            result[name] = converters[name](raw.strip())
        except ValueError:
            raise ConfigError(f"ini option wsmock_{name} has an invalid value {raw!r}") from None
    return result


def _optional_float(text: str) -> float | None:
    if text.lower() in ("", "none", "0", "off"):
        return None
    return float(text)


def _optional_int(text: str) -> int | None:
    if text.lower() in ("", "none", "off"):
        return None
    return int(text)


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


INI_OPTIONS: dict[str, str] = {
    "host": "address the mock servers bind to (loopback only)",
    "backend": "anyio backend of the server thread: asyncio or trio",
    "timeout": "default timeout in seconds of the wait methods",
    "close_timeout": "seconds the server waits for the client during the closing handshake",
    "handshake_timeout": "seconds the server waits for the opening handshake request",
    "violation_grace": "seconds after a deliberate server violation before the server closes TCP",
    "max_message_size": "largest client message in bytes; larger ones get close 1009",
    "max_header_size": "largest handshake request head in bytes; larger ones get HTTP 431",
    "strict": "fail a test when its client breaks the protocol (true/false)",
    "idle_timeout": "seconds of client silence after which the server closes with 1001 (none)",
    "max_connections": "open connections a server allows; more get HTTP 503 (none)",
    "deadline": "seconds after which a server closes everything and fails the test (none: off)",
    "show_credentials": "show credential header values in transcripts instead of masking them",
    "max_record_size": "bytes of record a connection may hold; past it the server closes 1008",
    "allow": "violation kinds strict mode does not fail, separated by spaces or commas",
    "strict_routes": "answer WebSocket requests for paths no route() matches with 404 (true/false)",
}
