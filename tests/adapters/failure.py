"""How the project's Python adapters report a client's failure to the conformance kit."""

from __future__ import annotations


class ClientFailure(Exception):
    """A failure the client reported, named as the tables show it.

    Attributes:
        type: the name the verdict shows (the kit reads ``type``), e.g. ``InvalidStatus
            (status 404)``, ``httpx.ReadTimeout``, ``CloseConnection(1002)``.
        message: what the client said, on one line.
    """

    def __init__(self, type: str, message: str) -> None:
        self.type = type
        self.message = message
        super().__init__(f"{type}: {message}")


def exception_name(exc: BaseException, home: str) -> str:
    """The class name for the client's own exceptions (package ``home``) and builtins, e.g.
    ``InvalidStatus``; ``package.Name`` for another package's, e.g. ``httpx.ReadTimeout``."""
    cls = type(exc)
    package = cls.__module__.split(".")[0]
    if package in (home, "builtins", "asyncio"):
        return cls.__name__
    return f"{package}.{cls.__name__}"


def status_of(exc: BaseException) -> int | None:
    """The HTTP status an exception carries, in any of the clients' spellings."""
    for owner in (exc, getattr(exc, "response", None)):
        for attribute in ("status_code", "status"):
            value = getattr(owner, attribute, None)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


def failure(exc: BaseException, home: str) -> ClientFailure:
    """``exc``, raised by the client whose package is ``home``, as a :class:`ClientFailure`."""
    status = status_of(exc)
    name = exception_name(exc, home)
    if status is not None:
        name = f"{name} (status {status})"
    return ClientFailure(name, str(exc) or repr(exc))
