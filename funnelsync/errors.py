"""One exception tree for funnelsync, and the exit codes the CLI maps it to.

Every message says what happened and what to do next. No message may carry a secret.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_PARTIAL = 1  # the run finished but some records were rejected
EXIT_USAGE = 2  # bad command line or configuration
EXIT_LOCKED = 3  # another run holds the lock
EXIT_REMOTE = 4  # authentication failed or a CRM is unavailable / out of quota


class FunnelsyncError(Exception):
    """Base of every error funnelsync raises on purpose."""

    exit_code: int = EXIT_PARTIAL
    run_id: int | None = None  # the sync run this error ended, when it ended one

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(FunnelsyncError):
    """The configuration is missing, malformed or inconsistent."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, problems: list[str] | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.problems = list(problems or [])

    def __str__(self) -> str:
        lines = [super().__str__(), *(f"  - {p}" for p in self.problems)]
        return "\n".join(lines)


class AuthError(FunnelsyncError):
    """Credentials were rejected or a session expired and cannot be renewed."""

    exit_code = EXIT_REMOTE


class RemoteError(FunnelsyncError):
    """A CRM answered with an error, or could not be reached."""

    exit_code = EXIT_REMOTE

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None,
                 code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retryable = retryable
        self.status = status
        self.code = code


class RateLimited(RemoteError):
    """A rate limit or the daily API quota stopped the run."""

    def __init__(self, message: str, *, retry_after: float | None = None,
                 status: int | None = 429, code: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, retryable=True, status=status, code=code, hint=hint)
        self.retry_after = retry_after


class DataError(FunnelsyncError):
    """A record cannot be used: names the source, the record id and the field."""

    exit_code = EXIT_PARTIAL

    def __init__(self, message: str, *, source: str | None = None, record_id: str | None = None,
                 field: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.source = source
        self.record_id = record_id
        self.field = field


class LockHeld(FunnelsyncError):
    """Another run holds the run lock of this state store."""

    exit_code = EXIT_LOCKED

    def __init__(self, message: str, *, holder: str | None = None) -> None:
        super().__init__(message)
        self.holder = holder


def exit_code_for(exc: BaseException) -> int:
    """The process exit code for an exception that ended a command."""
    if isinstance(exc, FunnelsyncError):
        return exc.exit_code
    return EXIT_PARTIAL


__all__ = [
    "EXIT_LOCKED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_REMOTE",
    "EXIT_USAGE",
    "AuthError",
    "ConfigError",
    "DataError",
    "FunnelsyncError",
    "LockHeld",
    "RateLimited",
    "RemoteError",
    "exit_code_for",
]
