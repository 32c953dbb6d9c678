"""What the server does and what the client does for each ``TRANSPORT_FAULTS`` entry.

Each fault gets a server script (a greeting, the fault, and for the faults the connection
survives, more messages) and a client :class:`~tests.faults.clients.Plan`:

- faults that end the connection (``drop``, ``reset``, ``half-close``, ``close-then-drop``,
  ``close-frame-only``): the client receives the greeting, then reads again and meets the fault;
- ``no-close-reply``: the client receives the greeting, then starts the closing handshake, which
  the server never answers, so the client's close timeout decides;
- timing faults (``stall``, ``stop-reading``, ``delay-writes``, ``throttle``, ``split-frames``):
  the client must receive every message intact (one of them 200 bytes, so a 16-bit length
  header is split or trickled), then closes normally.
"""

from __future__ import annotations

import dataclasses

from pytest_wsmock import Connection, Fault, MockServer, Step, send_text

from .clients import CLIENTS, Plan, Reaction, Result

#: The first message of every script, sent before the fault (or right after a timing fault).
GREETING = "hello"

#: A message long enough for a 16-bit length form (126..65535 bytes).
LONG = "".join(chr(ord("a") + i % 26) for i in range(200))

#: The message sent after a fault the connection survives.
AFTER = "after the fault"

#: Faults after which the server sends nothing more: the client's next read meets them.
ENDING = frozenset({"drop", "reset", "half-close", "close-then-drop", "close-frame-only"})

#: Faults that change how later writes go out: the messages are sent after the fault.
WRITE_SHAPING = frozenset({"delay-writes", "throttle", "split-frames"})


def steps_for(fault: Fault) -> tuple[Step, ...]:
    """The server script for ``fault``."""
    if fault.kind in WRITE_SHAPING:
        return (fault, send_text(GREETING), send_text(LONG), send_text(AFTER))
    if fault.kind == "no-close-reply":
        # The mode is set before the greeting, so the client's close cannot come first.
        return (fault, send_text(GREETING))
    if fault.kind in ENDING:
        return (send_text(GREETING), fault)
    return (send_text(GREETING), fault, send_text(LONG), send_text(AFTER))


def plan_for(fault: Fault) -> Plan:
    """What the client does for ``fault``."""
    if fault.kind in ENDING:
        return Plan((GREETING,), "read")
    if fault.kind == "no-close-reply":
        return Plan((GREETING,), "close")
    return Plan((GREETING, LONG, AFTER), "close")


def run_case(server: MockServer, client: str, fault: Fault) -> tuple[Reaction, Result, Connection]:
    """Script ``fault`` on ``server``, let ``client`` meet it, and wait for the record to end.

    Returns the full reaction (the client's side, then what the server recorded the client
    doing next), the client's raw result, and the finished connection record.
    """
    server.script(*steps_for(fault))
    result = CLIENTS[client](server.url, plan_for(fault))
    conn = server.wait_for_connection(timeout=5)
    info = conn.wait_closed(timeout=5)
    reaction = dataclasses.replace(
        result.reaction,
        sent_close=info.client_code if info.client_sent else None,
        tcp=f"{info.tcp_closed_by} {info.tcp_end.upper()}",
    )
    return reaction, result, conn
