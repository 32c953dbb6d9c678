"""Our client role, over a real socket, against websockets' server and a wsproto server.

The client here is built from the sans-IO pieces only (`build_request`, `ResponseParser`,
`check_response`, ``FrameDecoder(role="client")``, `MessageAssembler`, client-role
`PerMessageDeflate`, `encode_client_frame`), so a difference from the independent
implementations shows up as a failed check or a violation, not as a hidden fix in the I/O.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import anyio
import pytest
from anyio.abc import ByteStream
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed as WsClosed
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    Request,
    TextMessage,
)
from wsproto.extensions import PerMessageDeflate as WsprotoDeflate

from pytest_wsmock._protocol import (
    ClientHandshake,
    ClientResponse,
    CloseEvent,
    Event,
    FrameDecoder,
    MessageAssembler,
    MessageEvent,
    Opcode,
    PerMessageDeflate,
    PingEvent,
    PongEvent,
    RawFrame,
    ResponseParser,
    build_close_payload,
    build_request,
    check_response,
    encode_client_frame,
    new_key,
    offer_deflate,
)

TIMEOUT = 10.0
MiB = 1 << 20

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class SansIOClient:
    """A WebSocket client made of the sans-IO core and an anyio stream, nothing else."""

    def __init__(self, stream: ByteStream, handshake: ClientHandshake, trailing: bytes) -> None:
        self.stream = stream
        self.handshake = handshake
        params = handshake.deflate
        self.deflate = None if params is None else PerMessageDeflate(params, role="client")
        self.decoder = FrameDecoder(role="client")
        self.assembler = MessageAssembler(require_masked=False, deflate=self.deflate)
        self.events: deque[Event] = deque()
        self.trailing = trailing

    @classmethod
    async def open(
        cls, port: int, *, subprotocols: Sequence[str] = (), deflate: bool = False
    ) -> SansIOClient:
        stream = await anyio.connect_tcp("127.0.0.1", port)
        key = new_key()
        extensions = offer_deflate() if deflate else None
        request = build_request(
            "/", f"127.0.0.1:{port}", key, subprotocols=subprotocols, extensions=extensions
        )
        await stream.send(request)
        parser = ResponseParser()
        result = None
        while result is None:
            result = parser.feed(await stream.receive())
        assert isinstance(result, ClientResponse), result
        handshake = check_response(
            result, key=key, subprotocols=subprotocols, offered_deflate=deflate
        )
        assert handshake.problems == []
        return cls(stream, handshake, parser.trailing)

    async def send(self, message: str | bytes, *, frames: int = 1) -> None:
        opcode = Opcode.TEXT if isinstance(message, str) else Opcode.BINARY
        data = message.encode() if isinstance(message, str) else message
        payload = self.deflate.compress(data) if self.deflate else data
        size = -(-len(payload) // frames) or 1
        pieces = [payload[i : i + size] for i in range(0, len(payload), size)] or [b""]
        out = b""
        for index, piece in enumerate(pieces):
            out += encode_client_frame(
                opcode if index == 0 else Opcode.CONTINUATION,
                piece,
                fin=index == len(pieces) - 1,
                rsv1=self.deflate is not None and index == 0,
            )
        await self.stream.send(out)

    async def control(self, opcode: Opcode, payload: bytes) -> None:
        await self.stream.send(encode_client_frame(opcode, payload))

    async def event(self) -> Event | None:
        """The next event; ``None`` when TCP ended."""
        while not self.events:
            if self.trailing:
                data, self.trailing = self.trailing, b""
            else:
                try:
                    data = await self.stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    return None
            for item in self.decoder.feed(data):
                assert isinstance(item, RawFrame), item
                self.events.extend(self.assembler.receive(item))
        return self.events.popleft()

    async def message(self) -> MessageEvent:
        event = await self.event()
        assert isinstance(event, MessageEvent), event
        return event


# -- the two servers ------------------------------------------------------------------------
# Both behave alike: echo; "frag" -> "abcdef" in 3 frames; "ping" -> a ping b"srv", then
# "pong ok" once the pong came; "close" -> close 4000 "bye".


async def websockets_handler(ws: ServerConnection) -> None:
    with contextlib.suppress(WsClosed):
        async for message in ws:
            if message == "frag":
                await ws.send(["ab", "cd", "ef"])
            elif message == "ping":
                await (await ws.ping(b"srv"))
                await ws.send("pong ok")
            elif message == "close":
                await ws.close(4000, "bye")
            else:
                await ws.send(message)


@contextlib.asynccontextmanager
async def websockets_server(**kwargs: Any) -> AsyncIterator[int]:
    async with serve(
        websockets_handler, "127.0.0.1", 0, ping_interval=None, max_size=None, **kwargs
    ) as server:
        yield server.sockets[0].getsockname()[1]


def wsproto_serve(listener: socket.socket, deflate: bool) -> None:
    """One connection, served by wsproto on a blocking socket."""
    conn, _ = listener.accept()
    conn.settimeout(TIMEOUT)
    ws = WSConnection(ConnectionType.SERVER)
    texts: list[str] = []
    chunks: list[bytes] = []

    def send(event: Any) -> None:
        conn.sendall(ws.send(event))

    with conn:
        while data := conn.recv(65536):
            ws.receive_data(data)
            for event in ws.events():
                if isinstance(event, Request):
                    send(
                        AcceptConnection(
                            subprotocol=event.subprotocols[0] if event.subprotocols else None,
                            extensions=[WsprotoDeflate()] if deflate else [],
                        )
                    )
                elif isinstance(event, (TextMessage, BytesMessage)):
                    if isinstance(event, TextMessage):
                        texts.append(event.data)
                    else:
                        chunks.append(bytes(event.data))
                    if not event.message_finished:
                        continue
                    whole: str | bytes = "".join(texts) if texts else b"".join(chunks)
                    texts.clear()
                    chunks.clear()
                    if whole == "frag":
                        send(TextMessage("ab", message_finished=False))
                        send(TextMessage("cd", message_finished=False))
                        send(TextMessage("ef", message_finished=True))
                    elif whole == "ping":
                        send(Ping(b"srv"))
                    elif whole == "close":
                        send(CloseConnection(4000, "bye"))
                    elif isinstance(whole, str):
                        send(TextMessage(whole))
                    else:
                        send(BytesMessage(whole))
                elif isinstance(event, Ping):
                    send(event.response())
                elif isinstance(event, Pong):
                    send(TextMessage("pong ok"))
                elif isinstance(event, CloseConnection):
                    with contextlib.suppress(Exception):
                        send(event.response())
                    return  # the server closes TCP first (RFC 6455 section 7.1.1)


@contextlib.asynccontextmanager
async def wsproto_server(deflate: bool = False) -> AsyncIterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(TIMEOUT)
        thread = threading.Thread(target=wsproto_serve, args=(listener, deflate), daemon=True)
        thread.start()
        yield listener.getsockname()[1]
        await anyio.to_thread.run_sync(thread.join, TIMEOUT)
        assert not thread.is_alive()


Server = Callable[..., contextlib.AbstractAsyncContextManager[int]]
SERVERS = [
    pytest.param(
        lambda deflate: websockets_server(compression="deflate" if deflate else None),
        id="websockets",
    ),
    pytest.param(lambda deflate: wsproto_server(deflate), id="wsproto"),
]


# -- the conversation -----------------------------------------------------------------------


@pytest.mark.parametrize("deflate", [False, True], ids=["plain", "deflate"])
@pytest.mark.parametrize("server", SERVERS)
async def test_conversation(server: Server, deflate: bool) -> None:
    with anyio.fail_after(TIMEOUT):
        async with server(deflate) as port:
            client = await SansIOClient.open(port, deflate=deflate)
            assert (client.handshake.deflate is not None) is deflate
            binary = os.urandom(3000)
            large = "large " * (MiB // 6)
            cases: list[tuple[str | bytes, int]] = [
                ("hello", 1),
                (binary, 1),
                (large, 4),
                ("", 1),
                (b"", 1),
            ]
            for message, frames in cases:
                await client.send(message, frames=frames)
                echoed = await client.message()
                assert echoed.data == (message.encode() if isinstance(message, str) else message)
                assert echoed.opcode is (Opcode.TEXT if isinstance(message, str) else Opcode.BINARY)
                if message:
                    assert echoed.compressed is deflate
            await client.send("frag")
            fragmented = await client.message()
            assert fragmented.data == b"abcdef"
            # websockets ends a message sent from an iterable with an empty final frame.
            assert fragmented.frames in (3, 4)
            await client.control(Opcode.PING, b"cli")
            assert await client.event() == PongEvent(b"cli")
            await client.send("ping")
            assert await client.event() == PingEvent(b"srv")
            await client.control(Opcode.PONG, b"srv")
            assert (await client.message()).data == b"pong ok"
            # The client closes first: the server answers and closes TCP.
            await client.control(Opcode.CLOSE, build_close_payload(1000, "done"))
            close = await client.event()
            assert isinstance(close, CloseEvent)
            assert close.code == 1000
            assert await client.event() is None
            await client.stream.aclose()


@pytest.mark.parametrize("server", SERVERS)
async def test_server_closes_first(server: Server) -> None:
    with anyio.fail_after(TIMEOUT):
        async with server(False) as port:
            client = await SansIOClient.open(port)
            await client.send("close")
            close = await client.event()
            assert close == CloseEvent(4000, "bye", build_close_payload(4000, "bye"))
            await client.control(Opcode.CLOSE, build_close_payload(4000, ""))
            assert await client.event() is None
            await client.stream.aclose()


async def test_websockets_subprotocol() -> None:
    with anyio.fail_after(TIMEOUT):
        async with websockets_server(subprotocols=["chat", "v2"]) as port:
            client = await SansIOClient.open(port, subprotocols=["v2", "v9"])
            assert client.handshake.subprotocol == "v2"
            await client.send("hi")
            assert (await client.message()).data == b"hi"
            await client.stream.aclose()


async def test_wsproto_subprotocol_and_deflate_answer() -> None:
    with anyio.fail_after(TIMEOUT):
        async with wsproto_server(deflate=True) as port:
            client = await SansIOClient.open(port, subprotocols=["v1"], deflate=True)
            assert client.handshake.subprotocol == "v1"
            assert client.handshake.extensions is not None
            assert client.handshake.extensions.startswith("permessage-deflate")
            await client.control(Opcode.CLOSE, build_close_payload(1000, ""))
            assert isinstance(await client.event(), CloseEvent)
            assert await client.event() is None
            await client.stream.aclose()
