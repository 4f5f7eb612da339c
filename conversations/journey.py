"""The vocabulary of a client's journey: enrolment statuses and what each allows, the week.

Written once here; every layer asks these predicates instead of keeping its own tuple.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, get_args

Status = Literal["invited", "consent", "active", "paused", "declined", "graduated", "dropped"]
STATUSES: tuple[Status, ...] = get_args(Status)

# A recurring flow completed this long before its next occurrence counts as that one's
# (the client checked in early): the occurrence is not sent and not missed.
ANSWERED_EARLY = timedelta(hours=24)


def may_receive(status: str) -> bool:
    """Whether the bot sends this client anything unprompted (touchpoints, rule messages)."""
    return status in ("consent", "active", "graduated")


def may_start_flow(status: str) -> bool:
    """Whether the bot may open a flow for this client on its own."""
    return status in ("consent", "active")


def is_planned(status: str) -> bool:
    """Whether the scheduler keeps a plan for this enrolment (a pause keeps its calendar)."""
    return status in ("consent", "active", "paused", "graduated")


def is_open(status: str) -> bool:
    """Whether the enrolment is still running (not finished, declined or dropped)."""
    return status in ("invited", "consent", "active", "paused")


def is_current(status: str) -> bool:
    """Whether a coach follows this client day to day (joined and not finished)."""
    return status in ("consent", "active", "paused")


def rules_apply(status: str) -> bool:
    """Rules act on clients in the program, not on an intake, a pause or an alumnus."""
    return status == "active"


def has_joined(status: str) -> bool:
    """Whether the client has redeemed their invite (a chat is bound to them)."""
    return status != "invited"


def conversation_status(status: str) -> str:
    """The status the conversation engine sees: an invited client is asked for consent."""
    return "consent" if status == "invited" else status


def program_week(enrolled_at: datetime, at: datetime, weeks: int | None = None) -> int:
    """The program week `at` falls in: 1 from enrolment, capped at the program's length."""
    week = max(1, (at - enrolled_at).days // 7 + 1)
    return min(week, weeks) if weeks else week


PLANNED: tuple[str, ...] = tuple(s for s in STATUSES if is_planned(s))
CURRENT: tuple[str, ...] = tuple(s for s in STATUSES if is_current(s))
