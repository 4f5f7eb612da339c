"""Which variant of a program a new enrolment gets: a fixed share per variant, drawn from
the enrolment id, so the split is the same on every worker and every rerun."""

from __future__ import annotations

import hashlib

from conversations.program import Program

AS_WRITTEN = "as written"


def pick_variant(program: Program, enrolment_id: int) -> str | None:
    """The variant for an enrolment; None: the program as written (the shares' remainder)."""
    if not program.variants:
        return None
    # A hash, not the id itself: consecutive ids (a batch, one coach's clients) spread evenly.
    digest = hashlib.sha256(f"{program.id}:{enrolment_id}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % 100
    edge = 0
    for variant in program.variants:
        edge += variant.share
        if bucket < edge:
            return variant.id
    return None


def variant_label(variant_id: str | None) -> str:
    """How reports name a variant."""
    return f"variant {variant_id}" if variant_id else AS_WRITTEN
