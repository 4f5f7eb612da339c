"""Coaches and team members: people with a Slack user id, a role, a time zone and a backup."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from conversations.translations import SUPPORTED_LANGUAGES, supported_language
from storage import people
from storage.models import Identity, Person

# A program owner gets the quarterly review (`coachbot review --to-slack`).
STAFF_ROLES = ("coach", "team", "program_owner")
SLACK = "slack"


class StaffError(ValueError):
    """A clear reason a staff member cannot be added."""


def add_staff(session: Session, *, name: str, slack_id: str, role: str, timezone: str,
              now: datetime, backup: str | None = None,
              digest_time: str | None = None, checkin_channel: str | None = None,
              language: str | None = None) -> Person:
    """Add (or update) a coach or team member reached at `slack_id`.

    An existing person of that role and name is updated rather than duplicated, so running
    the command twice is harmless; the backup must already be listed. `digest_time`
    (HH:MM, their zone) is when a coach wants the digest, `checkin_channel` the channel id
    their check-in cards go to (else their DM), `language` what the bot writes them in (a
    supported BCP 47 tag); None keeps what they had.
    """
    if language is not None:
        chosen = supported_language(language)
        if chosen is None:
            raise StaffError(f"'{language}' is not a supported language; use one of "
                             f"{', '.join(SUPPORTED_LANGUAGES)}")
        language = chosen
    if role not in STAFF_ROLES:
        raise StaffError(f"role must be one of {', '.join(STAFF_ROLES)}, not '{role}'")
    if digest_time is not None:
        try:
            digest_time = datetime.strptime(digest_time.strip(), "%H:%M").strftime("%H:%M")
        except ValueError:
            raise StaffError(f"'{digest_time}' is not a time like 08:00") from None
    if checkin_channel is not None and not re.fullmatch(r"[CG][A-Z0-9]{2,}", checkin_channel):
        raise StaffError(f"'{checkin_channel}' is not a Slack channel id like C0123ABC "
                         "(the channel's id, from its details, not its name)")
    backup_person = None
    if backup:
        backup_person = staff_named(session, backup)
        if backup_person is None:
            raise StaffError(f"no coach or team member named '{backup}': add them first")
    person = people.person_named(session, name, role=role)
    if person is None:
        person = people.add_person(session, name=name, role=role, timezone=timezone, now=now)
    person.timezone = timezone
    person.backup_id = backup_person.id if backup_person else person.backup_id
    person.digest_time = digest_time or person.digest_time
    person.checkin_channel = checkin_channel or person.checkin_channel
    person.language = language or person.language
    session.add(person)
    people.bind_identity(session, person_id=person.id or 0, channel=SLACK, address=slack_id)
    return person


def staff_named(session: Session, name: str) -> Person | None:
    """The coach, team member or program owner with this name (case-insensitive)."""
    for role in STAFF_ROLES:
        found = people.person_named(session, name, role=role)
        if found is not None:
            return found
    return None


def staff_at(session: Session, slack_id: str) -> Person | None:
    """The coach or team member behind a Slack user id; None for clients and strangers."""
    return session.exec(
        select(Person).join(Identity, col(Identity.person_id) == col(Person.id))
        .where(Identity.channel == SLACK, Identity.address == slack_id,
               col(Person.role).in_(STAFF_ROLES))).first()


def slack_id_of(session: Session, person_id: int | None) -> str | None:
    """A person's Slack user id, if they have one."""
    if person_id is None:
        return None
    return session.exec(_slack_id_statement(), params={"person_id": person_id}).first()


@cache
def _slack_id_statement():
    # Built once: every completed check-in's card asks (the inbound hot path).
    return select(Identity.address).where(Identity.person_id == bindparam("person_id"),
                                          Identity.channel == SLACK)


def coaches(session: Session) -> list[Person]:
    """Every coach with a Slack identity (the people who get a digest)."""
    return list(session.exec(
        select(Person).join(Identity, col(Identity.person_id) == col(Person.id))
        .where(Identity.channel == SLACK, Person.role == "coach").order_by(col(Person.id))))


def first_of_role(session: Session, role: str) -> Person | None:
    """The first person listed with `role` (a program has one program owner)."""
    return session.exec(select(Person).where(Person.role == role)
                        .order_by(col(Person.id))).first()


def in_slack(session: Session, role: str) -> list[tuple[str, str]]:
    """(name, Slack user id) of everyone of a role who is in Slack, first listed first."""
    return [(name, address) for name, address in session.exec(
        select(Person.name, Identity.address)
        .join(Identity, col(Identity.person_id) == col(Person.id))
        .where(Identity.channel == SLACK, Person.role == role).order_by(col(Person.id)))]
