"""Running a script: its steps in order on one opened connection, with a defined lifecycle.

The lifecycle (documented as a table in docs/scripts.md): a script runs only on a connection
whose handshake opened. When the connection ends before the script does (the client closed,
a fault dropped it, the server sent its close frame), the steps left are not run: sends,
waits and faults are skipped with a note, and expectations fail as unmet (the client did not
send what the script expected), unless the server had broken the protocol on purpose, after
which the client is right to leave and the script stops quietly. Nothing is ever sent after a
close frame.
"""

from __future__ import annotations

from ._errors import ConfigError, ConnectionClosed, WaitTimeout
from ._steps import Step, StepEnded, StepFailed
from ._websocket import WebSocket


async def run_script(ws: WebSocket, steps: tuple[Step, ...]) -> None:
    """Run ``steps`` on one connection (the engine then behaves as the default server)."""
    record = ws.connection
    record.script_started(tuple(s.describe() for s in steps), tuple(s.expects for s in steps))
    for index, step in enumerate(steps):
        record.script_at(index, excused=ws.broke_protocol)
        if not step.expects and not ws.open:
            record.note(f"script {record.step_text(index)}: skipped, the connection had ended")
            continue
        try:
            await step.run(ws)
        except ConfigError as exc:
            # A step the connection cannot carry out as written (e.g. compress=True without
            # deflate): the test author's mistake, reported like an unmet expectation.
            record.script_failed(index, str(exc))
            break
        except ConnectionClosed as exc:
            if step.expects:
                _unmet(ws, index, f"the connection closed first ({exc})")
                break
            # A send that found the connection ending: skipped, not a failure.
            record.note(f"script {record.step_text(index)}: skipped, the connection ended ({exc})")
        except StepEnded as exc:
            # The connection ended before the expectation could be met.
            _unmet(ws, index, str(exc))
            break
        except (StepFailed, WaitTimeout) as exc:
            # A wrong message, or none in time: a failure however the connection ends after.
            record.script_failed(index, str(exc))
            break
    else:
        record.script_finished()
    if ws.broke_protocol:
        # The last step may have broken the protocol: teardown judges what is left by that.
        record.script_excused()


def _unmet(ws: WebSocket, index: int, why: str) -> None:
    """An expectation the connection's end left unmet: a failure, unless the server had broken
    the protocol on purpose (the client is then right to leave)."""
    record = ws.connection
    if not ws.broke_protocol:
        record.script_failed(index, why)
        return
    record.note(
        f"script stopped at {record.step_text(index)}: the connection ended after the server "
        f"broke the protocol on purpose"
    )
    record.script_finished()
