"""The clients of the integration scenarios and how they differ, as measured: one row each.

A scenario is written once (``test_scenarios.py``) and parametrized over :data:`CLIENTS`;
where clients behave differently, the scenario reads the difference from the client's
:class:`Traits` instead of repeating itself per client. A row states only where its client
differs from the defaults. A scenario a client cannot do is skipped for it with the reason
in ``cannot``.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import aiohttp
import httpx
import pytest
import websocket

from ._aclients import Aiohttp, HttpxWsAsync, TrioWebsocket, WebsocketsAsyncio
from ._clients import Client, HttpxWsSync, WebsocketClient, WebsocketsSync
from ._wsproto import Wsproto

#: What a client may be unable to do (the keys of ``Traits.cannot``).
Ability = Literal["deflate", "fragments", "untrusted"]


@dataclass(frozen=True)
class Traits:
    """What one client does differently from the others."""

    name: str
    client: Client
    #: What it raises when the server's certificate is not trusted (its default trust store).
    untrusted: type[BaseException]
    #: Scenarios it cannot do, and why (the skip reason).
    cannot: Mapping[Ability, str] = field(default_factory=dict)
    #: How it sends one message in several frames: one frame per chunk, or (websockets, from
    #: an iterable) with an extra empty CONTINUATION frame at the end.
    fragments: Literal["exact", "empty-final"] = "exact"
    #: How it answers the server's close frame: with the same code and reason (``"echo"``),
    #: or with 1000 and no reason, whatever the server sent (``"normal"``).
    close_reply: Literal["echo", "normal"] = "echo"
    #: After its own close frame, it waits for the server's close frame and FIN (RFC 6455
    #: section 7.1.1); httpx-ws closes its stream at once, so who ends TCP is a race.
    waits_for_close: bool = True
    #: After its own close, it reports the close code (``close_code`` and the like).
    reports_close_code: bool = True
    #: It answers the server's pings by itself (wsproto leaves that to the caller).
    auto_pong: bool = True
    #: The Origin it sends unless told otherwise (``{port}`` is the server's port).
    default_origin: str | None = None
    #: How its default User-Agent starts (``None``: it sends none).
    user_agent: str | None = None
    #: What it raises (type, message) when it offered subprotocols and the server selected
    #: none (it then drops TCP without a close frame); ``None``: it goes on without one.
    refuses_no_subprotocol: tuple[type[BaseException], str] | None = None

    def reply_to(self, code: int, reason: str) -> tuple[int, str]:
        """The close code and reason it answers a server's close frame with."""
        return (code, reason) if self.close_reply == "echo" else (1000, "")

    def skip_unless(self, ability: Ability) -> None:
        """Skip the test if this client cannot do it."""
        if ability in self.cannot:
            pytest.skip(f"{self.name} {self.cannot[ability]}")


_NO_DEFLATE = "offers no permessage-deflate"
_NO_FRAGMENTS = "has no public way to fragment a message"

CLIENTS = [
    Traits(
        "websockets-asyncio",
        WebsocketsAsyncio(),
        untrusted=ssl.SSLCertVerificationError,
        fragments="empty-final",
        user_agent="Python/",
    ),
    Traits(
        "websockets-sync",
        WebsocketsSync(),
        untrusted=ssl.SSLCertVerificationError,
        fragments="empty-final",
        user_agent="Python/",
    ),
    Traits(
        "aiohttp",
        Aiohttp(),
        untrusted=aiohttp.ClientConnectorCertificateError,
        cannot={"fragments": f"{_NO_FRAGMENTS} (send_frame always sets FIN)"},
        close_reply="normal",
        user_agent="Python/",
    ),
    Traits(
        "websocket-client",
        WebsocketClient(),
        untrusted=ssl.SSLCertVerificationError,
        cannot={"deflate": _NO_DEFLATE},
        close_reply="normal",
        reports_close_code=False,
        default_origin="http://127.0.0.1:{port}",
        refuses_no_subprotocol=(websocket.WebSocketException, "Invalid WebSocket Header"),
    ),
    Traits(
        "httpx-ws-sync",
        HttpxWsSync(),
        untrusted=httpx.ConnectError,
        cannot={"deflate": _NO_DEFLATE},
        close_reply="normal",
        waits_for_close=False,
        reports_close_code=False,
        user_agent="python-httpx/",
    ),
    Traits(
        "httpx-ws-async",
        HttpxWsAsync(),
        untrusted=httpx.ConnectError,
        cannot={"deflate": _NO_DEFLATE},
        close_reply="normal",
        waits_for_close=False,
        reports_close_code=False,
        user_agent="python-httpx/",
    ),
    Traits(
        "trio-websocket",
        TrioWebsocket(),
        untrusted=ssl.SSLCertVerificationError,
        cannot={
            "deflate": _NO_DEFLATE,
            "fragments": _NO_FRAGMENTS,
            # Measured with 0.12.2: no error until connect_timeout (ConnectionTimeout after
            # 5 s), the socket left open, the server waiting its handshake_timeout (10 s).
            "untrusted": "does not report an untrusted certificate: it times out (5 s)",
        },
    ),
    Traits(
        "wsproto",
        Wsproto(),
        untrusted=ssl.SSLCertVerificationError,  # raised by the socket wrapped here
        auto_pong=False,  # the caller sends event.response(), so a close is echoed too
    ),
]

#: Parametrize a test over every client, with the client's name as its id.
each_client = pytest.mark.parametrize("traits", CLIENTS, ids=[t.name for t in CLIENTS])
