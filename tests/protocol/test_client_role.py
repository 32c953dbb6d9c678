"""The client role of the sans-IO core: the request, the response's checks, frames, deflate."""

from __future__ import annotations

import base64

import pytest

from pytest_wsmock._protocol import (
    ClientResponse,
    DeflateParams,
    FrameDecoder,
    Headers,
    MessageAssembler,
    MessageEvent,
    Opcode,
    PerMessageDeflate,
    RawFrame,
    RequestParser,
    ResponseParser,
    Violation,
    accept_key,
    body_framing,
    build_request,
    check_deflate_answer,
    check_request,
    check_response,
    dechunk,
    encode_client_frame,
    encode_frame,
    negotiate_deflate,
    new_key,
    offer_deflate,
    parse_extensions,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


# -- the request --------------------------------------------------------------------------


def test_new_key_is_16_random_bytes() -> None:
    keys = {new_key() for _ in range(20)}
    assert len(keys) == 20
    assert all(len(base64.b64decode(key, validate=True)) == 16 for key in keys)


def test_request_bytes_exactly() -> None:
    data = build_request("/chat?x=1", "example.com:8080", KEY)
    assert data == (
        b"GET /chat?x=1 HTTP/1.1\r\n"
        b"Host: example.com:8080\r\n"
        b"Upgrade: websocket\r\n"
        b"Connection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n"
        b"\r\n"
    )


def test_request_passes_our_own_server_checks() -> None:
    data = build_request(
        "/a", "127.0.0.1:9000", new_key(), subprotocols=["v2", "v1"], extensions=offer_deflate()
    )
    request = RequestParser().feed(data)
    assert not isinstance(request, Violation)
    assert request is not None
    assert check_request(request, port=9000) == []
    assert request.subprotocols == ("v2", "v1")
    assert negotiate_deflate(request.extensions) == DeflateParams()


def test_request_headers_replace_ours_except_key_and_version() -> None:
    data = build_request(
        "/",
        "h",
        KEY,
        subprotocols=["a"],
        headers=[
            ("host", "other"),
            ("Sec-WebSocket-Key", "x"),
            ("sec-websocket-version", "8"),
            ("Sec-WebSocket-Protocol", "b"),
            ("Sec-WebSocket-Protocol", "c"),
            ("Authorization", "Bearer t"),
        ],
    )
    request = RequestParser().feed(data)
    assert not isinstance(request, Violation)
    assert request is not None
    assert request.headers.items == (
        ("host", "other"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", KEY),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Protocol", "b"),
        ("Sec-WebSocket-Protocol", "c"),
        ("Authorization", "Bearer t"),
    )


@pytest.mark.parametrize(
    ("target", "headers"),
    [("/a b", ()), ("/", [("X", "a\r\nInjected: 1")]), ("/", [("Bad Name", "v")]), ("", ())],
)
def test_request_refuses_what_would_break_the_head(
    target: str, headers: list[tuple[str, str]]
) -> None:
    with pytest.raises(ValueError, match="must"):
        build_request(target, "h", KEY, headers=headers)


# -- parsing the response -----------------------------------------------------------------

GOOD = (
    b"HTTP/1.1 101 Switching Protocols\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    b"\r\n"
)


def test_response_parsed_byte_by_byte_with_trailing_frames() -> None:
    parser = ResponseParser()
    frame = encode_frame(Opcode.TEXT, b"hi")
    data = GOOD + frame
    result = None
    for index in range(len(GOOD)):
        result = parser.feed(data[index : index + 1])
        if index < len(GOOD) - 1:
            assert result is None
    assert isinstance(result, ClientResponse)
    assert (result.status, result.reason, result.http_version) == (
        101,
        "Switching Protocols",
        "HTTP/1.1",
    )
    assert result.headers["sec-websocket-accept"] == accept_key(KEY)
    assert result.raw == GOOD
    assert parser.trailing == b""
    parser = ResponseParser()
    assert isinstance(parser.feed(data), ClientResponse)
    assert parser.trailing == frame
    with pytest.raises(RuntimeError):
        parser.feed(b"x")


def test_response_folded_lines_and_bare_lf_and_empty_reason() -> None:
    response = ResponseParser().feed(b"HTTP/1.1 403\nX-A: one\n  two\n\nbody")
    assert isinstance(response, ClientResponse)
    assert (response.status, response.reason) == (403, "")
    assert response.headers.items == (("X-A", "one two"),)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"HTTP/1.1 1O1 Nope\r\n\r\n", "malformed-response"),
        (b"ICY 200 OK\r\n\r\n", "malformed-response"),
        (b"HTTP/1.1 101 OK\r\nNo colon here\r\n\r\n", "malformed-response"),
        (b"HTTP/1.1 101 OK\r\n  folded first\r\n\r\n", "malformed-response"),
        (b"HTTP/1.1 101 OK\r\nX: " + b"a" * 200, "response-too-large"),
    ],
)
def test_response_violations(data: bytes, kind: str) -> None:
    result = ResponseParser(max_head=100).feed(data)
    assert isinstance(result, Violation)
    assert result.kind == kind


# -- checking the response ----------------------------------------------------------------


def response(
    status: int = 101, *headers: tuple[str, str], accept: str | None = None
) -> ClientResponse:
    base = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept or accept_key(KEY)),
    ]
    names = {name.lower() for name, _ in headers}
    kept = [item for item in base if item[0].lower() not in names]
    return ClientResponse(status, "Switching Protocols", "HTTP/1.1", Headers([*kept, *headers]))


def check(
    resp: ClientResponse, *, subprotocols: tuple[str, ...] = (), deflate: bool = False
) -> list[str]:
    return check_response(
        resp, key=KEY, subprotocols=subprotocols, offered_deflate=deflate
    ).problems


def test_correct_response_has_no_problems() -> None:
    handshake = check_response(
        response(
            101,
            ("Sec-WebSocket-Protocol", "v1"),
            ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits=10"),
        ),
        key=KEY,
        subprotocols=["v2", "v1"],
        offered_deflate=True,
    )
    assert handshake.problems == []
    assert handshake.ok
    assert handshake.subprotocol == "v1"
    assert handshake.extensions == "permessage-deflate; client_max_window_bits=10"
    assert handshake.deflate == DeflateParams(client_max_window_bits=10)


def test_status_not_101_is_the_only_problem() -> None:
    resp = ClientResponse(403, "Forbidden", "HTTP/1.1", Headers())
    assert check(resp) == [
        "the server answered 403 Forbidden, not 101 Switching Protocols "
        "(RFC 6455 section 4.1, step 1)"
    ]


@pytest.mark.parametrize(
    ("header", "text"),
    [
        (("Upgrade", "h2c"), "'h2c' where Upgrade: websocket is required"),
        (("Connection", "keep-alive"), "Connection 'keep-alive', which lacks the 'Upgrade'"),
    ],
)
def test_wrong_upgrade_or_connection(header: tuple[str, str], text: str) -> None:
    problems = check(response(101, header))
    assert len(problems) == 1
    assert text in problems[0]


@pytest.mark.parametrize("name", ["Upgrade", "Connection", "Sec-WebSocket-Accept"])
def test_missing_header(name: str) -> None:
    resp = response()
    resp = ClientResponse(101, "", "HTTP/1.1", resp.headers.without(name))
    problems = check(resp)
    assert len(problems) == 1
    assert f"no {name} header" in problems[0]


def test_wrong_accept() -> None:
    (problem,) = check(response(accept="AAAA"))
    assert problem.startswith("wrong Sec-WebSocket-Accept 'AAAA': the key sent gives ")
    assert accept_key(KEY) in problem


def test_duplicate_accept() -> None:
    resp = ClientResponse(
        101, "", "HTTP/1.1", response().headers.with_added("Sec-WebSocket-Accept", accept_key(KEY))
    )
    (problem,) = check(resp)
    assert "2 Sec-WebSocket-Accept headers" in problem


def test_unoffered_subprotocol_and_two_of_them() -> None:
    (problem,) = check(response(101, ("Sec-WebSocket-Protocol", "v3")), subprotocols=("v1",))
    assert "selects the subprotocol 'v3', but the client offered ['v1']" in problem
    (problem,) = check(response(101, ("Sec-WebSocket-Protocol", "v3")))
    assert "the client offered none" in problem
    (problem,) = check(
        response(101, ("Sec-WebSocket-Protocol", "v1, v2")), subprotocols=("v1", "v2")
    )
    assert "selects 2 subprotocols" in problem


def test_unoffered_extension() -> None:
    (problem,) = check(response(101, ("Sec-WebSocket-Extensions", "permessage-deflate")))
    assert "accepts the extension 'permessage-deflate', which the client did not offer" in problem
    (problem,) = check(response(101, ("Sec-WebSocket-Extensions", "x-foo")), deflate=True)
    assert "'x-foo'" in problem


def test_deflate_accepted_twice() -> None:
    (problem,) = check(
        response(101, ("Sec-WebSocket-Extensions", "permessage-deflate, permessage-deflate")),
        deflate=True,
    )
    assert "more than once" in problem


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        ("permessage-deflate; x=1", "unknown parameter 'x'"),
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", "twice"),
        ("permessage-deflate; client_no_context_takeover=1", "a value '1'"),
        ("permessage-deflate; client_max_window_bits", "gives client_max_window_bits no value"),
        ("permessage-deflate; server_max_window_bits=16", "the value '16'"),
        ("permessage-deflate; server_max_window_bits=09", "the value '09'"),
    ],
)
def test_bad_deflate_params(answer: str, text: str) -> None:
    handshake = check_response(
        response(101, ("Sec-WebSocket-Extensions", answer)),
        key=KEY,
        subprotocols=(),
        offered_deflate=True,
    )
    (problem,) = handshake.problems
    assert text in problem
    assert "RFC 7692" in problem
    assert handshake.deflate is None


def test_every_problem_at_once() -> None:
    resp = ClientResponse(
        101,
        "",
        "HTTP/1.1",
        Headers([("Sec-WebSocket-Protocol", "zz"), ("Sec-WebSocket-Extensions", "x")]),
    )
    problems = check(resp)
    assert [p.rsplit("step ", 1)[1] for p in problems] == ["2)", "3)", "4)", "5)", "6)"]


def test_deflate_answer_parameters() -> None:
    (answer,) = parse_extensions(
        [
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=9; client_max_window_bits=12"
        ]
    )
    assert check_deflate_answer(answer) == DeflateParams(True, True, 9, 12)
    assert offer_deflate() == "permessage-deflate; client_max_window_bits"


# -- frames -------------------------------------------------------------------------------


def test_client_frames_are_masked_with_fresh_keys() -> None:
    first = encode_client_frame(Opcode.TEXT, b"hello")
    second = encode_client_frame(Opcode.TEXT, b"hello")
    frames = FrameDecoder().feed(first + second)
    assert all(isinstance(f, RawFrame) and f.masked and f.payload == b"hello" for f in frames)
    assert isinstance(frames[0], RawFrame)
    assert isinstance(frames[1], RawFrame)
    assert frames[0].mask_key != frames[1].mask_key  # 1 in 2**32 chance of a false failure
    (frame,) = FrameDecoder().feed(encode_client_frame(Opcode.BINARY, b"x", fin=False, rsv1=True))
    assert isinstance(frame, RawFrame)
    assert (frame.fin, frame.rsv1, frame.opcode) == (False, True, Opcode.BINARY)


def test_client_decoder_reads_unmasked_server_frames() -> None:
    data = encode_frame(Opcode.TEXT, b"a" * 70_000) + encode_frame(Opcode.PING, b"p")
    frames = FrameDecoder(role="client").feed(data)
    assert [f.opcode for f in frames if isinstance(f, RawFrame)] == [Opcode.TEXT, Opcode.PING]


def test_client_decoder_rejects_masked_server_frames() -> None:
    decoder = FrameDecoder(role="client")
    good = encode_frame(Opcode.TEXT, b"ok")
    bad = encode_frame(Opcode.TEXT, b"masked", mask_key=b"abcd")
    events = decoder.feed(good + bad[:2])
    assert isinstance(events[0], RawFrame)
    violation = events[1]
    assert isinstance(violation, Violation)
    assert (violation.kind, violation.close_code, violation.fatal) == ("masked-frame", 1002, True)
    assert "a masked TEXT frame" in violation.detail
    assert decoder.failed
    assert decoder.feed(bad[2:]) == []


def test_server_decoder_unchanged_by_default() -> None:
    (frame,) = FrameDecoder().feed(encode_frame(Opcode.TEXT, b"x", mask_key=b"abcd"))
    assert isinstance(frame, RawFrame)
    assert frame.masked
    with pytest.raises(ValueError, match="role"):
        FrameDecoder(role="proxy")  # type: ignore[arg-type]


# -- deflate, both roles ------------------------------------------------------------------

PARAMS = [
    DeflateParams(),
    DeflateParams(client_no_context_takeover=True),
    DeflateParams(server_no_context_takeover=True),
    DeflateParams(server_max_window_bits=10, client_max_window_bits=9),
]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: p.header_value())
def test_deflate_round_trip_client_to_server_and_back(params: DeflateParams) -> None:
    client = PerMessageDeflate(params, role="client")
    server = PerMessageDeflate(params)
    messages = [b"hello" * 100, b"hello" * 100, bytes(range(256)) * 40, b""]
    for message in messages:
        assert server.decompress(client.compress(message), final=True) == message
        assert client.decompress(server.compress(message), final=True) == message


def test_client_role_uses_the_client_settings() -> None:
    message = b"the same message " * 20
    takeover = PerMessageDeflate(DeflateParams(), role="client")
    reset = PerMessageDeflate(DeflateParams(client_no_context_takeover=True), role="client")
    # With context takeover the second copy is a back-reference; without, it costs the same.
    assert len(takeover.compress(message)) > len(takeover.compress(message))
    assert len(reset.compress(message)) == len(reset.compress(message))
    # The server's no_context_takeover does not change what the client writes.
    other = PerMessageDeflate(DeflateParams(server_no_context_takeover=True), role="client")
    assert len(other.compress(message)) > len(other.compress(message))
    with pytest.raises(ValueError, match="role"):
        PerMessageDeflate(DeflateParams(), role="both")  # type: ignore[arg-type]


def test_assembler_with_client_deflate_reads_compressed_server_frames() -> None:
    params = DeflateParams(server_no_context_takeover=True)
    server = PerMessageDeflate(params)
    client = PerMessageDeflate(params, role="client")
    assembler = MessageAssembler(require_masked=False, deflate=client)
    decoder = FrameDecoder(role="client")
    payload = server.compress("caf\xe9".encode() * 50)
    events = []
    for item in decoder.feed(encode_frame(Opcode.TEXT, payload, rsv1=True)):
        assert isinstance(item, RawFrame)
        events += assembler.receive(item)
    assert events == [MessageEvent(Opcode.TEXT, "caf\xe9".encode() * 50, True, 1)]


# -- a refusal's body ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "framing"),
    [
        (403, [("Content-Length", "5")], ("length", 5)),
        (403, [("Transfer-Encoding", "gzip, chunked")], ("chunked", None)),
        (500, [], ("close", None)),
        (204, [("Content-Length", "5")], ("length", 0)),
        (101, [], ("length", 0)),
    ],
)
def test_body_framing(status: int, headers: list[tuple[str, str]], framing: object) -> None:
    assert body_framing(ClientResponse(status, "", "HTTP/1.1", Headers(headers))) == framing


def test_dechunk() -> None:
    data = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    assert dechunk(data) == b"hello world"
    for cut in range(len(data) - 1):
        assert dechunk(data[:cut]) is None, cut
    assert dechunk(b"zz\r\n") == b""
