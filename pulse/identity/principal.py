"""Who is calling: built from a verified access token, never from anything else in the request."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    sub: str
    issuer: str
    roles: frozenset[str]  # effective roles: tenant-admin includes customer, operator-admin includes operator
    tenant_id: str | None
    username: str | None = None
    email: str | None = None
    client_id: str | None = None
    expires_at: int | None = None  # `exp`: long-lived connections (WebSocket) end when the token does

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def display(self) -> str:
        """How the user appears in records (acknowledged_by, audit rows)."""
        return self.username or self.email or self.sub
