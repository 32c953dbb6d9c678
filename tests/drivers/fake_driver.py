"""A driver that answers from a script, to test ``DriverClient`` on drivers that misbehave.

``python fake_driver.py '<JSON list>'``: each operation but ``quit`` gets the list's next item
as its answer; the strings ``"DEAF"`` (answer like a connect, then read nothing more),
``"HANG"`` (write a line on stderr, then sleep), ``"EXIT"`` (exit
with status 3) and ``"GARBAGE"`` (answer a line that is not JSON) misbehave instead. Every
start begins the list again; ``quit`` is always answered and ends the driver.
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    answers = json.loads(sys.argv[1])
    for count, line in enumerate(sys.stdin):
        op = json.loads(line)
        if op["op"] == "quit":
            print(json.dumps({"ok": True}), flush=True)
            return
        answer = answers[count] if count < len(answers) else {"ok": True}
        if answer == "DEAF":
            print(f"fake driver: no longer reading after {op['op']}", file=sys.stderr, flush=True)
            print(json.dumps({"ok": True, "subprotocol": None}), flush=True)
            time.sleep(600)
        elif answer == "HANG":
            print(f"fake driver: hanging on {op['op']}", file=sys.stderr, flush=True)
            time.sleep(600)
        elif answer == "EXIT":
            print(f"fake driver: exiting on {op['op']}", file=sys.stderr, flush=True)
            sys.exit(3)
        elif answer == "GARBAGE":
            print("this is not JSON", flush=True)
        else:
            print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
