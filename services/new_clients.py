"""New clients from outside the chat (a payment, the HTTP API): a person with an email,
enrolled in a program with a single-use invite code, in the caller's transaction."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from conversations.journey import is_open
from conversations.program import Program
from services.unit_of_work import Runtime, UnitOfWork
from storage import enrolments, people
from storage.models import Enrolment, Person

# Deliberately loose: the address came from a payment form or a CRM that checked it; this
# only keeps out what is plainly not one (spaces, no @, no dot in the domain).
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


class ClientError(ValueError):
    """A clear reason the client cannot be created; `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def clean_email(email: str | None) -> str | None:
    """The address lower-cased, None when absent; ClientError when it is not one."""
    if email is None or not email.strip():
        return None
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ClientError("email", "not an email address")
    return email


def is_zone(zone: str | None) -> bool:
    """Whether `zone` is an IANA time zone such as Europe/Berlin."""
    if not zone or len(zone) > 64:
        return False
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def display_name(name: str | None, email: str | None) -> str:
    """The name as given, tidied; the email's local part when there is none."""
    cleaned = " ".join((name or "").split())[:200]
    if cleaned:
        return cleaned
    return (email or "client").split("@", 1)[0][:200] or "client"


def enrol_new(runtime: Runtime, uow: UnitOfWork, *, program: Program, name: str,
              email: str | None, zone: str, coach: str | None,
              person: Person | None = None) -> Enrolment:
    """Enrol a client (a new person unless `person` is given) with a fresh invite code.

    An unknown coach name is not invented: the client then has no coach and what concerns
    them goes to the team, who can assign one.
    """
    if not is_zone(zone):
        raise ClientError("timezone", f"'{zone}' is not an IANA time zone such as "
                          "'Europe/Berlin'")
    coach_id = None
    if coach:
        found = people.person_named(uow.session, coach, role="coach")
        coach_id = found.id if found else None
    if person is None:
        person = people.add_person(uow.session, name=name, role="client", timezone=zone,
                                   now=uow.now)
    if email and not person.email:
        person.email = email
        uow.session.add(person)
    return enrolments.enrol(uow.session, person_id=person.id or 0, program=program,
                            coach_id=coach_id, now=uow.now,
                            invite_ttl=timedelta(days=runtime.invite_ttl_days))


def open_enrolment(uow: UnitOfWork, person_id: int) -> Enrolment | None:
    """The person's latest enrolment while it is still running."""
    latest = enrolments.current_enrolment(uow.session, person_id, lock=True)
    return latest if latest is not None and is_open(latest.status) else None
