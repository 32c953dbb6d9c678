"""Handshake outcomes: every way the server can answer the opening handshake, as values.

A :class:`Handshake` is data. It says what to write (status line, headers, body), when and how
(delay, trickle) or what to do instead (close, reset, garbage, never answer). The connection
engine carries it out; :meth:`Handshake.render` turns it into the response for one request.
The fields, refinements and rendering are in ``_handshake_base.py``; the named constructors and
the catalogues are here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from ._errors import ConfigError
from ._handshake_base import AUTO, WRONG, Auto, HandshakeBase, Rendered, header_items
from ._protocol import reason_phrase

__all__ = [
    "AUTO",
    "WRONG",
    "Handshake",
    "Rendered",
    "check_outcomes",
]


class Handshake(HandshakeBase):
    """How the server answers one opening handshake.

    Build one with a named constructor (``Handshake.accept()``, ``Handshake.wrong_accept()``,
    ``Handshake.reject(503)``, ...) and refine it with the ``with_*`` methods, which return a new
    value: ``Handshake.accept().with_headers({"X-Trace": "1"}).delayed(0.2)``. Give it to
    ``ws_server.handshake(...)``, to the ``handshake=`` option of the ``wsmock`` marker or the
    factory, or use the ready catalogues ``HANDSHAKE_FAILURES`` and ``HANDSHAKE_REJECTIONS``.

    Every field can also be set directly with :func:`dataclasses.replace`; the fields are:

    Attributes:
        id: short name, used as the pytest id when the value is a parameter.
        description: one line saying what the server does.
        rfc: the rule a client breaks if it opens a connection on this answer ("" if none).
        subprotocols_offered: for catalogue entries, whether the entry assumes the client
            offered subprotocols (``True``), offered none (``False``), or either (``None``).
        status: the status code written.
        reason: the reason phrase (``None``: the standard one).
        http_version: the version in the status line.
        upgrade: the ``Upgrade`` value written (``None``: no header). Only on 101 by default.
        connection: the ``Connection`` value written (``None``: no header).
        accept_header: ``AUTO`` (correct), ``WRONG`` (plausible but wrong), a literal value,
            or ``None`` (no header).
        accept_twice: write the ``Sec-WebSocket-Accept`` header twice.
        subprotocol: ``AUTO`` (the first client offer that the server supports), ``None`` (none),
            a name (written whether offered or not), or several names (written as one header).
        extensions: ``AUTO`` (permessage-deflate when offered and enabled), ``None`` (none), or
            a literal ``Sec-WebSocket-Extensions`` value.
        headers: headers added after the standard ones; a name that is already there replaces
            that header (case-insensitive).
        body: the response body (a ``Content-Length`` is added unless the status is 101).
        delay: seconds to wait after reading the request, before answering.
        chunk_size: write the response this many bytes at a time (``None``: one write).
        chunk_interval: seconds between those writes.
        truncate_at: write only this many bytes of the response, then close TCP.
        action: what the server does: ``respond`` (write the response), ``never-respond``
            (read the request, answer nothing, keep TCP open until the client or teardown
            closes it), ``close-after-request`` (FIN), ``reset-after-request`` (RST),
            ``close-before-request`` (FIN before reading anything), ``garbage`` (write
            ``garbage`` bytes instead of HTTP, then close).
        garbage: the bytes written by the ``garbage`` action.
        allowed_origins: when set, a request whose ``Origin`` is absent or not in this list gets
            ``403 Forbidden`` instead (:attr:`Connection.origin_allowed` records the verdict).
    """

    # -- named constructors: correct answers --------------------------------------------

    @classmethod
    def accept(
        cls,
        *,
        subprotocol: str | Auto | None = AUTO,
        extensions: str | Auto | None = AUTO,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        reason: str | None = None,
    ) -> Handshake:
        """A correct ``101 Switching Protocols``.

        Args:
            subprotocol: ``AUTO`` picks the first offered subprotocol the server supports;
                a name writes that one; ``None`` writes none.
            extensions: ``AUTO`` accepts permessage-deflate when offered and enabled; a string
                is written as the ``Sec-WebSocket-Extensions`` value; ``None`` writes none.
            headers: extra or overriding response headers.
            reason: a custom reason phrase.
        """
        return cls(
            subprotocol=subprotocol,
            extensions=extensions,
            headers=header_items(headers, {}),
            reason=reason,
        )

    @classmethod
    def origin_allow_list(cls, origins: Sequence[str]) -> Handshake:
        """Accept requests whose ``Origin`` is in ``origins``; answer 403 to the others and to
        requests without ``Origin`` (RFC 6455 section 10.2)."""
        if isinstance(origins, str):
            origins = [origins]
        return cls(
            id="origin-allow-list",
            description=f"accept only the origins {', '.join(origins)}; 403 otherwise",
            allowed_origins=tuple(origins),
        )

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Handshake:
        """A redirect (3xx) to ``location``: a path on this server (``/next``) or a whole
        ``ws://`` / ``wss://`` URL. A path is written as an absolute URL of this server."""
        return cls(
            id=f"redirect-{status}",
            description=f"{status} redirect to {location}",
            status=status,
            upgrade=None,
            connection=None,
            accept_header=None,
            subprotocol=None,
            extensions=None,
            headers=(("Location", location),),
        )

    # -- named constructors: rejections ------------------------------------------------

    @classmethod
    def reject(
        cls,
        status: int,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: bytes | str | None = None,
        reason: str | None = None,
    ) -> Handshake:
        """Refuse the upgrade with ``status``, these headers and this body.

        The body defaults to ``"<status> <reason>"``; a ``Content-Length`` is always written
        so that clients read exactly the body and report the status at once.
        """
        text = f"{status} {reason or reason_phrase(status)}\n" if body is None else body
        data = text.encode() if isinstance(text, str) else text
        return cls(
            id=f"status-{status}",
            description=f"HTTP {status} {reason or reason_phrase(status)} instead of 101",
            rfc="RFC 6455 section 4.1 (a status other than 101 means no WebSocket connection)",
            status=status,
            reason=reason,
            upgrade=None,
            connection=None,
            accept_header=None,
            subprotocol=None,
            extensions=None,
            headers=(("Content-Type", "text/plain; charset=utf-8"), *header_items(headers, {})),
            body=data,
        )

    @classmethod
    def forbidden_origin(cls) -> Handshake:
        """``403 Forbidden``: what a server answers to an Origin it does not trust."""
        return dataclasses.replace(
            cls.reject(403, body="origin not allowed\n"),
            id="forbidden-origin",
            description="403 Forbidden, as for an untrusted Origin",
            rfc="RFC 6455 section 4.2.2 (a server rejects an untrusted Origin with 403)",
        )

    @classmethod
    def unauthorized(cls, challenge: str = 'Bearer realm="wsmock"') -> Handshake:
        """``401 Unauthorized`` with a ``WWW-Authenticate`` challenge."""
        return dataclasses.replace(
            cls.reject(401, headers={"WWW-Authenticate": challenge}),
            id="unauthorized",
            description=f"401 Unauthorized with WWW-Authenticate: {challenge}",
        )

    @classmethod
    def not_found(cls) -> Handshake:
        """``404 Not Found``."""
        return dataclasses.replace(cls.reject(404), id="not-found")

    @classmethod
    def too_many_requests(cls, retry_after: int = 1) -> Handshake:
        """``429 Too Many Requests`` with ``Retry-After``."""
        return dataclasses.replace(
            cls.reject(429, headers={"Retry-After": str(retry_after)}),
            id="too-many-requests",
            description=f"429 Too Many Requests with Retry-After: {retry_after}",
        )

    @classmethod
    def server_error(cls) -> Handshake:
        """``500 Internal Server Error``."""
        return dataclasses.replace(cls.reject(500), id="server-error")

    @classmethod
    def unavailable(cls, retry_after: int | None = None) -> Handshake:
        """``503 Service Unavailable``, with ``Retry-After`` when given."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        described = f" with Retry-After: {retry_after}" if retry_after is not None else ""
        return dataclasses.replace(
            cls.reject(503, headers=headers),
            id="unavailable",
            description=f"503 Service Unavailable{described}",
        )

    @classmethod
    def upgrade_required(cls) -> Handshake:
        """``426 Upgrade Required`` with ``Sec-WebSocket-Version: 13``, as for a version the
        server does not speak (RFC 6455 section 4.4)."""
        return dataclasses.replace(
            cls.reject(426, headers={"Sec-WebSocket-Version": "13"}),
            id="upgrade-required",
            description="426 Upgrade Required with Sec-WebSocket-Version: 13",
            rfc="RFC 6455 section 4.4",
        )

    # -- named constructors: broken 101 answers ----------------------------------------

    @classmethod
    def wrong_accept(cls, value: str | None = None) -> Handshake:
        """A 101 whose ``Sec-WebSocket-Accept`` is wrong: plausible (the right form, for
        another key) by default, or exactly ``value``."""
        return cls(
            id="wrong-accept",
            description="Sec-WebSocket-Accept is not the hash of the client's key",
            rfc="RFC 6455 section 4.1 (client step 4)",
            accept_header=WRONG if value is None else value,
        )

    @classmethod
    def missing_accept(cls) -> Handshake:
        """A 101 without ``Sec-WebSocket-Accept``."""
        return cls(
            id="missing-accept",
            description="no Sec-WebSocket-Accept header",
            rfc="RFC 6455 section 4.1 (client step 4)",
            accept_header=None,
        )

    @classmethod
    def duplicate_accept(cls) -> Handshake:
        """A 101 with the (correct) ``Sec-WebSocket-Accept`` header twice."""
        return cls(
            id="duplicate-accept",
            description="Sec-WebSocket-Accept appears twice",
            rfc="RFC 6455 section 11.3.3 (the header must not appear more than once)",
            accept_twice=True,
        )

    @classmethod
    def missing_upgrade(cls) -> Handshake:
        """A 101 without the ``Upgrade`` header."""
        return cls(
            id="missing-upgrade",
            description="no Upgrade header",
            rfc="RFC 6455 section 4.1 (client step 2)",
            upgrade=None,
        )

    @classmethod
    def wrong_upgrade(cls, value: str = "h2c") -> Handshake:
        """A 101 whose ``Upgrade`` is not ``websocket``."""
        return cls(
            id="wrong-upgrade",
            description=f"Upgrade: {value} instead of websocket",
            rfc="RFC 6455 section 4.1 (client step 2)",
            upgrade=value,
        )

    @classmethod
    def missing_connection(cls) -> Handshake:
        """A 101 without the ``Connection`` header."""
        return cls(
            id="missing-connection",
            description="no Connection header",
            rfc="RFC 6455 section 4.1 (client step 3)",
            connection=None,
        )

    @classmethod
    def wrong_connection(cls, value: str = "keep-alive") -> Handshake:
        """A 101 whose ``Connection`` does not contain ``Upgrade``."""
        return cls(
            id="wrong-connection",
            description=f"Connection: {value} instead of Upgrade",
            rfc="RFC 6455 section 4.1 (client step 3)",
            connection=value,
        )

    @classmethod
    def status_200(cls) -> Handshake:
        """``200 OK`` with an HTML body, but otherwise the headers of a correct 101."""
        return cls(
            id="status-200",
            description="200 OK (with the upgrade headers) instead of 101",
            rfc="RFC 6455 section 4.1 (client step 1: the status must be 101)",
            status=200,
            headers=(("Content-Type", "text/html"),),
            body=b"<html><body>not a WebSocket server</body></html>\n",
        )

    @classmethod
    def http10(cls) -> Handshake:
        """``HTTP/1.0 101 Switching Protocols``: a status line from a protocol without upgrade."""
        return cls(
            id="http-1.0",
            description="status line HTTP/1.0 101 (HTTP/1.0 has no protocol upgrade)",
            rfc="RFC 6455 section 4.2.2 and RFC 9110 section 7.8 (101 needs HTTP/1.1)",
            http_version="HTTP/1.0",
        )

    @classmethod
    def missing_subprotocol(cls) -> Handshake:
        """A 101 without ``Sec-WebSocket-Protocol`` although the client offered some.

        RFC 6455 leaves this to the client; the WHATWG WebSockets standard (browsers, Node's
        ``ws``) requires the client to fail the connection.
        """
        return cls(
            id="missing-subprotocol",
            description="no Sec-WebSocket-Protocol although the client offered subprotocols",
            rfc="WHATWG WebSockets standard, establish a WebSocket connection "
            "(web-platform-tests: no protocol in response); RFC 6455 allows it",
            subprotocols_offered=True,
            subprotocol=None,
        )

    @classmethod
    def unoffered_subprotocol(cls, name: str = "wsmock-unoffered") -> Handshake:
        """A 101 selecting a subprotocol the client did not offer."""
        return cls(
            id="unoffered-subprotocol",
            description=f"selects subprotocol {name!r}, which the client did not offer",
            rfc="RFC 6455 section 4.1 (client step 6)",
            subprotocols_offered=True,
            subprotocol=name,
        )

    @classmethod
    def unrequested_subprotocol(cls, name: str = "wsmock-unrequested") -> Handshake:
        """A 101 with ``Sec-WebSocket-Protocol`` although the client offered none."""
        return cls(
            id="unrequested-subprotocol",
            description=f"sends subprotocol {name!r} although the client offered none",
            rfc="RFC 6455 section 4.1 (client step 6)",
            subprotocols_offered=False,
            subprotocol=name,
        )

    @classmethod
    def two_subprotocols(cls) -> Handshake:
        """A 101 that selects two subprotocols (the first offered one and another)."""
        return cls(
            id="two-subprotocols",
            description="selects two subprotocols in one Sec-WebSocket-Protocol header",
            rfc="RFC 6455 section 4.2.2 (the server selects one) and 4.1 (client step 6)",
            subprotocols_offered=True,
            subprotocol=(AUTO, "wsmock-second"),
        )

    @classmethod
    def unoffered_extension(cls, value: str = "x-wsmock-unoffered") -> Handshake:
        """A 101 accepting an extension the client did not offer."""
        return cls(
            id="unoffered-extension",
            description=f"accepts extension {value!r}, which the client did not offer",
            rfc="RFC 6455 section 4.1 (client step 5) and section 9.1",
            extensions=value,
        )

    @classmethod
    def deflate_params(cls, value: str, id: str = "deflate-params") -> Handshake:
        """A 101 with this literal permessage-deflate response (invalid parameters, say)."""
        return cls(
            id=id,
            description=f"Sec-WebSocket-Extensions: {value}",
            rfc="RFC 7692 section 5 and 7.1 (the client must fail an invalid response)",
            extensions=value,
        )

    # -- named constructors: timing and transport ----------------------------------------

    @classmethod
    def never_respond(cls) -> Handshake:
        """Read the request, answer nothing, keep TCP open until the client (or teardown)
        closes it. Pass your client's open timeout, or the test waits for teardown."""
        return cls(
            id="never-respond",
            description="reads the request and never answers (TCP stays open)",
            rfc="RFC 6455 section 4.1 (no 101, no connection); clients need an open timeout",
            action="never-respond",
        )

    @classmethod
    def close_after_request(cls) -> Handshake:
        """Read the request, then close TCP (FIN) without a response."""
        return cls(
            id="close-after-request",
            description="reads the request, then closes TCP (FIN) without answering",
            rfc="RFC 6455 section 4.1 (no 101, no connection)",
            action="close-after-request",
        )

    @classmethod
    def reset_after_request(cls) -> Handshake:
        """Read the request, then reset the connection (RST, via SO_LINGER 0)."""
        return cls(
            id="reset-after-request",
            description="reads the request, then resets TCP (RST)",
            rfc="RFC 6455 section 4.1 (no 101, no connection)",
            action="reset-after-request",
        )

    @classmethod
    def close_before_request(cls) -> Handshake:
        """Close TCP (FIN) as soon as the connection is accepted, before reading anything."""
        return cls(
            id="close-before-request",
            description="closes TCP (FIN) before reading the request",
            rfc="RFC 6455 section 4.1 (no 101, no connection)",
            action="close-before-request",
        )

    @classmethod
    def garbage_response(cls, data: bytes = b"\x00\xffNOT HTTP AT ALL\r\n\r\n") -> Handshake:
        """Answer the request with bytes that are not HTTP, then close."""
        return cls(
            id="garbage",
            description="answers with bytes that are not HTTP",
            rfc="RFC 6455 section 4.1 and RFC 9112 section 4 (a response starts with a "
            "status line)",
            action="garbage",
            garbage=data,
        )

    @classmethod
    def truncated(cls, size: int = 20) -> Handshake:
        """Write the first ``size`` bytes of a correct 101 response, then close TCP."""
        return cls(
            id="truncated",
            description=f"writes {size} bytes of a correct response, then closes TCP",
            rfc="RFC 6455 section 4.1 (an incomplete response opens no connection)",
            truncate_at=size,
        )


def check_outcomes(outcomes: object) -> tuple[Handshake, ...]:
    """Validate the ``handshake`` option: one outcome or a non-empty sequence of them, each a
    :class:`Handshake` or a transport ``Fault`` that means something during the handshake."""
    items = [outcomes] if _as_outcome(outcomes) is not None else outcomes
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        items = [None]
    converted = [_as_outcome(item) for item in items]
    if any(outcome is None for outcome in converted):
        raise ConfigError(
            f"handshake outcomes must be Handshake values (e.g. Handshake.reject(503)) or "
            f"transport faults, one or a non-empty sequence, got {outcomes!r}"
        )
    return tuple(outcome for outcome in converted if outcome is not None)


def _as_outcome(item: object) -> Handshake | None:
    if isinstance(item, Handshake):
        return item
    convert = getattr(item, "as_handshake", None)  # a transport Fault (see _faults.py)
    if callable(convert):
        outcome = convert()
        assert isinstance(outcome, Handshake)
        return outcome
    return None
