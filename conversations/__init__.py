"""The core: program schema, conversation engine and rules. Pure; no I/O."""
