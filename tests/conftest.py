"""Shared fixtures: a migrated database on SQLite and PostgreSQL, a controlled clock, the app,
and a recording client that talks to the real handler."""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.composition import App, build_app
from bot.settings import BUNDLED_PROGRAMS, Settings
from conversations.messages import Inbound, Reply
from scheduler.clock import ManualClock
from services.delivery import drain
from services.enrolment import Enrolled, enrol_client
from storage.db import make_engine, upgrade

# pytest-xdist gives its workers COLUMNS=80, and rich fixes a console's width from COLUMNS
# when it is made (bot/cli.py makes them at import): the CLI tests set their own width.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)

SAMPLE = BUNDLED_PROGRAMS / "business-coaching-12w.yaml"
PG_ENV = "COACHBOT_TEST_DATABASE_URL"
# Monday 2 March 2026, 08:00 UTC: a plain week, no DST change near.
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is the slow part)."""
    # The mutation run (benchmarks/mutation.py) migrates once for its thousand test runs.
    given = os.environ.get("COACHBOT_TEST_SQLITE_TEMPLATE")
    if given:
        return Path(given)
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow stories first: pytest-xdist hands the first tests out round-robin, so the few
    minute-long ones run side by side from the start instead of ending the run one by one."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# The suite runs in several processes (pytest-xdist), each with a database of its own on the
# one server. The story that restarts that server takes this lock exclusively; every other test
# on PostgreSQL holds it shared, so a restart never lands in the middle of someone else's test.
SERVER_LOCK = Path(tempfile.gettempdir()) / "coachbot-tests-postgres.lock"


@contextlib.contextmanager
def postgres_server(*, exclusive: bool = False) -> Iterator[None]:
    """Hold the PostgreSQL server for a test: shared by default, alone to restart it."""
    with open(SERVER_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _uses_postgres(request: pytest.FixtureRequest) -> bool:
    callspec = getattr(request.node, "callspec", None)
    return ("postgres_url" in request.fixturenames
            or (callspec is not None and callspec.params.get("db_url") == "postgresql"))


@pytest.fixture(autouse=True)
def _postgres_shared(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests on PostgreSQL share the server; one marked `restarts_postgres` has it alone."""
    if request.node.get_closest_marker("restarts_postgres") or not _uses_postgres(request):
        yield
        return
    with postgres_server():
        yield


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run, dropped at the end."""
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("COACHBOT_REQUIRE_POSTGRES"):
            pytest.fail(f"{PG_ENV} must be set: CI runs the PostgreSQL tests, never skips them")
        pytest.skip(f"{PG_ENV} is not set; PostgreSQL tests need a server "
                    "(e.g. postgresql://postgres@127.0.0.1:5432/test)")
    name = f"coachbot_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base).execution_options(isolation_level="AUTOCOMMIT")
    url = sa.engine.make_url(make_engine(base).url).set(database=name)
    rendered = url.render_as_string(hide_password=False)
    with postgres_server():
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine = make_engine(rendered)
        upgrade(engine)
        engine.dispose()
    yield rendered
    with postgres_server(), admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        names = [t for t in sa.inspect(connection).get_table_names() if t != "alembic_version"]
        connection.execute(sa.text(
            "TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database: every storage test runs on both."""
    if request.param == "sqlite":
        path = tmp_path / "coachbot.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _truncate_all(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty SQLite database (for tests about SQLite itself)."""
    path = tmp_path / "coachbot.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves only when the test moves it."""
    return ManualClock(START)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, program=SAMPLE, _env_file=None)


@pytest.fixture
def app(settings: Settings, clock: ManualClock) -> Iterator[App]:
    application = build_app(settings, clock=clock, migrate=False)
    yield application
    application.db.dispose()


@dataclass
class Client:
    """A client on a recording channel: what they type in, what the bot sends back out."""

    app: App
    address: str
    channel: str = "test"
    enrolled: Enrolled | None = None
    received: list[Reply] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=itertools.count)

    def _send(self, address: str, reply: Reply) -> str:
        assert address == self.address, "a reply went to someone else"
        self.received.append(reply)
        return f"m{len(self.received)}"

    def flush(self) -> list[Reply]:
        """Deliver whatever the outbox holds for this channel; the replies delivered."""
        before = len(self.received)
        while drain(self.app.rt, self.channel,
                    lambda a, r: self._send(a, r) if a == self.address else None):
            pass
        return self.received[before:]

    def says(self, text: str, *, event_id: str | None = None) -> list[str]:
        """Type a message; the texts the bot replied with."""
        self.app.inbound.handle(Inbound(channel=self.channel, sender=self.address,
                                        event_id=event_id or f"{self.address}-{next(self._ids)}",
                                        text=text))
        return [r.text for r in self.flush()]

    def presses(self, value: str, *, question: str | None = None) -> list[str]:
        """Press a button; `question` defaults to the question of the latest reply."""
        asked = question or next(r.question for r in reversed(self.received) if r.question)
        self.app.inbound.handle(Inbound(channel=self.channel, sender=self.address,
                                        event_id=f"{self.address}-{next(self._ids)}",
                                        button=value, button_question=asked))
        return [r.text for r in self.flush()]

    @property
    def last(self) -> Reply:
        return self.received[-1]


@pytest.fixture
def enrol(app: App):
    """Enrol a client and join with the invite code: `enrol("Ana Lima")` -> Client."""

    def _enrol(name: str = "Ana Lima", *, zone: str = "Europe/Berlin", join: bool = True,
               address: str | None = None) -> Client:
        enrolled = enrol_client(app.rt, program_id="business_12w", name=name, zone=zone,
                                coach="Casey Coach")
        client = Client(app=app, address=address or name.lower().replace(" ", "-"),
                        enrolled=enrolled)
        if join:
            client.says(f"/start {enrolled.code}")
        return client

    return _enrol


INTAKE = ["yes", "Double my revenue", "12000", "6", "10", "/skip"]
CHECKIN_GOOD = ["8", "2500", "yes", "sales", "all good"]
