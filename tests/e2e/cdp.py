"""Drive Debian's headless Chromium over the DevTools protocol on a pipe (no extra package).

`--remote-debugging-pipe` makes Chromium read commands on fd 3 and write answers and events on
fd 4, each a JSON message ended by a NUL byte; "flatten" sessions address one page.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from tests.e2e.browser import CHROMIUM_FLAGS, chromium


class Chromium:
    """One headless browser; `page(url)` opens a tab and returns its session id."""

    def __init__(self, profile: Path) -> None:
        commands_read, self._commands = os.pipe()
        self._answers, answers_write = os.pipe()

        def wire_fds() -> None:  # in the child: the pipe ends at fd 3 and fd 4
            os.dup2(commands_read, 3)
            os.dup2(answers_write, 4)

        self.process = subprocess.Popen(
            [chromium(), *CHROMIUM_FLAGS, "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "--window-size=1000,800", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=wire_fds, pass_fds=(3, 4),
        )
        os.close(commands_read)
        os.close(answers_write)
        self._next_id = 0
        self._results: dict[int, dict] = {}
        self._ready = threading.Condition()
        self.events: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        while True:
            chunk = os.read(self._answers, 65536)
            if not chunk:  # chromium exited
                os.close(self._answers)
                return
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            with self._ready:
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        self._results[message["id"]] = message
                    else:
                        self.events.append(message)
                self._ready.notify_all()

    def send(self, method: str, session: str | None = None, timeout: float = 30,
             **params: Any) -> dict:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode("utf-8") + b"\0")
        deadline = time.monotonic() + timeout
        with self._ready:
            while self._next_id not in self._results:
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise AssertionError(f"chromium gave no answer to {method}")
                self._ready.wait(left)
            answer = self._results.pop(self._next_id)
        if "error" in answer:
            raise AssertionError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def page(self, url: str) -> tuple[str, str]:
        """Open url in a new tab: (target id, session id)."""
        target = self.send("Target.createTarget", url=url)["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        return target, session

    def evaluate(self, session: str, expression: str) -> Any:
        result = self.send("Runtime.evaluate", session, expression=expression,
                           returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, session: str, expression: str, timeout: float = 20) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(session, expression)
            except AssertionError:
                value = None  # the page is between documents
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"page never satisfied {expression}")

    def drag(self, session: str, x: float, y: float, dx: float, dy: float, steps: int = 12) -> None:
        """A real mouse drag (press, moves, release) through Chromium's input pipeline."""
        self.send("Input.dispatchMouseEvent", session, type="mousePressed", x=x, y=y,
                  button="left", clickCount=1)
        for step in range(1, steps + 1):
            self.send("Input.dispatchMouseEvent", session, type="mouseMoved",
                      x=x + dx * step / steps, y=y + dy * step / steps, button="left", buttons=1)
            time.sleep(0.03)
        self.send("Input.dispatchMouseEvent", session, type="mouseReleased",
                  x=x + dx, y=y + dy, button="left", clickCount=1)

    def click(self, session: str, x: float, y: float) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", session, type=kind, x=x, y=y,
                      button="left", clickCount=1)

    def close(self) -> None:
        with contextlib.suppress(AssertionError):
            self.send("Browser.close", timeout=10)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)
