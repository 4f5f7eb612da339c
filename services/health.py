"""Readiness: whether this process can do its work (the database answers)."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from services.unit_of_work import Runtime

log = logging.getLogger("coachbot.services.health")


def database_reachable(runtime: Runtime) -> bool:
    """True when a trivial query succeeds."""
    try:
        with runtime.reading() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("readiness: the database is not reachable (%s)", type(exc).__name__)
        return False
    return True
