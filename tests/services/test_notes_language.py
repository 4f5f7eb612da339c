"""A coach's session notes reach the client in the client's language: the coach's own words
as written, the bot's words around them from the catalog, dates the language's way."""

from __future__ import annotations

from datetime import date

from services.session_notes import client_text


def test_a_german_client_reads_the_notes_in_german():
    text = client_text("Casey Coach", "Starke Session.",
                       [("Fünf Kunden anrufen", date(2026, 3, 6)), ("Angebot entwerfen", None)],
                       date(2026, 3, 16), asks=True, language="de")
    assert text == ("Notizen aus deiner Session mit Casey Coach:\n\n"
                    "Starke Session.\n\n"
                    "Deine Aufgaben:\n"
                    "1. Fünf Kunden anrufen (bis Fr., 6. März)\n"
                    "2. Angebot entwerfen\n\n"
                    "Nächster Checkpoint: Mo., 16. März.\n\n"
                    "Beim nächsten Check-in frage ich dich, wie es damit gelaufen ist.")


def test_without_a_due_date_or_a_checkin_that_asks_nothing_is_promised():
    assert client_text("Casey Coach", "", [("Offre", None)], None, asks=False,
                       language="fr") == "Notes de votre séance avec Casey Coach :\n\n" \
                                         "Vos actions :\n1. Offre"
