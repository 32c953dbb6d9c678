"""The end of a test: client violations and handler errors fail it; nothing is left over."""

from __future__ import annotations

import json
import threading
import time

import pytest

from ._support import RAW_CLIENT, write_ini

UNMASKED_FRAME_TEST = (
    RAW_CLIENT
    + """

import pytest


MARKER
def test_unmasked_frame(ws_server):
    sock = raw_handshake("127.0.0.1", ws_server.port)
    with sock:
        # FIN + text, MASK bit clear: RFC 6455 section 5.1 forbids this from a client.
        sock.sendall(b"\\x81\\x05hello")
        assert read_close_frame(sock) == 1002
        send_close(sock, 1002)
    conn = ws_server.wait_for_connection()
    conn.wait_closed()
    assert [v.kind for v in conn.violations] == ["unmasked-frame"]
"""
)


def test_client_violation_fails_the_test(pytester: pytest.Pytester) -> None:
    """An unmasked client frame fails the test (not its teardown), naming the rule and RFC."""
    write_ini(pytester)
    pytester.makepyfile(UNMASKED_FRAME_TEST.replace("MARKER", ""))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1, errors=0)
    result.stdout.fnmatch_lines(
        [
            "*_ test_unmasked_frame _*",
            "*ClientViolationError: the client under test broke the WebSocket protocol*",
            "*connection #0 (GET /): unmasked-frame:*(RFC 6455 section 5.1)*",
            "*strict=False*",
        ]
    )


def test_strict_false_allows_violations(pytester: pytest.Pytester) -> None:
    """With @pytest.mark.wsmock(strict=False), the same unmasked frame lets the test pass."""
    write_ini(pytester)
    pytester.makepyfile(UNMASKED_FRAME_TEST.replace("MARKER", "@pytest.mark.wsmock(strict=False)"))
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_strict_false_from_ini_allows_violations(pytester: pytest.Pytester) -> None:
    """wsmock_strict = false in the ini file turns strict mode off for every test."""
    write_ini(pytester, "wsmock_strict = false")
    pytester.makepyfile(UNMASKED_FRAME_TEST.replace("MARKER", ""))
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_handler_exception_fails_the_test(pytester: pytest.Pytester) -> None:
    """A handler that raises closes with 1011 and fails the test with its traceback."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import pytest
        import websockets
        import websockets.sync.client


        async def exploding_handler(ws):
            message = await ws.receive()
            raise ValueError(f"boom from handler after {message.text!r}")


        def test_handler_raises(ws_server):
            ws_server.handler(exploding_handler)
            with websockets.sync.client.connect(ws_server.url) as ws:
                ws.send("hi")
                with pytest.raises(websockets.ConnectionClosedError) as excinfo:
                    ws.recv(timeout=5)
            assert excinfo.value.rcvd.code == 1011
            assert excinfo.value.rcvd.reason == "handler error"
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1, errors=0)
    result.stdout.fnmatch_lines(
        [
            "*_ test_handler_raises _*",
            "*def exploding_handler(ws):*",
            '>*raise ValueError(f"boom from handler after {message.text!r}")*',
            "E*ValueError: boom from handler after 'hi'*",
            "*The above exception was the direct cause of the following exception*",
            "E*ServerError: the mock server at ws://127.0.0.1:* failed: handler exploding_handler*",
        ]
    )


_WATCHED_THREADS = ("-portal-", "AnyIO worker thread", "asyncio_", "Trio thread")


def _watched(thread: threading.Thread) -> bool:
    return any(part in thread.name for part in _WATCHED_THREADS)


def test_no_thread_left_after_an_in_process_run(pytester: pytest.Pytester) -> None:
    """After a run that used the server's threads, none of them is still alive."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import threading

        import pytest
        import websockets
        import websockets.sync.client


        def thread_names():
            return [thread.name for thread in threading.enumerate()]


        def test_sync(ws_server):
            with websockets.sync.client.connect(ws_server.url) as ws:
                ws.send("x")
            ws_server.wait_for_connection().wait_closed()
            assert any("asyncio-portal-" in name for name in thread_names())


        @pytest.mark.asyncio
        async def test_async(ws_server):
            async with websockets.connect(ws_server.url) as ws:
                await ws.send("y")
            conn = await ws_server.connection()
            await conn.wait_closed_async()
            assert "AnyIO worker thread" in thread_names()
        """
    )
    before = {thread for thread in threading.enumerate() if _watched(thread)}
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    leftover = [t for t in threading.enumerate() if _watched(t) and t not in before]
    # Threads that were told to stop may need a moment to finish; they must not need more.
    deadline = time.monotonic() + 2.0
    for thread in leftover:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert [t.name for t in leftover if t.is_alive()] == []


LEAK_CONFTEST = """
import json
import os
import threading

import pytest


def sockets():
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            found.append(target)
    return found


def snapshot():
    return {
        "threads": sorted(thread.name for thread in threading.enumerate()),
        "sockets": sockets() if os.path.isdir("/proc/self/fd") else None,
    }


SEEN = {}


def pytest_runtest_call(item):
    SEEN.setdefault("during", []).extend(snapshot()["threads"])


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    with open("leaks.json", "w") as out:
        json.dump({"during": sorted(set(SEEN.get("during", []))), "after": snapshot()}, out)
"""


def test_no_thread_or_socket_left_at_session_end(pytester: pytest.Pytester) -> None:
    """At the end of a run on both server backends, only the main thread and no socket remain."""
    write_ini(pytester)
    pytester.makeconftest(LEAK_CONFTEST)
    pytester.makepyfile(
        """
        import threading

        import pytest
        import websockets
        import websockets.sync.client

        from pytest_wsmock import echo


        @pytest.mark.parametrize("backend", ["asyncio", "trio"])
        def test_backends(ws_server_factory, backend):
            server = ws_server_factory(backend=backend)
            server.handler(echo)
            with websockets.sync.client.connect(server.url) as ws:
                ws.send(backend)
                assert ws.recv() == backend
            server.wait_for_connection().wait_closed()


        def test_tls(wss_server):
            with websockets.sync.client.connect(
                wss_server.url, ssl=wss_server.client_ssl_context()
            ) as ws:
                ws.send("tls")
            wss_server.wait_for_connection().wait_closed()


        @pytest.mark.asyncio
        async def test_async(ws_server):
            async with websockets.connect(ws_server.url) as ws:
                await ws.send("y")
            conn = await ws_server.connection()
            await conn.wait_closed_async()
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=4)
    report = json.loads((pytester.path / "leaks.json").read_text())
    during = report["during"]
    # The check means something only if the server threads really ran.
    assert any(name.startswith("asyncio-portal-") for name in during), during
    assert any(name.startswith("trio-portal-") for name in during), during
    assert report["after"]["threads"] == ["MainThread"]
    if report["after"]["sockets"] is not None:
        assert report["after"]["sockets"] == []
