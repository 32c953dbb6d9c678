"""pytest glue: fixtures, the ``wsmock`` marker, ini options. Nothing else lives here."""

from __future__ import annotations

import difflib
import importlib
import sys
from collections.abc import Generator, Iterator
from typing import Any

import pluggy
import pytest
import trustme

from ._assertions import compare
from ._cassettes import RECORD_MODES, CassetteContext
from ._errors import ConfigError, WsmockError
from ._factory import ServerFactory
from ._faults import Fault
from ._frame_violations import FrameViolation
from ._handshakes import Handshake
from ._ini import INI_OPTIONS, parse_ini
from ._loop import PORTALS
from ._options import ServerOptions, suggest
from ._preview import DEFAULT_PREVIEW, check_width
from ._server import MockServer
from ._tls import TlsMaterial
from .conformance._session import finish as finish_conformance
from .conformance._session import hand_over as hand_over_conformance
from .conformance._session import is_worker
from .conformance._session import take_over as take_over_conformance

MARKER = (
    "wsmock(**options): configure this test's mock WebSocket servers (ws_server, wss_server, "
    "ws_server_factory); options are the fields of pytest_wsmock.ServerOptions"
)


#: The servers a test started, for its report.
SERVERS = pytest.StashKey[list[MockServer]]()
#: The test's server factory, for the verdict at the end of the call phase.
FACTORY = pytest.StashKey[ServerFactory]()
#: Transcripts of passing tests, printed at the end with --wsmock-transcript.
PASSED_TRANSCRIPTS = pytest.StashKey[list[tuple[str, str]]]()
SECTION = "wsmock transcript"
#: What the servers saw go wrong, added to the report of a test function that failed itself.
VERDICT_SECTION = "wsmock server failures"
#: The preview width of transcripts (--wsmock-preview, ini wsmock_preview).
PREVIEW = pytest.StashKey[int]()
#: The transcript a test's report showed, and in which phase (it is shown once).
SHOWN = pytest.StashKey[tuple[str, str]]()


def _preview_width(config: pytest.Config) -> int:
    """The transcripts' preview width; a bad value is one usage error, at start-up."""
    given = config.getoption("--wsmock-preview")
    where = "--wsmock-preview"
    if given is None:
        given, where = config.getini("wsmock_preview"), "the wsmock_preview ini key"
    if given is None or given == "":
        return DEFAULT_PREVIEW
    try:
        return check_width(given)
    except ValueError as exc:
        raise pytest.UsageError(f"{where}: {exc}") from None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wsmock", "mock WebSocket servers (pytest-wsmock)")
    group.addoption(
        "--wsmock-transcript",
        action="store_true",
        default=False,
        help="show the mock servers' transcripts of passing tests too (failing tests always "
        "get a 'wsmock transcript' section)",
    )
    group.addoption(
        "--wsmock-backend",
        choices=("asyncio", "trio"),
        default=None,
        help="anyio backend of the mock servers' thread (overrides the wsmock_backend ini key)",
    )
    group.addoption(
        "--wsmock-preview",
        metavar="N",
        default=None,
        help="characters of text (bytes of binary) shown of each payload in wsmock "
        f"transcripts, 0 for whole payloads (overrides the wsmock_preview ini key; default "
        f"{DEFAULT_PREVIEW})",
    )
    group.addoption(
        "--wsmock-pin",
        action="store_true",
        default=False,
        help="conformance kit: rewrite the pin files from this run's verdicts (entries that "
        "did not run keep their pins) instead of comparing the verdicts with them",
    )
    group.addoption(
        "--wsmock-repeat",
        metavar="N",
        type=int,
        default=1,
        help="conformance kit: run each case N times (those that take under 0.5 s), so that "
        "verdicts that depend on timing show up; with --wsmock-pin they are pinned as a set",
    )
    group.addoption(
        "--wsmock-record-mode",
        choices=RECORD_MODES,
        default="none",
        help="cassettes (docs/record-replay.md): none (default: replay, a missing cassette "
        "fails), once (record missing cassettes), new_episodes (replay, and record connections "
        "past the recorded ones), all (record again)",
    )
    group.addoption(
        "--wsmock-conformance-report",
        metavar="PATH",
        default=None,
        help="conformance kit: write the verdict table of this run to PATH (Markdown) and to "
        "PATH with the suffix .json",
    )
    parser.addini(
        "wsmock_preview",
        help="characters of text (bytes of binary) shown of each payload in wsmock "
        f"transcripts, 0 for whole payloads (default: {DEFAULT_PREVIEW})",
        default=None,
    )
    defaults = ServerOptions()
    for name, help_text in INI_OPTIONS.items():
        parser.addini(
            f"wsmock_{name}",
            help=f"{help_text} (default: {getattr(defaults, name)})",
            default=None,
        )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    config.stash[PREVIEW] = _preview_width(config)
    try:
        _check_ini_names(config)
        defaults = _ini_defaults(config)
        require_backend(defaults.backend)
    except ConfigError as exc:
        # Once, at start-up, rather than as an error in every test that uses a fixture.
        raise pytest.UsageError(str(exc)) from None


def pytest_unconfigure(config: pytest.Config) -> None:
    # Bounded: a handler that ignores cancellation must not hang the run after the last test
    # (pytest-timeout does not reach this far); it is named here instead.
    stuck = PORTALS.close_all()
    if stuck:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        for line in stuck:
            if reporter is not None:
                reporter.write_line(line, yellow=True, bold=True)
            else:
                print(line, file=sys.stderr)


@pytest.hookimpl(trylast=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    # trylast: pytest's own implementation, which runs the test function, comes first, and
    # when the test fails this is not called at all, so the test's own failure is never
    # masked. What the servers saw is the test's verdict: a client violation (strict mode), a
    # failed script or handler, the deadline. Raised here, the test fails as its own failure
    # ("1 failed", and xfail applies), rather than passing with an error at teardown; teardown
    # reports only what happens after this (e.g. while a client fixture closes).
    __tracebackhide__ = True
    factory = item.stash.get(FACTORY, None)
    if factory is not None:
        factory.verdict()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    servers = item.stash.get(SERVERS, None)
    if servers and call.excinfo is not None:
        # The report shows the transcript: the error's message points to it rather than
        # listing the last frames a second time (read before the report renders it).
        _point_to_transcript(call.excinfo.value)
    verdict = None
    factory = item.stash.get(FACTORY, None)
    if call.when == "call" and call.excinfo is not None and factory is not None:
        # The test function failed, so pytest_runtest_call did not give the servers' verdict.
        # What the servers saw (often why the client failed: a script that expected something
        # else) is part of this failure, not a second, teardown error.
        verdict = factory.failures()
        for error in verdict:
            _point_to_transcript(error)
    outcome = yield
    report = outcome.get_result()
    if servers is None:
        return
    if verdict:
        text = "\n".join(f"{type(e).__module__}.{type(e).__qualname__}: {e}" for e in verdict)
        report.sections.append((VERDICT_SECTION, text))
    show_passed = item.config.getoption("--wsmock-transcript")
    wanted = report.failed or (show_passed and report.when == "teardown" and report.passed)
    if servers and wanted:
        preview = item.config.stash.get(PREVIEW, DEFAULT_PREVIEW)
        text = "\n\n".join(server.transcript(preview=preview) for server in servers)
        if report.failed:
            report.sections.append((SECTION, _once(item, report.when, text)))
        else:
            item.config.stash.setdefault(PASSED_TRANSCRIPTS, []).append((item.nodeid, text))
    if report.when == "teardown":
        # The test's last report is made: nothing reads its servers any more. pytest keeps
        # every item until the session ends, so servers left in the stash would keep every
        # frame, message and deflate context of every test alive that long (over 100 KiB a
        # test). The list is the factory's own, so clearing it releases them there too.
        servers.clear()
        del item.stash[SERVERS]
        del item.stash[FACTORY]
        if SHOWN in item.stash:
            del item.stash[SHOWN]


def _point_to_transcript(error: BaseException) -> None:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, WsmockError):
            current.transcript_shown = True
        current = current.__cause__ or current.__context__


def _once(item: pytest.Item, when: str, text: str) -> str:
    """The transcript section of a failed report: in full the first time; in a later report
    of the same test (a teardown error after a failed call), only what changed since."""
    shown = item.stash.get(SHOWN, None)
    item.stash[SHOWN] = (when, text)
    if shown is None:
        return text
    if shown[1] == text:
        return f"(unchanged since the {shown[0]} report of this test, which shows it)"
    return f"(what changed since the {shown[0]} report of this test, which shows the rest)\n" + (
        _changes(shown[1], text)
    )


def _changes(before: str, after: str) -> str:
    """The lines of ``after`` that are not in ``before``, each under the server or
    connection line it belongs to."""
    old, new = before.split("\n"), after.split("\n")
    changed: set[int] = set()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, _, _, start, end in matcher.get_opcodes():
        if tag in ("insert", "replace"):
            changed.update(range(start, end))
    lines: list[str] = []
    heading = -1
    for index, line in enumerate(new):
        if line and not line.startswith(" "):
            heading = index  # a server's or a connection's first line
        if index in changed:
            if heading >= 0 and heading != index and new[heading] not in lines:
                lines.append(new[heading])
            lines.append(line)
    return "\n".join(lines)


#: What the conformance kit wrote at the end of the session, for the terminal summary.
CONFORMANCE_LINES = pytest.StashKey[list[str]]()


def pytest_sessionfinish(session: pytest.Session) -> None:
    # The conformance kit's pins and report: an xdist worker hands its verdicts to the
    # controller (pytest_testnodedown), which writes the files once, for every worker.
    config = session.config
    if is_worker(config):
        hand_over_conformance(config)
        return
    report = config.getoption("--wsmock-conformance-report")
    if report is not None:
        report = str(config.invocation_params.dir / report)
    pin = bool(config.getoption("--wsmock-pin"))
    if pin or report is not None:
        config.stash[CONFORMANCE_LINES] = finish_conformance(config, pin=pin, report=report)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    # pytest-xdist's hook, on the controller, when a worker has finished.
    output = getattr(node, "workeroutput", None)
    if isinstance(output, dict):
        take_over_conformance(node.config, output)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    for line in config.stash.get(CONFORMANCE_LINES, []):
        terminalreporter.write_line(line)
    transcripts = config.stash.get(PASSED_TRANSCRIPTS, [])
    if not transcripts:
        return
    terminalreporter.section("wsmock transcripts of passing tests")
    for nodeid, text in transcripts:
        terminalreporter.write_sep("-", nodeid)
        terminalreporter.write_line(text)


def pytest_assertrepr_compare(
    config: pytest.Config, op: str, left: object, right: object
) -> list[str] | None:
    return compare(op, left, right)


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    # Catalogue entries carry their own readable id (``wrong-accept``, ``status-503``...).
    if isinstance(val, (Handshake, FrameViolation, Fault)):
        return val.id
    return None


def require_backend(backend: str) -> None:
    """Raise :class:`ConfigError` when the anyio backend's package cannot be imported."""
    if backend == "asyncio":
        return
    try:
        importlib.import_module(backend)
    except ImportError:
        raise ConfigError(
            f"the wsmock backend {backend} (option --wsmock-backend or ini wsmock_backend) needs "
            f"the {backend} package, which is not installed: pip install {backend}, or use the "
            f"asyncio backend"
        ) from None


def _check_ini_names(config: pytest.Config) -> None:
    """Refuse an ini key that looks like ours but is not (``wsmock_tiemout``), naming the
    closest one: pytest only warns about unknown keys, and the option would be ignored."""
    # The server options' keys, and the report's own (the transcript's preview width).
    valid = [f"wsmock_{name}" for name in INI_OPTIONS] + ["wsmock_preview"]
    # Config.inicfg: the keys of the ini file (pytest keeps the mapping for compatibility).
    given = [str(key) for key in getattr(config, "inicfg", {})]
    unknown = [key for key in given if key.startswith("wsmock_") and key not in valid]
    if unknown:
        named = ", ".join(f"{key}{suggest(key, valid)}" for key in unknown)
        raise ConfigError(
            f"unknown ini option {named}; the wsmock ini options are: {', '.join(valid)}"
        )


#: The ini file's options, read and checked once per session (they cannot change in one).
INI_DEFAULTS = pytest.StashKey[ServerOptions]()


def _ini_defaults(config: pytest.Config) -> ServerOptions:
    cached = config.stash.get(INI_DEFAULTS, None)
    if cached is None:
        # An invalid ini is not cached: every test that uses a server fails with the error.
        cached = config.stash[INI_DEFAULTS] = _read_ini_defaults(config)
    return cached


def _read_ini_defaults(config: pytest.Config) -> ServerOptions:
    raw = {name: config.getini(f"wsmock_{name}") for name in INI_OPTIONS}
    given = {name: value for name, value in raw.items() if value is not None}
    values = parse_ini(given)
    backend = config.getoption("--wsmock-backend")
    if backend:
        values["backend"] = backend
    try:
        return ServerOptions().replace(**values)
    except ConfigError as exc:
        raise ConfigError(f"in the ini file: {exc}") from None


def _marker_options(node: pytest.Item) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    # iter_markers yields the closest marker first; apply the farthest first so closer wins.
    for marker in reversed(list(node.iter_markers("wsmock"))):
        if marker.args:
            raise ConfigError(
                f"the wsmock marker takes keyword arguments only, got positional {marker.args!r}"
            )
        merged.update(marker.kwargs)
    return merged


@pytest.fixture(scope="session")
def wsmock_ca() -> trustme.CA:
    """The session's certificate authority (a ``trustme.CA``) behind every ``wss://`` server."""
    return trustme.CA()


@pytest.fixture(scope="session")
def _wsmock_tls(wsmock_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return TlsMaterial(wsmock_ca, tmp_path_factory.mktemp("wsmock-tls"))


@pytest.fixture
def ws_server_factory(request: pytest.FixtureRequest) -> Iterator[ServerFactory]:
    """Start any number of mock servers with custom options; all stop at the test's end."""
    defaults = _ini_defaults(request.config)
    marked = _marker_options(request.node)
    if marked:
        defaults = defaults.replace(**marked)

    def tls() -> TlsMaterial:
        material: TlsMaterial = request.getfixturevalue("_wsmock_tls")
        return material

    node = request.node
    cassettes = CassetteContext(
        node.path.parent,
        node.path.stem,
        node.name,
        node.nodeid,
        request.config.getoption("--wsmock-record-mode"),
    )
    factory = ServerFactory(defaults, tls, cassettes)
    request.node.stash[SERVERS] = factory.servers
    request.node.stash[FACTORY] = factory
    yield factory
    __tracebackhide__ = True
    factory.close()


@pytest.fixture
def ws_server(ws_server_factory: ServerFactory) -> MockServer:
    """A ``ws://`` mock server on 127.0.0.1 and a free port, configured by the marker."""
    return ws_server_factory()


@pytest.fixture
def ws_refused_url(ws_server_factory: ServerFactory) -> str:
    """A ``ws://127.0.0.1:PORT/`` URL whose port refuses connections during the test."""
    return ws_server_factory.refused_url()


@pytest.fixture
def wss_server(ws_server_factory: ServerFactory, _wsmock_tls: TlsMaterial) -> MockServer:
    """A ``wss://`` mock server whose certificate comes from ``wsmock_ca``."""
    return ws_server_factory(tls=True)
