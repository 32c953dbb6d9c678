"""The hand-written parts of the client-table pages (tests/clients/render.py): the versions
measured, each page's introduction, legend and notes. The cells come from the pins."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """One docs page: its file in docs/, its title, and its catalogues as (name in the pins,
    heading, what a compliant client does)."""

    file: str
    title: str
    catalogues: tuple[tuple[str, str, str], ...]


#: The versions the pins were measured with (update them with the pins). The Python clients
#: are pinned to exactly these in the ``test`` extra (pyproject.toml), so a run measures what the
#: pages say; tests/clients/test_versions.py checks the installed versions against these.
PYTHON = "3.11.7"
PYTHON_CLIENTS = {
    "websockets": "17.4",
    "aiohttp": "3.14.5",
    "websocket-client": "1.9.2",
    "wsproto": "1.3.2",
    "httpx-ws": "0.9.0",
    "httpx": "0.28.1",
    "trio-websocket": "0.12.2",
    "trio": "0.35.0",
}
#: The tools outside Python: npm's ws is locked (drivers/node/package-lock.json); Node.js, Go,
#: gorilla and Chromium are Debian's, checked by their leading components (CHECKED_PARTS).
EXTERNAL = {
    "node": "20.20.2",
    "ws": "8.23.0",
    "go": "1.19.8",
    "gorilla": "1.5.0",
    "chromium": "156.0.8078.114",
}
#: How many leading components of an external version must match: Debian's security updates
#: move Chromium's and Node's later components within a release.
CHECKED_PARTS = {"node": 1, "ws": 3, "go": 2, "gorilla": 3, "chromium": 1}

MEASURED_WITH = (
    f"Python {PYTHON}, websockets {PYTHON_CLIENTS['websockets']}, aiohttp "
    f"{PYTHON_CLIENTS['aiohttp']}, websocket-client {PYTHON_CLIENTS['websocket-client']}, "
    f"wsproto {PYTHON_CLIENTS['wsproto']}, httpx-ws {PYTHON_CLIENTS['httpx-ws']} (httpx "
    f"{PYTHON_CLIENTS['httpx']}), trio-websocket {PYTHON_CLIENTS['trio-websocket']} (trio "
    f"{PYTHON_CLIENTS['trio']}); Node.js {EXTERNAL['node']} with ws {EXTERNAL['ws']}; Go "
    f"{EXTERNAL['go']} with gorilla/websocket {EXTERNAL['gorilla']} (Debian's package); "
    f"Chromium {EXTERNAL['chromium']} (Debian's, headless, driven by chromedriver)"
)

_HOW = (
    "The cells are the verdicts of the [conformance kit](conformance.md), pinned in "
    "`tests/clients/conformance.json`: `tests/clients/test_conformance_python.py` runs the "
    "seven Python clients in the default run, `tests/clients/test_conformance_external.py` "
    "the three outside Python (`python -m pytest -m external`; Node and Go through their "
    "[drivers](drivers.md)). Every client is used as its documentation shows, with the kit's "
    "timeout of 2 s as its open, close and receive timeout. When a client upgrade changes a "
    "verdict, its test fails until the pins (`--wsmock-pin`) and this page "
    "(`python -m tests.clients.render`) are regenerated."
)

_BROWSER = (
    "The **chromium** column says what page script can observe and, beside it, what the "
    "browser did on the wire. WHATWG gives page script the same thing for every failed "
    "connection, whatever the cause: an `error` event, then a `close` event with code 1006 "
    "and `wasClean=false`; the close frame the browser sent (or not) is the server's record "
    "(`conn.close.client_code`). See [Browsers](clients.md#browsers)."
)

_ERROR_NAMES = (
    "`Name` is what the client raised or reported: the exception's class, qualified by its "
    "package when it is not the client's own (`httpx.ReadTimeout`, `h11.LocalProtocolError`), "
    "with the HTTP status when the client reports one; for wsproto (`CloseConnection`), "
    "httpx-ws (`WebSocketDisconnect`) and trio-websocket (`ConnectionClosed`) the close code "
    "they report, in parentheses; aiohttp's message type (`WSMsgType.CLOSE`) and "
    "websocket-client's `close frame` where they return the end instead of raising it; the "
    "error type the driver reports for node-ws (the `code` of Node's error, or its class) and "
    "gorilla (the Go type, or the sentinel error's name)."
)

NOTES: dict[str, dict[str, str]] = {
    "handshake-clients.md": {
        "intro": (
            "Every entry of [`HANDSHAKE_FAILURES` and `HANDSHAKE_REJECTIONS`]"
            "(handshakes.md#the-catalogues) was served to each client below over a real "
            "loopback socket. " + _HOW + " For `missing-subprotocol`, `unoffered-subprotocol` "
            "and `two-subprotocols` the client offered the subprotocol `chat`; for the other "
            "entries, none."
        ),
        "legend": (
            "- ✓ refused: `Name`: the client refused to open the connection. "
            + _ERROR_NAMES
            + "\n- ✗ ACCEPTED: the client opened a WebSocket connection on an answer it must "
            "refuse.\n- ⏳ hung: the client ignored its own open timeout; the kit's bound "
            "stopped it (the server ended the connection).\n- " + _BROWSER
        ),
        "notes": (
            "- `missing-subprotocol` (the client offered `chat`, the server answered with no\n"
            "  `Sec-WebSocket-Protocol`) breaks a WHATWG rule, not an RFC 6455 one: RFC 6455\n"
            "  section 4.1 leaves it to the client, while the WHATWG WebSockets standard that\n"
            "  browsers and Node's `ws` follow requires the client to fail the connection. A\n"
            "  client that accepts it follows RFC 6455; one that refuses it follows WHATWG.\n"
            "- aiohttp reports status 101 when a header of a 101 answer was wrong, and status\n"
            "  400 for an answer that is not HTTP (`garbage`), although no 400 was on the wire.\n"
            "- trio-websocket reports a FIN or RST before any response only when its\n"
            "  `connect_timeout` expires, as `ConnectionTimeout` (60 s by default; 2 s here).\n"
            "- trio-websocket's `connect_timeout` does not fire on a server that never answers\n"
            "  while the socket stays open (`never-respond`: hung): bound such tests yourself\n"
            "  (e.g. `trio.fail_after`).\n"
            "- websockets-sync raises `InvalidMessage` or `ConnectionClosedError` on\n"
            "  `close-before-request` depending on whether its reader thread sees the server's\n"
            "  FIN before its request is sent (about one time in four); it is pinned as a set.\n"
            "- trio-websocket leaves its socket unclosed when the opening handshake fails (a\n"
            "  `ResourceWarning: unclosed <socket.socket ...>` when it is collected); the\n"
            "  project's module ignores that warning for trio-websocket only.\n"
            "- Node's `ws` reports every broken 101 and every rejection as a plain `Error`\n"
            "  (the message names the cause, e.g. `Unexpected server response: 403`).\n"
            "- Chromium's page script cannot tell a 403 from a wrong accept; on the wire the\n"
            "  browser read the response and sent no close frame.\n"
            "- Always pass your client's open timeout in tests (see [Handshakes](handshakes.md))."
        ),
    },
    "frame-violation-clients.md": {
        "intro": (
            "Every entry of [`FRAME_VIOLATIONS`](catalogues.md#frame_violations) was served to "
            "each client below over a real loopback socket. " + _HOW + " The server "
            "(`deflate=False`, `violation_grace=0.3`) sent the text message `'before'`, the "
            "entry's frames, then (unless the entry is a close frame) `'after'`; the client "
            "received until it reported the end of the connection. The close code in each "
            "cell is the one the server received (`conn.close.client_code`)."
        ),
        "legend": (
            "- ✓ caught, sent close 1002: the client delivered nothing after `'before'` and\n"
            "  failed the connection with the close code the entry names (RFC 6455 section\n"
            "  7.1.7).\n"
            "- ~ caught: it delivered nothing and reported the failure, but did not fail the\n"
            "  connection as the RFC says: it sent another close code, or no close frame\n"
            "  (closing TCP, or leaving it open until the server closed it after\n"
            "  `violation_grace`).\n"
            "- ✗ accepted: it handed the violating payload (or `'after'`) to the application,\n"
            "  took a broken close frame for a normal one (answered it with no code, 1000 or\n"
            "  the very code it received), or reported nothing.\n"
            "- ⏳ hung: a call outlived the client's timeout plus the kit's margin.\n- "
            + _ERROR_NAMES
            + "\n- "
            + _BROWSER
        ),
        "notes": (
            "- websocket-client raises (`WebSocketProtocolException` and the like) but sends no\n"
            "  close frame itself; the `ws.close()` an application then calls sends 1000 unless\n"
            "  it passes `status=1002` (or 1007 for bad UTF-8).\n"
            "- httpx-ws reports the right code to the application (`WebSocketDisconnect(1002)`)\n"
            "  but sends no close frame with it; leaving `connect_ws(...)` later sends 1000.\n"
            "- trio-websocket reports the right code to the application at once\n"
            "  (`ConnectionClosed(1002)`), but sends no close frame and does not close its\n"
            "  socket: TCP stays open until the socket object is freed or the server closes\n"
            "  it after `violation_grace`. The adapter closes the socket itself at the end.\n"
            "- A 64-bit length with the high bit set (`length-high-bit`) is a size problem to\n"
            "  websockets, aiohttp and Node's `ws` (close 1009, message too big) rather than\n"
            "  a protocol error (1002).\n"
            "- Chromium answers close frames with codes 0, 999, 1004 and 5000 with the very\n"
            "  code it received (a normal close to page script); it fails the connection with\n"
            "  1002 on every other violation (invalid UTF-8 too, where the RFC asks for 1007),\n"
            "  and page script sees `error`, then `close` 1006.\n"
            "- gorilla/websocket does not check UTF-8 in text messages (`invalid-utf8` is\n"
            "  delivered), and takes a 1-byte close payload for a normal close.\n"
            "- In your own tests, assert the close code your client sent with\n"
            "  `conn.close.client_code` (see [Catalogues](catalogues.md#frame_violations))."
        ),
    },
    "fault-clients.md": {
        "intro": (
            "Every entry of [`TRANSPORT_FAULTS`](faults.md#the-catalogue) and of "
            "[`TLS_FAULTS`](tls.md) was met by each client below over a real loopback "
            "socket. " + _HOW + "\n\nHow a transport-fault case runs: the server sends "
            "`hello`, then the fault fires (for the faults that change later writes, "
            "`delay-writes`, `split-frames` and `throttle`, and for `no-close-reply` the fault "
            "comes first). After a fault that ends the connection the client reads once more "
            "and the cell says how that read ended; on `no-close-reply` the client closes "
            "(1000) itself; on the faults that only slow the server down it must receive three "
            "messages intact (a 200-byte one among them), then closes. For a TLS fault the "
            "client connects to a `wss://` server, trusting the session CA."
        ),
        "legend": (
            "- caught `Name`: the client reported that the connection ended or failed;\n"
            "  accepted: it went on (it received every message intact, its `close()`\n"
            "  returned, or it noticed nothing within its timeout); hung: a call outlived the\n"
            "  client's timeout plus the kit's margin.\n"
            "- `sent close 1000` / `sent no close`: the close frame the server recorded from\n"
            "  the client over the whole connection (the kit closes every session at the end;\n"
            "  after `drop`, `reset` or `half-close` there is no one to send it to).\n"
            "- ✓ refused / ✗ ACCEPTED (TLS faults): the client refused the handshake, or\n"
            "  opened a connection on a certificate it must not trust.\n- "
            + _ERROR_NAMES
            + "\n- "
            + _BROWSER
        ),
        "notes": (
            "- websocket-client keeps no close code: a read that meets a close frame returns it\n"
            "  (`close frame`); after that, `close()` returns at once and leaves the socket\n"
            "  open: call `shutdown()` too (the adapter does).\n"
            "- trio-websocket reports a TLS failure only when its `connect_timeout` expires\n"
            "  (`ConnectionTimeout`).\n"
            "- What the server records on each fault (the frames written, who closed TCP\n"
            "  first, FIN or RST) is tested once, for any client, in `tests/scenarios/`.\n"
            "- Always pass your client's timeouts in tests (see [Transport faults](faults.md))."
        ),
    },
}
