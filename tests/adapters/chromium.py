"""Headless Chromium as a sync client adapter (name ``"chromium"``) for the conformance kit.

What it is: Debian's ``chromium`` driven by ``chromedriver`` (package ``chromium-driver``;
``.ci/install-chromium`` installs both and ``certutil``). A page served over plain HTTP from
127.0.0.1 (Chromium refuses WebSockets to 127.0.0.1 from ``about:blank`` and ``data:`` pages)
opens ``new WebSocket(url, protocols)`` and keeps every event page script can observe: open,
message, error, close with code, reason and wasClean. The adapter reads them back with
WebDriver's execute-async-script.

Why no selenium: the adapter needs eight WebDriver commands (new session, new tab, switch
tab, navigate, execute script, execute async script, close tab, delete session), which
:mod:`.webdriver` sends with ``urllib`` in about 230 lines; selenium would be a new test
dependency, and its Selenium Manager tries to download a driver when it misses one
(downloads fail on our machines).

What the adapter can report is what page script can observe, no more: WHATWG gives a failed
connection an ``error`` event then ``close`` 1006 with ``wasClean=false``, whatever the cause
(a 403, a wrong accept, a bad frame). :class:`ChromiumFailure` carries exactly that; what the
browser did on the wire (the 403 it read, the close frame it sent) is in the server's record.

One browser for the session, started lazily on the first ``connect`` (0.5-0.9 s measured);
each connection gets a fresh tab that the session's ``close()`` closes (open: about 0.13 s
for tab, page and handshake). Chromium delays new WebSockets from a renderer process after
repeated failures (from about the 11th in a row in one tab: 0.1-5 s each); a fresh tab gets a
fresh renderer process, and measured so, 150 refused handshakes in a row took 0.11-0.34 s
each. That is the adapter's answer to throttling; as a guard it also restarts the browser
after :data:`RESTART_AFTER_FAILURES` failed connections (when no session is open). For ``wss://``
the browser trusts the CA of ``ca_path`` through an NSS database in a temporary ``HOME``
(``certutil``); a CA it does not trust yet is added and the browser restarted, once per CA.
The ``ssl`` argument cannot be given to a browser and is ignored: pass ``ca_path``.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import os
import shutil
import ssl as _ssl
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .page_server import PageServer
from .webdriver import Browser, BrowserHung, WebDriverError

#: The programs the adapter needs, and where they come from.
PROGRAMS = {
    "chromium": "chromium",
    "chromedriver": "chromium-driver",
    "certutil": "libnss3-tools",
}

#: The browser's switches: headless, no network traffic of its own, a fresh profile.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)

#: Failed connections after which the browser is restarted before the next connect: a guard
#: only, a tab per connection already avoids the throttling (150 failures in a row measured).
RESTART_AFTER_FAILURES = 100

#: Seconds a close() waits for the close event before closing the tab anyway.
CLOSE_WAIT = 5.0

#: Seconds on top of a wait in the page before chromedriver counts as not answering.
MARGIN = 10.0


def missing() -> str | None:
    """Why the adapter cannot run here (a skip reason), or ``None`` when it can."""
    absent = [name for name in PROGRAMS if shutil.which(name) is None]
    if not absent:
        return None
    packages = " ".join(PROGRAMS[name] for name in absent)
    return (
        f"headless Chromium tests need {', '.join(absent)} (Debian: {packages}): "
        f"run .ci/install-chromium as root"
    )


class ChromiumFailure(Exception):
    """What page script observed when the connection failed or ended.

    Attributes:
        events: the page's events on this connection, in order (dicts with ``type``).
        error: page script got an ``error`` event.
        close: the close event, ``{"code", "reason", "clean"}``, or ``None``.
        exception: the exception the WebSocket API threw (``{"name", "message"}``), or ``None``.
        note: what the adapter did, when page script saw nothing (it gave up waiting).
    """

    def __init__(self, events: Sequence[dict[str, Any]], note: str = "") -> None:
        self.events = list(events)
        self.error = any(event["type"] == "error" for event in self.events)
        closes = [event for event in self.events if event["type"] == "close"]
        self.close: dict[str, Any] | None = (
            {key: closes[0][key] for key in ("code", "reason", "clean")} if closes else None
        )
        thrown = [event for event in self.events if event["type"] == "exception"]
        self.exception: dict[str, str] | None = (
            {"name": thrown[0]["name"], "message": thrown[0]["message"]} if thrown else None
        )
        self.note = note
        #: What the conformance kit names the verdict by: the first thing page script saw
        #: (the exception the API threw, ``error event``, ``close event`` or ``no event``).
        self.type = self._kind()
        #: The rest of what page script saw, e.g. ``close 1006 (wasClean=false)``.
        self.message = self._rest()
        super().__init__(self.describe())

    def _kind(self) -> str:
        if self.exception is not None:
            return self.exception["name"]
        if self.error:
            return "error event"
        return "close event" if self.close is not None else "no event"

    def _close_text(self) -> str:
        if self.close is None:
            return ""
        reason = f" {self.close['reason']!r}" if self.close["reason"] else ""
        clean = "true" if self.close["clean"] else "false"
        return f"close {self.close['code']}{reason} (wasClean={clean})"

    def _rest(self) -> str:
        parts = []
        if self.exception is not None:
            parts.append(self.exception["message"])
            if self.error:
                parts.append("error event")
        if self.close is not None:
            parts.append(self._close_text())
        if self.note:
            parts.append(self.note)
        return ", then ".join(parts) if parts else "nothing"

    def describe(self) -> str:
        """``error event, then close 1006 (wasClean=false)``, and the like."""
        parts = []
        if self.exception is not None:
            parts.append(f"{self.exception['name']}: {self.exception['message']}")
        if self.error:
            parts.append("error event")
        if self.close is not None:
            parts.append(self._close_text())
        seen = ", then ".join(parts) if parts else "no event"
        return f"{self.note}: {seen}" if self.note else seen


@dataclass
class Timings:
    """Measured seconds, for the report and the docs: browser starts and connections."""

    starts: list[float] = field(default_factory=list)
    connects: list[float] = field(default_factory=list)
    restarts_for_failures: int = 0
    restarts_for_ca: int = 0


class Chromium:
    """The sync ``Client``: one headless browser, one tab per connection.

    Args:
        ca_path: a CA (PEM) to trust from the start (the session CA), or ``None``.
        restart_after_failures: failed connections after which the browser is restarted.
    """

    name = "chromium"
    failures: tuple[type[BaseException], ...] = (ChromiumFailure,)

    def __init__(
        self,
        *,
        ca_path: str | Path | None = None,
        restart_after_failures: int = RESTART_AFTER_FAILURES,
    ) -> None:
        #: The temporary folder (HOME with the NSS db, profiles, chromedriver's log), made
        #: when the browser first starts: an adapter made at import time costs nothing.
        self._folder: Path | None = None
        #: CA certificates (PEM bytes) in the NSS database, and those the browser must trust.
        self._trusted: set[bytes] = set()
        self._wanted: dict[bytes, Path] = {}
        if ca_path is not None:
            self._want(Path(ca_path))
        self._browser: Browser | None = None
        self._page: PageServer | None = None
        self._starts = 0
        self._failures = 0
        #: Sessions whose tab is open (a restart for failures waits until there are none).
        self._open: set[ChromiumSession] = set()
        self.restart_after_failures = restart_after_failures
        self.timings = Timings()
        self.version: str | None = None

    # -- the browser --------------------------------------------------------------------------

    @property
    def _dir(self) -> Path:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="wsmock-chromium-"))
            atexit.register(self.close)  # a safety net: the session fixture closes it first
        return self._folder

    @property
    def _home(self) -> Path:
        return self._dir / "home"

    @property
    def _nssdb(self) -> Path:
        return self._home / ".pki" / "nssdb"

    def _want(self, ca_path: Path) -> bool:
        """Note that the browser must trust this CA; whether it was new (compared by content:
        the same CA in another file is not new)."""
        pem = ca_path.read_bytes()
        if pem in self._wanted:
            return False
        self._wanted[pem] = ca_path
        return True

    def _trust(self, pem: bytes, ca_path: Path) -> None:
        if not self._nssdb.exists():
            self._nssdb.mkdir(parents=True)
            self._certutil("-N", "--empty-password")
        nickname = f"wsmock-{len(self._trusted)}"
        self._certutil("-A", "-t", "C,,", "-n", nickname, "-i", str(ca_path))
        self._trusted.add(pem)

    def _certutil(self, *args: str) -> None:
        subprocess.run(
            ["certutil", "-d", f"sql:{self._nssdb}", *args],
            check=True,
            capture_output=True,
            timeout=30,
            env={**os.environ, "HOME": str(self._home)},
        )

    def _start(self) -> Browser:
        for pem, ca_path in self._wanted.items():
            if pem not in self._trusted:
                self._trust(pem, ca_path)
        if self._page is None:
            self._page = PageServer()
        self._starts += 1
        profile = self._dir / f"profile-{self._starts}"
        started = time.monotonic()
        browser = Browser(
            chromedriver=shutil.which("chromedriver") or "chromedriver",
            binary=shutil.which("chromium") or "chromium",
            args=[*FLAGS, f"--user-data-dir={profile}"],
            env={**os.environ, "HOME": str(self._home)},
            log_path=self._dir / "chromedriver.log",
        )
        self.timings.starts.append(time.monotonic() - started)
        self.version = browser.version
        self._failures = 0
        return browser

    def _stop(self) -> None:
        if self._browser is not None:
            browser, self._browser = self._browser, None
            browser.quit()
            shutil.rmtree(self._dir / f"profile-{self._starts}", ignore_errors=True)

    def browser(self, ca_path: Path | None = None) -> Browser:
        """The running browser (started now if needed, restarted if due).

        A CA the browser does not trust yet is added to its NSS database, and a running
        browser restarted: Chromium does not see a certificate added while it runs (measured).
        """
        if ca_path is not None and self._want(ca_path) and self._browser is not None:
            self.timings.restarts_for_ca += 1
            self._stop()
        if (
            self._browser is not None
            and self._failures >= self.restart_after_failures
            and not self._open
        ):
            self.timings.restarts_for_failures += 1
            self._stop()
        if self._browser is not None and not self._browser.alive:
            self._stop()
        if self._browser is None:
            self._browser = self._start()
        return self._browser

    def close(self) -> None:
        """Quit the browser and the page server; remove the temporary files."""
        self._stop()
        if self._page is not None:
            self._page.close()
            self._page = None
        if self._folder is not None:
            folder, self._folder = self._folder, None
            atexit.unregister(self.close)
            shutil.rmtree(folder, ignore_errors=True)

    # -- the Client protocol ------------------------------------------------------------------

    def connect(
        self,
        url: str,
        *,
        ssl: _ssl.SSLContext | None = None,
        ca_path: str | Path | None = None,
        subprotocols: Sequence[str] = (),
        timeout: float = 5.0,
    ) -> ChromiumSession:
        """Open a WebSocket to ``url`` in a fresh tab; wait (at most ``timeout``) for open.

        Raises :class:`ChromiumFailure` when page script saw the connection fail, or saw
        nothing within ``timeout`` (the page then calls ``close()`` on it).
        """
        del ssl  # a browser takes no SSLContext; ca_path is what it trusts
        started = time.monotonic()
        browser = self.browser(Path(ca_path) if ca_path is not None else None)
        assert self._page is not None
        tab = browser.new_tab()
        try:
            with browser.in_tab(tab):
                browser.navigate(self._page.url)
                browser.execute("wsmock.open(arguments[0], arguments[1])", url, list(subprotocols))
            session = ChromiumSession(self, browser, tab)
            session.wait_open(timeout)
        except BaseException as exc:
            if isinstance(exc, ChromiumFailure):
                self._failures += 1
            with contextlib.suppress(WebDriverError, BrowserHung):
                self.end_tab(browser, tab)
            raise
        finally:
            self.timings.connects.append(time.monotonic() - started)
        self._open.add(session)
        return session

    def end_tab(self, browser: Browser, tab: str, session: ChromiumSession | None = None) -> None:
        """Close a connection's tab (the browser sends 1001 for a WebSocket still open)."""
        if session is not None:
            self._open.discard(session)
        if browser.alive:
            browser.close_tab(tab)


class ChromiumSession:
    """One WebSocket in one tab: the sync ``Session``."""

    def __init__(self, client: Chromium, browser: Browser, tab: str) -> None:
        self._client = client
        self._browser = browser
        self._tab = tab
        self._cursor = 0
        self._pending: deque[dict[str, Any]] = deque()
        #: Every event page script saw on this connection, in order.
        self.events: list[dict[str, Any]] = []
        self.subprotocol: str | None = None
        self.closed = False

    def _execute(self, script: str, *args: Any) -> Any:
        with self._browser.in_tab(self._tab):
            return self._browser.execute(script, *args)

    def _fetch(self, timeout: float) -> bool:
        """Wait (at most ``timeout``) for new events in the page; whether any came."""
        with self._browser.in_tab(self._tab):
            found: list[dict[str, Any]] = self._browser.execute_async(
                "wsmock.wait(arguments[0], arguments[1], arguments[2])",
                self._cursor,
                max(0, int(timeout * 1000)),
                timeout=timeout + MARGIN,
            )
        self._cursor += len(found)
        self.events.extend(found)
        self._pending.extend(found)
        return bool(found)

    def _next(self, deadline: float) -> dict[str, Any] | None:
        while not self._pending:
            left = deadline - time.monotonic()
            if left <= 0 or not self._fetch(left):
                return None
        return self._pending.popleft()

    def _failure(self, note: str = "") -> ChromiumFailure:
        return ChromiumFailure(self.events, note)

    def wait_open(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            event = self._next(deadline)
            if event is None:
                self._execute("wsmock.close()")
                self._next(time.monotonic() + 1.0)  # the close event, if it comes at once
                raise self._failure(f"no open event within {timeout} s, page script closed it")
            if event["type"] == "open":
                self.subprotocol = event["protocol"] or None
                return
            if event["type"] in ("close", "exception"):
                raise self._failure()

    def send(self, message: str | bytes) -> None:
        """``ws.send(message)``; raises the failure when page script already saw the end."""
        if isinstance(message, str):
            answer = self._execute("return wsmock.send(arguments[0], null)", message)
        else:
            encoded = base64.b64encode(message).decode()
            answer = self._execute("return wsmock.send(null, arguments[0])", encoded)
        if answer["error"] is not None:
            self.events.append({"type": "exception", **answer["error"]})
            raise self._failure()
        if answer["state"] in (2, 3):  # CLOSING, CLOSED: the browser drops the data
            self._fetch(0)
            state = "CLOSING" if answer["state"] == 2 else "CLOSED"
            raise self._failure(f"send() on a {state} WebSocket (the browser dropped it)")

    def receive(self, timeout: float) -> str | bytes:
        """The next message; ``TimeoutError`` if none came, the failure on a close event."""
        deadline = time.monotonic() + timeout
        while True:
            if not self._pending and self._ended():
                raise self._failure()  # again: nothing comes after the close event
            event = self._next(deadline)
            if event is None:
                raise TimeoutError(f"no message within {timeout} s")
            if event["type"] == "message":
                if "text" in event:
                    return str(event["text"])
                return base64.b64decode(event["binary"])
            if event["type"] == "close":
                raise self._failure()

    def _ended(self) -> bool:
        return any(event["type"] == "close" for event in self.events)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """``ws.close(code, reason)``, wait (bounded) for the close event, close the tab."""
        if self.closed:
            return
        self.closed = True
        try:
            if not self._ended():
                self._execute("wsmock.close(arguments[0], arguments[1])", code, reason)
                deadline = time.monotonic() + CLOSE_WAIT
                while not self._ended():
                    if not self._fetch(max(0.0, deadline - time.monotonic())):
                        break
        finally:
            self._client.end_tab(self._browser, self._tab, self)


__all__ = ["BrowserHung", "Chromium", "ChromiumFailure", "ChromiumSession", "missing"]
