"""Verdicts: what a client did on one catalogue entry, derived from what it showed (its
exception, the messages it delivered) and what the server recorded (its close frame)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["caught", "accepted", "hung"]

#: How much of an error message a verdict keeps.
MESSAGE_LIMIT = 200


@dataclass(frozen=True)
class Verdict:
    """What a client did on one catalogue entry.

    Attributes:
        kind: ``"caught"``: the client reported the failure (it raised one of its
            ``failures``, or failed the connection with a close code); ``"accepted"``: it
            went on (opened the connection, delivered the data, or noticed nothing within its
            timeout); ``"hung"``: it did not finish within its own timeout plus the kit's
            margin (the server ended the connection).
        error: the type name of the exception the client raised (``None``: it raised none).
        message: the exception's message, or for ``accepted`` and ``hung`` what happened.
        sent_close: frame violations, transport faults and refused broken handshakes only
            (else ``None``): whether the client sent a close frame, from the server's record.
        close_code: the code of that close frame (``None``: none, or no code in it).
    """

    kind: Kind
    error: str | None = None
    message: str | None = None
    sent_close: bool | None = None
    close_code: int | None = None

    @property
    def summary(self) -> str:
        """The verdict as pinned and shown in the report: ``caught InvalidStatus``,
        ``caught ConnectionClosedError, sent close 1002``, ``accepted``, ``hung``. The
        message is left out: it may name ports or vary between versions."""
        text = (
            self.kind if self.error is None or self.kind == "hung" else f"{self.kind} {self.error}"
        )
        if self.sent_close is None:
            return text
        if not self.sent_close:
            return f"{text}, sent no close"
        if self.close_code is None:
            return f"{text}, sent close without code"
        return f"{text}, sent close {self.close_code}"

    def to_json(self) -> dict[str, Any]:
        """The verdict as a JSON object (the report's ``.json`` form)."""
        data: dict[str, Any] = {"kind": self.kind, "summary": self.summary}
        for name in ("error", "message", "sent_close", "close_code"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verdict:
        """The inverse of :meth:`to_json`."""
        return cls(
            data["kind"],
            data.get("error"),
            data.get("message"),
            data.get("sent_close"),
            data.get("close_code"),
        )

    def __str__(self) -> str:
        return self.summary if self.message is None else f"{self.summary} ({self.message})"


@dataclass
class Observed:
    """What a client showed during one case (the scenario fills it in).

    Attributes:
        opened: ``connect`` returned a session.
        error: the failure the client raised (one of its ``failures``, or a ``TimeoutError``
            from ``connect``).
        where: the call that raised it or hung: ``connect``, ``send``, ``receive``, ``close``.
        delivered: the messages ``receive`` returned, in order.
        timed_out: a ``receive`` raised ``TimeoutError``: nothing came within the timeout.
        hung: a call did not return within the client's timeout plus the kit's margin.
        closed: the scenario's own ``close`` returned without an error.
    """

    opened: bool = False
    error: BaseException | None = None
    where: str = ""
    delivered: list[str | bytes] = field(default_factory=list)
    timed_out: bool = False
    hung: bool = False
    closed: bool = False


def error_name(exc: BaseException) -> str:
    """The exception's type as the verdict names it: its class name, or its own ``type``
    attribute when it carries one (a driver's failure names the foreign client's type)."""
    own = getattr(exc, "type", None)
    return own if isinstance(own, str) and own else type(exc).__name__


def error_message(exc: BaseException, port: int | None = None) -> str:
    """The exception's message on one line (its own ``message`` attribute when it is a
    string), with the server's port written ``PORT`` and cut at :data:`MESSAGE_LIMIT`."""
    own = getattr(exc, "message", None)
    text = own if isinstance(own, str) else str(exc)
    text = " ".join(text.split())
    if port is not None:
        text = text.replace(str(port), "PORT")
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


def shown(values: list[str | bytes], limit: int = 24) -> str:
    """``'after'``: each value's repr, cut at ``limit`` characters."""
    parts = []
    for value in values:
        text = repr(value)
        parts.append(text if len(text) <= limit else text[: limit - 3] + "...")
    return ", ".join(parts)


def _hung(observed: Observed, **record: Any) -> Verdict:
    return Verdict("hung", message=f"{observed.where} did not return in time", **record)


def _caught(observed: Observed, port: int | None, **record: Any) -> Verdict:
    assert observed.error is not None
    error = observed.error
    return Verdict("caught", error_name(error), error_message(error, port), **record)


def opening_verdict(observed: Observed, port: int | None = None) -> Verdict:
    """A handshake or TLS entry: the client refused to open (caught), opened (accepted), or
    neither (hung)."""
    if observed.hung:
        return _hung(observed)
    if observed.error is not None and observed.where == "connect":
        return _caught(observed, port)
    return Verdict("accepted", message="opened the connection")


def frame_violation_verdict(
    observed: Observed,
    *,
    ends_with_close: bool,
    received_code: int | None,
    sent_close: bool,
    close_code: int | None,
    port: int | None = None,
) -> Verdict:
    """A frame violation, judged by both sides.

    ``observed.delivered`` holds what the client delivered after the legal message before the
    violation. ``sent_close`` and ``close_code`` are the server's record of the client's close
    frame. For a broken close frame (``ends_with_close``; ``received_code`` is the code in it),
    a client that answers with no code, 1000 or the very code it received took it for a normal
    close: accepted, whatever it raised.
    """
    record: dict[str, Any] = {"sent_close": sent_close, "close_code": close_code}
    if observed.hung:
        return _hung(observed, **record)
    if observed.delivered:
        return Verdict("accepted", message=f"delivered {shown(observed.delivered)}", **record)
    if ends_with_close and sent_close and close_code in (None, 1000, received_code):
        reported = "" if observed.error is None else f", reported {error_name(observed.error)}"
        return Verdict("accepted", message=f"answered it as a normal close{reported}", **record)
    if observed.error is not None:
        return _caught(observed, port, **record)
    if sent_close:
        return Verdict("caught", message=f"failed the connection with close {close_code}", **record)
    return Verdict("accepted", message="reported nothing within its timeout", **record)


def fault_verdict(
    observed: Observed,
    *,
    expected: tuple[str, ...],
    sent_close: bool,
    close_code: int | None,
    port: int | None = None,
) -> Verdict:
    """A transport fault: the client reported the end or a failure (caught), or went on
    (accepted: it received what the server sent, or noticed nothing within its timeout).
    ``sent_close`` and ``close_code``: the client's close frame, from the server's record of
    the whole connection (the kit closes the session at the end of the case)."""
    record: dict[str, Any] = {"sent_close": sent_close, "close_code": close_code}
    if observed.hung:
        return _hung(observed, **record)
    if observed.error is not None:
        return _caught(observed, port, **record)
    if tuple(observed.delivered) != expected:
        got = shown(observed.delivered) or "nothing"
        message = f"delivered {got}, not {shown(list(expected))}"
    elif observed.timed_out:
        message = "noticed nothing within its timeout"
    elif observed.closed:
        message = "received every message; closed without an error"
    else:
        message = "received every message intact"
    return Verdict("accepted", message=message, **record)
