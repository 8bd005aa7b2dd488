"""The server-rendered login page of the built-in issuer: one form, no JavaScript, every value
HTML-escaped (a Jinja2 template with autoescaping, `templates/login.html`), a CSRF token in a hidden field that must match an HttpOnly SameSite=Strict cookie."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined

CSRF_COOKIE = "pulse_login_csrf"
CSRF_FIELD = "csrf_token"
# Carried through the form unchanged and validated again on submit.
AUTHORIZE_FIELDS = (
    "response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
    "code_challenge", "code_challenge_method",
)  # fmt: skip

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

# Autoescaping on: every value the page shows (error, username, the carried parameters) is escaped.
_TEMPLATES = Environment(
    loader=PackageLoader("pulse.identity", "templates"), autoescape=True, undefined=StrictUndefined
)


def render_login(
    params: dict[str, str], csrf_token: str, *, error: str | None = None, username: str = ""
) -> str:
    return _TEMPLATES.get_template("login.html").render(
        hidden=[(name, params.get(name, "")) for name in AUTHORIZE_FIELDS],
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token,
        error=error,
        username=username,
    )
