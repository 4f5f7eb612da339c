"""Logging that keeps client data and secrets out: our own lines carry ids only, and the
libraries that would log payloads, URLs with the bot token or message texts are held at
WARNING whatever the configured level, and their lines reach a handler without data."""

from __future__ import annotations

import logging
from collections.abc import Iterable

# PTB logs every Bot API call's parameters (message texts) at DEBUG, and at CRITICAL "Error
# while parsing updates! Received data was %r" with the whole update; httpx logs each URL,
# and Telegram's URLs contain the bot token, at INFO; slack_sdk logs request bodies at DEBUG;
# Slack Bolt logs refused request bodies at INFO from child loggers it gives the root's
# level; aiohttp's access log writes request paths (webhook secrets) at INFO; SQLAlchemy logs
# statements and their parameters (answers) when its engine logger is lowered.
PAYLOAD_LOGGERS = ("telegram", "httpx", "httpcore", "slack_sdk", "slack_bolt", "aiohttp",
                   "urllib3", "sqlalchemy", "websockets")
# APScheduler says "Running job" and "executed successfully" at INFO for every periodic job,
# every few seconds: noise that buries what happened to people, so it is DEBUG here.
TICK_LOGGERS = ("apscheduler",)
# Longest library line kept: a message built with an f-string may still hold data further on.
LIBRARY_LINE = 200


def _is_under(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def quiet_payload_loggers() -> None:
    """Hold the libraries that log payloads or tokens at WARNING or above, children too."""
    existing = [n for n in list(logging.root.manager.loggerDict) if _is_under(n, PAYLOAD_LOGGERS)]
    for name in {*PAYLOAD_LOGGERS, *existing}:
        logger = logging.getLogger(name)
        # Their own level, not the effective one: lowering the root later must not open
        # them; a child given its own level (Bolt copies the root's) is raised as well.
        if logger.level < logging.WARNING and (name in PAYLOAD_LOGGERS or logger.level):
            logger.setLevel(logging.WARNING)


def bolt_logger() -> logging.Logger:
    """The logger to give Slack Bolt: it copies this one's level to every logger it makes."""
    quiet_payload_loggers()
    return logging.getLogger("slack_bolt")


class LibraryLines(logging.Filter):
    """At a handler: a payload library's line below WARNING is dropped, and one at WARNING or
    above keeps what happened (its message template, the error's type) but not the data
    (arguments, exception text, the rest of a long line). APScheduler's ticks become DEBUG."""

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if _is_under(record.name, TICK_LOGGERS) and record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return self.level <= logging.DEBUG
        if not (_is_under(record.name, PAYLOAD_LOGGERS) or _is_bolt_app(record.name)):
            return True
        if record.levelno < logging.WARNING:
            return False
        template = record.msg if isinstance(record.msg, str) else type(record.msg).__name__
        line = (template.splitlines() or [""])[0][:LIBRARY_LINE]
        if record.exc_info and record.exc_info[0] is not None:
            line += f" ({record.exc_info[0].__name__})"
        record.msg, record.args = line, None
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def _is_bolt_app(name: str) -> bool:
    # Bolt names some loggers after the file that built the app ("listeners.py:...").
    return name.split(":")[0].endswith(".py")


class RedactSecrets(logging.Filter):
    """Replace any configured secret that still reaches a handler (an error's text, say)."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if any(secret in message for secret in self.secrets):
                for secret in self.secrets:
                    message = message.replace(secret, "[redacted]")
                record.msg, record.args = message, None
        return True


def guard(handler: logging.Handler, *, level: int, secrets: Iterable[str | None]) -> None:
    """Give a handler the filters every coachbot log output has."""
    handler.addFilter(LibraryLines(level))
    handler.addFilter(RedactSecrets(secrets))
