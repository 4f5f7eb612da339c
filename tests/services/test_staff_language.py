"""A coach hears the bot in the language they were added with (`staff add --language`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.slack.blocks import home_view
from services import coach_home, staff_directory
from services.digest import build_digest
from storage.db import session
from storage.models import OutboxMessage, Person
from tests.conftest import CHECKIN_GOOD, INTAKE


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url  # the language is a column like any other: SQLite is enough


def test_a_coach_is_told_of_an_erasure_in_their_own_language(app, enrol):
    ana = enrol("Ana Lima")
    staff_directory.add(app.rt, name="Casey Coach", slack_id="UCASEY", role="coach",
                        timezone="Europe/Berlin", language="de")
    ana.says("/delete confirm")
    with session(app.db) as s:
        [note] = s.exec(select(OutboxMessage).where(OutboxMessage.address == "UCASEY")).all()
    assert note.payload["text"] == (
        "Eine Person aus deinem Programm business_12w hat am 2026-03-02 die Löschung ihrer "
        "Daten verlangt, und sie sind gelöscht. Check-ins und Erinnerungen sind beendet; das "
        "Audit-Protokoll hält nur fest, dass es geschah.")


def test_an_unsupported_staff_language_is_refused_with_the_list(app):
    with pytest.raises(staff_directory.StaffError, match="'klingon' is not a supported "
                       "language; use one of en, de, es, fr, pt-BR"):
        staff_directory.add(app.rt, name="Dee Team", slack_id="UDEE", role="team",
                            timezone="UTC", language="klingon")
    staff_directory.add(app.rt, name="Dee Team", slack_id="UDEE", role="team",
                        timezone="UTC", language="pt_BR")
    with session(app.db) as s:
        assert s.exec(select(Person.language).where(Person.name == "Dee Team")).one() == "pt-BR"


def test_a_coachs_digest_is_written_in_their_language(app, enrol, clock):
    ana = enrol("Ana Lima")
    staff_directory.add(app.rt, name="Casey Coach", slack_id="UCASEY", role="coach",
                        timezone="Europe/Berlin", language="de")
    for typed in [*INTAKE, "/checkin", *CHECKIN_GOOD]:
        ana.says(typed)
    clock.advance(timedelta(days=1))
    with session(app.db) as s:
        coach = s.exec(select(Person).where(Person.name == "Casey Coach")).one()
        digest = build_digest(s, coach, app.rt.programs, clock.now())
    assert digest.text == (
        "Deine Übersicht für Mo., 2. März\n"
        "Ana Lima: eingecheckt: Confidence 8/10 · Weekly revenue 2500 EUR · "
        "Planned outreach done ✓\n"
        "Check-ins diese Woche: 1 von 1 Klient:in hat eingecheckt, 0 verpasst.")


def test_a_coachs_home_tab_writes_days_their_way(app, enrol):
    ana = enrol("Ana Lima")
    staff_directory.add(app.rt, name="Casey Coach", slack_id="UCASEY", role="coach",
                        timezone="Europe/Berlin", language="de")
    for typed in [*INTAKE, "/checkin", *CHECKIN_GOOD]:
        ana.says(typed)
    home = coach_home.home_of(app.rt, "UCASEY")
    assert home is not None and home.language == "de"
    rows = [b["text"]["text"] for b in home_view(home, home.language)["blocks"]
            if b.get("type") == "section" and "Ana Lima" in b["text"]["text"]]
    assert rows == ["*Ana Lima*  onboarding (active) · letzter Check-in Mo., 2. März · "
                    "Weekly revenue 2500"]
