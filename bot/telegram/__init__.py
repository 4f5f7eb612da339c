"""The Telegram channel: python-telegram-bot v22 in, the outbox out."""
