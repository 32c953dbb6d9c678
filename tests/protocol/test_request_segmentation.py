"""RequestParser decides from the bytes alone, never from how TCP split them."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_wsmock._protocol import Request, RequestParser, Violation


def feed_pieces(
    data: bytes, cuts: list[int], **limits: int
) -> tuple[Request | Violation | None, bytes]:
    """Feed ``data`` split at ``cuts``; return the first result and every byte after the head.

    The bytes after the head are `RequestParser.trailing` plus what was not fed yet,
    as the I/O layer sees them.
    """
    parser = RequestParser(**limits)
    bounds = [0, *sorted({cut % (len(data) + 1) for cut in cuts}), len(data)]
    for start, end in itertools.pairwise(bounds):
        result = parser.feed(data[start:end])
        if isinstance(result, Request):
            return result, parser.trailing + data[end:]
        if result is not None:
            return result, b""
    return None, b""


def test_long_request_line_gets_the_same_status_however_it_is_split() -> None:
    """A request line over max_line and max_head gives 414 in one piece and split alike."""
    data = b"GET /" + b"a" * 8200 + b" HTTP/1.1\r\n\r\n"
    whole, _ = feed_pieces(data, [], max_head=8195)
    split, _ = feed_pieces(data, [18, 8194], max_head=8195)
    assert isinstance(whole, Violation)
    assert isinstance(split, Violation)
    assert (
        (whole.kind, whole.status)
        == (split.kind, split.status)
        == (
            "request-line-too-long",
            414,
        )
    )
    assert whole == split


def test_head_limit_crossed_first_wins() -> None:
    """When the head limit is crossed before the line limit, both ways give 431."""
    data = b"GET /" + b"a" * 200 + b" HTTP/1.1\r\n\r\n"
    results = {
        feed_pieces(data, cuts, max_line=150, max_head=100)[0] for cuts in ([], [101], [5, 160])
    }
    assert len(results) == 1
    (result,) = results
    assert isinstance(result, Violation)
    assert (result.kind, result.status) == ("headers-too-large", 431)


tokens = st.text(alphabet="abcxyz-/?=&%0123456789", min_size=0, max_size=40)
eol = st.sampled_from([b"\r\n", b"\n"])


@st.composite
def request_bytes(draw: st.DrawFn) -> bytes:
    """Requests valid and not: long lines, long heads, many headers, stray bytes."""
    parts: list[bytes] = [draw(eol) for _ in range(draw(st.integers(0, 2)))]
    target = "/" + draw(tokens) * draw(st.sampled_from([1, 1, 3, 10]))
    method = draw(st.sampled_from(["GET", "POST", "G T", ""]))
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/x"]))
    parts += [f"{method} {target} {version}".encode(), draw(eol)]
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.sampled_from(["Host", "X-A", "Bad Name", " Folded", "X-Long"]))
        value = draw(tokens) * draw(st.sampled_from([1, 1, 5]))
        parts += [f"{name}: {value}".encode(), draw(eol)]
    if draw(st.booleans()):
        parts.append(draw(eol))
    parts.append(draw(st.binary(max_size=10)))
    return b"".join(parts)


@settings(max_examples=300, deadline=None)
@given(
    data=request_bytes(),
    cuts=st.lists(st.integers(0, 10**6), max_size=6),
    max_line=st.integers(1, 120),
    max_head=st.integers(1, 300),
    max_headers=st.integers(0, 5),
)
def test_any_segmentation_gives_the_same_result(
    data: bytes, cuts: list[int], max_line: int, max_head: int, max_headers: int
) -> None:
    """Fed in any pieces, or a byte at a time, the parser returns what one feed returns."""
    limits = {"max_line": max_line, "max_head": max_head, "max_headers": max_headers}
    whole = feed_pieces(data, [], **limits)
    assert feed_pieces(data, cuts, **limits) == whole
    assert feed_pieces(data, list(range(len(data))), **limits) == whole
