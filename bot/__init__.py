"""The edges: settings, channel adapters, the inbound handler, the CLI and the composition root."""
