"""Driving the console in the system's headless chromium (Debian's `chromium`; Playwright never
downloads a browser here): sign-in through the issuer's login page, the access token the page holds,
axe-core checks and screenshots."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
LAUNCH_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch(playwright: Playwright, executable: str) -> Browser:
    return playwright.chromium.launch(executable_path=executable, headless=True, args=LAUNCH_FLAGS)


def sign_in(page: Page, base: str, username: str, password: str) -> None:
    """From the console's sign-in page through the built-in issuer's login form back into the console."""
    # Straight to /app/ (the redirect from / is covered by the serving tests): a goto of / is sometimes
    # reported as interrupted by its own redirect.
    page.goto(f"{base}/app/", wait_until="domcontentloaded")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth/authorize**")
    page.fill("#username", username)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/app/" in url and "/callback" not in url, timeout=30_000)


def access_token(page: Page) -> str:
    """The access token oidc-client-ts keeps in session storage for this tab."""
    stored = page.evaluate(
        "() => Object.keys(sessionStorage).filter(k => k.startsWith('oidc.user:')).map(k => sessionStorage.getItem(k))"
    )
    assert stored, "no signed-in user in session storage"
    return json.loads(stored[0])["access_token"]


def serious_accessibility_violations(page: Page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now. The script is evaluated
    through the DevTools protocol, which the page's CSP (no inline scripts) does not govern."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text() + "\n;0")
    results = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"
    )
    return [v for v in results if v["impact"] in ("serious", "critical")]


def check_page(page: Page, name: str, screenshots: Path) -> None:
    """Screenshot the page into `screenshots/<name>.png`, then fail on serious accessibility problems."""
    screenshots.mkdir(parents=True, exist_ok=True)
    # Let opening and closing dialogs finish their transitions: axe measures the contrast of an element
    # that is still fading as if it were its final colour.
    page.wait_for_function(
        "() => document.getAnimations().every(a => a.playState !== 'running')", timeout=10_000
    )
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
    violations = serious_accessibility_violations(page)
    assert not violations, f"{name}: accessibility violations {json.dumps(violations, indent=1)}"
