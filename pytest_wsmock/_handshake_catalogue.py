"""The catalogues of handshake outcomes: ``HANDSHAKE_FAILURES`` and ``HANDSHAKE_REJECTIONS``."""

from __future__ import annotations

from ._handshakes import Handshake

__all__ = ["HANDSHAKE_FAILURES", "HANDSHAKE_REJECTIONS"]


def _failures() -> tuple[Handshake, ...]:
    deflate_bad_bits = Handshake.deflate_params(
        "permessage-deflate; server_max_window_bits=7", id="deflate-invalid-window-bits"
    )
    deflate_unknown = Handshake.deflate_params(
        "permessage-deflate; x-wsmock-unknown=1", id="deflate-unknown-param"
    )
    deflate_duplicate = Handshake.deflate_params(
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        id="deflate-duplicate-param",
    )
    return (
        Handshake.wrong_accept(),
        Handshake.missing_accept(),
        Handshake.duplicate_accept(),
        Handshake.status_200(),
        Handshake.http10(),
        Handshake.missing_upgrade(),
        Handshake.wrong_upgrade(),
        Handshake.missing_connection(),
        Handshake.wrong_connection(),
        Handshake.missing_subprotocol(),
        Handshake.unoffered_subprotocol(),
        Handshake.unrequested_subprotocol(),
        Handshake.two_subprotocols(),
        Handshake.unoffered_extension(),
        deflate_bad_bits,
        deflate_unknown,
        deflate_duplicate,
        Handshake.close_before_request(),
        Handshake.close_after_request(),
        Handshake.reset_after_request(),
        Handshake.garbage_response(),
        Handshake.truncated(),
        Handshake.never_respond(),
    )


#: Answers a compliant client must refuse to open a connection on. Each entry has an ``id``
#: (its pytest id), a ``description`` and the ``rfc`` rule it breaks.
HANDSHAKE_FAILURES: tuple[Handshake, ...] = _failures()

#: Rejections a client must report as a failed connection with the HTTP status visible.
HANDSHAKE_REJECTIONS: tuple[Handshake, ...] = (
    Handshake.forbidden_origin(),
    Handshake.unauthorized(),
    Handshake.not_found(),
    Handshake.too_many_requests(),
    Handshake.upgrade_required(),
    Handshake.server_error(),
    Handshake.unavailable(retry_after=2),
)
