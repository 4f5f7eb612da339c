"""Enrolling a client: the person, their coach and an invite code, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from conversations.journey import is_open
from services import keys
from services.client_context import begin_flow
from services.unit_of_work import Runtime
from storage import enrolments, people


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


def refuse_taken_address(rt: Runtime, *, channel: str, address: str) -> None:
    """Refuse an address that reaches a client still in a program."""
    # Binding it to a new client would silently move it (and their check-ins) away.
    with rt.reading() as session:
        found = enrolments.enrolment_at(session, channel=channel, address=address)
    if found is not None and is_open(found[0].status):
        raise EnrolError(f"{address} already belongs to a client in a program "
                         f"(enrolment #{found[0].id}, {found[0].status}); erase or finish "
                         "that enrolment first, or enrol with another id")


def check_zone(zone: str) -> str:
    """The zone if it is a real IANA zone; a clear error otherwise."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise EnrolError(f"'{zone}' is not an IANA time zone, e.g. Europe/Berlin") from None
    return zone


def enrol_client(rt: Runtime, *, program_id: str, name: str, zone: str,
                 coach: str | None = None) -> Enrolled:
    """Create a client enrolled in `program_id`; an unknown coach name is added as a coach."""
    if program_id not in rt.programs:
        known = ", ".join(sorted(rt.programs))
        raise EnrolError(f"no program '{program_id}' (loaded: {known})")
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise EnrolError("give the client's name (up to 200 characters)")
    check_zone(zone)
    with rt.transaction() as uow:
        s, now = uow.session, uow.now
        coach_id = None
        if coach:
            found = people.person_named(s, coach, role="coach") or people.add_person(
                s, name=coach, role="coach", timezone=zone, now=now)
            coach_id = found.id
        person = people.add_person(s, name=name, role="client", timezone=zone, now=now)
        enrolment = enrolments.enrol(
            s, person_id=person.id or 0, program=rt.program(program_id),
            coach_id=coach_id, now=now, invite_ttl=timedelta(days=rt.invite_ttl_days))
        assert enrolment.invite_code and enrolment.invite_expires_at
        return Enrolled(enrolment.id or 0, person.id or 0, enrolment.invite_code,
                        enrolment.invite_expires_at, coach)


def join_directly(rt: Runtime, enrolled: Enrolled, *, channel: str, address: str) -> int:
    """Bind a chat to an enrolment without an invite message and open the intake there.

    For channels where the bot reaches the client first (the console, a Slack DM).
    Returns how many messages were queued.
    """
    with rt.transaction() as uow:
        enrolment = enrolments.redeem_invite(uow.session, enrolled.code, now=uow.now)
        if enrolment is None:
            return 0
        people.bind_identity(uow.session, person_id=enrolment.person_id, channel=channel,
                             address=address)
        program = rt.program(enrolment.program_id)
        replies = begin_flow(uow.session, program, enrolment, program.intake_flow.id, uow.now,
                             version=rt.catalog.version_id(enrolment.program_id))
        return uow.queue_to_person(enrolment.person_id, keys.joined(enrolment.id or 0),
                                   replies)


def is_bound(rt: Runtime, *, channel: str, address: str) -> bool:
    """Whether a chat address already belongs to someone."""
    with rt.reading() as session:
        return people.identity_at(session, channel=channel, address=address) is not None
