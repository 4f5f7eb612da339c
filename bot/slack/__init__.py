"""The Slack channel: coaches' digests, team escalations, and clients over DM (slack-bolt)."""
