"""What a connection does, chosen once its request is known: the `Behaviour` value."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ._handshakes import Handshake
from ._steps import Step
from ._websocket import WebSocket

__all__ = ["Behaviour"]


@dataclass(frozen=True)
class Behaviour:
    """What the server does on one WebSocket connection, chosen by the server (``_server.py``)
    once the request is parsed (or once the connection ended before a complete one).

    Attributes:
        outcome: how the opening handshake is answered.
        handler: the handler run once the connection opens, if any.
        steps: the script run once the connection opens (it replaces the handler), if any.
        rules: background rules for the connection.
        route: the text of the route that served the connection (``None``: server-wide).
    """

    outcome: Handshake
    handler: Callable[[WebSocket], Awaitable[Any]] | None = None
    steps: tuple[Step, ...] | None = None
    rules: tuple[object, ...] = ()
    route: str | None = None
