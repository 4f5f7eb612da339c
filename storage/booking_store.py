"""Bookings from scheduling tools and the coaching sessions they make, move and cancel."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import Booking, CoachingSession


def booking_of(session: Session, source: str, external_id: str) -> Booking | None:
    """The booking a tool knows by `external_id` (locked), if we heard of it."""
    return session.exec(select(Booking).where(Booking.source == source,
                                              Booking.external_id == external_id)
                        .with_for_update()).first()


def record(session: Session, *, source: str, external_id: str, status: str, now: datetime,
           email: str | None = None, starts_at: datetime | None = None,
           session_id: int | None = None, enrolment_id: int | None = None) -> Booking:
    """A booking first heard of now."""
    booking = Booking(source=source, external_id=external_id[:255], email=email,
                      starts_at=starts_at, status=status, session_id=session_id,
                      enrolment_id=enrolment_id, created_at=now, updated_at=now)
    session.add(booking)
    session.flush()
    return booking


def set_status(session: Session, booking: Booking, status: str, *, now: datetime) -> None:
    """Change what became of a booking."""
    booking.status = status
    booking.updated_at = now
    session.add(booking)
    session.flush()


def coaching_session(session: Session, session_id: int | None) -> CoachingSession | None:
    """A booked coaching session by id."""
    return session.get(CoachingSession, session_id) if session_id else None


def move_session(session: Session, booked: CoachingSession, at: datetime) -> None:
    """The session now takes place at `at` (its prep and follow-up are replanned from it)."""
    booked.at = at
    session.add(booked)
    session.flush()


def cancel_session(session: Session, booked: CoachingSession, *, now: datetime) -> None:
    """The session will not take place; planning drops its prep and follow-up."""
    booked.cancelled_at = now
    session.add(booked)
    session.flush()


def bookings_of(session: Session, enrolment_ids: list[int]) -> list[Booking]:
    """The bookings that made sessions of these enrolments."""
    if not enrolment_ids:
        return []
    return list(session.exec(select(Booking).where(col(Booking.enrolment_id).in_(enrolment_ids))
                             .order_by(col(Booking.id))))
