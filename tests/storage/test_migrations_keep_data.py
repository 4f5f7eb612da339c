"""Migrations 0016 (program versions by row id), 0017 (an answer's flow is its
conversation's), 0019 (SQLite's times as integers), 0020 (metric values keyed by enrolment,
metric and time) and 0021 (bare answer values) keep what the rows say, both ways."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlmodel import Session, col, select

from storage.db import MIGRATIONS, make_engine, upgrade
from storage.models import Answer, Conversation

A, B = "a" * 64, "b" * 64
AT = "'2026-01-05 06:00:00'"


def _downgrade(engine: sa.Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _rows_at_0015_people(connection: sa.Connection) -> None:
    """A client enrolled in program p."""
    connection.execute(sa.text(
        f"INSERT INTO person (name, role, timezone, created_at) VALUES ('P', 'client', 'UTC', "
        f"{AT})"))
    connection.execute(sa.text(
        "INSERT INTO enrolment (person_id, program_id, stage, status, checkin_day, checkin_time,"
        f" enrolled_at, stage_started_at) VALUES (1, 'p', 's', 'active', 'mon', '09:00', {AT},"
        f" {AT})"))


def _rows_at_0015(connection: sa.Connection) -> None:
    """Two versions of p, one of q with p's first checksum; rows on B, on an unknown
    checksum and on none."""
    for program, version, checksum in [("p", 1, A), ("p", 2, B), ("q", 1, A)]:
        connection.execute(sa.text(
            "INSERT INTO program_version (program_id, version, checksum, text, source_path,"
            f" recorded_at) VALUES ('{program}', {version}, '{checksum}', 'x', 'x', {AT})"))
    _rows_at_0015_people(connection)
    for checksum in (f"'{B}'", "'unknown'", "NULL"):
        connection.execute(sa.text(
            "INSERT INTO conversation (enrolment_id, flow_id, state, started_at, updated_at,"
            f" program_checksum) VALUES (1, 'f', '{{}}', {AT}, {AT}, {checksum})"))
        connection.execute(sa.text(
            "INSERT INTO metricvalue (enrolment_id, metric_id, value, at, program_checksum)"
            f" VALUES (1, 'm', 1, {AT}, {checksum})"))
    # An answer refers to the first conversation: the migration must keep that table.
    connection.execute(sa.text(
        "INSERT INTO answer (enrolment_id, conversation_id, flow_id, question_id, value,"
        f" raw_text, answered_at) VALUES (1, 1, 'f', 'q', '{{}}', 'x', {AT})"))


def _column(engine: sa.Engine, table: str, column: str) -> list:
    with engine.connect() as connection:
        return list(connection.execute(sa.text(f"SELECT {column} FROM {table} ORDER BY id"))
                    .scalars())


@contextmanager
def _from(url: str, revision: str) -> Iterator[sa.Engine]:
    """An engine on `url` migrated down to `revision`; at head again afterwards."""
    engine = make_engine(url)
    try:
        _downgrade(engine, revision)
        yield engine
    finally:
        upgrade(engine)
        engine.dispose()


def test_checksums_become_version_ids_and_back(db_url):
    with _from(db_url, "0015") as engine:
        with engine.begin() as connection:
            _rows_at_0015(connection)
        upgrade(engine, "0016")
        version_b = _column(engine, "program_version", "id")[1]
        for table in ("conversation", "metricvalue"):
            # The unknown checksum reads as the running version, as it did before.
            assert _column(engine, table, "program_version_id") == [version_b, None, None]
        _downgrade(engine, "0015")
        for table in ("conversation", "metricvalue"):
            assert _column(engine, table, "program_checksum") == [B, None, None]
        assert _column(engine, "answer", "flow_id") == ["f"]


def test_an_answer_gets_its_conversations_flow_back_on_downgrade(db_url):
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            _rows_at_0015_people(connection)
            connection.execute(sa.text(
                "INSERT INTO conversation (enrolment_id, flow_id, state, started_at, updated_at)"
                f" VALUES (1, 'weekly_checkin', '{{}}', {AT}, {AT})"))
            connection.execute(sa.text(
                "INSERT INTO answer (enrolment_id, conversation_id, question_id, value, raw_text,"
                f" answered_at) VALUES (1, 1, 'focus', '{{\"v\": \"sales\"}}', 'sales', {AT})"))
        _downgrade(engine, "0016")
        assert _column(engine, "answer", "flow_id") == ["weekly_checkin"]
    finally:
        upgrade(engine)
        engine.dispose()


def test_text_times_become_microseconds_and_back(sqlite_url):
    """0019: a SQLite database's times, written as text, read back as the same times."""
    with _from(sqlite_url, "0018") as engine:
        with engine.begin() as connection:
            _rows_at_0015_people(connection)
            connection.execute(sa.text(
                "INSERT INTO conversation (enrolment_id, flow_id, state, started_at, updated_at)"
                " VALUES (1, 'f', '{}', '2026-01-05 06:00:00.250001', "
                "'2026-01-05 06:00:00.000000')"))
        upgrade(engine)
        assert _column(engine, "conversation", "started_at") == [1767592800250001]
        assert _column(engine, "person", "created_at") == [1767592800000000]
        with Session(engine) as session:
            conversation = session.get(Conversation, 1)
            assert conversation is not None
            assert conversation.started_at == datetime(2026, 1, 5, 6, 0, 0, 250001, tzinfo=UTC)
            assert conversation.updated_at == datetime(2026, 1, 5, 6, tzinfo=UTC)
        _downgrade(engine, "0018")
        assert _column(engine, "conversation", "started_at") == ["2026-01-05 06:00:00.250001"]
        assert _column(engine, "conversation", "updated_at") == ["2026-01-05 06:00:00.000000"]
        # 0018's compact columns go back without a zero fraction, as 0018 left them.
        assert _column(engine, "person", "created_at") == ["2026-01-05 06:00:00"]


def test_metric_values_keep_one_value_per_instant_and_get_their_ids_back(db_url):
    """0020: of two values of a metric stored at one instant, the later stays; the rest
    stay as they were, and a downgrade numbers them again in time order."""
    with _from(db_url, "0019") as engine:
        with engine.begin() as connection:
            _rows_at_0015_people(connection)
            for metric, value, at in [("m", 1, 10), ("m", 2, 10), ("m", 3, 20), ("n", 4, 10)]:
                connection.execute(sa.text(
                    "INSERT INTO metricvalue (enrolment_id, metric_id, value, at)"
                    f" VALUES (1, '{metric}', {value}, :at)"), {"at": _at(engine, at)})
        upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT metric_id, value FROM metricvalue ORDER BY metric_id, at")).all()
        assert [tuple(r) for r in rows] == [("m", 2.0), ("m", 3.0), ("n", 4.0)]
        _downgrade(engine, "0019")
        assert _column(engine, "metricvalue", "value") == [2.0, 4.0, 3.0]


def _at(engine: sa.Engine, second: int) -> object:
    """A time as the database at 0019 stores it: microseconds on SQLite, a timestamp else."""
    at = datetime(2026, 1, 5, 6, 0, second, tzinfo=UTC)
    return int(at.timestamp()) * 1_000_000 if engine.dialect.name == "sqlite" else at


def _answers(engine: sa.Engine, connection: sa.Connection,
             rows: list[tuple[str, object]]) -> None:
    """A client with one conversation and these answers to it, (raw text, value as stored),
    one question each, in the order given."""
    _rows_at_0015_people(connection)
    connection.execute(sa.text(
        "INSERT INTO conversation (enrolment_id, flow_id, state, started_at, updated_at)"
        " VALUES (1, 'f', '{}', :at, :at)"), {"at": _at(engine, 0)})
    for n, (raw, value) in enumerate(rows):
        connection.execute(sa.text(
            "INSERT INTO answer (enrolment_id, conversation_id, question_id, value,"
            " raw_text, answered_at) VALUES (1, 1, :q, :value, :raw, :at)"),
            {"q": f"q{n}", "value": json.dumps(value), "raw": raw, "at": _at(engine, n)})


VALUES = [7, 2500.5, "sales", "2500", True, None, ["a", "b"], "café"]


def test_answer_values_lose_their_wrapper_and_get_it_back(db_url):
    """0021: every kind of answer value reads back the same after the wrapper goes, and is
    wrapped again on the way down."""
    with _from(db_url, "0020") as engine:
        with engine.begin() as connection:
            _answers(engine, connection, [("x", {"v": value}) for value in VALUES])
        upgrade(engine)
        with Session(engine) as session:
            answers = session.exec(select(Answer).order_by(col(Answer.id))).all()
            assert [a.value for a in answers] == [{"v": v} for v in VALUES]
        _downgrade(engine, "0020")
        assert [json.loads(v) if isinstance(v, str) else v
                for v in _column(engine, "answer", "value")] == [{"v": v} for v in VALUES]


def test_a_number_answer_is_stored_as_a_number_on_sqlite(sqlite_url):
    engine = make_engine(sqlite_url)
    try:
        with engine.begin() as connection:
            _answers(engine, connection, [])
        with Session(engine) as session:
            for n, value in enumerate([7, "7"]):
                session.add(Answer(enrolment_id=1, conversation_id=1, question_id=f"q{n}",
                                   value={"v": value}, raw_text="7",
                                   answered_at=datetime(2026, 1, 5, tzinfo=UTC)))
            session.commit()
        with engine.connect() as connection:
            stored = connection.execute(sa.text(
                "SELECT typeof(value), value FROM answer ORDER BY id")).all()
        assert [tuple(row) for row in stored] == [("integer", 7), ("text", '"7"')]
    finally:
        engine.dispose()


def test_a_text_answer_keeps_its_words_once_and_gets_them_back(db_url):
    """0022: where the raw text is the text value itself it is stored once; what the client
    typed reads the same, and a downgrade writes it back."""
    typed = [("Grow the business", "Grow the business"), ("12k", 12000), ("yes", True),
             ("sales", "Sales")]
    with _from(db_url, "0021") as engine:
        with engine.begin() as connection:
            _answers(engine, connection, typed)
        upgrade(engine)
        assert _column(engine, "answer", "raw_text") == ["", "12k", "yes", "sales"]
        with Session(engine) as session:
            answers = session.exec(select(Answer).order_by(col(Answer.id))).all()
            assert [a.text for a in answers] == [raw for raw, _ in typed]
        _downgrade(engine, "0021")
        assert _column(engine, "answer", "raw_text") == [raw for raw, _ in typed]
