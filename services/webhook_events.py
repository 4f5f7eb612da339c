"""Webhook deliveries: each sender's event handled once, a replayed request refused.

A sender that retries signs again (Stripe, Calendly: a new timestamp), so a retry is a
duplicate event id and changes nothing; the very same signature seen twice is someone
replaying a captured request, and is refused. Both are recorded in the transaction that
handles the event, so a failure leaves the sender free to deliver it again.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.unit_of_work import Runtime, UnitOfWork
from storage import dedupe


class Replayed(Exception):
    """This exact signed request was accepted before."""


@dataclass(frozen=True)
class Delivery:
    """One signed request from a sender, as its adapter verified it."""

    source: str  # stripe | calcom | calendly
    event_id: str
    signature: str  # a digest of the signature header: unique per signed request


def first_time(uow: UnitOfWork, delivery: Delivery) -> bool:
    """True when the event is new; False for a retry. Raise `Replayed` for a replay."""
    if not dedupe.first_delivery(uow.session, channel=f"{delivery.source}:sig",
                                  event_id=delivery.signature, now=uow.now):
        raise Replayed(delivery.source)
    return dedupe.first_delivery(uow.session, channel=delivery.source,
                                  event_id=delivery.event_id, now=uow.now)


def acknowledge(runtime: Runtime, delivery: Delivery) -> str:
    """An event nobody acts on: recorded all the same, so its replay is refused too."""
    with runtime.transaction() as uow:
        first_time(uow, delivery)
    return "ignored"
