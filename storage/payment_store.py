"""Stripe payments: found by whichever Stripe id an event carries, created by the first."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, or_, select

from storage.models import Payment


def payment_for(session: Session, *, checkout_session_id: str | None = None,
                payment_intent_id: str | None = None,
                subscription_id: str | None = None) -> Payment | None:
    """The payment known by any of these ids (locked), oldest first when several match."""
    tests = []
    if checkout_session_id:
        tests.append(col(Payment.checkout_session_id) == checkout_session_id)
    if payment_intent_id:
        tests.append(col(Payment.payment_intent_id) == payment_intent_id)
    if subscription_id:
        tests.append(col(Payment.subscription_id) == subscription_id)
    if not tests:
        return None
    return session.exec(select(Payment).where(or_(*tests)).order_by(col(Payment.id))
                        .with_for_update()).first()


def new_payment(session: Session, *, status: str, now: datetime, **ids: str | None) -> Payment:
    """A payment first heard of now (by a checkout, or by a refund that came first)."""
    payment = Payment(status=status, created_at=now, updated_at=now, **ids)
    session.add(payment)
    session.flush()
    return payment


def update(session: Session, payment: Payment, *, now: datetime, **values: object) -> Payment:
    """Change a payment's fields (ids learnt later, its status, its enrolment)."""
    for name, value in values.items():
        setattr(payment, name, value)
    payment.updated_at = now
    session.add(payment)
    session.flush()
    return payment


def paid_enrolment(session: Session, checkout_session_id: str) -> Payment | None:
    """The payment of a checkout session, if it enrolled someone."""
    return session.exec(select(Payment).where(
        Payment.checkout_session_id == checkout_session_id,
        col(Payment.enrolment_id).is_not(None))).first()


def payments_of(session: Session, enrolment_ids: list[int]) -> list[Payment]:
    """Every payment that enrolled one of these enrolments."""
    if not enrolment_ids:
        return []
    return list(session.exec(select(Payment).where(col(Payment.enrolment_id).in_(enrolment_ids))
                             .order_by(col(Payment.id))))
