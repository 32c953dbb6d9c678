"""TlsFault: the tls_fault values as an enum that still compares equal to its strings."""

from __future__ import annotations

import pytest

from pytest_wsmock import TLS_FAULTS, ConfigError, ServerOptions, TlsFault
from tests.plugin._support import write_ini


def test_strings_become_members() -> None:
    """ServerOptions turns a tls_fault string into the TlsFault member."""
    options = ServerOptions(tls=True, tls_fault="expired")  # type: ignore[arg-type]
    assert options.tls_fault == "expired"
    assert options.tls_fault is TlsFault.EXPIRED
    assert options.replace(tls_fault=TlsFault.WRONG_HOST).tls_fault is TlsFault.WRONG_HOST


def test_members_print_as_their_values() -> None:
    """str() and f-strings give the value, as in markers, ini files and messages."""
    assert str(TlsFault.NOT_YET_VALID) == "not-yet-valid"
    assert f"{TlsFault.CLOSE_DURING_HANDSHAKE}" == "close-during-handshake"


def test_unknown_values_list_the_valid_ones() -> None:
    """An unknown tls_fault is a ConfigError listing every valid value."""
    with pytest.raises(ConfigError) as excinfo:
        ServerOptions(tls=True, tls_fault="revoked")  # type: ignore[arg-type]
    message = str(excinfo.value)
    assert "'revoked'" in message
    assert "untrusted, wrong-host, expired, not-yet-valid, close-during-handshake" in message


def test_the_catalogue_holds_the_members() -> None:
    """TLS_FAULTS is every TlsFault member, in order."""
    assert tuple(TlsFault) == TLS_FAULTS
    assert all(isinstance(fault, TlsFault) for fault in TLS_FAULTS)


def test_parametrize_ids_are_the_values(pytester: pytest.Pytester) -> None:
    """Parametrized over TLS_FAULTS, the test ids are the readable values."""
    write_ini(pytester)
    pytester.makepyfile(
        """
        import pytest
        from pytest_wsmock import TLS_FAULTS

        @pytest.mark.parametrize("fault", TLS_FAULTS)
        def test_id(fault):
            pass
        """
    )
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["*test_id[[]untrusted[]]", "*test_id[[]close-during-handshake[]]"])
