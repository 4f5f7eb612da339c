"""Whole dialogues through the real handler and storage, as tables of (client types, bot says)."""

from __future__ import annotations

from tests.conftest import INTAKE


def test_client_joins_gives_consent_answers_intake_then_does_first_checkin(enrol):
    client = enrol("Ana Lima")
    assert "welcome to Grow" in client.received[0].text
    assert "Are you happy to go ahead" in client.last.text
    dialogue = [
        ("yes", "In your own words"),
        ("Double my revenue", "monthly revenue today"),
        ("12,000", "How confident are you"),
        ("6", "How many hours"),
        ("10", "first coaching session"),
        ("/skip", "first weekly check-in is ready"),
        ("/checkin", "How confident do you feel"),
        ("3/10", "What got in the way"),
        ("clients went quiet", "What revenue"),
        ("€2,500", "Did you do the outreach"),
        ("yeah", "Where will you put"),
        ("1", "Anything you'd like your coach to know"),
        ("/skip", "Thanks, Ana!"),
    ]
    for typed, expected in dialogue:
        replies = client.says(typed)
        assert any(expected in r for r in replies), (typed, replies)


def test_intake_completes_in_the_sample_order(enrol):
    client = enrol()
    for typed in INTAKE:
        client.says(typed)
    assert "/checkin" in client.last.text
