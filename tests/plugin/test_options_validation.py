"""ServerOptions checks every value when it is built, however it is built."""

from __future__ import annotations

import math
from typing import Any

import pytest

from pytest_wsmock import ConfigError, Handshake, MockServer, ServerOptions


@pytest.mark.parametrize(
    "host",
    [
        "0.0.0.0",
        "",
        "0",
        "::",
        "::ffff:0.0.0.0",
        "::ffff:127.0.0.1",
        "0:0:0:0:0:0:0:0",
        "10.0.0.1",
        "8.8.8.8",
        "example.com",
        "localhost.",
        "127.1",
    ],
)
def test_the_constructor_refuses_hosts_that_are_not_loopback(host: str) -> None:
    """ServerOptions(host=...) refuses every address that is not plain loopback."""
    with pytest.raises(ConfigError, match=r"wsmock option host must be a loopback address") as e:
        ServerOptions(host=host)
    assert repr(host) in str(e.value)
    assert "127.0.0.1" in str(e.value)  # says what to use instead


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "localhost"])
def test_the_constructor_accepts_loopback_hosts(host: str) -> None:
    """127.0.0.0/8, ::1 and localhost are accepted."""
    assert ServerOptions(host=host).host == host


def test_a_mock_server_never_listens_on_every_interface() -> None:
    """MockServer(ServerOptions(host="0.0.0.0")) fails before it binds anything."""
    with pytest.raises(ConfigError, match="loopback"):
        MockServer(ServerOptions(host="0.0.0.0"))


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("timeout", -1, "positive"),
        ("timeout", 0, "positive"),
        ("timeout", math.nan, "positive"),
        ("timeout", math.inf, "positive"),
        ("timeout", "5", "positive"),
        ("timeout", True, "positive"),
        ("close_timeout", -0.5, "positive"),
        ("handshake_timeout", 0, "positive"),
        ("violation_grace", -1, "positive"),
        ("idle_timeout", 0, "None"),
        ("idle_timeout", -3, "None"),
        ("deadline", 0, "None"),
        ("deadline", math.inf, "None"),
        ("max_message_size", 0, "positive"),
        ("max_message_size", -1, "positive"),
        ("max_message_size", 1.5, "positive"),
        ("max_message_size", 2**63, "2**63"),
        ("max_header_size", 0, "positive"),
        ("max_connections", 0, "None"),
        ("max_connections", True, "None"),
        ("port", -1, "65535"),
        ("port", 65536, "65535"),
        ("port", "80", "65535"),
        ("tls", 1, "True or False"),
        ("deflate", "yes", "True or False"),
        ("strict", None, "True or False"),
        ("client_cert", 0, "True or False"),
        ("backend", "curio", "asyncio, trio"),
        ("host", 127, "loopback"),
        ("subprotocols", [1], "strings"),
        ("subprotocols", None, "strings"),
        ("handshake", ["accept"], "Handshake"),
    ],
)
def test_the_constructor_refuses_bad_values(name: str, value: Any, text: str) -> None:
    """Every option is type- and range-checked by the constructor; the error names it."""
    with pytest.raises(ConfigError) as excinfo:
        ServerOptions(**{name: value})
    message = str(excinfo.value)
    assert message.startswith(f"wsmock option {name}")
    assert repr(value) in message
    assert text in message


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [("timeout", -1, "positive"), ("host", "0.0.0.0", "loopback"), ("port", 1 << 16, "65535")],
)
def test_replace_refuses_bad_values_too(name: str, value: Any, text: str) -> None:
    """.replace() goes through the same checks."""
    with pytest.raises(ConfigError, match=text):
        ServerOptions().replace(**{name: value})


def test_replace_still_names_unknown_options() -> None:
    """.replace() with an unknown name lists the valid ones."""
    with pytest.raises(ConfigError, match="unknown wsmock option colour; valid options are: host"):
        ServerOptions().replace(colour="red")


def test_subprotocols_and_handshake_are_normalized() -> None:
    """A list or a single string becomes a tuple; one Handshake becomes a 1-tuple."""
    reject = Handshake.reject(503)
    options = ServerOptions(subprotocols=["a", "b"], handshake=reject)  # type: ignore[arg-type]
    assert options.subprotocols == ("a", "b")
    assert options.handshake == (reject,)
    assert ServerOptions(subprotocols="chat").subprotocols == ("chat",)  # type: ignore[arg-type]
    assert ServerOptions(handshake=[reject, reject]).handshake == (reject, reject)  # type: ignore[arg-type]
    assert options.replace(timeout=1).handshake == (reject,)


def test_integers_are_accepted_for_seconds() -> None:
    """An int is a valid number of seconds, and None turns the optional limits off."""
    options = ServerOptions(timeout=3, idle_timeout=1, deadline=None, max_connections=None)
    assert options.timeout == 3
    assert options.deadline is None


def test_defaults_are_valid_and_cheap() -> None:
    """ServerOptions() validates in well under 100 microseconds: it is built for every test."""
    import timeit

    seconds = min(timeit.repeat(ServerOptions, number=1000, repeat=3)) / 1000
    assert seconds < 100e-6


def test_equal_options_compare_equal() -> None:
    """Normalization keeps equality: a list and a tuple of subprotocols give equal options."""
    values: dict[str, Any] = {"subprotocols": ("x",)}
    assert ServerOptions(subprotocols=["x"]) == ServerOptions(**values)  # type: ignore[arg-type]


def test_deflate_client_no_context_takeover_is_an_option() -> None:
    """deflate_client_no_context_takeover defaults to True and must be a boolean."""
    assert ServerOptions().deflate_client_no_context_takeover is True
    assert "deflate_client_no_context_takeover" in ServerOptions.names()
    options = ServerOptions().replace(deflate_client_no_context_takeover=False)
    assert options.deflate_client_no_context_takeover is False
    with pytest.raises(ConfigError, match="deflate_client_no_context_takeover must be True"):
        ServerOptions(deflate_client_no_context_takeover=1)  # type: ignore[arg-type]
