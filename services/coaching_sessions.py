"""Booking a coaching session for a client; its prep and follow-up are planned at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from scheduler.replanning import replan
from services.unit_of_work import Runtime
from storage import enrolments, people, plans


class BookingError(ValueError):
    """A clear reason the session cannot be booked."""


@dataclass(frozen=True)
class Booked:
    """The booked session, in UTC and in the client's own time."""

    enrolment_id: int
    at: datetime
    local: datetime


def book_session(rt: Runtime, *, client: str, local_time: str) -> Booked:
    """Book a session at `local_time` ("2026-03-02 15:00", the client's own time)."""
    with rt.transaction() as uow:
        s, now = uow.session, uow.now
        person = people.person_named(s, client, role="client")
        if person is None:
            raise BookingError(f"no client named '{client}'")
        enrolment = enrolments.current_enrolment(s, person.id or 0)
        if enrolment is None or enrolment.program_id not in rt.programs:
            raise BookingError(f"'{client}' is not enrolled in a loaded program")
        try:
            naive = datetime.fromisoformat(local_time.strip())
        except ValueError:
            raise BookingError(f"'{local_time}' is not a time like 2026-03-02 15:00") from None
        if naive.tzinfo is not None:
            raise BookingError("give the client's local time, without a zone")
        local = naive.replace(tzinfo=ZoneInfo(person.timezone))
        at = local.astimezone(UTC)
        if at <= now:
            raise BookingError("that time has passed")
        plans.add_session(s, enrolment_id=enrolment.id or 0, at=at, now=now)
        replan(s, rt.program(enrolment.program_id), enrolment.id or 0, now=now)
        return Booked(enrolment.id or 0, at, local)
