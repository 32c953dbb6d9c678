"""Every exception prints under the public module name, and the tree is in one module."""

from __future__ import annotations

import pickle

import pytest

import pytest_wsmock
from pytest_wsmock import (
    ClientViolationError,
    ConfigError,
    ConnectionClosed,
    RecordMismatch,
    ScriptError,
    ServerError,
    WaitTimeout,
    WsmockError,
)

from ._support import write_ini

ERRORS = [
    WsmockError,
    ConfigError,
    WaitTimeout,
    ClientViolationError,
    ScriptError,
    ServerError,
    ConnectionClosed,
    RecordMismatch,
]


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_every_error_lives_in_the_public_module(cls: type[WsmockError]) -> None:
    """str(cls) names pytest_wsmock.X, and pytest_wsmock.X is that very class."""
    assert str(cls) == f"<class 'pytest_wsmock.{cls.__name__}'>"
    assert getattr(pytest_wsmock, cls.__name__) is cls


KIT_ERRORS = [
    "ClientHung",
    "AdapterError",
    "DriverFailure",
    "DriverHung",
    "DriverError",
    "PinFileError",
]


@pytest.mark.parametrize("name", KIT_ERRORS)
def test_the_kit_errors_join_the_tree(name: str) -> None:
    """The conformance kit's errors are WsmockErrors that print under pytest_wsmock.conformance,
    and the tree drawn in _errors names them."""
    import pytest_wsmock.conformance as kit
    from pytest_wsmock import _errors

    cls = getattr(kit, name)
    assert issubclass(cls, WsmockError)
    assert str(cls) == f"<class 'pytest_wsmock.conformance.{name}'>"
    assert _errors.__doc__ is not None
    assert name in _errors.__doc__
    assert issubclass(kit.DriverHung, kit.ClientHung)
    assert issubclass(kit.PinFileError, ConfigError)


def test_record_mismatch_is_in_the_error_tree() -> None:
    """RecordMismatch is a WsmockError and an AssertionError, drawn in the tree."""
    assert issubclass(RecordMismatch, WsmockError)
    assert issubclass(RecordMismatch, AssertionError)
    from pytest_wsmock import _assertions, _errors

    assert _assertions.RecordMismatch is RecordMismatch
    assert _errors.__doc__ is not None
    for cls in ERRORS:
        assert cls.__name__ in _errors.__doc__


def test_errors_survive_pickling() -> None:
    """Errors round-trip through pickle (xdist and multiprocessing send them between processes)."""
    closed = pickle.loads(
        pickle.dumps(ConnectionClosed("connection #0 (GET /)", "send TEXT", "closed", 4000, "bye"))
    )
    assert (type(closed), str(closed), closed.code, closed.reason) == (
        ConnectionClosed,
        "cannot send TEXT on connection #0 (GET /): it is closed; the client sent close 4000 'bye'",
        4000,
        "bye",
    )
    for cls in (ConfigError, WaitTimeout, ScriptError, ServerError, RecordMismatch):
        copy = pickle.loads(pickle.dumps(cls("why")))
        assert type(copy) is cls
        assert str(copy) == "why"
    violation = ClientViolationError([])
    assert str(pickle.loads(pickle.dumps(violation))) == str(violation)


def test_the_failure_line_names_the_public_class(pytester: pytest.Pytester) -> None:
    """A failed script shows ``pytest_wsmock.ScriptError`` in the report, not the private path."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import websockets.sync.client
        from pytest_wsmock import expect_text


        def test_script_fails(ws_server):
            ws_server.script(expect_text("hello"))
            with websockets.sync.client.connect(ws_server.url, open_timeout=2) as ws:
                ws.send("goodbye")
                ws_server.wait_for_connection().wait_closed(timeout=2)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["E * pytest_wsmock.ScriptError: *expected 'hello'*"])
    assert "pytest_wsmock._errors" not in result.stdout.str()
