"""Files with client data (exports, reports, reviews) are written readable by their owner only."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_MODE = 0o600


def write_private(path: Path, data: bytes | str) -> None:
    """Write `data` to `path` with mode 0600 whatever the umask, replacing what was there.

    Raises OSError as open() does (a missing folder, a directory, no permission).
    """
    blob = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    with os.fdopen(fd, "wb") as file:
        # An existing file keeps its old mode through os.open, and the umask narrows a new
        # one: fchmod makes it 0600 either way, before any data is in it.
        os.fchmod(fd, PRIVATE_MODE)
        file.write(blob)
