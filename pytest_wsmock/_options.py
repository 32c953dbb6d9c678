"""Server options: their defaults, their validation, and how marker and ini values merge."""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import ipaddress
import math
import re
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

from ._cassette import MatchRules
from ._cassette_secrets import Secrets
from ._errors import ConfigError
from ._handshakes import Handshake, check_outcomes
from ._rules import Rule, check_rules
from ._tls import TlsFault

BACKENDS = ("asyncio", "trio")

#: Every kind of :class:`Violation` the server can record, in the order a connection meets
#: them (handshake request, frames, messages, closing), for the ``allow`` option. A test
#: (``tests/plugin/test_allow.py``) scans the source for kinds, so none is missing here.
VIOLATION_KINDS: tuple[str, ...] = (
    # the opening handshake request
    "malformed-request",
    "request-line-too-long",
    "headers-too-large",
    "method-not-get",
    "invalid-target",
    "http-version-too-old",
    "missing-host",
    "host-port-mismatch",
    "missing-upgrade",
    "missing-connection-upgrade",
    "missing-key",
    "invalid-key",
    "unsupported-version",
    # frames
    "http-request-on-websocket",
    "unmasked-frame",
    "reserved-opcode",
    "reserved-bits",
    "invalid-length",
    "non-minimal-length",
    "frame-too-large",
    "control-frame-too-large",
    "fragmented-control-frame",
    "interleaved-data-frame",
    "unexpected-continuation",
    # messages
    "message-too-big",
    "invalid-utf8",
    "invalid-compressed-data",
    "deflate-trailing-data",
    "record-too-large",
    # pings and closing
    "pong-mismatch",
    "close-payload-too-short",
    "invalid-close-code",
    "invalid-close-reason",
    "data-after-close",
    "no-close-reply",
    "no-closing-handshake",
)


def suggest(name: str, valid: Sequence[str]) -> str:
    """`` (did you mean 'timeout'?)`` for a near miss of one of ``valid``, else ``""``."""
    close = difflib.get_close_matches(name, valid, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class ServerOptions:
    """Everything that configures one mock server.

    Pass any of these as keyword arguments to ``@pytest.mark.wsmock(...)`` or to
    ``ws_server_factory(...)``; the ini keys named below set the defaults. Every field is
    checked (and sequences normalized to tuples) when the value is built, however it is built:
    an invalid one raises :class:`ConfigError` naming the option and what to write instead.

    Attributes:
        host: address to bind; loopback only (ini ``wsmock_host``, default ``127.0.0.1``).
        port: port to bind; ``0`` picks a free one.
        tls: serve ``wss://`` with a certificate from the session CA.
        subprotocols: subprotocols the server supports; the first one the client offers that is
            in this list is selected.
        deflate: accept permessage-deflate when the client offers it.
        strict: fail the test at teardown when the client broke the protocol
            (ini ``wsmock_strict``, default true).
        timeout: default timeout in seconds of every wait (ini ``wsmock_timeout``, default 5).
        close_timeout: how long the server waits for the client's close frame after sending its
            own, and for the client to close TCP, before closing TCP itself
            (ini ``wsmock_close_timeout``, default 2).
        violation_grace: after the server breaks the protocol on purpose, how long it gives the
            client to fail the connection before closing TCP itself, since some clients never
            do (ini ``wsmock_violation_grace``, default 0.5).
        handshake_timeout: how long the server waits for the opening handshake request
            (ini ``wsmock_handshake_timeout``, default 10).
        max_message_size: largest client message or frame accepted; larger ones get close 1009
            before the claimed length is read (ini ``wsmock_max_message_size``, default 64 MiB).
        max_header_size: largest opening-handshake request head; larger ones get HTTP 431
            (ini ``wsmock_max_header_size``, default 64 KiB).
        backend: anyio backend that runs the server thread, ``asyncio`` or ``trio``
            (ini ``wsmock_backend``, default ``asyncio``).
        handshake: how to answer opening handshakes: one :class:`Handshake` or a sequence, one
            per connection, the last repeating (default: a correct accept).
        idle_timeout: close a connection with 1001 when the client sends nothing for this
            many seconds (ini ``wsmock_idle_timeout``, default none).
        max_connections: answer connections beyond this many open ones with
            ``503 Service Unavailable`` (ini ``wsmock_max_connections``, default none).
        deadline: seconds after its start at which the server closes every connection and
            fails the test, so that a client that never finishes cannot hang the run
            (ini ``wsmock_deadline``, default 120; ``0`` or ``none`` turns it off).
        tls_fault: make the TLS server misbehave: a :class:`TlsFault`, or its value as a
            string (``untrusted``, ``wrong-host``, ``expired``, ``not-yet-valid``,
            ``close-during-handshake``), which is turned into the member. Needs ``tls=True``.
        client_cert: mutual TLS: the server requires a client certificate issued by the
            session CA (``server.client_cert_files()`` gives one). Needs ``tls=True``.
        deflate_client_no_context_takeover: answer ``client_no_context_takeover`` when the
            client offers it (RFC 7692 section 7.1.1.2); ``False`` leaves it out of the answer,
            for tests of clients that must cope with that.
        show_credentials: show the values of ``Authorization``, ``Proxy-Authorization``,
            ``Cookie`` and ``Set-Cookie`` headers in full in transcripts and failure reports;
            by default they are masked (``Bearer ***(43 chars)``), since CI logs are often
            read by more people than the tokens should be (ini ``wsmock_show_credentials``,
            default false).
        max_record_size: how many bytes of frames and messages the record of one connection
            may hold (payloads plus about 300 bytes a frame); past it the server closes the
            connection with 1008 and notes why, so a runaway client (a million pings, messages
            that decompress a thousandfold) cannot take the test run's memory
            (ini ``wsmock_max_record_size``, default 256 MiB; ``None`` or ``none``: no budget).
        rules: background rules (``rule(...)`` values) every connection of the server gets,
            before those of ``server.on(...)`` (see docs/rules.md).
        allow: violation kinds (``"no-closing-handshake"``, ...; every kind is in
            :data:`VIOLATION_KINDS`) that strict mode does not fail: they are still recorded,
            and the transcript notes them as allowed (ini ``wsmock_allow``, kinds separated
            by spaces or commas; default none).
        strict_routes: WebSocket requests for a path no ``route()`` matches get ``404`` (and a
            note) instead of the server-wide behaviour (ini ``wsmock_strict_routes``, default
            false).
        cassette: record and replay (docs/record-replay.md): a cassette name (its file is
            ``cassettes/<test module>/<name>.json`` beside the test), a path ending in
            ``.json``, or ``True`` (named after the test); ``--wsmock-record-mode`` says
            whether the run replays or records it.
        upstream: the real service a cassette is recorded from (``wss://...``).
        upstream_ssl: the ``ssl.SSLContext`` for a ``wss://`` upstream (default: the
            system's trusted CAs).
        replay_timing: ``"immediate"`` (default) or ``"recorded"`` (the recorded gaps).
        cassette_match: ``MatchRules`` that replace the cassette's own for this test.
        cassette_secrets: the ``Secrets`` filtered out before a cassette is written
            (default: ``Secrets()``, see docs/record-replay.md).
    """

    host: str = "127.0.0.1"
    port: int = 0
    tls: bool = False
    subprotocols: tuple[str, ...] = ()
    deflate: bool = True
    strict: bool = True
    timeout: float = 5.0
    close_timeout: float = 2.0
    violation_grace: float = 0.5
    handshake_timeout: float = 10.0
    max_message_size: int = 64 * 2**20
    max_header_size: int = 64 * 2**10
    backend: str = "asyncio"
    handshake: tuple[Handshake, ...] = ()
    idle_timeout: float | None = None
    max_connections: int | None = None
    deadline: float | None = 120.0
    tls_fault: TlsFault | None = None
    client_cert: bool = False
    # Appended, not next to ``deflate``: fields keep their positions for positional callers.
    deflate_client_no_context_takeover: bool = True
    show_credentials: bool = False
    max_record_size: int | None = 256 * 2**20
    rules: tuple[Rule, ...] = ()
    allow: tuple[str, ...] = ()
    strict_routes: bool = False
    cassette: str | bool | None = None
    upstream: str | None = None
    upstream_ssl: ssl.SSLContext | None = None
    replay_timing: Literal["immediate", "recorded"] = "immediate"
    cassette_match: MatchRules | None = None
    cassette_secrets: Secrets | None = None

    def __post_init__(self) -> None:
        # Checked here, not in the places that build options (marker, ini, factory, replace),
        # so that no path, ``ServerOptions(host="0.0.0.0")`` included, makes an invalid value.
        for name, check in _CHECKS.items():
            value = getattr(self, name)
            checked = check(name, value)
            if checked is not value:
                # Frozen: normalization (a list of subprotocols to a tuple...) has to go around
                # the dataclass's own __setattr__, which is what dataclasses do themselves.
                object.__setattr__(self, name, checked)

    @classmethod
    def names(cls) -> list[str]:
        """The option names that a marker or the factory accepts."""
        return [f.name for f in dataclasses.fields(cls)]

    def replace(self, **changes: Any) -> ServerOptions:
        """A copy with ``changes`` applied and checked."""
        names = self.names()
        unknown = sorted(set(changes) - set(names))
        if unknown:
            named = ", ".join(f"{name}{suggest(name, names)}" for name in unknown)
            raise ConfigError(
                f"unknown wsmock option{'s' if len(unknown) > 1 else ''} {named}; "
                f"valid options are: {', '.join(names)}"
            )
        # The constructor checks and normalizes every field.
        return dataclasses.replace(self, **changes)

    def check_tls(self) -> None:
        """Raise unless the TLS-only options come with ``tls=True``.

        Checked when a server is built, not when options merge: a marker may set
        ``tls_fault`` for the ``wss_server`` fixture, which adds ``tls=True`` itself.
        """
        if (self.tls_fault is not None or self.client_cert) and not self.tls:
            raise ConfigError(
                "wsmock options tls_fault and client_cert need a TLS server: use the "
                "wss_server fixture or ws_server_factory(tls=True)"
            )


# -- the checks, one per field ------------------------------------------------------------------
#
# Each takes the option's name and the given value, and returns the value to store (the same
# object when nothing needs normalizing) or raises ConfigError naming the option, the value and
# what to write instead.

#: RFC 6455 section 5.2: the most significant bit of a 64-bit payload length must be 0, so no
#: frame is longer than this, and a larger limit would mean nothing.
_MAX_SIZE = 2**63 - 1


def _is_number(value: object) -> TypeGuard[int | float]:
    # bool is an int, but ``timeout=True`` is a mistake, not one second.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _flag(name: str, value: object) -> object:
    if not isinstance(value, bool):
        raise ConfigError(f"wsmock option {name} must be True or False, got {value!r}")
    return value


def _seconds(name: str, value: object) -> object:
    # NaN fails every comparison and infinity would let a wait hang the run: both are refused.
    if not _is_number(value) or not 0 < value < math.inf:
        raise ConfigError(
            f"wsmock option {name} must be a positive number, got {value!r} "
            f"(a finite number of seconds, e.g. {name}=2.5)"
        )
    return value


def _optional_seconds(name: str, value: object) -> object:
    if value is not None and (not _is_number(value) or not 0 < value < math.inf):
        raise ConfigError(
            f"wsmock option {name} must be a positive number or None, got {value!r} "
            f"(a finite number of seconds; None turns it off)"
        )
    return value


def _size(name: str, value: object) -> object:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= _MAX_SIZE:
        raise ConfigError(
            f"wsmock option {name} must be a positive int below 2**63, got {value!r} "
            f"(a number of bytes, e.g. {name}={getattr(ServerOptions, name)})"
        )
    return value


def _optional_size(name: str, value: object) -> object:
    if value is None:
        return value
    return _size(name, value)


def _optional_count(name: str, value: object) -> object:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ConfigError(
            f"wsmock option {name} must be an int >= 1 or None, got {value!r} (None sets no limit)"
        )
    return value


def _port(name: str, value: object) -> object:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**16:
        raise ConfigError(
            f"wsmock option {name} must be an int from 0 to 65535, got {value!r} "
            f"(0 picks a free port)"
        )
    return value


def _backend(name: str, value: object) -> object:
    if value not in BACKENDS:
        raise ConfigError(
            f"wsmock option {name} must be one of {', '.join(BACKENDS)}, got {value!r}"
        )
    return value


#: Hosts known to be loopback, so the default costs no parsing.
_LOOPBACK_NAMES = frozenset({"127.0.0.1", "::1", "localhost"})


def _host(name: str, value: object) -> object:
    """Refuse to bind anything but loopback: tests must not open ports to the network."""
    if isinstance(value, str) and value in _LOOPBACK_NAMES:
        return value
    why = "the mock server never listens on the network"
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            address = ipaddress.ip_address(value)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ``::ffff:127.0.0.1`` is loopback to some Python versions and not others, and
        # ``::ffff:0.0.0.0`` binds a dual-stack socket to every interface: refuse the form.
        if address.ipv4_mapped.is_loopback:
            why = f"IPv4-mapped addresses are refused; write {address.ipv4_mapped}"
        address = None
    if address is None or not address.is_loopback:
        raise ConfigError(
            f"wsmock option {name} must be a loopback address such as 127.0.0.1, ::1 or "
            f"localhost ({why}), got {value!r}"
        )
    return value


def _subprotocols(name: str, value: object) -> object:
    if isinstance(value, tuple) and all(isinstance(item, str) for item in value):
        return value
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Sequence) or not all(isinstance(item, str) for item in value):
        raise ConfigError(
            f"wsmock option {name} must be a list of strings, got {value!r} "
            f'(e.g. {name}=["chat.v2", "chat.v1"])'
        )
    return tuple(value)


def _handshake(name: str, value: object) -> object:
    if value == () or (
        isinstance(value, tuple) and all(isinstance(item, Handshake) for item in value)
    ):
        return value
    try:
        return check_outcomes(value)
    except ConfigError as exc:
        raise ConfigError(f"wsmock option {name}: {exc}") from None


def _tls_fault(name: str, value: object) -> object:
    if value is None or isinstance(value, TlsFault):
        return value
    # Strings come from markers and ini files; the member is what the server compares against.
    if isinstance(value, str) and value in _TLS_FAULT_VALUES:
        return TlsFault(value)
    raise ConfigError(
        f"wsmock option {name} must be None or one of {', '.join(_TLS_FAULT_VALUES)}, "
        f"got {value!r} (or use pytest_wsmock.TlsFault)"
    )


def _allow(name: str, value: object) -> object:
    if isinstance(value, str):
        value = split_kinds(value)
    if not isinstance(value, Sequence) or not all(isinstance(item, str) for item in value):
        raise ConfigError(
            f"wsmock option {name} must be a list of violation kinds, got {value!r} "
            f'(e.g. {name}=["no-closing-handshake"])'
        )
    unknown = [kind for kind in value if kind not in VIOLATION_KINDS]
    if unknown:
        named = ", ".join(f"{kind!r}{suggest(kind, VIOLATION_KINDS)}" for kind in unknown)
        raise ConfigError(
            f"wsmock option {name}: unknown violation kind{'s' if len(unknown) > 1 else ''} "
            f"{named}; the kinds are: {', '.join(VIOLATION_KINDS)}"
        )
    return value if isinstance(value, tuple) else tuple(value)


def _cassette(name: str, value: object) -> object:
    if value is None or value is True or (isinstance(value, str) and value):
        return value
    raise ConfigError(
        f"wsmock option {name} must be a cassette name, a path ending in .json, or True "
        f"(named after the test), got {value!r} (e.g. {name}='ticker-subscribe')"
    )


def _upstream(name: str, value: object) -> object:
    if value is None or (isinstance(value, str) and value.startswith(("ws://", "wss://"))):
        return value
    raise ConfigError(
        f"wsmock option {name} must be a ws:// or wss:// URL, got {value!r} "
        f"(e.g. {name}='wss://stream.example.com/v1')"
    )


def _replay_timing(name: str, value: object) -> object:
    if value in ("immediate", "recorded"):
        return value
    raise ConfigError(f"wsmock option {name} must be 'immediate' or 'recorded', got {value!r}")


def _instance(kind: type, example: str) -> Callable[[str, object], object]:
    def check(name: str, value: object) -> object:
        if value is None or isinstance(value, kind):
            return value
        raise ConfigError(f"wsmock option {name} must be {example} or None, got {value!r}")

    return check


def split_kinds(text: str) -> tuple[str, ...]:
    """``"a, b c"`` -> ``("a", "b", "c")``: kinds separated by commas and/or spaces."""
    return tuple(part for part in re.split(r"[\s,]+", text) if part)


_CHECKS: dict[str, Callable[[str, Any], object]] = {
    "host": _host,
    "port": _port,
    "tls": _flag,
    "subprotocols": _subprotocols,
    "deflate": _flag,
    "strict": _flag,
    "timeout": _seconds,
    "close_timeout": _seconds,
    "violation_grace": _seconds,
    "handshake_timeout": _seconds,
    "max_message_size": _size,
    "max_header_size": _size,
    "backend": _backend,
    "handshake": _handshake,
    "idle_timeout": _optional_seconds,
    "max_connections": _optional_count,
    "deadline": _optional_seconds,
    "tls_fault": _tls_fault,
    "client_cert": _flag,
    "deflate_client_no_context_takeover": _flag,
    "show_credentials": _flag,
    "max_record_size": _optional_size,
    "rules": check_rules,
    "allow": _allow,
    "strict_routes": _flag,
    "cassette": _cassette,
    "upstream": _upstream,
    "upstream_ssl": _instance(ssl.SSLContext, "an ssl.SSLContext"),
    "replay_timing": _replay_timing,
    "cassette_match": _instance(MatchRules, "MatchRules(ignore=[...], replace=[...])"),
    "cassette_secrets": _instance(Secrets, "Secrets(headers=[...], query=[...])"),
}
# A new option without a check would slip through unchecked: fail at import instead.
assert list(_CHECKS) == ServerOptions.names(), "every ServerOptions field needs a check"


#: Every :class:`TlsFault`, in order, for ``pytest.mark.parametrize("tls_fault", TLS_FAULTS)``:
#: a tuple of members, each equal to its string value (which is also its test id).
TLS_FAULTS: tuple[TlsFault, ...] = tuple(TlsFault)
_TLS_FAULT_VALUES = tuple(fault.value for fault in TlsFault)
