"""Logging that keeps client data and secrets out: our own lines carry ids only, and the
libraries that would log payloads, URLs with the bot token or message texts are held at
WARNING whatever the configured level."""

from __future__ import annotations

import logging
from collections.abc import Iterable

# PTB logs every Bot API call's parameters (message texts) at DEBUG; httpx logs each URL,
# and Telegram's URLs contain the bot token, at INFO; slack_sdk logs request bodies at DEBUG;
# aiohttp's access log writes request paths (webhook secrets) at INFO.
PAYLOAD_LOGGERS = ("telegram", "httpx", "httpcore", "slack_sdk", "slack_bolt", "aiohttp.access",
                   "urllib3")


def quiet_payload_loggers() -> None:
    """Hold the libraries that log payloads or tokens at WARNING or above."""
    for name in PAYLOAD_LOGGERS:
        logger = logging.getLogger(name)
        # Their own level, not the effective one: lowering the root later must not open them.
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


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
