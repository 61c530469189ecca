"""Progress and log output for the CLI: rich progress on a TTY, JSON lines otherwise.

Log lines carry counts and stream names only, never record contents, personal data or secrets.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from funnelsync.cli.common import safe_text
from funnelsync.config.secrets import mask_secrets

ProgressFn = Callable[[str, str, int], None]


class JsonLogFormatter(logging.Formatter):
    """One JSON object per log record; extra fields passed as ``extra={"fields": {...}}``.
    JSON escapes every control and non-ASCII character; secrets are masked."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {"ts": round(record.created, 3), "level": record.levelname.lower(),
                                "logger": record.name, "msg": record.getMessage()}
        data.update(getattr(record, "fields", {}) or {})
        return mask_secrets(json.dumps(data, default=str))


class TextLogFormatter(logging.Formatter):
    """``LEVEL logger: message key=value ...`` with the record's extra fields, on one line:
    secrets masked, control characters (a newline in a CRM value too) shown as escapes."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {}) or {}
        tail = "".join(f" {k}={v}" for k, v in fields.items())
        return safe_text(f"{record.levelname} {record.name}: {record.getMessage()}{tail}")


class RunIdFilter(logging.Filter):
    """Adds the id of the run in progress to every record's fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        from funnelsync.sync.job import current_run_id

        run_id = current_run_id.get()
        if run_id is not None:
            record.fields = {"run_id": run_id, **(getattr(record, "fields", {}) or {})}
        return True


# Loggers of the libraries under funnelsync (and Python's warnings): in a log file their
# warnings must be lines of the same format, not Python's bare "last resort" text.
LIBRARY_LOGGERS = ("py.warnings", "urllib3", "requests", "simple_salesforce", "hubspot",
                   "sqlalchemy")


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted (a test runner or a
    caller may swap it after logging was set up)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        """Ignored: the stream is always the current stderr."""


def setup_logging(log_format: str, verbose: bool = False, stream: TextIO | None = None) -> None:
    """Configure the funnelsync logger: ``text`` or ``json`` lines on stderr (or ``stream``).
    The warnings of the libraries below and Python's own warnings go the same way."""
    formatter = JsonLogFormatter() if log_format == "json" else TextLogFormatter()
    handler = _handler(stream, formatter)
    handler.addFilter(RunIdFilter())
    logger = logging.getLogger("funnelsync")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    logging.captureWarnings(False)  # and on again: showwarning may have been replaced since
    logging.captureWarnings(True)
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers[:] = [h for h in library.handlers if not getattr(h, "funnelsync", 0)]
        library_handler = _handler(stream, formatter)
        library_handler.setLevel(logging.WARNING)
        library_handler.funnelsync = True  # type: ignore[attr-defined]
        library.addHandler(library_handler)


def _handler(stream: TextIO | None, formatter: logging.Formatter) -> logging.Handler:
    handler = logging.StreamHandler(stream) if stream is not None else StderrHandler()
    handler.setFormatter(formatter)
    return handler


def log_problem(level: int, message: str, **fields: Any) -> None:
    """One warning or error as a log record of the funnelsync logger (a JSON line under
    ``--log-format json``)."""
    logging.getLogger("funnelsync.cli").log(level, "%s", message, extra={"fields": fields})


@contextmanager
def progress_reporter(enabled: bool, log_every: float = 5.0,
                      live: bool = True) -> Iterator[ProgressFn]:
    """A progress callback: a live rich display on a TTY (unless ``live`` is off, as under
    ``--log-format json``), else a log line every few seconds."""
    if enabled and live and sys.stderr.isatty():
        with Progress(SpinnerColumn(), TextColumn("{task.description}"),
                      TextColumn("{task.completed:,} records"), TimeElapsedColumn(),
                      console=Console(stderr=True), transient=False) as bar:
            tasks: dict[str, Any] = {}

            def on_tty(source: str, stream: str, count: int) -> None:
                key = f"{source} {stream}"
                if key not in tasks:
                    tasks[key] = bar.add_task(key, total=None)
                bar.update(tasks[key], completed=count)

            yield on_tty
        return
    log = logging.getLogger("funnelsync.progress")
    last = {"t": 0.0}

    def on_log(source: str, stream: str, count: int) -> None:
        now = time.monotonic()
        if now - last["t"] >= log_every:
            last["t"] = now
            log.info("pulling", extra={"fields": {"source": source, "stream": stream,
                                                  "records": count}})

    yield on_log
