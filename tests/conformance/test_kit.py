"""The conformance kit end to end: a user's conformance module, built here for clients the
kit does not special-case (adapters written inline), run by pytester: pinning, checking, a
changed verdict, the report, hung clients, adapter bugs and xdist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

INI = """\
[pytest]
addopts = -p no:hypothesispytest -p no:benchmark -p no:cacheprovider --strict-markers
filterwarnings =
    error
asyncio_default_fixture_loop_scope = function
"""

#: Two adapters, as a user writes them: websocket-client (sync) and websockets (asyncio).
ADAPTERS = """
import asyncio

import websocket
import websockets
import websockets.asyncio.client

from pytest_wsmock import FRAME_VIOLATIONS, HANDSHAKE_FAILURES, HANDSHAKE_REJECTIONS
from pytest_wsmock import TRANSPORT_FAULTS, TlsFault
from pytest_wsmock.conformance import conformance_tests


class WebsocketClient:
    name = "websocket-client"
    failures = (websocket.WebSocketException, OSError)

    def connect(self, url, *, ssl, ca_path, subprotocols, timeout):
        sslopt = {"ca_certs": ca_path} if ca_path else None
        ws = websocket.create_connection(
            url, timeout=timeout, subprotocols=subprotocols or None, sslopt=sslopt
        )
        return Session(ws)


class Session:
    def __init__(self, ws):
        self.ws = ws
        self.subprotocol = ws.subprotocol

    def send(self, message):
        self.ws.send(message)

    def receive(self, timeout):
        self.ws.settimeout(timeout)
        try:
            opcode, data = self.ws.recv_data()
        except websocket.WebSocketTimeoutException:
            raise TimeoutError from None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            raise websocket.WebSocketConnectionClosedException("close frame")
        return data.decode() if opcode == websocket.ABNF.OPCODE_TEXT else data

    def close(self):
        self.ws.close(timeout=1)
        self.ws.shutdown()


class WebsocketsAsyncio:
    name = "websockets-asyncio"
    failures = (websockets.WebSocketException, OSError)

    async def connect(self, url, *, ssl, ca_path, subprotocols, timeout):
        ws = await websockets.asyncio.client.connect(
            url, ssl=ssl, subprotocols=subprotocols or None, open_timeout=timeout,
            close_timeout=timeout,
        )
        return AsyncSession(ws)


class AsyncSession:
    def __init__(self, ws):
        self.ws = ws
        self.subprotocol = ws.subprotocol

    async def send(self, message):
        await self.ws.send(message)

    async def receive(self, timeout):
        return await asyncio.wait_for(self.ws.recv(), timeout)

    async def close(self):
        await self.ws.close()


SUBSET = [
    HANDSHAKE_FAILURES[:1],
    HANDSHAKE_REJECTIONS[2:3],
    FRAME_VIOLATIONS[:2],
    TRANSPORT_FAULTS[:1],
    TlsFault.UNTRUSTED,
]
"""

MODULE = (
    ADAPTERS
    + """
test_websocket_client = conformance_tests(WebsocketClient(), pins="pins.json", catalogues=SUBSET)
test_websockets = conformance_tests(WebsocketsAsyncio(), pins="pins.json", catalogues=SUBSET)
"""
)

IDS = [
    "frame-violation/invalid-utf8",
    "frame-violation/masked-frame",
    "handshake-failure/wrong-accept",
    "handshake-rejection/not-found",
    "tls-fault/untrusted",
    "transport-fault/drop",
]


@pytest.fixture
def kit(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    return pytester


def test_pin_check_change_and_report(kit: pytest.Pytester) -> None:
    """Without a pin file every test fails saying how to make it; --wsmock-pin writes it
    (sorted, readable) and the report; the next run passes; an edited pin fails its test
    with before and after."""
    kit.makepyfile(test_conformance=MODULE)
    first = kit.runpytest()
    first.assert_outcomes(failed=12)
    first.stdout.fnmatch_lines(["*pin file*pins.json does not exist*--wsmock-pin*"])

    pinned = kit.runpytest("--wsmock-pin", "--wsmock-conformance-report=out/report.md")
    pinned.assert_outcomes(passed=12)
    pinned.stdout.fnmatch_lines(
        ["wsmock conformance: rewrote *pins.json (12 verdicts of this run)", "*report.md*"]
    )
    path = kit.path / "pins.json"
    pins = json.loads(path.read_text())
    assert path.read_text() == json.dumps(pins, indent=2, sort_keys=True) + "\n"
    assert sorted(pins) == ["websocket-client", "websockets-asyncio"]
    assert sorted(pins["websocket-client"]) == IDS
    assert sorted(pins["websockets-asyncio"]) == IDS
    ours = pins["websockets-asyncio"]
    assert ours["handshake-rejection/not-found"] == "caught InvalidStatus"
    assert ours["frame-violation/invalid-utf8"] == "caught ConnectionClosedError, sent close 1007"
    assert ours["tls-fault/untrusted"] == "caught SSLCertVerificationError"
    theirs = pins["websocket-client"]
    assert theirs["handshake-rejection/not-found"] == "caught WebSocketBadStatusException"
    assert theirs["frame-violation/masked-frame"] == "accepted, sent no close"

    kit.runpytest().assert_outcomes(passed=12)

    pins["websockets-asyncio"]["transport-fault/drop"] = "accepted"
    pins["websocket-client"]["transport-fault/drop"] = [theirs["transport-fault/drop"], "hung"]
    path.write_text(json.dumps(pins))
    changed = kit.runpytest()
    changed.assert_outcomes(passed=11, failed=1)
    changed.stdout.fnmatch_lines(
        [
            "*websockets-asyncio on transport-fault/drop: the verdict changed",
            "  before (pinned): accepted",
            "  after (now):     caught ConnectionClosedError, sent no close (*",
            "*run pytest --wsmock-pin to rewrite the pins in *pins.json*",
        ]
    )

    report = (kit.path / "out" / "report.md").read_text()
    assert "| client | caught | accepted | hung |" in report
    assert "| websocket-client | 5 | 1 | 0 |" in report
    assert "| websockets-asyncio | 6 | 0 | 0 |" in report
    assert "| entry | what the server does | rule | websocket-client | websockets-asyncio |" in (
        report
    )
    assert (
        "| `invalid-utf8` | text message that is not valid UTF-8 | RFC 6455 section 5.6" in report
    )
    data = json.loads((kit.path / "out" / "report.json").read_text())
    assert data["clients"] == ["websocket-client", "websockets-asyncio"]
    assert [c["name"] for c in data["catalogues"]] == [
        "handshake-failure",
        "handshake-rejection",
        "frame-violation",
        "transport-fault",
        "tls-fault",
    ]
    utf8 = data["catalogues"][2]["entries"][1]
    assert utf8["id"] == "invalid-utf8"
    assert utf8["verdicts"]["websockets-asyncio"]["close_code"] == 1007
    assert utf8["verdicts"]["websockets-asyncio"]["sent_close"] is True


HANGING = '''
import time

import anyio

from pytest_wsmock import FRAME_VIOLATIONS, HANDSHAKE_FAILURES
from pytest_wsmock.conformance import conformance_tests


class Stuck(Exception):
    pass


class IgnoresItsTimeout:
    """Takes far longer than its timeout to connect."""

    name = "ignores-its-timeout"
    failures = (Stuck, OSError)
    margin = 0.5  # the kit's bound: 0.5 + 1 s past the call's own timeout

    def connect(self, url, *, ssl, ca_path, subprotocols, timeout):
        time.sleep(timeout + 3)
        raise Stuck("too late")


class NeverReturns:
    """Opens, then never returns from receive."""

    name = "never-returns"
    failures = (Stuck,)
    margin = 0.5
    subprotocol = None

    async def connect(self, url, *, ssl, ca_path, subprotocols, timeout):
        return self

    async def receive(self, timeout):
        await anyio.sleep_forever()

    async def send(self, message):
        pass

    async def close(self):
        pass


class BlocksItsLoop:
    """Blocks its event loop in connect: only the kit's outer bound can stop the case."""

    name = "blocks-its-loop"
    failures = (Stuck,)
    margin = 0.2

    async def connect(self, url, *, ssl, ca_path, subprotocols, timeout):
        time.sleep(4.6)  # past the outer bound: timeout + margin + 1 + 3 s
        raise Stuck("too late")


NEVER_RESPOND = [e for e in HANDSHAKE_FAILURES if e.id == "never-respond"]
test_sync = conformance_tests(IgnoresItsTimeout(), pins=None, catalogues=[NEVER_RESPOND],
                              timeout=0.3)
test_blocking = conformance_tests(
    BlocksItsLoop(), pins=None, catalogues=[HANDSHAKE_FAILURES[:1]], timeout=0.1
)
test_async = conformance_tests(NeverReturns(), pins=None, catalogues=[FRAME_VIOLATIONS[:1]],
                               timeout=0.3)
'''


@pytest.mark.slow  # waits out the kit's bounds on purpose (about 9 s)
def test_hung_clients_are_bounded(kit: pytest.Pytester) -> None:
    """A sync client that ignores its timeout, an async one that never returns and one that
    blocks its event loop end as "hung" (the server ends the connection); the run goes on."""
    kit.makepyfile(test_hanging=HANGING)
    result = kit.runpytest("--wsmock-conformance-report=report.md")
    result.assert_outcomes(passed=3)
    data = json.loads((kit.path / "report.json").read_text())
    assert data["counts"] == {
        "blocks-its-loop": {"caught": 0, "accepted": 0, "hung": 1},
        "ignores-its-timeout": {"caught": 0, "accepted": 0, "hung": 1},
        "never-returns": {"caught": 0, "accepted": 0, "hung": 1},
    }
    verdicts = [
        verdict
        for catalogue in data["catalogues"]
        for entry in catalogue["entries"]
        for verdict in entry["verdicts"].values()
    ]
    assert sorted(v["message"] for v in verdicts) == [
        "connect did not return in time",
        "connect did not return in time",
        "receive did not return in time",
    ]


BROKEN = """
from pytest_wsmock import FRAME_VIOLATIONS, HANDSHAKE_REJECTIONS
from pytest_wsmock.conformance import conformance_tests


class Broken:
    name = "broken"
    failures = (OSError,)

    def connect(self, url, *, ssl, ca_path, subprotocols, timeout):
        raise ValueError("a bug in the adapter")


class Refuses:
    name = "refuses"
    failures = (OSError,)

    def connect(self, url, *, ssl, ca_path, subprotocols, timeout):
        raise ConnectionRefusedError("no")


test_broken = conformance_tests(Broken(), pins=None, catalogues=[HANDSHAKE_REJECTIONS[:1]])
test_refuses = conformance_tests(
    Refuses(), pins=None, catalogues=[HANDSHAKE_REJECTIONS[:1], FRAME_VIOLATIONS[:1]]
)
"""


def test_an_adapter_bug_fails_the_test_naming_it(kit: pytest.Pytester) -> None:
    """An exception that is not one of the adapter's failures is a bug, not a verdict; so
    is a client that cannot connect to a correct server where a case needs a connection."""
    kit.makepyfile(test_broken=BROKEN)
    result = kit.runpytest()
    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*AdapterError: adapter refuses could not open a connection to a server that "
            "answers correctly (frame-violation/masked-frame needs one): "
            "ConnectionRefusedError: no"
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*AdapterError: adapter broken: connect raised builtins.ValueError: a bug in the "
            "adapter, which is not in its failures ('OSError',)*"
        ]
    )


@pytest.mark.slow  # starts two xdist workers (about 11 s)
def test_xdist_workers_make_one_pin_file_and_report(
    kit: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under xdist, the controller writes the pins and the report from every worker's
    verdicts."""
    pytest.importorskip("xdist")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the workers import this checkout
    kit.makepyfile(test_conformance=MODULE)
    result = kit.runpytest_subprocess(
        "-n", "2", "-p", "xdist", "--wsmock-pin", "--wsmock-conformance-report=report.md"
    )
    result.assert_outcomes(passed=12)
    pins = json.loads((kit.path / "pins.json").read_text())
    assert sorted(pins["websocket-client"]) == sorted(pins["websockets-asyncio"]) == IDS
    data = json.loads((kit.path / "report.json").read_text())
    assert sum(data["counts"]["websockets-asyncio"].values()) == len(IDS)
    kit.runpytest_subprocess("-n", "2", "-p", "xdist").assert_outcomes(passed=12)


FULL = (
    ADAPTERS
    + """
test_all = conformance_tests(WebsocketsAsyncio(), pins=None, timeout=1.0)
"""
)


def test_every_catalogue_for_one_client(kit: pytest.Pytester) -> None:
    """One client through every catalogue: a verdict for every entry, none hung."""
    from pytest_wsmock.conformance import ALL

    kit.makepyfile(test_all=FULL)
    result = kit.runpytest("--wsmock-conformance-report=report.md")
    total = sum(len(catalogue) for catalogue in ALL)
    result.assert_outcomes(passed=total)
    counts = json.loads((kit.path / "report.json").read_text())["counts"]["websockets-asyncio"]
    assert sum(counts.values()) == total
    assert counts["hung"] == 0


TRIO = '''
import sniffio
import trio

from pytest_wsmock import HANDSHAKE_REJECTIONS
from pytest_wsmock.conformance import conformance_tests


class Refused(Exception):
    pass


class TrioClient:
    """Opens a TCP connection with trio and refuses whatever the server answers, naming the
    async library it ran on."""

    name = "trio-client"
    backend = "trio"
    failures = (Refused,)

    async def connect(self, url, *, ssl, ca_path, subprotocols, timeout):
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.aclose()
        raise Refused(f"ran on {sniffio.current_async_library()}")


test_trio = conformance_tests(TrioClient(), pins=None, catalogues=[HANDSHAKE_REJECTIONS[:1]])
'''


def test_an_async_adapter_runs_on_its_backend(
    kit: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An async adapter with ``backend = "trio"`` runs on trio (in a subprocess: trio keeps
    global state)."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    kit.makepyfile(test_trio=TRIO)
    kit.runpytest_subprocess("--wsmock-conformance-report=report.md").assert_outcomes(passed=1)
    data = json.loads((kit.path / "report.json").read_text())
    (entry,) = data["catalogues"][0]["entries"]
    assert entry["verdicts"]["trio-client"]["message"] == "ran on trio"


FLIPS = '''
import itertools

from pytest_wsmock import HANDSHAKE_REJECTIONS
from pytest_wsmock.conformance import conformance_tests

TURNS = itertools.cycle(["A", "A", "B"])


class A(Exception):
    pass


class B(Exception):
    pass


class Flips:
    """Refuses with A or B, by turns, as a client whose reaction depends on timing."""

    name = "flips"
    failures = (A, B)

    def connect(self, url, *, ssl, ca_path, subprotocols, timeout):
        raise {"A": A, "B": B}[next(TURNS)]("refused")


test_flips = conformance_tests(Flips(), pins="pins.json", catalogues=[HANDSHAKE_REJECTIONS[:1]])
'''


def test_repeat_pins_a_set(kit: pytest.Pytester) -> None:
    """--wsmock-repeat runs each fast case N times: with --wsmock-pin the verdicts seen are
    pinned as a set, which later runs pass; the report shows both."""
    kit.makepyfile(test_flips=FLIPS)
    kit.runpytest(
        "--wsmock-pin", "--wsmock-repeat=3", "--wsmock-conformance-report=report.md"
    ).assert_outcomes(passed=1)
    pins = json.loads((kit.path / "pins.json").read_text())
    assert pins == {"flips": {"handshake-rejection/forbidden-origin": ["caught A", "caught B"]}}
    kit.runpytest("--wsmock-repeat=3").assert_outcomes(passed=1)
    report = (kit.path / "report.md").read_text()
    assert "| caught A or caught B |" in report
    assert "| flips | 1 | 0 | 0 |" in report
