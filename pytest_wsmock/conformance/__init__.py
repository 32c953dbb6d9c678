"""The client conformance kit: one adapter for your WebSocket client, parametrized tests over
the catalogues, pinned verdicts and a report (docs/conformance.md); clients in other languages
through a driver program (docs/drivers.md)."""

from .._faults import TRANSPORT_FAULTS
from .._frame_violations import FRAME_VIOLATIONS
from .._handshake_catalogue import HANDSHAKE_FAILURES, HANDSHAKE_REJECTIONS
from .._options import TLS_FAULTS
from ._adapter import AdapterError, AsyncClient, AsyncSession, Client, ClientHung, Session
from ._catalogues import ALL
from ._driver import DriverClient, DriverError, DriverFailure, DriverHung
from ._pins import PinFileError, read_pins
from ._report import report_from_pins, report_markdown, write_report
from ._tests import conformance_tests
from ._verdict import Verdict

__all__ = [
    # the one function of a conformance module
    "conformance_tests",
    # the catalogues (re-exported from pytest_wsmock), all of them at once
    "ALL",
    "HANDSHAKE_FAILURES",
    "HANDSHAKE_REJECTIONS",
    "FRAME_VIOLATIONS",
    "TRANSPORT_FAULTS",
    "TLS_FAULTS",
    # the adapter protocols
    "Client",
    "Session",
    "AsyncClient",
    "AsyncSession",
    "ClientHung",
    "AdapterError",
    # clients in other languages (_driver)
    "DriverClient",
    "DriverFailure",
    "DriverHung",
    "DriverError",
    # pins and reports outside a run (a page generator, a tool)
    "read_pins",
    "report_from_pins",
    "report_markdown",
    "write_report",
    "PinFileError",
    # what a case ends as
    "Verdict",
]
