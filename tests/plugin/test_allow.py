"""Strict mode you can tune: the ``allow`` option names violation kinds that are recorded and
shown, but do not fail the test; the catalogue of kinds is complete; unknown kinds are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_wsmock import VIOLATION_KINDS, ConfigError, ServerOptions

from ._support import RAW_CLIENT, write_ini

PACKAGE = Path(__file__).resolve().parents[2] / "pytest_wsmock"

#: Where the source builds a Violation with a literal kind: ``Violation("kind", ...`` and the
#: helpers that build one (``_bad_request``, ``client_rule``, ``_protocol_error``).
BUILDERS = re.compile(
    r"\b(?:Violation|_bad_request|client_rule|_protocol_error)\(\s*\"([a-z0-9-]+)\"", re.DOTALL
)
#: Kinds of the protocol core's client role (checking a server's frames and its answer to the
#: opening handshake, for the proxy's upstream leg): they go to ``conn.upstream``'s record,
#: never to the client's connection, so strict mode has nothing to allow.
CLIENT_ROLE_ONLY = {"masked-frame", "malformed-response", "response-too-large"}


def kinds_in_source() -> set[str]:
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        found.update(BUILDERS.findall(path.read_text(encoding="utf-8")))
    return found


def test_the_catalogue_names_every_kind_the_source_builds() -> None:
    """Every violation kind built anywhere in the package is in VIOLATION_KINDS, and every
    entry of VIOLATION_KINDS is built somewhere (no stale name)."""
    in_source = kinds_in_source() - CLIENT_ROLE_ONLY
    assert len(in_source) > 30, "the scan found too little: did the builders change?"
    assert sorted(in_source - set(VIOLATION_KINDS)) == []
    assert sorted(set(VIOLATION_KINDS) - in_source) == []
    assert len(VIOLATION_KINDS) == len(set(VIOLATION_KINDS))


def test_the_scan_sees_each_way_a_kind_is_built() -> None:
    """The scan finds a kind of each builder (so the completeness check can fail)."""
    found = kinds_in_source()
    # Violation(...) on its own line, _bad_request, client_rule, _protocol_error.
    assert {"record-too-large", "missing-key", "no-closing-handshake", "unmasked-frame"} <= found


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (["no-closing-handshake"], ("no-closing-handshake",)),
        (("pong-mismatch", "invalid-utf8"), ("pong-mismatch", "invalid-utf8")),
        ("no-closing-handshake, pong-mismatch", ("no-closing-handshake", "pong-mismatch")),
        ("no-close-reply pong-mismatch", ("no-close-reply", "pong-mismatch")),
        ([], ()),
    ],
)
def test_allow_takes_kinds_and_stores_a_tuple(given: object, stored: tuple[str, ...]) -> None:
    """A list, a tuple, or a string separated by commas or spaces: stored as a tuple."""
    assert ServerOptions(allow=given).allow == stored  # type: ignore[arg-type]


def test_an_unknown_kind_is_refused_with_the_closest_one_and_the_list() -> None:
    """A misspelt kind: ConfigError naming it, the closest valid kind, and every valid kind."""
    with pytest.raises(ConfigError) as excinfo:
        ServerOptions(allow=["no-closing-handshak"])  # type: ignore[arg-type]
    text = str(excinfo.value)
    assert (
        "unknown violation kind 'no-closing-handshak' (did you mean 'no-closing-handshake'?)"
        in text
    )
    assert all(kind in text for kind in VIOLATION_KINDS)


def test_allow_must_be_a_list_of_strings() -> None:
    with pytest.raises(ConfigError, match="must be a list of violation kinds"):
        ServerOptions(allow=[1])  # type: ignore[arg-type]


UNMASKED = (
    RAW_CLIENT
    + """

import pytest


MARKER
def test_unmasked_frame(FIXTURE):
    server = SERVER
    sock = raw_handshake("127.0.0.1", server.port)
    with sock:
        sock.sendall(b"\\x81\\x05hello")
        assert read_close_frame(sock) == 1002
        send_close(sock, 1002)
    conn = server.wait_for_connection()
    conn.wait_closed()
    assert [v.kind for v in conn.violations] == ["unmasked-frame"]
"""
)


def unmasked_test(marker: str = "", factory_options: str = "") -> str:
    """The inner test: a raw client sends an unmasked frame to ``ws_server``, or to a server
    of ``ws_server_factory(factory_options)``."""
    if factory_options:
        fixture, server = "ws_server_factory", f"ws_server_factory({factory_options})"
    else:
        fixture, server = "ws_server", "ws_server"
    return UNMASKED.replace("MARKER", marker).replace("FIXTURE", fixture).replace("SERVER", server)


@pytest.mark.parametrize(
    ("marker", "factory_options", "ini"),
    [
        pytest.param('@pytest.mark.wsmock(allow=["unmasked-frame"])', "", "", id="marker"),
        pytest.param("", 'allow=["unmasked-frame"]', "", id="factory"),
        pytest.param("", "", "wsmock_allow = pong-mismatch, unmasked-frame", id="ini"),
    ],
)
def test_an_allowed_violation_is_recorded_and_noted_not_failed(
    pytester: pytest.Pytester, marker: str, factory_options: str, ini: str
) -> None:
    """The client's unmasked frame, allowed: the test passes, the violation is in the record
    (the test asserts it) and the transcript shows it with a note that it was allowed."""
    write_ini(pytester, *([ini] if ini else []))
    pytester.makepyfile(unmasked_test(marker, factory_options))
    result = pytester.runpytest("--wsmock-transcript")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*violation: unmasked-frame: client frame is not masked*",
            "*note: violation unmasked-frame allowed (option allow): recorded, not failed",
        ]
    )


def test_allowing_another_kind_still_fails_this_one(pytester: pytest.Pytester) -> None:
    """allow names kinds: a violation of another kind fails the test as before."""
    write_ini(pytester)
    pytester.makepyfile(unmasked_test('@pytest.mark.wsmock(allow=["no-closing-handshake"])'))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ClientViolationError*", "*unmasked-frame*"])


def test_an_unknown_kind_in_the_marker_errors_the_test(pytester: pytest.Pytester) -> None:
    """A misspelt kind in the marker: the test errors at setup, with the suggestion."""
    write_ini(pytester)
    pytester.makepyfile(unmasked_test('@pytest.mark.wsmock(allow=["unmasked-frames"])'))
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ConfigError: wsmock option allow: unknown violation kind 'unmasked-frames' "
            "(did you mean 'unmasked-frame'?)*"
        ]
    )


def test_an_unknown_kind_in_the_ini_file_is_one_usage_error(pytester: pytest.Pytester) -> None:
    """A misspelt kind in wsmock_allow stops the run at start-up, once."""
    write_ini(pytester, "wsmock_allow = no-close-replies")
    pytester.makepyfile(unmasked_test())
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*in the ini file: wsmock option allow: unknown violation kind 'no-close-replies' "
            "(did you mean 'no-close-reply'?)*"
        ]
    )


DROPPING_CLIENTS = """
import contextlib

import pytest
import websocket
import websockets.sync.client


def drop_websocket_client(url):
    ws = websocket.create_connection(url, timeout=5)
    ws.send("hello")
    ws.sock.close()  # TCP ends without a close frame


def drop_websockets_sync(url):
    stack = contextlib.ExitStack()  # never closed: the socket is dropped instead
    ws = stack.enter_context(websockets.sync.client.connect(url, open_timeout=5))
    ws.send("hello")
    ws.socket.close()


@pytest.mark.parametrize("drop", [drop_websocket_client, drop_websockets_sync])
MARKER
def test_dropping_client(ws_server, drop):
    drop(ws_server.url)
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert conn.received_texts == ["hello"]
    assert [v.kind for v in conn.violations] == ["no-closing-handshake"]
"""


@pytest.mark.parametrize(
    ("marker", "outcome"),
    [
        pytest.param('@pytest.mark.wsmock(allow=["no-closing-handshake"])', {"passed": 2}, id="on"),
        pytest.param("", {"failed": 2}, id="off"),
    ],
)
def test_real_clients_that_drop_tcp_pass_when_the_kind_is_allowed(
    pytester: pytest.Pytester, marker: str, outcome: dict[str, int]
) -> None:
    """websocket-client and websockets' sync client, each dropping TCP without a close frame:
    with ``allow=["no-closing-handshake"]`` the test passes (the violation still recorded);
    without it, it fails as its own failure."""
    write_ini(pytester)
    pytester.makepyfile(DROPPING_CLIENTS.replace("MARKER", marker))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(**outcome)
