"""The client conformance kit (docs/drivers.md for clients in other languages)."""

from ._driver import DriverClient, DriverFailure, DriverHung

__all__ = ["DriverClient", "DriverFailure", "DriverHung"]
