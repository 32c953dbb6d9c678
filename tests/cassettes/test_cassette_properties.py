"""Hypothesis: any cassette survives the file (times to the millisecond) and the file's text is
stable; any cassette without close events survives a HAR round trip."""

from __future__ import annotations

import dataclasses
import json
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_wsmock._cassette import (
    Cassette,
    CassetteClose,
    CassetteConnection,
    CassetteEvent,
    CassetteMessage,
    CassetteRequest,
    CassetteResponse,
    MatchRules,
)
from pytest_wsmock._cassette_io import dumps, loads
from pytest_wsmock._har import from_har, to_har

MODEST = settings(max_examples=50, deadline=None)

# Text as a WebSocket carries it: any code point but lone surrogates.
texts = st.text(st.characters(codec="utf-8"), max_size=40)
json_texts = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
).map(lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":")))
times = st.floats(min_value=0, max_value=1e6, allow_nan=False)
sides = st.sampled_from(["client", "server"])
tokens = st.text(string.ascii_letters + string.digits + "-._~", min_size=1, max_size=12)
headers = st.lists(st.tuples(tokens, texts), max_size=4).map(tuple)
paths = st.lists(tokens, max_size=3).map(lambda parts: "/" + "/".join(parts)) | st.builds(
    lambda path, key, value: f"/{path}?{key}={value}", tokens, tokens, tokens
)

messages = st.one_of(
    st.builds(CassetteMessage, sides, st.just("text"), texts | json_texts, times),
    st.builds(CassetteMessage, sides, st.just("binary"), st.binary(max_size=40), times),
)
closes = st.one_of(
    st.builds(
        CassetteClose, sides, st.integers(1000, 4999) | st.none(), texts, times, st.just(True)
    ),
    st.builds(CassetteClose, sides, st.none(), st.just(""), times, st.just(False)),
)


def connections(events: st.SearchStrategy[CassetteEvent]) -> st.SearchStrategy[CassetteConnection]:
    return st.builds(
        CassetteConnection,
        st.builds(CassetteRequest, paths, headers, st.lists(tokens, max_size=3).map(tuple)),
        st.builds(
            CassetteResponse,
            st.sampled_from([101, 400, 403, 500]),
            texts,
            headers,
            st.binary(max_size=20) | texts.map(str.encode),
            tokens | st.none(),
            tokens | st.none(),
        ),
        st.lists(events, max_size=6).map(tuple),
    )


cassettes = st.builds(
    Cassette,
    st.lists(connections(messages | closes), max_size=3).map(tuple),
    st.builds(
        MatchRules,
        st.lists(st.sampled_from(["$.id", "$.a[*].b", "$['x y']"]), max_size=2).map(tuple),
        # Replacements without backslashes: re.sub reads those as group references or escapes
        # (a rule with a bad one is refused when the cassette is read, as it should be).
        st.lists(
            st.tuples(st.sampled_from([r"\d+", "a|b"]), texts.filter(lambda t: "\\" not in t)),
            max_size=2,
        ).map(tuple),
    ),
)


def _rounded(cassette: Cassette) -> Cassette:
    """The cassette as the file keeps it: times to the millisecond."""
    return dataclasses.replace(
        cassette,
        connections=tuple(
            dataclasses.replace(
                connection,
                events=tuple(
                    dataclasses.replace(event, time=round(event.time, 3))
                    for event in connection.events
                ),
            )
            for connection in cassette.connections
        ),
    )


@MODEST
@given(cassettes)
def test_any_cassette_round_trips(cassette: Cassette) -> None:
    text = dumps(cassette)
    again = loads(text)
    assert again == _rounded(cassette)
    assert dumps(again) == text
    text.encode("utf-8")  # the file can be written


@MODEST
@given(st.lists(connections(messages), max_size=3).map(lambda c: Cassette(connections=tuple(c))))
def test_any_cassette_without_closes_survives_har(cassette: Cassette) -> None:
    """Requests, responses and messages survive; headers for the subprotocol and extensions
    are added when the recorded ones lack them."""
    again = from_har(json.loads(json.dumps(to_har(cassette, started=1.7e9))))
    assert len(again.connections) == len(cassette.connections)
    for before, after in zip(_rounded(cassette).connections, again.connections, strict=True):
        assert after.events == before.events
        assert after.request.path == before.request.path
        assert after.request.subprotocols == before.request.subprotocols
        assert after.response.subprotocol == before.response.subprotocol
        assert after.response.extensions == before.response.extensions
        assert after.response.status == before.response.status
        assert after.response.reason == before.response.reason
        assert after.response.body == before.response.body
        assert after.request.headers[: len(before.request.headers)] == before.request.headers
        assert after.response.headers[: len(before.response.headers)] == before.response.headers
