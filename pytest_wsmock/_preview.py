"""How payloads read in transcripts and failure messages: escaped, JSON compacted, deflate
decoded, cut to a width.

Everything here runs when a transcript or a message is rendered, never while frames pass:
the record keeps the bytes exactly as they were, and nothing here changes it.
"""

from __future__ import annotations

import json
import re
import zlib

from ._protocol import Opcode, close_code_name

#: Characters (text) or bytes (binary) of a payload shown by default (``--wsmock-preview``).
DEFAULT_PREVIEW = 120

#: Texts longer than this are shown as text, not parsed as JSON to be compacted.
JSON_LIMIT = 1 << 20
#: At most this many bytes are inflated to show a compressed frame that no message explains.
INFLATE_LIMIT = 1 << 20

#: The heading of the last-frames block in failure messages (:func:`frames_block`).
LAST_FRAMES = "last frames seen:"
#: What a failure message says instead of that block when the report shows the transcript.
SEE_TRANSCRIPT = "last frames: see the wsmock transcript below"


def clean(text: str) -> str:
    """``text`` with every non-printable character escaped as Python writes it (``\\x1b``).

    Printable text, non-ASCII letters included, is kept as it is. Backslashes are not
    doubled: the transcript is for reading, and notes already quote payloads with ``repr``.
    """
    if text.isprintable():
        return text  # the common case, checked in C
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


def check_width(value: object) -> int:
    """``value`` (an ``int`` or the text of one) as a preview width, or ``ValueError`` saying
    what is allowed. ``0`` means no limit."""
    try:
        width = int(str(value).strip())
    except ValueError:
        width = -1
    if width < 0 or isinstance(value, bool):
        raise ValueError(
            f"the preview width must be a whole number of characters, 0 for no limit; "
            f"got {value!r} (e.g. --wsmock-preview=200)"
        )
    return width


def _cut(text: str, limit: int, unit: str) -> str:
    if limit and len(text) > limit:
        return f"{text[:limit]}...(+{len(text) - limit} {unit})"
    return text


_JSON_START = frozenset('{["-0123456789tfnNI \t\r\n')


def compact_json(text: str) -> str | None:
    """``text`` as compact JSON when it parses as JSON, else ``None``."""
    if len(text) > JSON_LIMIT or not text or text[0] not in _JSON_START:
        return None  # cheap test first: most non-JSON texts start with a letter
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def show_text(text: str, limit: int = DEFAULT_PREVIEW) -> str:
    """A text payload for reading: JSON compacted (``(compacted)`` in front when that changed
    the text), any other text quoted as Python writes it; cut to ``limit`` characters."""
    compact = compact_json(text)
    if compact is None:
        cut = limit and len(text) > limit
        more = f"...(+{len(text) - limit} chars)" if cut else ""
        return repr(text[:limit] if cut else text) + more
    mark = "" if compact == text else "(compacted) "
    return mark + clean(_cut(compact, limit, "chars"))


def show_bytes(data: bytes, limit: int = DEFAULT_PREVIEW) -> str:
    """A binary payload for reading: ``b'...'`` cut to ``limit`` bytes."""
    if limit and len(data) > limit:
        return f"{data[:limit]!r}...(+{len(data) - limit} bytes)"
    return repr(data)


def show_data(data: bytes, text: bool, limit: int = DEFAULT_PREVIEW) -> str:
    """A message's data: :func:`show_text` for text (bytes that are not UTF-8 as bytes),
    :func:`show_bytes` for binary."""
    if text:
        try:
            return show_text(data.decode("utf-8"), limit)
        except UnicodeDecodeError:
            pass
    return show_bytes(data, limit)


def show_raw(data: bytes, limit: int = DEFAULT_PREVIEW) -> str:
    """A payload whose meaning is not known (a fragment, a frame no message explains): as text
    when it decodes, quoted, else as bytes; never JSON-compacted."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return show_bytes(data, limit)
    cut = limit and len(text) > limit
    return repr(text[:limit] if cut else text) + (f"...(+{len(text) - limit} chars)" if cut else "")


def show_close(payload: bytes, limit: int = DEFAULT_PREVIEW) -> str:
    """A close frame's payload: ``1000 (NORMAL_CLOSURE) 'bye'``; raw when it is malformed."""
    if not payload:
        return "(no status code)"
    if len(payload) < 2:
        return show_bytes(payload, limit)
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        return show_bytes(payload, limit)
    code = close_code_name(int.from_bytes(payload[:2], "big"))
    return f"{code} {show_raw(payload[2:], limit)}" if reason else code


def show_control(opcode: int, payload: bytes, limit: int = DEFAULT_PREVIEW) -> str:
    """A control frame's payload (close decoded, ping and pong as they are)."""
    if opcode == Opcode.CLOSE:
        return show_close(payload, limit)
    return show_raw(payload, limit)


def inflate(payload: bytes) -> bytes | None:
    """A compressed (permessage-deflate) payload decoded on its own, for display, or ``None``
    when it cannot be (not deflate data, or it refers to earlier messages' context)."""
    try:
        decoder = zlib.decompressobj(-zlib.MAX_WBITS)
        data = decoder.decompress(payload + b"\x00\x00\xff\xff", INFLATE_LIMIT)
    except zlib.error:
        return None
    return data


def frames_block(lines: list[str]) -> str:
    """The last-frames block of a failure message: :data:`LAST_FRAMES`, then the frame lines
    (indented deeper than the line the heading is on)."""
    return LAST_FRAMES + "\n" + "\n".join(lines)


_BLOCK = re.compile(
    rf"^(?P<indent>[ \t]*){re.escape(LAST_FRAMES)}\n(?:(?P=indent)[ \t]+[^\n]*(?:\n|$))*",
    re.MULTILINE,
)


def without_frames(text: str, instead: str = "") -> str:
    """``text`` with every last-frames block replaced by ``instead`` (on the heading's line and
    indent), or removed when ``instead`` is empty: for a report that shows the transcript."""

    def replace(match: re.Match[str]) -> str:
        if not instead:
            return ""
        end = "\n" if match.group(0).endswith("\n") else ""
        return f"{match.group('indent')}{instead}{end}"

    return _BLOCK.sub(replace, text).rstrip("\n") if LAST_FRAMES in text else text
