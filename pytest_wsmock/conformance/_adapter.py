"""The adapter protocols: what a user writes so the kit can drive their client.

A sync adapter is a :class:`Client` whose ``connect`` returns a :class:`Session`; an async
adapter has the same names with ``async def`` (:class:`AsyncClient`, :class:`AsyncSession`).
The kit tells them apart with ``inspect.iscoroutinefunction(client.connect)``.

Two attributes are optional: ``backend`` (``"trio"`` for an async adapter on trio) and
``margin``: an adapter that bounds its calls itself (``DriverClient``) gives the seconds it
lets a call run past its timeout before it raises ``ClientHung``/``DriverHung``; the kit then
waits one second more (without ``margin``, 2 s) before the verdict is ``hung``.
"""

from __future__ import annotations

import inspect
import ssl
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from .._errors import WsmockError


@runtime_checkable
class Session(Protocol):
    """One open connection of a sync adapter."""

    #: The subprotocol the client says was selected (``None``: none).
    subprotocol: str | None

    def send(self, message: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message."""

    def receive(self, timeout: float) -> str | bytes:
        """The next message; raise ``TimeoutError`` when none came within ``timeout`` s, and
        one of the client's ``failures`` when the connection ended or failed."""

    def close(self) -> None:
        """Close the connection (code 1000), within the client's own close timeout."""


@runtime_checkable
class Client(Protocol):
    """A sync adapter: how the kit opens a connection with your client."""

    #: The report's column name, e.g. ``"websockets-sync"``.
    name: str
    #: The exceptions by which the client reports a failure (raising one is "caught").
    failures: tuple[type[BaseException], ...]

    def connect(
        self,
        url: str,
        *,
        ssl: ssl.SSLContext | None,
        ca_path: str | None,
        subprotocols: Sequence[str],
        timeout: float,
    ) -> Session:
        """Open a connection to ``url`` within ``timeout`` s, offering ``subprotocols``; for a
        ``wss://`` URL trust the CA in ``ssl`` (a client context) or ``ca_path`` (a PEM file)."""


@runtime_checkable
class AsyncSession(Protocol):
    """One open connection of an async adapter: :class:`Session` with ``async def``."""

    subprotocol: str | None

    async def send(self, message: str | bytes) -> None:
        """Send a text or binary message."""

    async def receive(self, timeout: float) -> str | bytes:
        """The next message (``TimeoutError`` when none came within ``timeout`` s)."""

    async def close(self) -> None:
        """Close the connection."""


@runtime_checkable
class AsyncClient(Protocol):
    """An async adapter: :class:`Client` with ``async def connect``. Set ``backend = "trio"``
    on it for a trio client (the default is asyncio)."""

    name: str
    failures: tuple[type[BaseException], ...]

    async def connect(
        self,
        url: str,
        *,
        ssl: ssl.SSLContext | None,
        ca_path: str | None,
        subprotocols: Sequence[str],
        timeout: float,
    ) -> AsyncSession:
        """Open a connection (see :meth:`Client.connect`)."""


#: Either kind of adapter.
AnyClient = Client | AsyncClient


class ClientHung(WsmockError):
    """Raised by an adapter that knows its client hung (e.g. a driver program that stopped
    answering): the kit turns it into the verdict ``hung``."""

    __module__ = "pytest_wsmock.conformance"


class AdapterError(WsmockError):
    """An adapter raised an exception that is neither one of its ``failures`` nor a
    ``TimeoutError`` from ``receive``: a bug in the adapter, not a verdict."""

    __module__ = "pytest_wsmock.conformance"


def is_async(client: AnyClient) -> bool:
    """Whether ``client`` is an async adapter."""
    return inspect.iscoroutinefunction(client.connect)


def backend_of(client: AnyClient) -> str:
    """The anyio backend the adapter's calls run on."""
    backend = getattr(client, "backend", "asyncio") if is_async(client) else "asyncio"
    if backend not in ("asyncio", "trio"):
        raise AdapterError(f"adapter {client.name}: backend must be 'asyncio' or 'trio'")
    return str(backend)


def hung_exception(exc: BaseException) -> bool:
    """Whether ``exc`` says the client hung (:class:`ClientHung`, or a driver's
    ``DriverHung``, which is one)."""
    return isinstance(exc, ClientHung)
