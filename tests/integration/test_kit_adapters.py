"""The conformance-kit adapters of the project's tables (``tests/adapters/python_clients.py``)
through the same scenarios' ordinary path: what the tables' verdicts rest on, that each
adapter connects, negotiates, carries text and binary both ways, reports "nothing came" as
``TimeoutError``, closes cleanly, and reports the server's close as one of its ``failures``.

An async adapter runs on the session's event loop for its backend in an anyio blocking portal,
like the async clients of the scenarios (``_aclients.py``).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

from pytest_wsmock import Direction, MockServer, ServerFactory
from pytest_wsmock.conformance import AsyncClient, Client
from tests.adapters.python_clients import CLIENTS as ADAPTERS

from ._aclients import portal_for
from ._support import (
    OFFERED_SUBPROTOCOLS,
    SERVER_CLOSE_CODE,
    TIMEOUT,
    assert_subprotocol_chat,
    binary_payload,
    close_4001_after_first_message,
)

T = TypeVar("T")

each_adapter = pytest.mark.parametrize("adapter", ADAPTERS, ids=[a.name for a in ADAPTERS])


class _Session:
    """A kit session called from the test's thread, whether the adapter is sync or async."""

    def __init__(self, call: Callable[..., Any], session: Any) -> None:
        self.call = call
        self.session = session
        self.subprotocol: str | None = session.subprotocol

    def send(self, message: str | bytes) -> None:
        self.call(self.session.send, message)

    def receive(self, timeout: float) -> str | bytes:
        value: str | bytes = self.call(self.session.receive, timeout)
        return value

    def close(self) -> None:
        self.call(self.session.close)


@contextmanager
def _connect(adapter: Client | AsyncClient, url: str, **kwargs: Any) -> Iterator[_Session]:
    """A connection the way the kit makes it: ``connect(url, *, ssl, ca_path, subprotocols,
    timeout)``, with ``ssl=None``, ``ca_path=None`` and no subprotocols unless given."""
    options: dict[str, Any] = {"ssl": None, "ca_path": None, "subprotocols": (), **kwargs}
    options["timeout"] = TIMEOUT
    if not inspect.iscoroutinefunction(adapter.connect):

        def call(fn: Callable[..., T], *args: Any) -> T:
            return fn(*args)

        yield _Session(call, adapter.connect(url, **options))
        return
    portal = portal_for(getattr(adapter, "backend", "asyncio"))

    def acall(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        return portal.call(fn, *args)

    yield _Session(acall, portal.call(lambda: adapter.connect(url, **options)))


@pytest.mark.wsmock(subprotocols=["chat"])
@each_adapter
def test_echo_and_clean_close(echo_server: MockServer, adapter: Client | AsyncClient) -> None:
    """Text and a 64 KiB + 1 binary message go both ways; with nothing sent, ``receive``
    raises ``TimeoutError``; ``close()`` is a clean close with 1000 from the client."""
    data = binary_payload(65537)
    with _connect(adapter, echo_server.url, subprotocols=OFFERED_SUBPROTOCOLS) as session:
        assert session.subprotocol == "chat"
        session.send("héllo")
        assert session.receive(TIMEOUT) == "héllo"
        session.send(data)
        assert session.receive(TIMEOUT) == data
        with pytest.raises(TimeoutError):
            session.receive(0.1)
        session.close()
    conn = echo_server.wait_for_connection()
    info = conn.wait_closed()
    assert_subprotocol_chat(conn)
    assert [m.value for m in conn.received] == ["héllo", data]
    assert info.initiator is Direction.CLIENT, str(info)
    assert info.client_code == 1000
    assert info.server_sent
    assert conn.violations == []


@each_adapter
def test_wss(echo_wss_server: MockServer, adapter: Client | AsyncClient) -> None:
    """Over wss://, trusting the CA the way the kit passes it: a client context and its file."""
    ca_path = str(echo_wss_server.ca_path)
    context = echo_wss_server.client_ssl_context()
    with _connect(adapter, echo_wss_server.url, ssl=context, ca_path=ca_path) as session:
        session.send("over tls")
        assert session.receive(TIMEOUT) == "over tls"
        session.close()
    conn = echo_wss_server.wait_for_connection()
    conn.wait_closed()
    assert conn.tls_error is None
    assert conn.received_texts == ["over tls"]
    assert [m.text for m in conn.sent] == ["over tls"]


@each_adapter
def test_server_close_is_a_failure(
    ws_server_factory: ServerFactory, adapter: Client | AsyncClient
) -> None:
    """The server's close(4001, "bye") ends ``receive`` with one of the adapter's failures."""
    server = ws_server_factory()
    server.handler(close_4001_after_first_message)
    with _connect(adapter, server.url) as session:
        session.send("hello")
        with pytest.raises(adapter.failures):
            session.receive(TIMEOUT)
        session.close()
    info = server.wait_for_connection().wait_closed()
    assert info.initiator is Direction.SERVER, str(info)
    assert info.server_code == SERVER_CLOSE_CODE
