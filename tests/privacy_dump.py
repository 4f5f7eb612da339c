"""What a database and the fake platforms still hold, as text, for privacy tests that look
everywhere rather than where the code is expected to have cleaned."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa

from storage.db import sqlite_path
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.telegram_api import FakeTelegramAPI

# The program versions' text is the program's own definition, no one's data: its prompts
# would otherwise read as a sent message kept past its week.
DEFINITIONS = {"program_version"}


def database_dump(engine: sa.Engine) -> str:
    """Every column of every row of every table but DEFINITIONS, one `table.column=value`
    line each."""
    lines = []
    with engine.connect() as connection:
        for table in sa.inspect(connection).get_table_names():
            if table in DEFINITIONS:
                continue
            for row in connection.execute(sa.text(f'SELECT * FROM "{table}"')).mappings():
                lines += [f"{table}.{column}={_text(value)}" for column, value in row.items()]
    return "\n".join(lines)


def rows_by_table(engine: sa.Engine) -> dict[str, int]:
    """How many rows each table holds: a privacy test shows the tables it checks were
    filled before it shows they were emptied."""
    with engine.connect() as connection:
        return {table: connection.execute(sa.text(f'SELECT COUNT(*) FROM "{table}"')).scalar_one()
                for table in sa.inspect(connection).get_table_names()}


def _text(value: object) -> str:
    """A column's value as text; JSON both as stored (ASCII-escaped) and as read."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return value + " " + json.dumps(json.loads(value), ensure_ascii=False)
        except ValueError:
            pass
    return str(value)


def sqlite_bytes(url: str) -> bytes:
    """The raw bytes of a SQLite database and its -wal and -shm files ("" elsewhere)."""
    path = sqlite_path(url)
    if path is None:
        return b""
    files = [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm")]
    return b"".join(f.read_bytes() for f in files if f.exists())


def slack_dump(api: FakeSlackAPI, *, except_channels: Iterable[str] = ()) -> str:
    """Every message as Slack shows it now (after edits and deletes), outside `except_channels`
    (the client's own DM is theirs)."""
    skipped = set(except_channels)
    shown = []
    for posted in api.posted_messages():
        channel = str(posted["channel"])
        channel = f"D{channel}" if channel[:1] in ("U", "W") else channel
        if channel in skipped:
            continue
        message = api.message(channel, posted["ts"])
        if message is not None:
            shown.append(json.dumps(message, ensure_ascii=False))
    return "\n".join(shown)


def telegram_dump(api: FakeTelegramAPI, *, except_chats: Iterable[int | str] = ()) -> str:
    """Every message the bot sent, as Telegram shows it now, outside `except_chats`."""
    skipped = {str(c) for c in except_chats}
    shown = []
    for sent in api.sent_messages():
        if str(sent["chat_id"]) in skipped:
            continue
        message = api.message(sent["chat_id"], sent["message_id"])
        if message is not None:
            shown.append(json.dumps(message, ensure_ascii=False))
    return "\n".join(shown)


def mentions(needles: Iterable[str], *places: str | bytes) -> list[str]:
    """The needles found in any place, case-insensitively, as text or as UTF-8 bytes."""
    found = []
    for needle in needles:
        forms = {needle.lower(), json.dumps(needle)[1:-1].lower()}
        for place in places:
            haystack = (place.decode("utf-8", "replace") if isinstance(place, bytes)
                        else place).lower()
            if any(form in haystack for form in forms):
                found.append(needle)
                break
    return found
