"""What open action items cost a weekly check-in: SQL statements per message and time.

    python benchmarks/action_items.py [--clients 50]

SQLite, console channel, no network. Half the clients have two open action items (a coach's
session notes), half none; each does a weekly check-in (`/checkin`, the item answers, five
answers). Prints, for each message of the check-in, the SQL statements it ran (a count
that does not depend on the machine's load) and the answers per second, with the machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event

from benchmarks.machine import machine
from bot.composition import build_app
from bot.settings import BUNDLED_PROGRAMS, Settings
from conversations.messages import Inbound
from scheduler.clock import ManualClock
from services import session_notes, staff_directory
from services.delivery import drain
from services.enrolment import enrol_client

INTAKE = ["yes", "Grow the business", "12000", "6", "10", "/skip"]
ANSWERS = ["8", "2500", "yes", "sales", "all good"]


def run(clients: int) -> None:
    tmp = tempfile.mkdtemp()
    clock = ManualClock(datetime(2026, 3, 2, 8, tzinfo=UTC))
    app = build_app(Settings(database_url=f"sqlite:///{tmp}/bench.db", program=BUNDLED_PROGRAMS,
                             _env_file=None), clock=clock, migrate=True)
    staff_directory.add(app.rt, name="Casey Coach", slack_id="UCASEY", role="coach",
                        timezone="Europe/Berlin")
    for i in range(clients):
        enrolled = enrol_client(app.rt, program_id="business_12w", name=f"Client {i}",
                                zone="Europe/Berlin", coach="Casey Coach")
        app.inbound.handle(Inbound("console", f"c{i}", f"join-{i}", f"/start {enrolled.code}"))
        for n, text in enumerate(INTAKE):
            app.inbound.handle(Inbound("console", f"c{i}", f"intake-{i}-{n}", text))
        if i % 2 == 0:
            session_notes.save(app.rt, slack_id="UCASEY", enrolment_id=enrolled.enrolment_id,
                               submission=f"V{i}", draft=session_notes.Draft(
                                   items=(("Call five past clients", None),
                                          ("Raise prices", None))))
    while drain(app.rt, "console", lambda _a, _r: None, limit=500):
        pass

    counted = [0]
    event.listen(app.db, "before_cursor_execute", lambda *_: counted.__setitem__(0, counted[0] + 1))
    statements: dict[tuple[bool, str], list[int]] = defaultdict(list)
    started = time.perf_counter()
    messages = 0
    for i in range(clients):
        with_items = i % 2 == 0
        typed = [("open", "/checkin")]
        typed += [("item", "done"), ("item", "partly")] if with_items else []
        typed += [("answer", a) for a in ANSWERS[:-1]] + [("completing", ANSWERS[-1])]
        for n, (kind, text) in enumerate(typed):
            before = counted[0]
            app.inbound.handle(Inbound("console", f"c{i}", f"checkin-{i}-{n}", text))
            statements[(with_items, kind)].append(counted[0] - before)
            messages += 1
    elapsed = time.perf_counter() - started
    app.db.dispose()
    for with_items in (False, True):
        shown = ", ".join(f"{kind} {statistics.median(statements[(with_items, kind)]):g}"
                          for kind in ("open", "item", "answer", "completing")
                          if statements[(with_items, kind)])
        print(f"  {'two open items' if with_items else 'no action items':>15}: "
              f"statements per message (median): {shown}")
    print(f"  {messages} messages, {messages / elapsed:,.0f} answers/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{args.clients} clients, half with two open action items, one check-in each, SQLite")
    run(args.clients)


if __name__ == "__main__":
    main()
