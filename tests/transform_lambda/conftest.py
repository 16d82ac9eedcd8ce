"""Fixtures for the transform Lambda tests."""

from __future__ import annotations

import io
import json

import app
import pytest


class CapturedLogs:
    """The handler's structured log lines, parsed."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def text(self) -> str:
        return self.stream.getvalue()


@pytest.fixture
def lambda_logs():
    """Route the Powertools logger into a buffer (it keeps the stdout it saw at import)."""
    captured = CapturedLogs()
    handler = app.logger.registered_handler
    previous = handler.setStream(captured.stream)
    yield captured
    handler.setStream(previous)
