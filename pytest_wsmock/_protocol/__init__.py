"""Sans-IO RFC 6455 + RFC 7692 core: handshake, frames, masking, close codes, deflate.

Theory of operation: the I/O layer feeds received bytes to `RequestParser`
until it returns a `Request`, checks it with `check_request`, writes bytes from
`build_response`, then feeds the rest (``RequestParser.trailing`` first) to a
`FrameDecoder`, whose `RawFrame` values go to a `MessageAssembler`. Nothing here
raises on bad input from the peer: every broken rule comes back as a
`Violation` carrying the close code or HTTP status to answer with. Outgoing
frames are built with `encode_frame`, which writes legal or illegal frames
alike.

The client role (a proxy's upstream leg) runs the same pieces the other way round: it
writes `build_request` with a `new_key` (and `offer_deflate` when it wants compression),
feeds the answer to a `ResponseParser` until it returns a `ClientResponse`, and judges it
with `check_response`, whose `ClientHandshake` lists every rule the server broke in words
and carries the negotiated subprotocol and `DeflateParams`. It then feeds
``ResponseParser.trailing`` and later bytes to a ``FrameDecoder(role="client")`` (a masked
server frame is a violation) and a ``MessageAssembler(require_masked=False)``, inflating
with ``PerMessageDeflate(params, role="client")``, and masks its own frames with
`encode_client_frame`. A refusal's body is delimited by `body_framing` (`dechunk` for a
chunked one). No module imports sockets, TLS or an event loop.
"""

from ._client import (
    ClientHandshake,
    ClientResponse,
    ResponseParser,
    body_framing,
    build_request,
    check_response,
    dechunk,
    encode_client_frame,
    new_key,
)
from ._close import (
    CloseCode,
    build_close_payload,
    close_code_name,
    is_valid_close_code,
    parse_close_payload,
)
from ._deflate import (
    DecompressionTooLarge,
    DeflateError,
    DeflateParams,
    DeflateTrailingData,
    PerMessageDeflate,
    Role,
    check_deflate_answer,
    negotiate_deflate,
    offer_deflate,
)
from ._encode import encode_frame, encode_frame_parts
from ._frames import (
    FrameDecoder,
    Opcode,
    RawFrame,
    looks_like_http_request,
    opcode_name,
)
from ._handshake import (
    GUID,
    accept_headers,
    accept_key,
    build_response,
    check_request,
    reason_phrase,
)
from ._headers import Headers
from ._mask import MASK_IMPLEMENTATION, PURE_PYTHON_ENV, apply_mask
from ._messages import (
    CloseEvent,
    Event,
    MessageAssembler,
    MessageEvent,
    PingEvent,
    PongEvent,
)
from ._request import ExtensionOffer, Request, RequestParser, parse_extensions, parse_tokens
from ._state import (
    TRANSITIONS,
    Action,
    ConnectionState,
    Direction,
    Outcome,
    State,
    StateError,
    StateEvent,
)
from ._utf8 import Utf8Validator
from ._violations import Violation

__all__ = [
    # _state
    "TRANSITIONS",
    "Action",
    "ConnectionState",
    "Direction",
    "Outcome",
    "State",
    "StateError",
    "StateEvent",
    # _violations
    "Violation",
    # _headers
    "Headers",
    # _request
    "ExtensionOffer",
    "Request",
    "RequestParser",
    "parse_extensions",
    "parse_tokens",
    # _handshake
    "GUID",
    "accept_headers",
    "accept_key",
    "build_response",
    "check_request",
    "reason_phrase",
    # _frames
    "FrameDecoder",
    "Opcode",
    "RawFrame",
    # _encode
    "encode_frame",
    "encode_frame_parts",
    "looks_like_http_request",
    "opcode_name",
    # _mask
    "MASK_IMPLEMENTATION",
    "PURE_PYTHON_ENV",
    "apply_mask",
    # _close
    "CloseCode",
    "build_close_payload",
    "close_code_name",
    "is_valid_close_code",
    "parse_close_payload",
    # _utf8
    "Utf8Validator",
    # _deflate
    "DecompressionTooLarge",
    "DeflateError",
    "DeflateParams",
    "DeflateTrailingData",
    "PerMessageDeflate",
    "Role",
    "check_deflate_answer",
    "negotiate_deflate",
    "offer_deflate",
    # _client
    "ClientHandshake",
    "ClientResponse",
    "ResponseParser",
    "body_framing",
    "build_request",
    "check_response",
    "dechunk",
    "encode_client_frame",
    "new_key",
    # _messages
    "CloseEvent",
    "Event",
    "MessageAssembler",
    "MessageEvent",
    "PingEvent",
    "PongEvent",
]
