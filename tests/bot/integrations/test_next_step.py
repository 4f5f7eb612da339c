"""Stories of the next step: a client who finishes Grow is offered Mastermind with a
button; a yes enrols them (or sends the payment link when it has a price)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from services import report
from storage.db import session
from storage.models import Enrolment, NextOffer, Person
from tests.bot.integrations.conftest import MASTERMIND_PRICE, team_posts
from tests.bot.integrations.senders import checkout, post_stripe, stripe_event
from tests.conftest import Client
from tests.scheduler.conftest import onboarded, seen_of

OFFER = "You've done the work, Ana. Keep going with Mastermind?"


def _into_the_final_week(app, client: Client, clock) -> None:
    """Fast-forward Ana's journey: her final review week ends within the day."""
    with session(app.db) as s, s.begin():
        enrolment = s.get(Enrolment, client.enrolled.enrolment_id)
        enrolment.stage = "review"
        enrolment.stage_started_at = clock.now() - timedelta(days=7) + timedelta(hours=1)


def _enrolments(app) -> list[tuple[str, str]]:
    with session(app.db) as s:
        return [(e.program_id, e.status) for e in s.exec(select(Enrolment)
                                                         .order_by(Enrolment.id))]


def test_graduation_offers_the_next_program_and_a_yes_enrols_the_client_in_it(
        app, enrol, clock, travel):
    ana = onboarded(enrol)
    _into_the_final_week(app, ana, clock)
    travel(timedelta(days=1), ana, step=timedelta(minutes=30))

    texts = [seen.text for seen in seen_of(ana)]
    graduated = next(i for i, t in enumerate(texts) if "you've graduated" in t)
    assert texts[graduated + 1] == OFFER
    assert [b.label for b in ana.last.buttons] == ["Yes, I'm in", "No, thanks"]

    replies = ana.presses("yes")
    assert replies[0] == "Wonderful, you're in Mastermind!"
    assert "Are you happy to go ahead on that basis?" in replies[-1]  # its intake begins
    assert _enrolments(app) == [("business_12w", "graduated"), ("mastermind", "consent")]
    assert any("Ana Lima said yes to Mastermind" in post for post in team_posts(app))
    # The program report (and so the quarterly review) counts who took the next step.
    [grow] = [row for row in report.build(app.rt, program_id="business_12w")
              if row.cohort == report.ALL]
    assert (grow.next_offered, grow.next_taken) == (1, 1)


def test_a_no_is_recorded_and_the_offer_is_not_made_again(app, enrol, clock, travel):
    ana = onboarded(enrol)
    _into_the_final_week(app, ana, clock)
    travel(timedelta(days=1), ana, step=timedelta(minutes=30))
    assert ana.presses("no") == ["No problem. If you change your mind, tell your coach."]
    assert ana.presses("yes", question="next_offer") == [
        "That offer is no longer open. Ask your coach about what comes next."]
    with session(app.db) as s:
        assert s.exec(select(NextOffer.answer)).all() == ["no"]
    assert _enrolments(app) == [("business_12w", "graduated")]


def test_a_glowing_final_review_brings_the_offer_at_once(app, enrol, clock, travel):
    ana = onboarded(enrol)
    _into_the_final_week(app, ana, clock)
    with session(app.db) as s, s.begin():
        # The review has just begun: the final review arrives now.
        enrolment = s.get(Enrolment, ana.enrolled.enrolment_id)
        enrolment.stage_started_at = clock.now()
    travel(timedelta(hours=4), ana, step=timedelta(minutes=30))
    assert any("Let's look back" in seen.text for seen in seen_of(ana))
    ana.says("fully")
    ana.says("25000")
    ana.says("10")
    replies = ana.says("/skip")
    assert replies[-1] == OFFER


@pytest.mark.parametrize("mastermind_priced", [True])
def test_a_yes_to_a_priced_program_sends_its_payment_link_and_paying_enrols(
        app, enrol, clock, travel, http, stripe_api, mastermind_priced):
    ana = onboarded(enrol)
    with session(app.db) as s, s.begin():
        s.get(Person, ana.enrolled.person_id).email = "ana.lima@example.com"
    _into_the_final_week(app, ana, clock)
    travel(timedelta(days=1), ana, step=timedelta(minutes=30))
    [reply] = ana.presses("yes")
    previous = ana.enrolled.enrolment_id
    assert reply == ("Wonderful! Join Mastermind here: https://buy.stripe.com/test_mastermind"
                     f"?client_reference_id=next-{previous}"
                     "&prefilled_email=ana.lima%40example.com")

    stripe_api.sells("cs_test_next", MASTERMIND_PRICE)
    paid = post_stripe(http.url, stripe_event("checkout.session.completed", checkout(
        "cs_test_next", reference=f"next-{previous}")))
    assert paid.body["outcome"] == "enrolled"
    # The same Ana, already in the chat: enrolled and past the invite.
    assert _enrolments(app) == [("business_12w", "graduated"), ("mastermind", "consent")]
    with session(app.db) as s:
        made = s.exec(select(NextOffer)).one()
        assert (made.answer, made.next_enrolment_id is not None) == ("yes", True)
        assert len(s.exec(select(Person).where(Person.role == "client")).all()) == 1
