"""Pure parts of the identity package: roles, PKCE, redirect URIs, scopes, passwords, the login page."""

from __future__ import annotations

import html
import re

import pytest

from pulse.identity.clients import normalise_scope, redirect_allowed
from pulse.identity.login_page import render_login
from pulse.identity.passwords import hash_password, password_problem, verify_password
from pulse.identity.pkce import s256, valid_challenge, verifier_matches
from pulse.identity.roles import effective_roles, role_problem


def test_rfc7636_appendix_b_vector() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert verifier_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    assert valid_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")


@pytest.mark.parametrize("verifier", ["short", "x" * 129, "has space" + "x" * 40, "é" * 50])
def test_bad_verifiers_never_match(verifier: str) -> None:
    assert not verifier_matches(verifier, s256("a" * 43))


def test_roles() -> None:
    assert effective_roles(["tenant-admin"]) == {"tenant-admin", "customer"}
    assert effective_roles(["operator-admin", "made-up"]) == {"operator-admin", "operator"}
    assert role_problem(["customer"], "acme") is None
    assert role_problem(["operator"], None) is None
    assert "need a tenant" in (role_problem(["customer"], None) or "")
    assert "no tenant" in (role_problem(["operator"], "acme") or "")
    assert "combined" in (role_problem(["customer", "operator"], "acme") or "")
    assert "unknown" in (role_problem(["root"], None) or "")
    assert role_problem([], "acme")


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("https://pulse.example/app/callback", True),  # registered
        ("http://127.0.0.1:53682/cb", True),  # loopback, any port (RFC 8252)
        ("http://localhost/cb", True),
        ("http://[::1]:9000/cb", True),
        ("https://evil.example/cb", False),
        ("http://127.0.0.1.evil.example/cb", False),
        ("http://user@127.0.0.1/cb", False),
        ("http://127.0.0.1:99999/cb", False),
        ("javascript:alert(1)", False),
        ("http://127.0.0.1/cb#frag", False),
        ("http://127.0.0.1/" + "x" * 3000, False),
    ],
)
def test_redirect_uris(uri: str, allowed: bool) -> None:
    assert redirect_allowed(uri, ["https://pulse.example/app/callback"]) is allowed


def test_scope_is_narrowed_to_what_we_support() -> None:
    assert normalise_scope(None) == "openid"
    assert normalise_scope("email admin:all openid") == "openid email"
    assert normalise_scope("offline_access") == "openid offline_access"


def test_passwords() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "wrong")
    assert not verify_password(None, "anything")  # unknown user: a dummy hash is checked, always False
    assert not verify_password("not-a-hash", "anything")
    assert password_problem("short") and password_problem("x" * 300) and not password_problem("x" * 12)


def test_login_page_escapes_everything() -> None:
    page = render_login({"state": '"><img src=x onerror=alert(1)>'}, 'tok"en', error="<b>", username="<u>")
    assert "<img" not in page and "<b>" not in page and "<u>" not in page
    csrf = re.search(r'name="csrf_token" value="([^"]*)"', page)
    assert csrf and html.unescape(csrf.group(1)) == 'tok"en'  # escaped, and carried unchanged
