"""Enrolling a client: the person, their coach and an invite code, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.app import App
from storage import enrolments, people
from storage.db import session


class EnrolError(ValueError):
    """A clear reason the enrolment cannot be made."""


@dataclass(frozen=True)
class Enrolled:
    """The new enrolment and the code the client joins with."""

    enrolment_id: int
    person_id: int
    code: str
    expires_at: datetime
    coach: str | None


def check_zone(zone: str) -> str:
    """The zone if it is a real IANA zone; a clear error otherwise."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise EnrolError(f"'{zone}' is not an IANA time zone, e.g. Europe/Berlin") from None
    return zone


def enrol_client(app: App, *, program_id: str, name: str, zone: str,
                 coach: str | None = None) -> Enrolled:
    """Create a client enrolled in `program_id`; an unknown coach name is added as a coach."""
    if program_id not in app.programs:
        known = ", ".join(app.program_ids())
        raise EnrolError(f"no program '{program_id}' (loaded: {known})")
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise EnrolError("give the client's name (up to 200 characters)")
    check_zone(zone)
    now = app.clock.now()
    with session(app.db) as s, s.begin():
        coach_id = None
        if coach:
            found = people.person_named(s, coach, role="coach") or people.add_person(
                s, name=coach, role="coach", timezone=zone, now=now)
            coach_id = found.id
        person = people.add_person(s, name=name, role="client", timezone=zone, now=now)
        enrolment = enrolments.enrol(
            s, person_id=person.id or 0, program=app.programs[program_id].program,
            coach_id=coach_id, now=now,
            invite_ttl=timedelta(days=app.settings.invite_ttl_days))
        assert enrolment.invite_code and enrolment.invite_expires_at
        return Enrolled(enrolment.id or 0, person.id or 0, enrolment.invite_code,
                        enrolment.invite_expires_at, coach)
