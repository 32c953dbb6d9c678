"""``DriverClient`` itself, with Python drivers: needs neither Node nor Go.

The fake driver answers from a list, hangs, exits or writes garbage on cue; every wait in
these tests is bounded by the client's margin (0.5 s here instead of 5 s).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_wsmock import MockServer, echo
from pytest_wsmock.conformance import DriverClient, DriverFailure, DriverHung
from pytest_wsmock.conformance._driver import DriverError

from ._tools import python_command

FAKE = Path(__file__).resolve().parent / "fake_driver.py"
CONNECTED: dict[str, Any] = {"ok": True, "subprotocol": None}
URL = "ws://127.0.0.1:9/"


def fake(*answers: object, margin: float = 0.5) -> DriverClient:
    """A client over the fake driver, answering ``answers`` in order."""
    return DriverClient(
        [sys.executable, str(FAKE), json.dumps(answers)], name="fake", margin=margin
    )


def test_the_driver_starts_at_the_first_connect_and_stops_once() -> None:
    client = fake(CONNECTED)
    assert client.starts == 0
    client.connect(URL, timeout=1.0)
    assert client.starts == 1
    client.stop()
    client.stop()  # idempotent
    assert client.starts == 1


def test_a_driver_that_hangs_is_killed_and_started_again() -> None:
    """No answer within timeout + margin: DriverHung, with the driver's stderr in the message;
    the session is gone (close is a no-op), and the next connect starts a new driver."""
    with fake(CONNECTED, "HANG") as client:
        session = client.connect(URL, timeout=1.0)
        with pytest.raises(DriverHung, match="fake driver: hanging on receive") as caught:
            session.receive(0.1)
        assert "'receive' within 0.6 s" in str(caught.value)
        session.close()  # the driver that held it is gone: nothing to close
        with pytest.raises(DriverError, match="restarted"):
            session.send("late")
        client.connect(URL, timeout=1.0)
        assert client.starts == 2
        assert "hanging on receive" in client.stderr


def test_a_driver_that_stops_reading_cannot_block_a_send() -> None:
    """A message bigger than the pipe's buffer to a driver that reads nothing: the write is
    bounded too (DriverHung), not only the wait for the answer."""
    with fake("DEAF", CONNECTED) as client:
        session = client.connect(URL, timeout=0.3)
        with pytest.raises(DriverHung, match="'send'"):
            session.send(bytes(2**21))
        client.connect(URL, timeout=1.0)
        assert client.starts == 2


def test_a_driver_behind_a_shell_script_is_killed_with_it() -> None:
    """The driver's whole process group is killed: a script's child does not survive."""
    script = f"{sys.executable} {FAKE} '{json.dumps([CONNECTED, 'HANG'])}'"
    with DriverClient(["sh", "-c", script], name="wrapped", margin=0.5) as client:
        session = client.connect(URL, timeout=1.0)
        with pytest.raises(DriverHung):
            session.receive(0.1)
        client.connect(URL, timeout=1.0)
        assert client.starts == 2


def test_a_driver_that_exits_is_a_driver_error_and_restarts() -> None:
    with fake(CONNECTED, "EXIT") as client:
        session = client.connect(URL, timeout=1.0)
        with pytest.raises(DriverError, match="exited during 'send'"):
            session.send("hello")
        client.connect(URL, timeout=1.0)
        assert client.starts == 2


def test_an_answer_that_is_not_json_is_a_driver_error() -> None:
    with fake("GARBAGE") as client, pytest.raises(DriverError, match="not JSON"):
        client.connect(URL, timeout=1.0)


def test_a_command_that_does_not_exist_is_a_driver_error() -> None:
    client = DriverClient(["/nonexistent/driver"], name="missing")
    with pytest.raises(DriverError, match="cannot start driver"):
        client.connect(URL, timeout=1.0)


def test_failures_carry_type_message_and_close() -> None:
    """An error is "<type>: <message>"; a close without an error is type "closed" with the
    code; {"timeout": true} is a TimeoutError."""
    close = {"code": 1001, "reason": "away", "clean": True}
    error = {"type": "ECONNRESET", "message": "read ECONNRESET"}
    answers = (
        {"ok": False, "error": error, "close": None},
        CONNECTED,
        {"ok": False, "timeout": True},
        {"ok": False, "error": None, "close": close},
    )
    with fake(*answers) as client:
        assert client.failures == (DriverFailure,)
        with pytest.raises(DriverFailure) as caught:
            client.connect(URL, timeout=1.0)
        assert str(caught.value) == "ECONNRESET: read ECONNRESET"
        assert (caught.value.type, caught.value.message, caught.value.close) == (
            "ECONNRESET",
            "read ECONNRESET",
            None,
        )
        session = client.connect(URL, timeout=1.0)
        with pytest.raises(TimeoutError):
            session.receive(0.1)
        with pytest.raises(DriverFailure) as ended:
            session.receive(0.1)
        assert ended.value.type == "closed"
        assert "1001" in ended.value.message
        assert ended.value.close == close
        assert session.close_info == close


def test_the_python_driver_end_to_end(ws_server: MockServer) -> None:
    """The reference Python driver (websockets) through DriverClient: text, binary, close."""
    ws_server.handler(echo)
    with DriverClient(python_command(), name="python-websockets") as client:
        session = client.connect(ws_server.url, ssl=None, ca_path=None, subprotocols=(), timeout=5)
        session.send("hé")
        assert session.receive(5) == "hé"
        session.send(b"\x00\xff")
        assert session.receive(5) == b"\x00\xff"
        session.close()
    assert session.close_info == {"code": 1000, "reason": "", "clean": True}
    assert ws_server.wait_for_connection().wait_closed().client_code == 1000
