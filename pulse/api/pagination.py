"""limit/offset pagination with a maximum page size on every list."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Query

MAX_OFFSET = 1_000_000  # deep offsets are a full scan in disguise; filter instead


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def page_params(default: int = 100, maximum: int = 500):
    """A dependency giving `Page`; `limit` is 1..maximum (422 beyond), `offset` 0..1,000,000."""

    def page(
        limit: int = Query(default, ge=1, le=maximum, description=f"Page size (max {maximum})."),
        offset: int = Query(0, ge=0, le=MAX_OFFSET, description="Rows to skip."),
    ) -> Page:
        return Page(limit, offset)

    return page


def like_pattern(text: str) -> str:
    """A user's search text as an ILIKE pattern matching it anywhere, with % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
