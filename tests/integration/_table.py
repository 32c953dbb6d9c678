"""The clients of the integration scenarios and how they differ, as measured: one row each.

A scenario is written once (``test_scenarios.py``) and parametrized over :data:`CLIENTS`;
where clients behave differently, the scenario reads the difference from the client's
:class:`Traits` instead of repeating itself per client. A scenario a client cannot do is
skipped for it with the reason given here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest
import websocket

from ._aclients import Aiohttp, HttpxWsAsync, TrioWebsocket, WebsocketsAsyncio
from ._clients import Client, HttpxWsSync, WebsocketClient, WebsocketsSync
from ._wsproto import Wsproto


@dataclass(frozen=True)
class Traits:
    """What one client does differently from the others."""

    name: str
    client: Client
    #: It can offer permessage-deflate (``Options(deflate=True)``).
    deflate: bool
    #: How it sends one message in several frames: ``None`` it cannot; ``"empty-final"``
    #: it ends the message with an extra empty CONTINUATION frame (websockets, from an
    #: iterable); ``"exact"`` one frame per chunk.
    fragments: Literal["exact", "empty-final"] | None
    #: The close code and reason it answers the server's close frame with.
    close_reply: tuple[int, str]
    #: After its own close frame, it waits for the server's close frame and FIN (RFC 6455
    #: section 7.1.1); httpx-ws closes its stream at once.
    waits_for_close: bool
    #: After its own close, it reports the close code (``close_code`` and the like).
    reports_close_code: bool
    #: It answers the server's pings by itself (wsproto leaves that to the caller).
    auto_pong: bool
    #: The Origin it sends unless told otherwise (``{port}`` is the server's port).
    default_origin: str | None
    #: How its default User-Agent starts (``None``: it sends none).
    user_agent: str | None
    #: The Host header it sends (``{port}``: the server's port).
    host: str
    #: What it raises (type, message) when it offered subprotocols and the server selected
    #: none (it then drops TCP without a close frame); ``None``: it goes on without one.
    refuses_no_subprotocol: tuple[type[BaseException], str] | None = None


_ECHO = (4001, "bye")  # it echoes the server's close code and reason
_NORMAL = (1000, "")  # it answers with 1000 and no reason, whatever the server sent

CLIENTS = [
    Traits(
        "websockets-asyncio",
        WebsocketsAsyncio(),
        deflate=True,
        fragments="empty-final",
        close_reply=_ECHO,
        waits_for_close=True,
        reports_close_code=True,
        auto_pong=True,
        default_origin=None,
        user_agent="Python/",
        host="127.0.0.1:{port}",
    ),
    Traits(
        "websockets-sync",
        WebsocketsSync(),
        deflate=True,
        fragments="empty-final",
        close_reply=_ECHO,
        waits_for_close=True,
        reports_close_code=True,
        auto_pong=True,
        default_origin=None,
        user_agent="Python/",
        host="127.0.0.1:{port}",
    ),
    Traits(
        "aiohttp",
        Aiohttp(),
        deflate=True,
        fragments=None,  # send_frame always sets FIN
        close_reply=_NORMAL,
        waits_for_close=True,
        reports_close_code=True,
        auto_pong=True,
        default_origin=None,
        user_agent="Python/",
        host="127.0.0.1:{port}",
    ),
    Traits(
        "websocket-client",
        WebsocketClient(),
        deflate=False,
        fragments="exact",
        close_reply=_NORMAL,
        waits_for_close=True,
        reports_close_code=False,
        auto_pong=True,
        default_origin="http://127.0.0.1:{port}",
        user_agent=None,
        host="127.0.0.1:{port}",
        refuses_no_subprotocol=(websocket.WebSocketException, "Invalid WebSocket Header"),
    ),
    Traits(
        "httpx-ws-sync",
        HttpxWsSync(),
        deflate=False,
        fragments="exact",
        close_reply=_NORMAL,
        waits_for_close=False,
        reports_close_code=False,
        auto_pong=True,
        default_origin=None,
        user_agent="python-httpx/",
        host="127.0.0.1:{port}",
    ),
    Traits(
        "httpx-ws-async",
        HttpxWsAsync(),
        deflate=False,
        fragments="exact",
        close_reply=_NORMAL,
        waits_for_close=False,
        reports_close_code=False,
        auto_pong=True,
        default_origin=None,
        user_agent="python-httpx/",
        host="127.0.0.1:{port}",
    ),
    Traits(
        "trio-websocket",
        TrioWebsocket(),
        deflate=False,
        fragments=None,  # no public API for it
        close_reply=_ECHO,
        waits_for_close=True,
        reports_close_code=True,
        auto_pong=True,
        default_origin=None,
        user_agent=None,
        host="127.0.0.1:{port}",
    ),
    Traits(
        "wsproto",
        Wsproto(),
        deflate=True,
        fragments="exact",
        close_reply=_ECHO,  # the caller sends event.response(): code and reason echoed
        waits_for_close=True,
        reports_close_code=True,
        auto_pong=False,
        default_origin=None,
        user_agent=None,
        host="127.0.0.1:{port}",
    ),
]

#: Parametrize a test over every client, with the client's name as its id.
each_client = pytest.mark.parametrize("traits", CLIENTS, ids=[t.name for t in CLIENTS])
