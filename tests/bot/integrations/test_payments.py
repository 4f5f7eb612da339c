"""Stories of a client who pays: Stripe's event enrols them, /join takes them into the chat,
refunds and cancellations end or pause what they paid for, and nothing unsigned gets in."""

from __future__ import annotations

import json
import time

from sqlmodel import func, select

from storage.db import session
from storage.models import Enrolment, InboundEvent, Payment, Person
from tests.bot.integrations.conftest import GROW_PRICE, team_posts
from tests.bot.integrations.senders import checkout, post_stripe, stripe_event, stripe_signature

CONSENT = "Are you happy to go ahead on that basis?"


def _enrolments(app) -> list[tuple[str, str, str]]:
    with session(app.db) as s:
        rows = s.exec(select(Enrolment, Person).join(Person, Person.id == Enrolment.person_id)
                      .order_by(Enrolment.id))
        return [(p.name, e.program_id, e.status) for e, p in rows]


def _stored(app) -> tuple[int, int, int]:
    with session(app.db) as s:
        return tuple(s.exec(select(func.count()).select_from(model)).one()
                     for model in (Enrolment, Payment, InboundEvent))


def test_a_client_pays_opens_join_and_is_asked_the_first_intake_question(
        app, http, stripe_api, run_bot, telegram_user):
    run_bot()
    stripe_api.sells("cs_test_ana", GROW_PRICE)

    paid = post_stripe(http.url, stripe_event("checkout.session.completed",
                                              checkout("cs_test_ana")))
    assert (paid.status, paid.body["outcome"]) == (200, "enrolled")
    assert _enrolments(app) == [("Ana Lima", "business_12w", "invited")]

    joining = http.get("/join/cs_test_ana")
    assert joining.status == 303
    link = joining.headers["Location"]
    assert link.startswith("https://t.me/coachbot_test_bot?start=")

    # Telegram opens the chat and sends /start with the code of the link.
    ana = telegram_user(4242)
    replies = ana.sends("/start " + link.split("start=")[1])
    assert CONSENT in replies[-1]
    with session(app.db) as s:
        person = s.exec(select(Person).where(Person.name == "Ana Lima")).one()
    assert (person.email, person.timezone) == ("ana.lima@example.com", "Europe/Berlin")
    # Her coach is not in Slack yet, so the team hears of the new client.
    assert any("Ana Lima paid for Grow" in post for post in team_posts(app))


def test_the_booking_link_reaches_the_client_when_the_intake_is_done(
        app, http, stripe_api, run_bot, telegram_user):
    run_bot()
    stripe_api.sells("cs_test_ana", GROW_PRICE)
    post_stripe(http.url, stripe_event("checkout.session.completed", checkout("cs_test_ana")))
    code = http.get("/join/cs_test_ana").headers["Location"].split("start=")[1]
    ana = telegram_user(4242)
    ana.sends(f"/start {code}")
    ana.presses("Yes")
    for answer in ("Double my revenue", "12000"):
        ana.sends(answer)
    ana.presses("6")
    ana.sends("10")
    replies = ana.sends("/skip")
    assert any("Book your first session here: https://cal.com/casey/coaching" in r
               for r in replies)


def test_stripe_retries_change_nothing_and_a_replayed_request_is_refused(app, http, stripe_api):
    stripe_api.sells("cs_test_ana", GROW_PRICE)
    event = stripe_event("checkout.session.completed", checkout("cs_test_ana"))
    payload = json.dumps(event)
    signed_at = int(time.time()) - 2  # the retry below is signed a second later, never the same
    signature = stripe_signature(payload, at=signed_at)

    assert post_stripe(http.url, event, payload=payload, signature=signature).status == 200
    # Stripe's retry signs again (a new timestamp): a duplicate, answered 200.
    retried = post_stripe(http.url, event, signature=stripe_signature(payload,
                                                                      at=signed_at + 1),
                          payload=payload)
    assert (retried.status, retried.body["outcome"]) == (200, "duplicate")
    # The very same signed request again is someone replaying it.
    replayed = post_stripe(http.url, event, payload=payload, signature=signature)
    assert (replayed.status, replayed.error["code"]) == (400, "replayed")
    assert _enrolments(app) == [("Ana Lima", "business_12w", "invited")]


def test_unsigned_forged_and_stale_events_are_refused_and_nothing_is_stored(app, http):
    event = stripe_event("checkout.session.completed", checkout("cs_test_mallory"))
    payload = json.dumps(event)
    forged = stripe_signature(payload, secret="whsec_someone_else")
    stale = stripe_signature(payload, at=int(time.time()) - 3600)

    for signature in ("", forged, stale, "t=abc,v1=zz"):
        answer = post_stripe(http.url, event, payload=payload, signature=signature)
        assert (answer.status, answer.error["code"]) == (401, "bad_signature")
    # Signed, but the body was changed on the way.
    tampered = post_stripe(http.url, event, payload=payload.replace("mallory", "mal"),
                           signature=stripe_signature(payload))
    assert tampered.status == 401
    assert _stored(app) == (0, 0, 0)


def test_an_oversized_body_is_refused_before_it_is_read(app, http):
    answer = http.post("/hooks/stripe", b"{" + b" " * 300_000 + b"}",
                       {"Content-Type": "application/json", "Stripe-Signature": "t=1,v1=0"})
    assert (answer.status, answer.error["code"]) == (413, "too_large")
    assert _stored(app) == (0, 0, 0)


def test_a_payment_for_a_price_no_program_claims_is_kept_and_the_team_told(
        app, http, stripe_api):
    stripe_api.sells("cs_test_other", "price_something_else")
    answer = post_stripe(http.url, stripe_event("checkout.session.completed",
                                                checkout("cs_test_other")))
    # 200, or Stripe would retry it for days; the payment is stored as unmatched.
    assert (answer.status, answer.body["outcome"]) == (200, "unmatched")
    with session(app.db) as s:
        payment = s.exec(select(Payment)).one()
    assert (payment.status, payment.price_id, payment.enrolment_id) == (
        "unmatched", "price_something_else", None)
    assert _enrolments(app) == []
    [post] = team_posts(app)
    assert "price_something_else" in post and "no program's offer has that price" in post


def test_a_full_refund_ends_the_enrolment_and_the_team_hears(app, http, stripe_api):
    stripe_api.sells("cs_test_ana", GROW_PRICE)
    post_stripe(http.url, stripe_event("checkout.session.completed", checkout("cs_test_ana")))
    refund = stripe_event("charge.refunded", {"id": "ch_1", "object": "charge",
                                              "payment_intent": "pi_cs_test_ana",
                                              "refunded": True, "amount_refunded": 120000})
    answer = post_stripe(http.url, refund)
    assert (answer.status, answer.body["outcome"]) == (200, "ended")
    assert _enrolments(app) == [("Ana Lima", "business_12w", "dropped")]
    assert any("Ana Lima was refunded for Grow" in p and "has ended" in p for p in team_posts(app))


def test_a_partial_refund_leaves_the_enrolment_running(app, http, stripe_api):
    stripe_api.sells("cs_test_ana", GROW_PRICE)
    post_stripe(http.url, stripe_event("checkout.session.completed", checkout("cs_test_ana")))
    post_stripe(http.url, stripe_event("charge.refunded", {
        "id": "ch_1", "object": "charge", "payment_intent": "pi_cs_test_ana",
        "refunded": False, "amount_refunded": 20000}))
    assert _enrolments(app) == [("Ana Lima", "business_12w", "invited")]
    assert any("partly refunded" in p and "unchanged" in p for p in team_posts(app))


def test_a_cancelled_subscription_pauses_the_enrolment_as_the_program_says(
        app, http, stripe_api):
    stripe_api.sells("cs_test_ana", GROW_PRICE)
    post_stripe(http.url, stripe_event("checkout.session.completed",
                                       checkout("cs_test_ana", mode="subscription")))
    post_stripe(http.url, stripe_event("customer.subscription.deleted", {
        "id": "sub_cs_test_ana", "object": "subscription", "status": "canceled"}))
    assert _enrolments(app) == [("Ana Lima", "business_12w", "paused")]


def test_a_refund_heard_before_its_checkout_means_nobody_is_enrolled(app, http, stripe_api):
    stripe_api.sells("cs_test_ana", GROW_PRICE)
    post_stripe(http.url, stripe_event("charge.refunded", {
        "id": "ch_1", "object": "charge", "payment_intent": "pi_cs_test_ana",
        "refunded": True}))
    late = post_stripe(http.url, stripe_event("checkout.session.completed",
                                              checkout("cs_test_ana")))
    assert (late.status, late.body["outcome"]) == (200, "ended")
    assert _enrolments(app) == []


def test_without_a_zone_from_the_payment_join_asks_the_browser_first(app, http, stripe_api,
                                                                     telegram_api):
    stripe_api.sells("cs_test_ben", GROW_PRICE)
    post_stripe(http.url, stripe_event("checkout.session.completed",
                                       checkout("cs_test_ben", name="Ben Okoro",
                                                email="ben@example.com", zone=None)))
    page = http.get("/join/cs_test_ben")
    assert page.status == 200 and "resolvedOptions().timeZone" in page.body
    # The page's script comes back with the browser's zone.
    assert http.get("/join/cs_test_ben?tz=America/New_York").status == 303
    with session(app.db) as s:
        ben = s.exec(select(Person).where(Person.email == "ben@example.com")).one()
    assert ben.timezone == "America/New_York"


def test_join_before_stripe_told_us_waits_and_looks_again(http):
    page = http.get("/join/cs_test_not_yet")
    assert page.status == 404 and 'http-equiv="refresh"' in page.body


def test_health_and_readiness(http):
    assert http.get("/healthz").body == {"ok": True}
    ready = http.get("/readyz")
    assert (ready.status, ready.body["database"]) == (200, "reachable")


def test_paying_twice_for_the_same_program_enrols_once_and_a_refund_of_the_second_is_harmless(
        app, http, stripe_api):
    for session_id in ("cs_test_first", "cs_test_second"):
        stripe_api.sells(session_id, GROW_PRICE)
        post_stripe(http.url, stripe_event("checkout.session.completed", checkout(session_id)))
    assert _enrolments(app) == [("Ana Lima", "business_12w", "invited")]
    assert any("paid for Grow: 12-week business coaching again" in p for p in team_posts(app))
    # The second payment's /join leads to the same invite.
    first = http.get("/join/cs_test_first").headers["Location"]
    assert http.get("/join/cs_test_second").headers["Location"] == first
    post_stripe(http.url, stripe_event("charge.refunded", {
        "id": "ch_2", "object": "charge", "payment_intent": "pi_cs_test_second",
        "refunded": True}))
    assert _enrolments(app) == [("Ana Lima", "business_12w", "invited")]
