"""Running a script: its steps in order on one connection, with failures recorded."""

from __future__ import annotations

from ._errors import ConnectionClosed
from ._steps import Step, StepFailed
from ._websocket import WebSocket


async def run_script(ws: WebSocket, *, steps: tuple[Step, ...]) -> None:
    """Run ``steps`` on one connection, then behave as the default server until it closes."""
    conn = ws.connection
    for index, step in enumerate(steps):
        conn._script_at(index)
        try:
            await step.run(ws)
        except StepFailed as exc:
            conn._script_failed(index, step, str(exc))
            break
        except ConnectionClosed as exc:
            conn._script_failed(index, step, f"the connection closed ({exc})")
            return
    else:
        conn._script_finished()
    # After the script: record, answer pings and close, until the connection ends.
    async for _ in ws:
        pass
