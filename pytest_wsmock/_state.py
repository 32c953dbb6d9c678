"""The states of a connection, from the server's side, and what each allows."""

from __future__ import annotations

import enum


class State(enum.Enum):
    """Where a connection is in its life (see the theory of operation in ``_driver.py``)."""

    #: reading the request and carrying out the handshake outcome
    HANDSHAKE = "handshake"
    #: frames flow both ways
    OPEN = "open"
    #: the server sent a close frame and waits for the client's
    CLOSING = "closing"
    #: the server shut down its side of TCP (or the client its) and reads until the end
    DRAINING = "draining"
    #: TCP is closed on the server's side; the record is final
    CLOSED = "closed"


#: States in which the server may still write frames.
CAN_SEND = frozenset({State.OPEN, State.CLOSING})
