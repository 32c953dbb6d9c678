"""Tests for the opening handshake: request parsing, checks, header grammars, responses."""

from __future__ import annotations

import pytest

from pytest_wsmock._protocol import (
    GUID,
    ExtensionOffer,
    Headers,
    Request,
    RequestParser,
    Violation,
    accept_headers,
    accept_key,
    build_response,
    check_request,
    parse_extensions,
    parse_tokens,
    reason_phrase,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="

HEAD = (
    b"GET /chat?room=1&flag HTTP/1.1\r\n"
    b"Host: server.example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Origin: http://example.com\r\n"
    b"Sec-WebSocket-Protocol: chat, superchat\r\n"
    b"Sec-WebSocket-Protocol: v3\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)

MiB = 1 << 20


def parse(data: bytes, **limits: int) -> Request | Violation | None:
    return RequestParser(**limits).feed(data)


def parse_ok(data: bytes) -> Request:
    result = parse(data)
    assert isinstance(result, Request), result
    return result


def make_request(
    *, drop: str = "", extra: tuple[tuple[str, str], ...] = (), **fields: str
) -> Request:
    """A valid handshake request, with one header dropped or extra headers added."""
    headers = Headers(
        [
            ("Host", "localhost"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", KEY),
            ("Sec-WebSocket-Version", "13"),
        ]
    )
    if drop:
        headers = headers.without(drop)
    for name, value in extra:
        headers = headers.replaced(name, value)
    return Request(
        fields.get("method", "GET"),
        "/",
        fields.get("http_version", "HTTP/1.1"),
        headers,
        b"",
    )


# -- accept key ---------------------------------------------------------------------------


def test_accept_key_matches_the_rfc_6455_section_1_3_example() -> None:
    """The RFC's sample key gives the RFC's sample accept value."""
    assert accept_key(KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_guid_is_the_rfc_constant() -> None:
    """GUID is the magic string of RFC 6455 section 1.3."""
    assert GUID == "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


# -- RequestParser: happy paths -----------------------------------------------------------


def test_parser_returns_the_request_fields() -> None:
    """A complete head gives method, target, version, headers and raw bytes."""
    request = parse_ok(HEAD)
    assert request.method == "GET"
    assert request.target == "/chat?room=1&flag"
    assert request.http_version == "HTTP/1.1"
    assert request.raw == HEAD
    assert request.headers.get("sec-websocket-key") == KEY
    assert len(request.headers) == 8


def test_parser_needs_the_blank_line() -> None:
    """Without the final blank line the parser asks for more bytes."""
    parser = RequestParser()
    assert parser.feed(HEAD[:-2]) is None
    assert isinstance(parser.feed(HEAD[-2:]), Request)


def test_parser_accepts_one_byte_at_a_time() -> None:
    """Feeding one byte per call gives the same request, only on the last byte."""
    parser = RequestParser()
    results = [parser.feed(HEAD[i : i + 1]) for i in range(len(HEAD))]
    assert results[:-1] == [None] * (len(HEAD) - 1)
    assert results[-1] == parse_ok(HEAD)


def test_parser_accepts_bare_lf_line_endings() -> None:
    """Bare LF line endings parse like CRLF, and raw keeps them as received."""
    head = HEAD.replace(b"\r\n", b"\n")
    request = parse_ok(head)
    assert request.headers == parse_ok(HEAD).headers
    assert request.raw == head


def test_parser_accepts_mixed_line_endings() -> None:
    """CRLF and bare LF can be mixed within one head."""
    head = b"GET / HTTP/1.1\nHost: a\r\nX-A: b\n\r\n"
    request = parse_ok(head)
    assert request.headers.items == (("Host", "a"), ("X-A", "b"))


def test_parser_keeps_trailing_bytes() -> None:
    """Bytes after the blank line (pipelined frames) are kept in ``trailing``."""
    parser = RequestParser()
    assert parser.feed(HEAD[:10]) is None
    result = parser.feed(HEAD[10:] + b"\x81\x85rest")
    assert isinstance(result, Request)
    assert result.raw == HEAD
    assert parser.trailing == b"\x81\x85rest"


def test_parser_trailing_is_empty_without_extra_bytes() -> None:
    """``trailing`` is empty when the head ended the input."""
    parser = RequestParser()
    parser.feed(HEAD)
    assert parser.trailing == b""


def test_parser_ignores_empty_lines_before_the_request_line() -> None:
    """Leading empty lines are skipped (RFC 9112 section 2.2) and not part of raw."""
    parser = RequestParser()
    assert parser.feed(b"\r\n") is None
    assert parser.feed(b"\n") is None
    request = parser.feed(HEAD)
    assert isinstance(request, Request)
    assert request.raw == HEAD


def test_parser_strips_ows_and_decodes_values_as_latin1() -> None:
    """Header values lose surrounding spaces and tabs and are decoded as latin-1."""
    request = parse_ok(b"GET / HTTP/1.1\r\nX-Name: \t caf\xe9 \t\r\nX-Empty:\r\n\r\n")
    assert request.headers.items == (("X-Name", "caf\xe9"), ("X-Empty", ""))


def test_parser_keeps_header_spelling_order_and_duplicates() -> None:
    """Names keep their spelling; repeated fields stay separate and in order."""
    request = parse_ok(b"GET / HTTP/1.1\r\nx-a: 1\r\nHOST: h\r\nX-A: 2\r\n\r\n")
    assert request.headers.items == (("x-a", "1"), ("HOST", "h"), ("X-A", "2"))
    assert request.headers.get_all("X-a") == ["1", "2"]


def test_parser_feed_after_request_raises() -> None:
    """feed() after the request was returned is a programming error."""
    parser = RequestParser()
    parser.feed(HEAD)
    with pytest.raises(RuntimeError):
        parser.feed(b"more")


def test_parser_feed_after_violation_raises() -> None:
    """feed() after a violation was returned is a programming error."""
    parser = RequestParser()
    assert isinstance(parser.feed(b"nonsense\r\n"), Violation)
    with pytest.raises(RuntimeError):
        parser.feed(b"more")


# -- RequestParser: limits ----------------------------------------------------------------


def feed_in_chunks(
    parser: RequestParser, data_chunks: list[bytes], bound: int
) -> tuple[int, object]:
    """Feed chunks until a result; check the internal buffer never exceeds ``bound``."""
    fed = 0
    for chunk in data_chunks:
        result = parser.feed(chunk)
        fed += len(chunk)
        assert len(parser._buffer) <= bound
        if result is not None:
            return fed, result
    return fed, None


def test_request_line_over_the_limit_gives_414_early() -> None:
    """10 MiB of request line is rejected with 414 after about max_line bytes, never buffered."""
    parser = RequestParser(max_line=8192, max_head=65536)
    chunk = 4096
    chunks = [b"GET /" + b"a" * (chunk - 5)] + [b"a" * chunk] * (10 * MiB // chunk)
    fed, result = feed_in_chunks(parser, chunks, 65536 + chunk)
    assert isinstance(result, Violation)
    assert (result.kind, result.status) == ("request-line-too-long", 414)
    assert fed <= 8192 + 2 * chunk


def test_header_block_over_the_limit_gives_431_early() -> None:
    """10 MiB of header lines is rejected with 431 after about max_head bytes, never buffered."""
    parser = RequestParser(max_head=65536, max_headers=10**9)
    line = b"X-Filler: " + b"v" * 100 + b"\r\n"
    chunk = b"GET / HTTP/1.1\r\n" + line * 600  # about 66 KiB per chunk
    chunks = [chunk] + [line * 600] * (10 * MiB // len(chunk))
    fed, result = feed_in_chunks(parser, chunks, 65536 + len(chunk))
    assert isinstance(result, Violation)
    assert (result.kind, result.status) == ("headers-too-large", 431)
    assert fed <= 65536 + len(chunk)


def test_header_block_over_the_limit_in_one_line_gives_431() -> None:
    """A header line that never ends is rejected as soon as it is over the line limit."""
    parser = RequestParser(max_line=100, max_head=65536)
    assert parser.feed(b"GET / HTTP/1.1\r\nX-Long: ") is None
    result = parser.feed(b"x" * 200)
    assert isinstance(result, Violation)
    assert (result.kind, result.status) == ("headers-too-large", 431)
    assert len(parser._buffer) == 0


def test_complete_header_line_over_the_line_limit_gives_431() -> None:
    """A complete header line longer than max_line gives 431."""
    result = parse(b"GET / HTTP/1.1\r\nX-Long: " + b"x" * 200 + b"\r\n\r\n", max_line=100)
    assert isinstance(result, Violation)
    assert (result.kind, result.status) == ("headers-too-large", 431)


def test_too_many_headers_gives_431() -> None:
    """More than max_headers header fields gives 431."""
    head = b"GET / HTTP/1.1\r\n" + b"X-A: 1\r\n" * 4 + b"\r\n"
    assert isinstance(parse(head, max_headers=4), Request)
    result = parse(head, max_headers=3)
    assert isinstance(result, Violation)
    assert (result.kind, result.status) == ("headers-too-large", 431)


def test_request_line_at_the_limit_is_accepted() -> None:
    """A request line of exactly max_line bytes is accepted; one more byte is not."""
    line = b"GET /" + b"a" * 86 + b" HTTP/1.1"
    assert len(line) == 100
    assert isinstance(parse(line + b"\r\n\r\n", max_line=100), Request)
    result = parse(line + b"\r\n\r\n", max_line=99)
    assert isinstance(result, Violation)
    assert result.status == 414


def test_head_at_the_limit_is_accepted() -> None:
    """A head of exactly max_head bytes (blank line included) is accepted."""
    assert isinstance(parse(HEAD, max_head=len(HEAD)), Request)
    result = parse(HEAD, max_head=len(HEAD) - 1)
    assert isinstance(result, Violation)
    assert result.status == 431


# -- RequestParser: malformed input -------------------------------------------------------


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"GET /\r\n\r\n", id="two-parts"),
        pytest.param(b"GET  / HTTP/1.1\r\n\r\n", id="double-space"),
        pytest.param(b"GET / HTTP/1.1 extra\r\n\r\n", id="four-parts"),
        pytest.param(b"GET / FTP/1.1\r\n\r\n", id="bad-version"),
        pytest.param(b"G\xc3\x89T / HTTP/1.1\r\n\r\n", id="non-ascii-method"),
        pytest.param(b"GET /caf\xe9 HTTP/1.1\r\n\r\n", id="non-ascii-target"),
        pytest.param(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n", id="tls-hello"),
        pytest.param(b"GET / HTTP/1.1\r\nHost a\r\n\r\n", id="no-colon"),
        pytest.param(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", id="space-before-colon"),
        pytest.param(b"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", id="tab-before-colon"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\n  continued\r\n\r\n", id="obs-fold"),
        pytest.param(b"GET / HTTP/1.1\r\nH\xf6st: a\r\n\r\n", id="non-ascii-name"),
        pytest.param(b"GET / HTTP/1.1\r\n: a\r\n\r\n", id="empty-name"),
    ],
)
def test_malformed_heads_give_400(head: bytes) -> None:
    """Malformed request or header lines give a 400 malformed-request violation."""
    result = parse(head)
    assert isinstance(result, Violation)
    assert (result.kind, result.status, result.fatal) == ("malformed-request", 400, True)


def test_malformed_violation_quotes_the_line_truncated() -> None:
    """The detail quotes the offending line, cut to 80 characters."""
    result = parse(b"GET / HTTP/1.1\r\nNoColon" + b"x" * 500 + b"\r\n\r\n")
    assert isinstance(result, Violation)
    assert "NoColonxxx" in result.detail
    assert "xxx..." in result.detail
    quoted = result.detail[result.detail.index("b'") :]
    assert len(quoted) == 80


def test_malformed_request_is_reported_before_the_head_ends() -> None:
    """A bad request line is reported as soon as its line ends."""
    parser = RequestParser()
    result = parser.feed(b"HELLO\r\n")
    assert isinstance(result, Violation)
    assert "HELLO" in result.detail


# -- Request properties -------------------------------------------------------------------


def test_request_properties() -> None:
    """Path, query, params and the handshake headers are exposed as properties."""
    request = parse_ok(HEAD)
    assert request.path == "/chat"
    assert request.query == "room=1&flag"
    assert request.query_params == {"room": ["1"], "flag": [""]}
    assert request.host == "server.example.com"
    assert request.origin == "http://example.com"
    assert request.key == KEY
    assert request.version == "13"
    assert request.subprotocols == ("chat", "superchat", "v3")
    assert request.extensions == ()


def test_request_without_query() -> None:
    """A target without '?' has an empty query; percent-encoding is kept in the path."""
    request = parse_ok(b"GET /a%20b HTTP/1.1\r\n\r\n")
    assert (request.path, request.query, request.query_params) == ("/a%20b", "", {})
    assert (request.host, request.origin, request.key, request.version) == (None,) * 4


def test_request_extensions_across_lines() -> None:
    """Extension offers from every Sec-WebSocket-Extensions line are parsed in order."""
    request = parse_ok(
        b"GET / HTTP/1.1\r\n"
        b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        b"Sec-WebSocket-Extensions: x-other\r\n\r\n"
    )
    assert request.extensions == (
        ExtensionOffer("permessage-deflate", (("client_max_window_bits", None),)),
        ExtensionOffer("x-other"),
    )


def test_request_repr_is_short_and_readable() -> None:
    """The repr shows method, target and key fields, not the raw bytes."""
    text = repr(parse_ok(HEAD))
    assert text.startswith("Request(GET '/chat?room=1&flag' HTTP/1.1, host='server.example.com'")
    assert "subprotocols=('chat', 'superchat', 'v3')" in text
    assert "\\r\\n" not in text


# -- check_request ------------------------------------------------------------------------


def test_check_request_accepts_a_valid_request() -> None:
    """A valid request breaks no rule."""
    assert check_request(parse_ok(HEAD)) == []
    assert check_request(make_request()) == []


def test_check_request_is_case_insensitive_for_tokens() -> None:
    """Upgrade and Connection tokens match case-insensitively, among other tokens."""
    request = make_request(extra=(("Upgrade", "WebSocket"), ("Connection", "keep-alive, UPGRADE")))
    assert check_request(request) == []


def test_check_request_accepts_newer_http_versions() -> None:
    """HTTP/1.2 and HTTP/2.0 are not too old."""
    assert check_request(make_request(http_version="HTTP/1.2")) == []
    assert check_request(make_request(http_version="HTTP/2.0")) == []


@pytest.mark.parametrize(
    ("request_", "kind", "status"),
    [
        pytest.param(make_request(method="POST"), "method-not-get", 400, id="method"),
        pytest.param(
            make_request(http_version="HTTP/1.0"), "http-version-too-old", 400, id="http10"
        ),
        pytest.param(
            make_request(http_version="nonsense"), "http-version-too-old", 400, id="bad-ver"
        ),
        pytest.param(make_request(drop="Host"), "missing-host", 400, id="host"),
        pytest.param(make_request(drop="Upgrade"), "missing-upgrade", 400, id="no-upgrade"),
        pytest.param(
            make_request(extra=(("Upgrade", "h2c"),)), "missing-upgrade", 400, id="upgrade-h2c"
        ),
        pytest.param(
            make_request(drop="Connection"), "missing-connection-upgrade", 400, id="no-connection"
        ),
        pytest.param(
            make_request(extra=(("Connection", "keep-alive"),)),
            "missing-connection-upgrade",
            400,
            id="connection-keep-alive",
        ),
        pytest.param(make_request(drop="Sec-WebSocket-Key"), "missing-key", 400, id="no-key"),
        pytest.param(
            make_request(extra=(("Sec-WebSocket-Key", "not base64!"),)),
            "invalid-key",
            400,
            id="key-not-base64",
        ),
        pytest.param(
            make_request(extra=(("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA"),)),
            "invalid-key",
            400,
            id="key-15-bytes",
        ),
        pytest.param(
            Request(
                "GET",
                "/",
                "HTTP/1.1",
                make_request().headers.with_added("Sec-WebSocket-Key", KEY),
                b"",
            ),
            "invalid-key",
            400,
            id="two-keys",
        ),
        pytest.param(
            make_request(drop="Sec-WebSocket-Version"), "unsupported-version", 426, id="no-version"
        ),
        pytest.param(
            make_request(extra=(("Sec-WebSocket-Version", "8"),)),
            "unsupported-version",
            426,
            id="version-8",
        ),
    ],
)
def test_check_request_reports_each_rule(request_: Request, kind: str, status: int) -> None:
    """Each broken rule of RFC 6455 section 4.2.1 gives exactly its own violation."""
    violations = check_request(request_)
    assert [(v.kind, v.status) for v in violations] == [(kind, status)]
    violation = violations[0]
    assert violation.rfc == "RFC 6455 section 4.2.1"
    assert violation.fatal is True
    assert violation.close_code is None


def test_check_request_reports_every_broken_rule() -> None:
    """A request breaking several rules gets one violation per rule, in order."""
    request = Request("POST", "/", "HTTP/1.0", Headers(), b"")
    kinds = [violation.kind for violation in check_request(request)]
    assert kinds == [
        "method-not-get",
        "http-version-too-old",
        "missing-host",
        "missing-upgrade",
        "missing-connection-upgrade",
        "missing-key",
        "unsupported-version",
    ]


# -- Violation ----------------------------------------------------------------------------


def test_violation_str() -> None:
    """str(Violation) is 'kind: detail (rfc)'."""
    violation = Violation("missing-key", "no key", "RFC 6455 section 4.2.1", status=400)
    assert str(violation) == "missing-key: no key (RFC 6455 section 4.2.1)"
    assert (violation.close_code, violation.fatal) == (None, True)


# -- Headers ------------------------------------------------------------------------------


def test_headers_lookup_is_case_insensitive() -> None:
    """get, get_all and 'in' ignore case; get returns the first value."""
    headers = Headers([("Host", "a"), ("X-Dup", "1"), ("x-dup", "2")])
    assert headers.get("HOST") == "a"
    assert headers.get("x-DUP") == "1"
    assert headers.get_all("X-Dup") == ["1", "2"]
    assert headers.get("missing") is None
    assert headers.get("missing", "default") == "default"
    assert headers.get_all("missing") == []
    assert "host" in headers
    assert "nope" not in headers
    assert 42 not in headers


def test_headers_iterate_in_order() -> None:
    """Iteration, len and items keep the original order and spelling."""
    items = [("B", "1"), ("a", "2"), ("B", "3")]
    headers = Headers(items)
    assert list(headers) == items
    assert len(headers) == 3
    assert headers.items == tuple(items)


def test_headers_equality_and_hash() -> None:
    """Headers equal Headers with the same items (order matters), never plain lists."""
    assert Headers([("A", "1")]) == Headers([("A", "1")])
    assert hash(Headers([("A", "1")])) == hash(Headers([("A", "1")]))
    assert Headers([("A", "1"), ("B", "2")]) != Headers([("B", "2"), ("A", "1")])
    assert Headers([("A", "1")]) != Headers([("a", "1")])
    assert Headers([("A", "1")]) != [("A", "1")]


def test_headers_repr() -> None:
    """The repr shows the items list."""
    assert repr(Headers([("Host", "x")])) == "Headers([('Host', 'x')])"


def test_headers_are_immutable() -> None:
    """items cannot be assigned and the mutators return new objects."""
    headers = Headers([("A", "1")])
    with pytest.raises(AttributeError):
        headers.items = ()  # type: ignore[misc]
    assert headers.with_added("B", "2") is not headers
    assert headers.items == (("A", "1"),)


def test_headers_with_added_appends() -> None:
    """with_added appends, even when the name exists."""
    headers = Headers([("A", "1")]).with_added("a", "2")
    assert headers.items == (("A", "1"), ("a", "2"))


def test_headers_without_removes_all() -> None:
    """without removes every field of that name, case-insensitively."""
    headers = Headers([("A", "1"), ("B", "2"), ("a", "3")]).without("A")
    assert headers.items == (("B", "2"),)


def test_headers_replaced() -> None:
    """replaced swaps the first occurrence in place, drops the others, appends when absent."""
    headers = Headers([("A", "1"), ("B", "2"), ("a", "3")])
    assert headers.replaced("a", "9").items == (("a", "9"), ("B", "2"))
    assert headers.replaced("C", "4").items == (("A", "1"), ("B", "2"), ("a", "3"), ("C", "4"))


# -- parse_tokens / parse_extensions ------------------------------------------------------


def test_parse_tokens_splits_across_lines() -> None:
    """Comma lists over several lines are split and stripped, keeping order and duplicates."""
    assert parse_tokens(["chat, superchat", " ,v3,\tchat ", ""]) == (
        "chat",
        "superchat",
        "v3",
        "chat",
    )
    assert parse_tokens([]) == ()


def test_parse_extensions_basic() -> None:
    """Names and parameters (bare or with a value) are parsed in order."""
    offers = parse_extensions(
        ["permessage-deflate; client_max_window_bits; server_max_window_bits=10, x-foo"]
    )
    assert offers == (
        ExtensionOffer(
            "permessage-deflate",
            (("client_max_window_bits", None), ("server_max_window_bits", "10")),
        ),
        ExtensionOffer("x-foo", ()),
    )


def test_parse_extensions_unquotes_quoted_values() -> None:
    """Quoted-string values are unquoted; commas and semicolons inside quotes do not split."""
    offers = parse_extensions(['x; a="10"; b="1,2;3"; c="say \\"hi\\""', "y"])
    assert offers == (
        ExtensionOffer("x", (("a", "10"), ("b", "1,2;3"), ("c", 'say "hi"'))),
        ExtensionOffer("y"),
    )


def test_parse_extensions_tolerates_odd_input() -> None:
    """Empty elements and parameters are skipped; malformed elements keep what parses."""
    assert parse_extensions([" , ,x ;; a = 1 ;, "]) == (ExtensionOffer("x", (("a", "1"),)),)
    assert parse_extensions(['x; a="unterminated, y']) == (
        ExtensionOffer("x", (("a", '"unterminated, y'),)),
    )
    assert parse_extensions(["; a=1"]) == (ExtensionOffer("", (("a", "1"),)),)
    assert parse_extensions(["x; =1"]) == (ExtensionOffer("x", (("", "1"),)),)
    assert parse_extensions([]) == ()


def test_extension_offer_str() -> None:
    """str(ExtensionOffer) is the header syntax, quoting values that are not tokens."""
    offer = ExtensionOffer(
        "permessage-deflate", (("client_max_window_bits", None), ("server_max_window_bits", "10"))
    )
    assert str(offer) == "permessage-deflate; client_max_window_bits; server_max_window_bits=10"
    quoted = ExtensionOffer("x", (("a", 'b "c"'),))
    assert str(quoted) == 'x; a="b \\"c\\""'
    assert parse_extensions([str(quoted)]) == (quoted,)


# -- responses ----------------------------------------------------------------------------


def test_build_response_101_exact_bytes() -> None:
    """The correct 101 response is exactly the RFC's, with no Content-Length."""
    response = build_response(101, headers=accept_headers(KEY, subprotocol="chat"))
    assert response == (
        b"HTTP/1.1 101 Switching Protocols\r\n"
        b"Upgrade: websocket\r\n"
        b"Connection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
        b"Sec-WebSocket-Protocol: chat\r\n"
        b"\r\n"
    )


def test_build_response_error_with_body_exact_bytes() -> None:
    """A non-101 response gets Content-Length appended after the given headers."""
    response = build_response(
        426, headers=[("Sec-WebSocket-Version", "13")], body=b"upgrade please"
    )
    assert response == (
        b"HTTP/1.1 426 Upgrade Required\r\n"
        b"Sec-WebSocket-Version: 13\r\n"
        b"Content-Length: 14\r\n"
        b"\r\n"
        b"upgrade please"
    )


def test_build_response_writes_headers_verbatim() -> None:
    """Headers are written as given: order, duplicates, spelling, no validation."""
    response = build_response(
        101,
        "Whatever",
        [("upgrade", "nope"), ("X-A", "1"), ("X-A", "2"), ("Bad Name", "")],
        http_version="HTTP/1.0",
    )
    assert response == (
        b"HTTP/1.0 101 Whatever\r\nupgrade: nope\r\nX-A: 1\r\nX-A: 2\r\nBad Name: \r\n\r\n"
    )


def test_build_response_empty_reason() -> None:
    """An empty reason keeps the space after the status code."""
    assert build_response(200, "") == b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"


@pytest.mark.parametrize(
    ("status", "headers", "content_length", "expected"),
    [
        pytest.param(200, [], None, True, id="default-200"),
        pytest.param(101, [], None, False, id="default-101"),
        pytest.param(200, [("content-length", "99")], None, False, id="given-header"),
        pytest.param(200, [], False, False, id="forced-off"),
        pytest.param(101, [], True, True, id="forced-on-101"),
        pytest.param(200, [("Content-Length", "99")], True, True, id="forced-on-duplicate"),
    ],
)
def test_build_response_content_length_rule(
    status: int, headers: list[tuple[str, str]], content_length: bool | None, expected: bool
) -> None:
    """Content-Length is appended when forced, or by default unless 101 or already given."""
    response = build_response(status, headers=headers, body=b"abc", content_length=content_length)
    assert response.endswith(b"\r\n\r\nabc")
    assert (b"\r\nContent-Length: 3\r\n" in response) is expected


def test_build_response_non_latin1_is_utf8() -> None:
    """Values that are not latin-1 are written as UTF-8 instead of crashing."""
    response = build_response(200, headers=[("X-Caf\xe9", "\u2603")], content_length=False)
    assert (
        response == "HTTP/1.1 200 OK\r\nX-Caf\xe9: ".encode("latin-1") + "\u2603\r\n\r\n".encode()
    )


def test_reason_phrase() -> None:
    """Standard phrases for known statuses, 'Unknown' otherwise."""
    assert reason_phrase(101) == "Switching Protocols"
    assert reason_phrase(403) == "Forbidden"
    assert reason_phrase(431) == "Request Header Fields Too Large"
    assert reason_phrase(299) == "Unknown"


def test_accept_headers() -> None:
    """accept_headers gives Upgrade, Connection, Accept, then protocol and extensions."""
    assert accept_headers(KEY, subprotocol="chat", extensions="permessage-deflate") == [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        ("Sec-WebSocket-Protocol", "chat"),
        ("Sec-WebSocket-Extensions", "permessage-deflate"),
    ]
    assert len(accept_headers(KEY)) == 3


def test_headers_index_like_a_mapping() -> None:
    """``headers[name]`` gives the first value, case-insensitively, and KeyError when absent."""
    headers = Headers([("Location", "/a"), ("location", "/b")])
    assert headers["LOCATION"] == "/a"
    with pytest.raises(KeyError):
        headers["Retry-After"]
