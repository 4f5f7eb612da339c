"""People and the channel identities they are reached on."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from storage.models import Identity, Person


def add_person(session: Session, *, name: str, role: str, timezone: str,
               now: datetime) -> Person:
    """Create a client, coach or team member."""
    person = Person(name=name, role=role, timezone=timezone, created_at=now)
    session.add(person)
    session.flush()
    return person


def person_named(session: Session, name: str, *, role: str | None = None) -> Person | None:
    """The person with exactly this name (case-insensitive), if any."""
    query = select(Person).where(Person.name.ilike(name))  # type: ignore[attr-defined]
    if role is not None:
        query = query.where(Person.role == role)
    return session.exec(query.order_by(Person.id)).first()


def bind_identity(session: Session, *, person_id: int, channel: str, address: str) -> Identity:
    """Attach a channel address to a person (moving it if it belonged to someone else)."""
    identity = identity_at(session, channel=channel, address=address)
    if identity is None:
        identity = Identity(person_id=person_id, channel=channel, address=address)
    identity.person_id = person_id
    identity.unreachable_since = None
    session.add(identity)
    session.flush()
    return identity


def identity_at(session: Session, *, channel: str, address: str) -> Identity | None:
    """Who is behind this channel address, if anyone."""
    return session.exec(
        select(Identity).where(Identity.channel == channel, Identity.address == address)
    ).first()


@cache
def _identities_statement():
    # Built once with a bind parameter: every queued message asks it (the tick's hot path).
    return select(Identity).where(Identity.person_id == bindparam("person_id"))


def identities_of(session: Session, person_id: int) -> list[Identity]:
    """Every channel address of a person."""
    return list(session.exec(_identities_statement(), params={"person_id": person_id}))


def identities_of_many(session: Session, person_ids: set[int]) -> dict[int, list[Identity]]:
    """Every channel address of each of these people, in one query (a tick's batch)."""
    found: dict[int, list[Identity]] = {person_id: [] for person_id in person_ids}
    if person_ids:
        for identity in session.exec(select(Identity).where(
                col(Identity.person_id).in_(person_ids)).order_by(col(Identity.id))):
            found[identity.person_id].append(identity)
    return found


def mark_reachable(session: Session, *, channel: str, address: str) -> None:
    """Someone who wrote to the bot from this address can be reached there again."""
    session.execute(update(Identity).where(
        col(Identity.channel) == channel, col(Identity.address) == address,
        col(Identity.unreachable_since).is_not(None)).values(unreachable_since=None))


def client_with_email(session: Session, email: str) -> Person | None:
    """The client with this email (stored lower-cased), the newest when several share it."""
    return session.exec(select(Person).where(Person.email == email.strip().lower(),
                                             Person.role == "client")
                        .order_by(Person.id.desc())).first()  # type: ignore[union-attr]
