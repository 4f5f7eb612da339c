"""PostgreSQL goes away under a running bot: the pool reconnects, no accepted answer is lost
and the client is not asked the same question twice."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa

from storage.db import normalise_url

RESTART_ENV = "COACHBOT_TEST_RESTART_POSTGRES"


@pytest.fixture
def db_url(postgres_url: str) -> str:
    """This story is about PostgreSQL only (the conftest truncates between tests)."""
    from tests.conftest import _truncate_all

    _truncate_all(postgres_url)
    return postgres_url


def _plain(url: str) -> str:
    return normalise_url(url).replace("postgresql+psycopg://", "postgresql://")


def drop_every_connection(url: str) -> int:
    """What a server restart does to the pool: every connection to this database ends."""
    with psycopg.connect(_plain(url), autocommit=True) as admin:
        return admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]


def restart_server(url: str) -> None:
    """Restart the real server, then wait (by polling a connect) until it takes connections."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                   check=True, capture_output=True, timeout=120)
    deadline = time.monotonic() + 60
    while True:
        try:
            psycopg.connect(_plain(url), connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise


def answers(app) -> list[str]:
    with app.db.connect() as connection:
        return [r[0] for r in connection.execute(
            sa.text("SELECT question_id FROM answer ORDER BY id"))]


def _story(app, enrol, outage) -> None:
    client = enrol("Ana Lima")
    client.says("yes")
    client.says("Double my revenue")
    assert answers(app) == ["consent", "goal"]
    outage()
    replies = client.says("12,000")
    assert any("How confident are you" in r for r in replies)
    assert answers(app) == ["consent", "goal", "revenue_baseline"]
    asked = [r.question for r in client.received if r.question]
    assert len(asked) == len(set(asked)), asked


def test_every_connection_dropped_mid_dialogue(app, enrol, db_url):
    def outage() -> None:
        assert drop_every_connection(db_url) >= 1  # the bot's pooled connection(s)

    _story(app, enrol, outage)


@pytest.fixture
def server_alone() -> Iterator[None]:
    """No other test (in any process of this run) is on the server while it restarts."""
    from tests.conftest import postgres_server

    with postgres_server(exclusive=True):
        yield


@pytest.mark.restarts_postgres
@pytest.mark.skipif(not os.environ.get(RESTART_ENV),
                    reason=f"{RESTART_ENV}=1 restarts the shared server (as root)")
def test_the_server_restarted_mid_dialogue(server_alone, app, enrol, db_url):
    _story(app, enrol, lambda: restart_server(db_url))
