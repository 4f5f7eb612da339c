"""Settings from COACHBOT_* environment variables and an optional .env file."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_PROGRAMS = Path(__file__).parent / "programs"


class Settings(BaseSettings):
    """Everything configurable; nothing is needed for the console default."""

    model_config = SettingsConfigDict(env_prefix="COACHBOT_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./coachbot.db"
    program: Path = Field(default=BUNDLED_PROGRAMS,
                          description="a program file, or a folder of them")
    invite_ttl_days: int = Field(default=7, ge=1, le=90)
    # How long a platform event id is remembered to refuse its redelivery: longer than any
    # platform retries (Telegram 24 h, Stripe 3 days).
    dedupe_days: int = Field(default=7, ge=3, le=90)
    # How long a claimed outbox message is held by its worker: after a crash (SIGKILL, power
    # loss), its messages wait this long. A clean stop hands them back at once. With several
    # workers keep it above 20 s: one chat's share of a drain takes up to 10 s at 1/s.
    outbox_lease_seconds: int = Field(default=60, ge=10, le=600)
    # More messages than this a minute from one chat get one "slow down", then no answer.
    flood_limit: int = Field(default=20, ge=1, le=1000)
    log_level: str = "INFO"
    console_name: str = "Sam Sample"
    console_timezone: str = "Europe/London"

    telegram_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    # Its own port: Slack's HTTP mode listens on http_port, and both may run in one process.
    telegram_webhook_port: int = 8443
    # Telegram's paid broadcasts: up to 1,000 messages a second instead of 30, each message
    # above the free 30/s paid in Telegram Stars from the bot's balance (docs/telegram.md).
    telegram_paid_broadcast: bool = False

    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str | None = None
    slack_team_channel: str | None = None
    # When coaches get their digest, in each coach's own zone, unless the coach has their
    # own time (`coachbot staff add --digest-at`).
    digest_time: time = time(8, 0)
    # The one HTTP server: Slack's HTTP mode, health and readiness, payments, bookings and
    # the API. Loopback by default: put a TLS-terminating proxy in front of it.
    http_host: str = "127.0.0.1"
    http_port: int = 3000

    # Integrations (docs/integrations.md); each is on when its secret is set.
    stripe_webhook_secret: str | None = None
    # Reads a checkout's price when the event does not carry it (a restricted key).
    stripe_api_key: str | None = None
    stripe_api_url: str | None = None
    calcom_webhook_secret: str | None = None
    calendly_signing_key: str | None = None
    # The JSON API at /api (bearer tokens from `coachbot token add`).
    api_enabled: bool = False

    @property
    def uses_console(self) -> bool:
        """No platform token: run in the terminal."""
        return not (self.telegram_token or self.slack_bot_token)

    @property
    def integrations(self) -> bool:
        """Whether anything needs the HTTP server besides Slack: a webhook secret or the API."""
        return bool(self.stripe_webhook_secret or self.calcom_webhook_secret
                    or self.calendly_signing_key or self.api_enabled)
