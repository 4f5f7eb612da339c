"""Time: when each touchpoint is due, and running it. Never imports a channel."""
