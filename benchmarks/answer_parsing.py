"""Reading a typed answer in each language: microseconds per answer, accepted and refused.

    python benchmarks/answer_parsing.py [--rounds 2000]

The pure core only (no database): `conversations.answers.parse` over a fixed mix of typed
answers per language (a number with separators, a number word to a scale, a yes, a written
date, one refused answer that is re-asked) and `/schedule`'s parser. Timed in this process's
CPU time (the machine is shared, so wall time would measure the neighbours), best of three
repeats per language.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import timeit
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import machine
from conversations.answers import parse
from conversations.program import DateQuestion, NumberQuestion, ScaleQuestion, YesNoQuestion
from conversations.schedule_input import parse_schedule

TODAY = date(2026, 3, 2)
REVENUE = NumberQuestion(id="revenue", type="number", prompt="?", min=0, max=100_000_000)
CONFIDENCE = ScaleQuestion(id="confidence", type="scale", prompt="?", min=1, max=10)
OUTREACH = YesNoQuestion(id="outreach", type="yes_no", prompt="?")
SESSION = DateQuestion(id="session", type="date", prompt="?")

TYPED = {
    "en": ["€1,200.50", "seven", "yeah", "12 March 2026", "eleven", "tue 6:30pm"],
    "de": ["1.200,50 €", "sieben", "jo", "12. März 2026", "elf", "am Dienstag um 18 Uhr"],
    "es": ["1.200,50", "siete", "sí", "12 de marzo de 2026", "once", "martes a las 18:30"],
    "fr": ["1\u202f200,50", "sept", "ouais", "12 mars 2026", "onze", "mardi 18h30"],
    "pt_BR": ["R$ 1.200,50", "sete", "não", "12 de março de 2026", "onze", "terça às 18h"],
}


def one_round(language: str) -> None:
    number, word, yes, day, refused, slot = TYPED[language]
    parse(REVENUE, number, TODAY, language)
    parse(CONFIDENCE, word, TODAY, language)
    parse(OUTREACH, yes, TODAY, language)
    parse(SESSION, day, TODAY, language)
    parse(CONFIDENCE, refused, TODAY, language)
    parse_schedule(slot, language)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    for language in TYPED:
        one_round(language)  # tables and Babel's locale data loaded once, outside the timing
        best = min(timeit.repeat(lambda lang=language: one_round(lang), number=args.rounds,
                                 repeat=3, timer=time.process_time))
        per_answer = best / args.rounds / len(TYPED[language]) * 1e6
        print(f"{language:6} {per_answer:6.1f} us per answer")


if __name__ == "__main__":
    main()
