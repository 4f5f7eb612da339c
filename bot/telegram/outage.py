"""Logging a run of failed updates as it starts and as it ends, not once per retry."""

from __future__ import annotations

import logging

from sqlalchemy.exc import (
    InterfaceError,
    InternalError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from services.unit_of_work import DatabaseBusy


class Outage:
    """An ERROR line when updates start failing, an INFO line when one is handled again."""

    # The retries in between go at DEBUG: a database outage must not flood the log.

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self.failures = 0

    def failed(self, reason: str, then: str) -> None:
        """An update failed for `reason` (no personal data); `then` says what happens next."""
        self.failures += 1
        level = logging.ERROR if self.failures == 1 else logging.DEBUG
        self.log.log(level, "telegram update not handled (%s); %s", reason, then)

    def handled(self) -> None:
        """An update was handled: the outage, if any, is over."""
        if self.failures:
            self.log.info("telegram updates handled again after %d failed tries",
                          self.failures)
            self.failures = 0


def reason(exc: Exception) -> str:
    """One line on why an update failed; never the exception's text (it may quote answers)."""
    if isinstance(exc, SQLAlchemyError | DatabaseBusy):
        return f"the database failed: {type(exc).__name__}"
    if isinstance(exc, OSError):
        return f"the disk or the system refused: {type(exc).__name__}"
    return f"error: {type(exc).__name__}"


def passing(exc: Exception) -> bool:
    """Whether the failure is the database's or the disk's, not this update's own."""
    # A server down or read-only, a lock, a full disk: it passes when they are back.
    return isinstance(exc, OperationalError | InternalError | InterfaceError | PoolTimeout
                      | DatabaseBusy | OSError)
