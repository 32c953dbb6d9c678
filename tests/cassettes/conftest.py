"""The real upstream of the end-to-end record and replay tests: the proxy tests' fixture."""

from ..proxy.conftest import real_server

__all__ = ["real_server"]
