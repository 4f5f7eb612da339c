"""Payments enrol clients: a paid checkout for a program's price creates the client and the
enrolment; a refund or a cancelled subscription ends or pauses it, as the program says.

Stripe sends events in any order and retries them: every event is handled once (its id),
and each one finds the payment by whichever Stripe id it carries, so a refund that arrives
before its checkout is kept and the checkout then enrols nobody.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from conversations.journey import has_joined, is_open
from conversations.program import Ending, Offer, Program
from scheduler.replanning import replan
from services import keys, notices
from services.new_clients import ClientError, clean_email, display_name, enrol_new, is_zone
from services.unit_of_work import Runtime, UnitOfWork
from services.webhook_events import Delivery, first_time
from storage import audit, enrolments, next_offers, people
from storage import payment_store as payments
from storage.models import Enrolment, Payment, Person

log = logging.getLogger("coachbot.services.payments")

Outcome = Literal["enrolled", "duplicate", "unmatched", "ended", "recorded"]
# A client reference of this form pays for the next program offered to an enrolment.
NEXT_REFERENCE = "next-"


@dataclass(frozen=True)
class Checkout:
    """A completed, paid checkout, in our words."""

    session_id: str
    price_ids: tuple[str, ...]
    email: str | None = None
    name: str | None = None
    zone: str | None = None
    payment_intent_id: str | None = None
    subscription_id: str | None = None
    client_reference: str | None = None


@dataclass(frozen=True)
class JoinTicket:
    """What the /join page needs to send a paying client into the chat."""

    enrolment_id: int
    code: str | None  # the invite code, while the client has not joined
    joined: bool
    zone_guessed: bool
    email: str | None
    program_name: str


def program_for(programs: Iterable[Program], price_ids: Iterable[str]) -> Program | None:
    """The program whose offer has one of these prices (validated to be at most one)."""
    wanted = set(price_ids)
    return next((p for p in programs if p.offer and p.offer.stripe_price in wanted), None)


def checkout_completed(runtime: Runtime, delivery: Delivery, checkout: Checkout) -> Outcome:
    """Enrol whoever paid, in the program that claims the price; tell their coach."""
    with runtime.transaction() as uow:
        if not first_time(uow, delivery):
            return "duplicate"
        payment = payments.payment_for(uow.session, checkout_session_id=checkout.session_id,
                                       payment_intent_id=checkout.payment_intent_id,
                                       subscription_id=checkout.subscription_id)
        if payment is not None and payment.enrolment_id is not None:
            return "duplicate"  # the same checkout, by another event type
        program = program_for(runtime.programs.values(), checkout.price_ids)
        try:
            email = clean_email(checkout.email)
        except ClientError:
            email = None
        ids = {"checkout_session_id": checkout.session_id,
               "payment_intent_id": checkout.payment_intent_id,
               "subscription_id": checkout.subscription_id, "email": email,
               "price_id": (program.offer.stripe_price if program and program.offer
                            else next(iter(checkout.price_ids), None))}
        if payment is None:
            payment = payments.new_payment(uow.session, status="received", now=uow.now, **ids)
        else:
            ended_first = payment.status in ("refunded", "cancelled")
            payments.update(uow.session, payment, now=uow.now, **ids)
            if ended_first:
                notices.tell_team(runtime, uow,
                                  key=keys.payment_notice(checkout.session_id, "ended"),
                                  text=f"A checkout by {email or 'an unknown email'} was "
                                  f"{payment.status} before it completed: nobody was enrolled.")
                return "ended"
        if program is None:
            return _unmatched(runtime, uow, payment, checkout, email)
        return _enrol(runtime, uow, payment, program, checkout, email)


def _unmatched(runtime: Runtime, uow: UnitOfWork, payment: Payment, checkout: Checkout,
               email: str | None) -> Outcome:
    payments.update(uow.session, payment, now=uow.now, status="unmatched")
    prices = ", ".join(checkout.price_ids) or "no price"
    key = keys.payment_notice(checkout.session_id, "unmatched")
    notices.tell_team(runtime, uow, key=key, text=(
        f"A payment came in for {prices} (by {email or 'an unknown email'}), but no "
        "program's offer has that price, so nobody was enrolled. Add "
        "`offer: {stripe_price: ...}` to the right program file, or enrol them with "
        "`coachbot enroll`."))
    log.warning("payment for a price no program claims checkout=%s", checkout.session_id)
    return "unmatched"


def _enrol(runtime: Runtime, uow: UnitOfWork, payment: Payment, program: Program,
           checkout: Checkout, email: str | None) -> Outcome:
    offered_from = _offered_from(uow, checkout.client_reference)
    person = (uow.session.get(Person, offered_from.person_id) if offered_from
              else people.client_with_email(uow.session, email) if email else None)
    zone = (checkout.zone if is_zone(checkout.zone) else
            person.timezone if person is not None else None)
    assert program.offer is not None
    running = _running_in(uow, person, program) if person is not None else None
    if running is not None:
        return _paid_again(runtime, uow, payment, program, running, checkout)
    enrolment = enrol_new(runtime, uow, program=program, person=person, email=email,
                          name=display_name(checkout.name, email), zone=zone or program.timezone,
                          coach=program.offer.coach)
    if person is not None and people.identities_of(uow.session, person.id or 0):
        # A returning client is already in a chat with us: no invite to pass on.
        enrolments.redeem_invite(uow.session, enrolment.invite_code or "", now=uow.now)
    if offered_from is not None:
        made = next_offers.offer_of(uow.session, offered_from.id or 0)
        if made is not None:
            next_offers.answer(uow.session, made, said="yes", now=uow.now,
                               next_enrolment_id=enrolment.id)
    payments.update(uow.session, payment, now=uow.now, status="enrolled",
                    program_id=program.id, enrolment_id=enrolment.id,
                    zone_guessed=zone is None)
    audit.record(uow.session, at=uow.now, actor="stripe", action="payment_enrolled",
                 enrolment_id=enrolment.id)
    client = uow.session.get(Person, enrolment.person_id)
    notices.tell_coach(runtime, uow, enrolment,
                       key=keys.payment_notice(checkout.session_id, "enrolled"),
                       text=f"{client.name if client else 'A new client'} paid for "
                       f"{program.name} and is enrolled. Their intake starts as soon as they "
                       "open the link on the payment page.")
    log.info("payment enrolled enrolment=%s program=%s", enrolment.id, program.id)
    return "enrolled"


def _running_in(uow: UnitOfWork, person: Person, program: Program) -> Enrolment | None:
    """The person's enrolment in `program` that is still running, if any."""
    latest = enrolments.current_enrolment(uow.session, person.id or 0, lock=True)
    return latest if latest is not None and latest.program_id == program.id \
        and is_open(latest.status) else None


def _paid_again(runtime: Runtime, uow: UnitOfWork, payment: Payment, program: Program,
                running: Enrolment, checkout: Checkout) -> Outcome:
    """A second payment for a program the client is in: no second enrolment. /join still
    leads to the one they have; a refund of this payment leaves it alone."""
    payments.update(uow.session, payment, now=uow.now, status="paid_again",
                    program_id=program.id, enrolment_id=running.id)
    client = uow.session.get(Person, running.person_id)
    notices.tell_coach(runtime, uow, running, key=keys.payment_notice(checkout.session_id, "again"),
                       text=f"{client.name if client else 'A client'} paid for "
                       f"{program.name} again while already enrolled in it; nothing changed. "
                       "Refund the second payment in Stripe if it was a mistake.")
    return "duplicate"


def _offered_from(uow: UnitOfWork, reference: str | None) -> Enrolment | None:
    """The enrolment whose next-step offer this checkout pays for, if it says so."""
    if not reference or not reference.startswith(NEXT_REFERENCE):
        return None
    number = reference.removeprefix(NEXT_REFERENCE)
    return uow.session.get(Enrolment, int(number)) if number.isdigit() else None


def refunded(runtime: Runtime, delivery: Delivery, *, payment_intent_id: str,
             fully: bool) -> Outcome:
    """A charge was refunded: in full, the enrolment ends or pauses; in part, the coach hears."""
    with runtime.transaction() as uow:
        if not first_time(uow, delivery):
            return "duplicate"
        status = "refunded" if fully else "partly_refunded"
        payment = payments.payment_for(uow.session, payment_intent_id=payment_intent_id)
        if payment is None:
            payments.new_payment(uow.session, status=status, now=uow.now,
                                 payment_intent_id=payment_intent_id)
            return "recorded"
        enrolled = payment.status == "enrolled"
        payments.update(uow.session, payment, now=uow.now, status=status)
        return _end(runtime, uow, payment, why="was refunded" if fully else "was partly refunded",
                    ending=(lambda offer: offer.on_refund) if fully and enrolled else None)


def subscription_cancelled(runtime: Runtime, delivery: Delivery, *,
                           subscription_id: str) -> Outcome:
    """A subscription ended: the enrolment it paid for ends or pauses, as the program says."""
    with runtime.transaction() as uow:
        if not first_time(uow, delivery):
            return "duplicate"
        payment = payments.payment_for(uow.session, subscription_id=subscription_id)
        if payment is None:
            payments.new_payment(uow.session, status="cancelled", now=uow.now,
                                 subscription_id=subscription_id)
            return "recorded"
        enrolled = payment.status == "enrolled"
        payments.update(uow.session, payment, now=uow.now, status="cancelled")
        return _end(runtime, uow, payment, why="cancelled their subscription",
                    ending=(lambda offer: offer.on_subscription_cancelled) if enrolled else None)


def _end(runtime: Runtime, uow: UnitOfWork, payment: Payment, *, why: str,
         ending: Callable[[Offer], Ending] | None) -> Outcome:
    enrolment = (uow.session.get(Enrolment, payment.enrolment_id, with_for_update=True)
                 if payment.enrolment_id else None)
    program = runtime.programs.get(enrolment.program_id) if enrolment else None
    if enrolment is None or program is None:
        return "recorded"
    client = uow.session.get(Person, enrolment.person_id)
    name = client.name if client else "A client"
    action: Ending | None = ending(program.offer) if ending and program.offer else None
    if action is None or not is_open(enrolment.status):
        text = f"{name} {why} for {program.name}; their enrolment is unchanged."
    else:
        enrolment.status = "dropped" if action == "end" else "paused"
        uow.session.add(enrolment)
        uow.session.flush()
        replan(uow.session, program, enrolment.id or 0, now=uow.now)
        done = "has ended" if action == "end" else "is paused (they can /resume)"
        text = f"{name} {why} for {program.name}: their enrolment {done}."
        audit.record(uow.session, at=uow.now, actor="stripe", action=f"payment_{action}",
                     enrolment_id=enrolment.id)
    notices.tell_coach(runtime, uow, enrolment, key=keys.payment_notice(payment.id, payment.status),
                       text=text)
    return "ended"


def join_ticket(runtime: Runtime, checkout_session_id: str, *,
                zone: str | None = None) -> JoinTicket | None:
    """The invite of the client a checkout enrolled; None for an unknown checkout.

    `zone`: what the client's browser says their time zone is, used when the checkout did
    not tell. An invite that expired before they came is renewed: they paid, so the link on
    the payment page keeps working until they have joined.
    """
    with runtime.transaction() as uow:
        payment = payments.paid_enrolment(uow.session, checkout_session_id[:255])
        enrolment = (uow.session.get(Enrolment, payment.enrolment_id, with_for_update=True)
                     if payment else None)
        person = uow.session.get(Person, enrolment.person_id) if enrolment else None
        program = runtime.programs.get(enrolment.program_id) if enrolment else None
        if payment is None or enrolment is None or person is None or program is None:
            return None
        if zone is not None and payment.zone_guessed:
            if is_zone(zone):
                person.timezone = zone
                uow.session.add(person)
            payments.update(uow.session, payment, now=uow.now, zone_guessed=False)
        if enrolment.status == "invited" and (
                enrolment.invite_code is None or enrolment.invite_expires_at is None
                or enrolment.invite_expires_at < uow.now):
            enrolment.invite_code = enrolments.new_invite_code()
            enrolment.invite_expires_at = uow.now + timedelta(days=runtime.invite_ttl_days)
            uow.session.add(enrolment)
        code = enrolment.invite_code if enrolment.status == "invited" else None
        return JoinTicket(enrolment_id=enrolment.id or 0, code=code,
                          joined=has_joined(enrolment.status),
                          zone_guessed=payment.zone_guessed, email=person.email,
                          program_name=program.name)
