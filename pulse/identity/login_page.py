"""The server-rendered login page of the built-in issuer: one form, no JavaScript, every value
HTML-escaped, a CSRF token in a hidden field that must match an HttpOnly SameSite=Strict cookie."""

from __future__ import annotations

from html import escape

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

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f5f7;display:flex;justify-content:center;margin-top:10vh}
form{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002;min-width:18rem}
label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password]{width:100%;padding:.4rem}
button{margin-top:1.2rem;width:100%;padding:.5rem}.error{color:#b00020}
"""


def render_login(
    params: dict[str, str], csrf_token: str, *, error: str | None = None, username: str = ""
) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(params.get(name, ""))}">'
        for name in AUTHORIZE_FIELDS
    )
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to Pulse</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_STYLE}</style></head>
<body><form method="post" action="/oauth/authorize">
<h1>Sign in to Pulse</h1>{message}
{hidden}<input type="hidden" name="{CSRF_FIELD}" value="{escape(csrf_token)}">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" maxlength="256" required
 value="{escape(username)}" autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" maxlength="256" required>
<button type="submit">Sign in</button>
</form></body></html>"""
