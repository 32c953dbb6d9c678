"""A driver in Python (websockets' sync client), to test ``DriverClient`` without Node or Go.

Also the shortest complete example of the driver protocol (docs/drivers.md). Run it as a
script: ``python tests/drivers/python_driver.py``.
"""

from __future__ import annotations

import base64
import json
import ssl
import sys
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

Answer = dict[str, Any]


def error_of(exc: BaseException) -> dict[str, str]:
    return {"type": type(exc).__name__, "message": str(exc)}


def close_of(exc: ConnectionClosed) -> dict[str, Any]:
    if exc.rcvd is None:
        return {"code": 1006, "reason": "", "clean": False}
    return {"code": exc.rcvd.code, "reason": exc.rcvd.reason, "clean": exc.sent is not None}


class Driver:
    def __init__(self) -> None:
        self.ws: ClientConnection | None = None

    def connect(self, op: Answer) -> Answer:
        self.drop()
        context = ssl.create_default_context(cafile=op["ca"]) if op.get("ca") else None
        try:
            self.ws = connect(
                op["url"],
                subprotocols=op.get("subprotocols") or None,
                ssl=context,
                open_timeout=op.get("timeout", 5.0),
                close_timeout=op.get("timeout", 5.0),
            )
        except Exception as exc:
            return {"ok": False, "error": error_of(exc), "close": None}
        return {"ok": True, "subprotocol": self.ws.subprotocol}

    def send(self, op: Answer) -> Answer:
        if self.ws is None:
            return {"ok": False, "error": {"type": "no-connection", "message": ""}, "close": None}
        data = base64.b64decode(op["binary"]) if "binary" in op else op["text"]
        try:
            self.ws.send(data)
        except ConnectionClosed as exc:
            return {"ok": False, "error": None, "close": close_of(exc)}
        return {"ok": True}

    def receive(self, op: Answer) -> Answer:
        if self.ws is None:
            return {"ok": False, "error": {"type": "no-connection", "message": ""}, "close": None}
        try:
            data = self.ws.recv(timeout=op.get("timeout", 5.0))
        except TimeoutError:
            return {"ok": False, "timeout": True}
        except ConnectionClosed as exc:
            error = None if exc.rcvd is not None else error_of(exc)
            return {"ok": False, "error": error, "close": close_of(exc)}
        if isinstance(data, str):
            return {"ok": True, "text": data}
        return {"ok": True, "binary": base64.b64encode(data).decode("ascii")}

    def close(self, op: Answer) -> Answer:
        if self.ws is None:
            return {"ok": True, "close": None}
        ws, self.ws = self.ws, None
        ws.close(op.get("code", 1000), op.get("reason", ""))
        code = ws.close_code or 1006
        close = {"code": code, "reason": ws.close_reason or "", "clean": code != 1006}
        return {"ok": True, "close": close}

    def drop(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None


def main() -> None:
    driver = Driver()
    for line in sys.stdin:
        op = json.loads(line)
        if op["op"] == "quit":
            driver.drop()
            print(json.dumps({"ok": True}), flush=True)
            return
        answer = getattr(driver, op["op"])(op)
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
