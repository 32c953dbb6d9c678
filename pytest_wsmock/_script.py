"""Running a script: its steps in order on one connection, with failures recorded."""

from __future__ import annotations

from ._errors import ConfigError, ConnectionClosed
from ._steps import Step, StepFailed
from ._websocket import WebSocket


async def run_script(ws: WebSocket, *, steps: tuple[Step, ...]) -> None:
    """Run ``steps`` on one connection, then behave as the default server until it closes."""
    conn = ws.connection
    for index, step in enumerate(steps):
        conn._script_at(index)
        try:
            await step.run(ws)
        except ConfigError as exc:
            # A step the connection cannot carry out as written (e.g. compress=True without
            # deflate): the test author's mistake, reported like an unmet expectation.
            conn._script_failed(index, step, str(exc))
            break
        except (StepFailed, ConnectionClosed) as exc:
            if ws._ended_after_deliberate_break():
                # The server broke the protocol on purpose (a frame violation, a transport
                # fault, a broken handshake answer): a client that then ends the connection
                # does right, so the steps left over are not a failure.
                conn._script_cut_short(index, step)
            elif isinstance(exc, ConnectionClosed):
                conn._script_failed(index, step, f"the connection closed ({exc})")
            else:
                conn._script_failed(index, step, str(exc))
            break
    else:
        conn._script_finished()
    # After the script: record, answer pings and close, until the connection ends.
    async for _ in ws:
        pass
