"""A real upstream for the proxy tests: websockets' sync server in a thread, plain or TLS
(with its own trustme CA), running a handler the test gives."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import trustme
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve
from websockets.typing import Subprotocol

Handler = Callable[[ServerConnection], None]


@dataclass
class RealServer:
    """One running upstream: its URL, the requests it got, and the client context for TLS."""

    server: Server
    url: str
    requests: list[Request] = field(default_factory=list)
    client_ssl: ssl.SSLContext | None = None
    #: The CA that signed a TLS upstream's certificate (its PEM for a ``cafile``).
    ca: trustme.CA | None = None

    @property
    def port(self) -> int:
        return int(self.server.socket.getsockname()[1])


def echo(ws: ServerConnection) -> None:
    """Answer each message with ``echo: <message>`` (bytes: as they came)."""
    for message in ws:
        ws.send(f"echo: {message}" if isinstance(message, str) else message)


RealServerFactory = Callable[..., RealServer]


@pytest.fixture
def real_server() -> Iterator[RealServerFactory]:
    """Start real upstream servers: ``real_server(handler, tls=False, subprotocols=(),
    refuse=None)``; ``refuse`` is ``(status, body)`` to answer every request with."""
    servers: list[tuple[Server, threading.Thread]] = []

    def start(
        handler: Handler = echo,
        *,
        tls: bool = False,
        subprotocols: tuple[str, ...] = (),
        refuse: tuple[int, str] | None = None,
        **options: Any,
    ) -> RealServer:
        server_ssl = client_ssl = None
        ca: trustme.CA | None = None
        if tls:
            ca = trustme.CA()
            server_ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ssl)
            client_ssl = ssl.create_default_context()
            ca.configure_trust(client_ssl)
        holder: list[RealServer] = []

        def process_request(conn: ServerConnection, request: Request) -> Response | None:
            holder[0].requests.append(request)
            if refuse is not None:
                status, body = refuse
                headers = Headers([("Content-Type", "text/plain")])
                return Response(status, "Refused", headers, body.encode())
            return None

        server = serve(
            handler,
            "127.0.0.1",
            0,
            ssl=server_ssl,
            subprotocols=[Subprotocol(p) for p in subprotocols] or None,
            process_request=process_request,
            **options,
        )
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        port = server.socket.getsockname()[1]
        made = RealServer(
            server, f"{'wss' if tls else 'ws'}://127.0.0.1:{port}", client_ssl=client_ssl, ca=ca
        )
        holder.append(made)
        return made

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(10)
