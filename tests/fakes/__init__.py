"""Fake Telegram and Slack API servers for the test-suite (real HTTP on 127.0.0.1)."""
