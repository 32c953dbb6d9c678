"""A minimal W3C WebDriver client for chromedriver, over ``urllib`` (no new dependency).

The browser adapter needs six commands: new session, new tab, switch tab, navigate, execute
(async) script, close tab, delete session. Selenium would bring a runtime dependency and its
Selenium Manager, which tries to download a driver when it does not find one (downloads fail
on the project's machines); chromedriver speaks plain JSON over HTTP, so this module talks to
it directly. Every request has a timeout; a chromedriver that does not answer in time is
killed with its browser, and the call raises :class:`BrowserHung`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

#: Seconds chromedriver gets to print its port, and the browser to start (new session).
START_TIMEOUT = 30.0

#: Seconds an ordinary command (tab, navigate, a short script) may take.
COMMAND_TIMEOUT = 15.0


class WebDriverError(RuntimeError):
    """chromedriver answered a command with an error (``error`` and ``message`` of W3C)."""

    def __init__(self, command: str, error: str, message: str) -> None:
        super().__init__(f"{command}: {error}: {message}")
        self.error = error
        self.message = message


class BrowserHung(RuntimeError):
    """chromedriver or the browser did not answer within the bound: both were killed."""


class Browser:
    """One chromedriver process and the one browser session it drives.

    Args:
        chromedriver: the chromedriver program.
        binary: the browser program (Debian's ``/usr/bin/chromium``).
        args: the browser's command-line switches.
        env: the environment of chromedriver and so of the browser (``HOME`` chooses the NSS
            database the browser trusts certificates from).
        log_path: where chromedriver's own output goes.
    """

    def __init__(
        self,
        *,
        chromedriver: str,
        binary: str,
        args: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
    ) -> None:
        # Held across a tab switch and the command meant for that tab: a call the kit gave up
        # on (hung) may still run in its thread while the next case opens its tab.
        self._lock = threading.RLock()
        self._log = log_path.open("ab")
        self._process = subprocess.Popen(
            [chromedriver, "--port=0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=dict(env),
            # Its own process group, which the browser's processes join: kill() ends them all.
            start_new_session=True,
        )
        try:
            self._base = f"http://127.0.0.1:{self._read_port()}"
            answer = self._command(
                "POST",
                "/session",
                {
                    "capabilities": {
                        "alwaysMatch": {
                            "browserName": "chrome",
                            "goog:chromeOptions": {"binary": binary, "args": list(args)},
                            "timeouts": {"script": 600_000, "pageLoad": 10_000},
                        }
                    }
                },
                timeout=START_TIMEOUT,
            )
            self._session = f"/session/{answer['sessionId']}"
            self.version: str = answer["capabilities"].get("browserVersion", "?")
            self.home_tab: str = self._command("GET", self._session + "/window")
            #: The tab commands go to.
            self.current = self.home_tab
        except BaseException:
            self.kill()
            raise

    def _read_port(self) -> int:
        """chromedriver prints ``... started successfully on port N.`` on stdout; a thread
        reads it, then keeps copying stdout to the log (a full pipe would block chromedriver)."""
        stdout = self._process.stdout
        assert stdout is not None
        found: list[int] = []
        ready = threading.Event()

        def read() -> None:
            with stdout:
                for raw in stdout:
                    with contextlib.suppress(ValueError):  # the log was closed by kill()
                        self._log.write(raw)
                    match = re.search(rb"successfully on port (\d+)", raw)
                    if match and not found:
                        found.append(int(match.group(1)))
                        ready.set()
            ready.set()

        threading.Thread(target=read, name="chromedriver-stdout", daemon=True).start()
        ready.wait(START_TIMEOUT)
        if not found:
            raise BrowserHung(f"chromedriver printed no port within {START_TIMEOUT} s")
        return found[0]

    def _command(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        timeout: float = COMMAND_TIMEOUT,
    ) -> Any:
        data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
        request = urllib.request.Request(
            self._base + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as exc:
            with exc:
                answer = json.load(exc)
            value = answer.get("value", {})
            raise WebDriverError(
                f"{method} {path.split('/')[-1] or path}",
                str(value.get("error", exc.code)),
                str(value.get("message", "")).split("\n")[0],
            ) from None
        except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
            self.kill()
            raise BrowserHung(f"chromedriver gave no answer to {method} {path}: {exc}") from None
        return answer.get("value")

    # -- tabs ---------------------------------------------------------------------------------

    def new_tab(self) -> str:
        """Open a new tab; its handle (use it with :meth:`in_tab`)."""
        with self._lock:
            answer = self._command("POST", self._session + "/window/new", {"type": "tab"})
        handle: str = answer["handle"]
        return handle

    def switch_to(self, handle: str) -> None:
        """Make ``handle`` the tab that commands go to (nothing to do if it is)."""
        with self._lock:
            if handle != self.current:
                self._command("POST", self._session + "/window", {"handle": handle})
                self.current = handle

    @contextlib.contextmanager
    def in_tab(self, handle: str) -> Iterator[None]:
        """Commands in the block go to ``handle``, and no other thread's come between."""
        with self._lock:
            self.switch_to(handle)
            yield

    def close_tab(self, handle: str) -> None:
        """Close ``handle`` and go back to the home tab (which keeps the session alive)."""
        with self.in_tab(handle):
            self._command("DELETE", self._session + "/window")
            self.current = ""  # closed: the next switch_to always switches
            self.switch_to(self.home_tab)

    def navigate(self, url: str) -> None:
        self._command("POST", self._session + "/url", {"url": url})

    # -- scripts ------------------------------------------------------------------------------

    def execute(self, script: str, *args: Any) -> Any:
        """Run ``script`` (a function body) in the current tab; its return value."""
        return self._command(
            "POST", self._session + "/execute/sync", {"script": script, "args": list(args)}
        )

    def execute_async(self, script: str, *args: Any, timeout: float) -> Any:
        """Run ``script``, whose last argument is the callback it calls with its result.

        ``timeout`` bounds the wait for the answer (the script must call back before).
        """
        return self._command(
            "POST",
            self._session + "/execute/async",
            {"script": script, "args": list(args)},
            timeout=timeout,
        )

    # -- ending -------------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def quit(self, timeout: float = 10.0) -> None:
        """End the session (the browser exits) and chromedriver; kill what does not."""
        with self._lock:
            if self._process.poll() is None:
                with contextlib.suppress(WebDriverError, BrowserHung, AttributeError):
                    self._command("DELETE", self._session, timeout=timeout)
            self.kill()

    def kill(self) -> None:
        """Stop chromedriver and the browser at once (their process group)."""
        if self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(5)
        self._log.close()  # stdout is closed by its reader, at its end


__all__ = ["Browser", "BrowserHung", "WebDriverError"]
