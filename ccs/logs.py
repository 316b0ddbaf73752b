"""Process logging for the ``ccs`` commands: text lines (default) or one JSON object a line.

JSON lines use python-json-logger (kept up to date, and it handles exceptions, stack info and
``extra`` fields, which a hand-written Formatter would have to redo). Both formats go through
the same handlers and filters, so the redaction of consumers' data (agent_api.access_log,
agent_api.errors) is the same in either.
"""
from __future__ import annotations

import logging
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def formatter(fmt: LogFormat) -> logging.Formatter:
    if fmt == "json":
        # {"time": ISO 8601 UTC, "level", "logger", "message"}, plus exc_info when there is one.
        return JsonFormatter("{levelname}{name}{message}", style="{", timestamp="time",
                             rename_fields={"levelname": "level", "name": "logger"})
    return logging.Formatter(TEXT_FORMAT)


def configure_logging(level: str, fmt: LogFormat = "text") -> None:
    """Log to stderr at ``level`` in ``fmt``; a second call changes neither (as basicConfig)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(fmt))
    root.addHandler(handler)
    root.setLevel(level.upper())
