"""Helpers for the decision tests: a client doing intake and weekly check-ins by chat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.composition import App
from storage.db import session
from storage.models import Escalation, OutboxMessage, RuleFiring
from tests.conftest import INTAKE, Client


def checkin(client: Client, *, confidence: int, revenue: int, outreach: str = "yes",
            blocker: str = "busy week") -> list[str]:
    """One check-in typed in full; the bot's replies."""
    said = client.says("/checkin")
    said += client.says(str(confidence))
    if confidence < 5:
        said += client.says(blocker)
    for text in (str(revenue), outreach, "sales", "/skip"):
        said += client.says(text)
    return said


def firings(app: App, rule_id: str) -> list[RuleFiring]:
    """Every firing of one rule, oldest first."""
    with session(app.db) as s:
        return list(s.exec(select(RuleFiring).where(RuleFiring.rule_id == rule_id)
                           .order_by(col(RuleFiring.id))))


def escalations(app: App) -> list[Escalation]:
    with session(app.db) as s:
        return list(s.exec(select(Escalation).order_by(col(Escalation.id))))


def queued_texts(app: App) -> list[str]:
    with session(app.db) as s:
        return [m.payload["text"] for m in s.exec(select(OutboxMessage)
                                                  .order_by(col(OutboxMessage.id)))]


@pytest.fixture
def client(enrol, clock) -> Client:
    """Ana, enrolled, intake done (confidence baseline 6, revenue 12000)."""
    ana = enrol("Ana Lima")
    for text in INTAKE:
        ana.says(text)
    clock.advance(timedelta(days=1))
    return ana


def week(clock) -> None:
    clock.advance(timedelta(days=7))
