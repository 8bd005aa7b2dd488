"""The OAuth clients the built-in issuer knows: the console (public, PKCE) and API clients
(confidential, client credentials; see `api_clients`)."""

from __future__ import annotations

from urllib.parse import urlsplit

CONSOLE_CLIENT_ID = "pulse-ui"
SUPPORTED_SCOPES = ("openid", "profile", "email", "offline_access")
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def console_redirect_uris(base_url: str, extra: list[str]) -> list[str]:
    return [f"{base_url}/app/callback", f"{base_url}/callback", *extra]


def redirect_allowed(uri: str, registered: list[str]) -> bool:
    """Exact match with a registered URI, or an http loopback URI on any port (RFC 8252 §7.3: native
    apps and `curl` walkthroughs listen on an ephemeral port). PKCE protects either way."""
    if len(uri) > 2000:
        return False
    if uri in registered:
        return True
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises for a bad port
    except ValueError:
        return False
    return (
        parts.scheme == "http"
        and parts.hostname in _LOOPBACK_HOSTS
        and not parts.fragment
        and not parts.username
    )


def normalise_scope(requested: str | None) -> str:
    """Keep the scopes we support (RFC 6749 lets the server narrow a request); always include openid."""
    wanted = (requested or "openid").split()
    kept = [s for s in SUPPORTED_SCOPES if s in wanted]
    if "openid" not in kept:
        kept.insert(0, "openid")
    return " ".join(kept)
