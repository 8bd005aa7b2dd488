"""The one error model: a refusal with a status, a stable code and a detail for people.

Domain code (provisioning, subscriptions, identity) raises these without importing anything web-specific;
the web layer maps every `PulseError` to `{"error": CODE, "detail": text}` in one handler
(`pulse/api/errors.py`), and the CLI prints the detail. `status` uses HTTP's numbers because they are the
vocabulary clients already know (404 missing, 409 conflict, 422 invalid, 429 slow down).
"""

from __future__ import annotations


class PulseError(Exception):
    """Raise to refuse a request: answered as `status` with `{"error": error, "detail": detail}`."""

    def __init__(self, status: int, error: str, detail: object = None, headers: dict[str, str] | None = None):
        super().__init__(detail if isinstance(detail, str) else error)
        self.status, self.error, self.detail, self.headers = status, error, detail, headers

    def __str__(self) -> str:
        return f"{self.error}: {self.detail}" if self.detail is not None else self.error
