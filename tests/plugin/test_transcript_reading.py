"""How the transcript shows payloads: JSON compacted, deflate decoded with the wire size, cut
to the preview width; and failure messages that list the last frames unless the report shows
the transcript."""

from __future__ import annotations

import json
import zlib

import pytest
import websockets.sync.client
from websockets.sync.client import ClientConnection

from pytest_wsmock import (
    Direction,
    MockServer,
    Opcode,
    RecordMismatch,
    ScriptError,
    close,
    expect_json,
    send_fragmented,
    send_frame,
    send_json,
    send_text,
)
from pytest_wsmock._preview import (
    SEE_TRANSCRIPT,
    check_width,
    compact_json,
    frames_block,
    inflate,
    show_close,
    show_text,
    without_frames,
)

TIMEOUT = 5

SUBSCRIBE = {
    "id": "1",
    "type": "subscribe",
    "payload": {"query": "subscription { orders { id total } }", "variables": {"c": "cust-8"}},
}
#: What a Python client puts on the wire (json.dumps' default separators).
WIRE = json.dumps(SUBSCRIBE)
COMPACT = json.dumps(SUBSCRIBE, separators=(",", ":"))


def connect(url: str, compression: str | None = "deflate") -> ClientConnection:
    return websockets.sync.client.connect(url, open_timeout=TIMEOUT, compression=compression)


def frame_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("  +")]


# -- payloads for reading --------------------------------------------------------------------


def test_json_text_is_compacted_and_marked_only_when_that_changed_it() -> None:
    assert show_text(WIRE) == f"(compacted) {COMPACT}"
    assert show_text(COMPACT) == COMPACT  # exactly the wire text: no mark
    assert show_text('{"name": "Zoë"}') == '(compacted) {"name":"Zoë"}'
    assert show_text("hello") == "'hello'"  # not JSON: quoted, as before
    assert show_text("{not json") == "'{not json'"
    assert compact_json("true") == "true"
    assert compact_json("") is None


def test_compacted_json_is_escaped_for_the_terminal() -> None:
    """json.dumps(ensure_ascii=False) keeps bidi overrides and C1 controls: they are escaped."""
    shown = show_text(json.dumps({"a": "x\u202ey\x9b"}))
    assert "\u202e" not in shown
    assert "\x9b" not in shown
    assert "\\u202e" in shown
    assert "\\x9b" in shown


def test_the_width_cuts_text_and_bytes() -> None:
    assert show_text("a" * 130) == repr("a" * 120) + "...(+10 chars)"
    assert show_text("a" * 130, 10) == repr("a" * 10) + "...(+120 chars)"
    assert show_text(COMPACT, 10) == COMPACT[:10] + f"...(+{len(COMPACT) - 10} chars)"
    assert show_text("a" * 130, 0) == repr("a" * 130)  # 0: no limit


@pytest.mark.parametrize(("given", "width"), [("0", 0), ("200", 200), (" 40 ", 40), (120, 120)])
def test_width_values(given: object, width: int) -> None:
    assert check_width(given) == width


@pytest.mark.parametrize("given", ["-1", "wide", "1.5", "", True])
def test_bad_width_values(given: object) -> None:
    with pytest.raises(ValueError, match="whole number of characters, 0 for no limit"):
        check_width(given)


def test_close_payloads_are_named() -> None:
    assert show_close(b"\x03\xe8bye") == "1000 (NORMAL_CLOSURE) 'bye'"
    assert show_close(b"\x0f\xa1") == "4001 (private use)"
    assert show_close(b"") == "(no status code)"
    assert show_close(b"\x03") == "b'\\x03'"  # malformed: raw
    assert show_close(b"\x03\xe8\xff") == "b'\\x03\\xe8\\xff'"  # reason not UTF-8: raw


def test_inflate_never_fails() -> None:
    deflate = zlib.compressobj(wbits=-15)
    data = deflate.compress(b"hello") + deflate.flush(zlib.Z_SYNC_FLUSH)
    assert inflate(data[:-4]) == b"hello"
    assert inflate(b"\xff\xff") is None  # no deflate data: not decoded
    assert inflate(b"") == b""


def test_without_frames_replaces_each_block() -> None:
    block = frames_block(["    +0.1s  one", "    +0.2s  two"])
    text = f"first failure\n  {block}\nsecond failure\n  {block}"
    assert without_frames(text, SEE_TRANSCRIPT) == (
        f"first failure\n  {SEE_TRANSCRIPT}\nsecond failure\n  {SEE_TRANSCRIPT}"
    )
    assert without_frames(text) == "first failure\nsecond failure"
    assert without_frames("no frames were seen") == "no frames were seen"


# -- with real clients ---------------------------------------------------------------------------


def test_compressed_messages_are_shown_decoded_with_their_wire_size(ws_server: MockServer) -> None:
    """websockets negotiates permessage-deflate: both directions are shown decoded; the record
    keeps the frames compressed."""
    ws_server.script(expect_json(SUBSCRIBE), send_json({"id": "1", "type": "complete"}))
    with connect(ws_server.url) as ws:
        ws.send(WIRE)
        assert json.loads(ws.recv(timeout=TIMEOUT))["type"] == "complete"
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    frames = conn.frames
    assert frames[0].rsv1
    wire_sizes = [len(frames[0].payload), len(frames[1].payload)]
    before = [f.payload for f in frames]

    lines = frame_lines(conn.transcript())

    assert lines[0].endswith(
        f"fin rsv1 masked {len(WIRE):>14} B (deflate, {wire_sizes[0]} B on the wire)  "
        f"(compacted) {COMPACT}"
    )
    assert lines[1].endswith(
        f'(deflate, {wire_sizes[1]} B on the wire)  (compacted) {{"id":"1","type":"complete"}}'
    )
    assert [f.payload for f in conn.frames] == before  # rendering changed nothing
    assert before[0] != WIRE.encode()  # the record keeps the wire's compressed bytes
    assert zlib.decompressobj(-15).decompress(before[0] + b"\x00\x00\xff\xff") == WIRE.encode()
    assert conn.received_json == [SUBSCRIBE]


def test_the_preview_width_applies_to_the_transcript(ws_server: MockServer) -> None:
    with connect(ws_server.url, compression=None) as ws:
        ws.send("x" * 300)
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    assert frame_lines(conn.transcript())[0].endswith(f"{'x' * 120}'...(+180 chars)")
    assert frame_lines(conn.transcript(preview=20))[0].endswith(f"{'x' * 20}'...(+280 chars)")
    assert frame_lines(ws_server.transcript(preview=0))[0].endswith(f"{'x' * 300}'")


def test_fragmented_compressed_messages_are_shown_whole_after_their_last_frame(
    ws_server: MockServer,
) -> None:
    ws_server.script(send_fragmented('{"a": [1, 2, 3], "b": "hello"}', [5, 5], ping_between=b"p"))
    with connect(ws_server.url) as ws:
        assert ws.recv(timeout=TIMEOUT) == '{"a": [1, 2, 3], "b": "hello"}'
        ws.send(["part one, ", "part two"])  # websockets sends an iterable as fragments
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    text = conn.transcript()

    server_frames = [f for f in conn.frames if f.direction is Direction.SERVER and not f.is_control]
    wire = sum(len(f.payload) for f in server_frames)
    assert "server -> client  TEXT         rsv1" in text
    assert "(compressed, part 1 of 3)" in text
    assert "(compressed, part 3 of 3)" in text
    assert (
        f"= text in 3 frames: 30 B (deflate, {wire} B on the wire)  "
        '(compacted) {"a":[1,2,3],"b":"hello"}'
    ) in text
    assert "server -> client  PING         fin                          1 B  'p'" in text
    # websockets ends a fragmented message with an empty frame.
    assert (
        "client -> server  CONTINUATION fin masked                   1 B  (compressed, part 3 of 3)"
        in text
    )
    assert "= text in 3 frames: 18 B (deflate, " in text
    assert "B on the wire)  'part one, part two'" in text


def test_uncompressed_fragments_show_their_own_payloads(ws_server: MockServer) -> None:
    ws_server.script(send_fragmented("hello world", [5]))
    with connect(ws_server.url, compression=None) as ws:
        assert ws.recv(timeout=TIMEOUT) == "hello world"
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    lines = frame_lines(conn.transcript())
    assert lines[0].endswith("TEXT         -                            5 B  'hello'")
    assert lines[1].endswith("CONTINUATION fin                          6 B  ' world'")
    assert "= text in 2 frames: 11 B  'hello world'" in conn.transcript()


def test_a_compressed_frame_without_a_message_is_decoded_alone_or_shown_raw(
    ws_server: MockServer,
) -> None:
    """Frames the server sent raw with RSV1 (no deflate negotiated): deflate data is decoded
    for display, anything else is shown as it was; neither fails."""
    deflate = zlib.compressobj(wbits=-15)
    data = deflate.compress(b'{"type": "hello"}') + deflate.flush(zlib.Z_SYNC_FLUSH)
    ws_server.script(
        send_frame(Opcode.TEXT, data[:-4], rsv1=True), send_frame(Opcode.TEXT, b"rsv1", rsv1=True)
    )
    with (
        connect(ws_server.url, compression=None) as ws,
        pytest.raises(websockets.exceptions.ConnectionClosedError),
    ):
        ws.recv(timeout=TIMEOUT)  # the client refuses RSV1 it did not negotiate
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    lines = frame_lines(conn.transcript())
    assert lines[0].endswith(
        f"fin rsv1 {len(data) - 4:>21} B  {data[:-4]!r}  "
        '(inflated alone: 17 B (compacted) {"type":"hello"})'
    )
    # "rsv1" happens to inflate (to b'FCD0'): the wire bytes come first, the guess after.
    assert lines[1].endswith(
        "fin rsv1                     4 B  'rsv1'  (inflated alone: 4 B 'FCD0')"
    )
    assert "\xff\xff" not in lines[1]


# -- failure messages ----------------------------------------------------------------------------


def test_messages_list_the_last_frames_unless_the_report_shows_the_transcript(
    ws_server: MockServer,
) -> None:
    """Read in code (or outside pytest), a failure lists the last frames, decoded like the
    transcript; marked by the plugin, it points to the transcript instead."""
    ws_server.script(send_text("welcome"), expect_json(SUBSCRIBE), close(1000))
    with connect(ws_server.url) as ws:
        assert ws.recv(timeout=TIMEOUT) == "welcome"
        ws.send(WIRE)
        with pytest.raises(websockets.exceptions.ConnectionClosedOK):
            ws.recv(timeout=TIMEOUT)
    conn = ws_server.wait_for_connection(timeout=TIMEOUT)
    conn.wait_closed(timeout=TIMEOUT)
    with pytest.raises(RecordMismatch) as caught:
        conn.assert_received({"type": "connection_init"})
    text = str(caught.value)
    assert "  last frames seen:\n" in text
    assert f"(compacted) {COMPACT}" in text

    caught.value.transcript_shown = True
    shown = str(caught.value)
    assert "last frames seen" not in shown
    assert shown.endswith(f"\n  {SEE_TRANSCRIPT}")
    assert shown.startswith(text.partition("  last frames seen:")[0])


def test_the_transcript_does_not_repeat_the_frames_of_a_script_failure() -> None:
    """A server used outside the fixtures (no report section): its ScriptError lists the last
    frames; its transcript lists each frame once, the failure without them."""
    with MockServer() as server:
        server.script(expect_json({"type": "connection_init"}))
        with connect(server.url) as ws:
            ws.send(WIRE)
            # A wait raises the script's failure as soon as it is recorded.
            with pytest.raises(ScriptError) as caught:
                server.wait_for_connection(1, timeout=TIMEOUT)
        assert "last frames seen:" in str(caught.value)
        assert f"(compacted) {COMPACT}" in str(caught.value)
        transcript = server.transcript()
    assert "last frames" not in transcript
    assert transcript.count(COMPACT) == 1
    assert "  script failed: connection #0 (GET /): script step 1 of 1" in transcript
