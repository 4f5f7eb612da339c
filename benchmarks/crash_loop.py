"""The crash loop at the issue's full size: clients answering their intake while the real
`coachbot run` is SIGKILLed at random moments and started again, in polling and webhook
mode.

    python benchmarks/crash_loop.py [--clients 24] [--kills 10] [--seed 1]
                                    [--database sqlite|postgresql] [--mode polling|webhook|both]

CI runs a smaller loop (tests/bot/telegram/test_crash_loop.py: 12 clients, 3 kills). Prints,
per mode: updates lost, updates left unconfirmed with Telegram, answers stored twice,
clients left without a reply, messages sent twice (a kill between Telegram accepting a
send and the row being marked sent: the known at-least-once window), and the time taken.
PostgreSQL uses COACHBOT_TEST_DATABASE_URL's server (a fresh database, dropped after).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from benchmarks.machine import machine
from bot.composition import build_app
from bot.settings import Settings
from scheduler.clock import SystemClock
from tests.bot.telegram.bot_process import crash_loop
from tests.conftest import INTAKE, SAMPLE
from tests.fakes.telegram_api import FakeTelegramAPI


def database(kind: str, folder: Path) -> tuple[str, sa.Engine | None, str | None]:
    """A fresh, migrated database of `kind`: its URL, and for PostgreSQL how to drop it."""
    if kind == "sqlite":
        return f"sqlite:///{folder}/bench.db", None, None
    from benchmarks.inbound import fresh_postgres

    return fresh_postgres()


def run(kind: str, mode: str, clients: int, kills: int, seed: int) -> None:
    folder = Path(tempfile.mkdtemp())
    url, admin, name = database(kind, folder)
    app = build_app(Settings(database_url=url, program=SAMPLE, _env_file=None),
                    clock=SystemClock(), migrate=True)
    try:
        with FakeTelegramAPI(max_poll_wait=1.0) as api:
            outcome = crash_loop(app, api, folder, mode=mode, clients=clients, kills=kills,
                                 seed=seed, script=INTAKE)
        print(f"{kind}: {outcome.summary()}", flush=True)
    finally:
        app.db.dispose()
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--mode", choices=["polling", "webhook", "both"], default="both")
    args = parser.parse_args()
    # A killed bot drops its requests half-way; the fake server would log a traceback each.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    print(f"machine: {machine()}")
    for mode in (["polling", "webhook"] if args.mode == "both" else [args.mode]):
        run(args.database, mode, args.clients, args.kills, args.seed)


if __name__ == "__main__":
    main()
