"""The web console end to end in headless chromium against a real `pulse up`: sign in as the demo
tenant admin through the built-in login page, see the simulated fleet on the dashboard, watch an
alert (from a rule created over the API) arrive in the inbox without a reload, acknowledge it and see
ACKNOWLEDGED in its timeline; then an operator sees the tenants. Every page visited is screenshotted
(into $PULSE_SCREENSHOTS, else the test's temp dir) and checked with axe-core."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from pulse.console import STATIC_DIR
from pulse.embedded import free_port
from tests.e2e.console_browser import AXE, access_token, check_page, chromium_path, launch, sign_in
from tests.e2e.test_up import _start, _stop, _wait_ready

pytestmark = pytest.mark.slow

# The simulated devices report temperature_c around 22, every few seconds.
RULE = {
    "name": "console e2e warm",
    "metric_name": "temperature_c",
    "operator": "GT",
    "threshold": 15,
    "severity": 4,
}


def demo_credentials(data_dir: Path) -> dict[str, str]:
    """user name → password, from the file `pulse up` writes on its first start."""
    lines = (data_dir / "demo-credentials.txt").read_text().splitlines()
    return {
        fields[0]: fields[1]
        for fields in (line.split() for line in lines)
        if len(fields) >= 2 and not fields[0].startswith("#")
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    if not (STATIC_DIR / "index.html").is_file():
        pytest.fail(f"the console is not built ({STATIC_DIR}); run `make console`")
    if not AXE.is_file():
        pytest.fail("web/node_modules is missing (axe-core); run `make console`")
    data_dir = tmp_path_factory.mktemp("console") / "pulse-data"
    port = free_port()
    proc = _start(data_dir, port)
    try:
        _wait_ready(proc, f"http://127.0.0.1:{port}/readyz")
        yield f"http://127.0.0.1:{port}", data_dir
    finally:
        if proc.poll() is None:
            _stop(proc)


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("PULSE_SCREENSHOTS")
    return Path(configured) if configured else tmp_path_factory.mktemp("screenshots")


def see_dashboard(page: Page, screenshots: Path) -> None:
    expect(page.get_by_role("heading", name="Fleet overview")).to_be_visible()
    counts = page.get_by_label("Fleet status counts")
    # all 25 simulated devices, counted by the API
    expect(counts).to_contain_text(re.compile(r"Devices\s*25"), timeout=60_000)
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible(timeout=15_000)
    expect(page.get_by_label("Recently active devices").get_by_role("listitem").first).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Device status"))).to_be_visible()
    check_page(page, "dashboard", screenshots)


def see_devices(page: Page, screenshots: Path) -> None:
    page.get_by_role("navigation").get_by_role("link", name="Devices").click()
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    expect(page.get_by_text("25 devices")).to_be_visible(timeout=30_000)
    page.get_by_label("Search").fill("no-such-device-anywhere")
    expect(page.get_by_text("No device matches")).to_be_visible(timeout=15_000)
    page.get_by_label("Search").fill("")
    expect(page.get_by_text("25 devices")).to_be_visible(timeout=15_000)
    check_page(page, "devices", screenshots)


def alert_arrives_live_and_is_acknowledged(page: Page, base: str, screenshots: Path) -> None:
    page.get_by_role("navigation").get_by_role("link", name="Alerts").click()
    expect(page.get_by_role("heading", name="Alerts")).to_be_visible()
    expect(page.get_by_text("No open alerts")).to_be_visible(timeout=15_000)
    check_page(page, "alerts-empty", screenshots)
    page.evaluate("() => { window.__sameDocument = true; }")  # gone if anything reloads the page

    headers = {"Authorization": f"Bearer {access_token(page)}"}
    created = httpx.post(f"{base}/customer/alert-rules", json=RULE, headers=headers, timeout=10)
    assert created.status_code == 201, created.text

    table = page.get_by_role("table", name="Open alerts")
    expect(table).to_be_visible(timeout=90_000)
    assert page.evaluate("() => window.__sameDocument === true"), (
        "the inbox reloaded instead of updating live"
    )
    check_page(page, "alerts-open", screenshots)

    first = table.get_by_role("row").nth(1)
    first.get_by_role("button").click()  # the summary opens the detail
    drawer = page.get_by_role("dialog")
    expect(drawer.get_by_role("region", name="Timeline")).to_contain_text("OPENED")
    drawer.get_by_role("button", name="Acknowledge", exact=True).click()
    expect(drawer.get_by_role("region", name="Timeline")).to_contain_text("ACKNOWLEDGED", timeout=15_000)
    expect(drawer).to_contain_text("Acknowledged by")
    check_page(page, "alert-detail", screenshots)
    page.keyboard.press("Escape")
    page.get_by_role("tab", name="Acknowledged").click()
    expect(page.get_by_role("table", name="Acknowledged alerts")).to_be_visible(timeout=15_000)
    check_page(page, "alerts-acknowledged", screenshots)


def sign_out(page: Page) -> None:
    page.get_by_role("button", name=re.compile("Account menu")).click()
    page.get_by_role("menuitem", name="Sign out").click()
    expect(page.get_by_role("heading", name="Pulse console")).to_be_visible(timeout=15_000)


def operator_sees_tenants(page: Page, screenshots: Path) -> None:
    expect(page.get_by_role("heading", name="Tenants")).to_be_visible(timeout=15_000)
    expect(page.get_by_role("table", name="Tenants")).to_contain_text("demo", timeout=15_000)
    # operators get operator navigation only
    expect(page.get_by_role("link", name="Dashboard")).to_have_count(0)
    check_page(page, "operator-tenants", screenshots)


def test_console_sign_in_live_alert_acknowledge_and_operator(stack, screenshots: Path) -> None:
    executable = chromium_path()
    if executable is None:
        pytest.fail("Debian's chromium is needed (apt-get install chromium); .ci/run installs it")
    base, data_dir = stack
    credentials = demo_credentials(data_dir)
    csp_violations: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright, executable)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, timezone_id="Europe/Berlin")
            page.on(
                "console",
                lambda m: csp_violations.append(m.text) if "Content Security Policy" in m.text else None,
            )
            page.goto(f"{base}/")
            expect(page.get_by_role("heading", name="Pulse console")).to_be_visible()
            check_page(page, "sign-in", screenshots)

            sign_in(page, base, "demo-admin", credentials["demo-admin"])
            assert page.url.endswith("/app/dashboard")
            expect(page.get_by_text("Times in Europe/Berlin")).to_be_visible()
            see_dashboard(page, screenshots)
            see_devices(page, screenshots)
            alert_arrives_live_and_is_acknowledged(page, base, screenshots)
            sign_out(page)

            sign_in(page, base, "operator", credentials["operator"])
            assert page.url.endswith("/app/operator/tenants")
            operator_sees_tenants(page, screenshots)
        finally:
            browser.close()
    assert not csp_violations, csp_violations


def test_console_oncall_override_and_escalation(stack, screenshots: Path) -> None:
    """The demo schedule's current responder and 14-day timeline; a tenant admin covers the next hour
    with an override and sees it take over; the default escalation policy with its levels."""
    executable = chromium_path()
    if executable is None:
        pytest.fail("Debian's chromium is needed (apt-get install chromium); .ci/run installs it")
    base, data_dir = stack
    credentials = demo_credentials(data_dir)
    with sync_playwright() as playwright:
        browser = launch(playwright, executable)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, timezone_id="America/New_York")
            sign_in(page, base, "demo-admin", credentials["demo-admin"])
            page.get_by_role("navigation").get_by_role("link", name="On-call").click()
            expect(page.get_by_role("heading", name="On-call", exact=True)).to_be_visible()
            expect(page.get_by_role("heading", name=re.compile("Plant on-call"))).to_be_visible(
                timeout=15_000
            )
            now = page.get_by_role("region", name="On call now")
            expect(now).to_contain_text(re.compile(r"demo-(engineer|viewer)"), timeout=15_000)
            expect(page.get_by_text("Times in America/New_York (yours)")).to_be_visible()
            expect(page.get_by_text("Europe/London").first).to_be_visible()
            bars = page.get_by_role("img", name=re.compile(r"on call \("))
            expect(bars.first).to_be_visible(timeout=15_000)
            expect(page.get_by_role("table", name="Layers")).to_contain_text("demo-engineer")
            check_page(page, "oncall", screenshots)

            headers = {"Authorization": f"Bearer {access_token(page)}"}
            users = httpx.get(f"{base}/customer/users?search=demo-admin", headers=headers, timeout=10)
            assert users.status_code == 200, users.text
            admin = next(u for u in users.json()["users"] if u["username"] == "demo-admin")
            form = page.get_by_role("form", name="Add an override")
            form.get_by_label("Who covers").select_option(value=admin["user_id"])
            form.get_by_label("Reason").fill("console e2e cover")
            form.get_by_role("button", name="Add override").click()

            overrides = page.get_by_role("table", name="Overrides")
            expect(overrides).to_contain_text("console e2e cover", timeout=15_000)
            expect(overrides).to_contain_text("demo-admin")
            expect(
                page.get_by_role("img", name=re.compile(r"^demo-admin on call \(override\)"))
            ).to_be_visible(timeout=15_000)
            expect(now).to_contain_text("demo-admin", timeout=15_000)
            expect(now).to_contain_text("Override")
            check_page(page, "oncall-override", screenshots)

            page.get_by_role("navigation").get_by_role("link", name="Escalation").click()
            expect(page.get_by_role("heading", name="Escalation policies")).to_be_visible()
            expect(page.get_by_role("heading", name="Default", exact=True)).to_be_visible(timeout=15_000)
            expect(page.get_by_role("table", name="Levels of Default")).to_be_visible()
            check_page(page, "escalation", screenshots)

            page.get_by_role("button", name="New policy").click()
            editor = page.get_by_role("region", name="New escalation policy")
            editor.get_by_label("Name").fill("console e2e policy")
            editor.get_by_label("Add a target to level 1").select_option(
                label="On-call schedule: Plant on-call"
            )
            expect(editor.get_by_role("list", name="Targets of level 1")).to_contain_text("Plant on-call")
            check_page(page, "escalation-editor", screenshots)
            editor.get_by_role("button", name="Create policy").click()
            expect(page.get_by_role("heading", name="console e2e policy")).to_be_visible(timeout=15_000)
            expect(page.get_by_role("table", name="Levels of console e2e policy")).to_contain_text(
                "On-call schedule: Plant on-call"
            )
        finally:
            browser.close()


def test_console_alert_rule_editor_and_backtest(stack, screenshots: Path) -> None:
    """A tenant admin creates `temperature_c GT 15` in the rule editor, backtests it on the server
    (the simulated devices report ~22, so it fires once there is data) and sees it in the list."""
    executable = chromium_path()
    if executable is None:
        pytest.fail("Debian's chromium is needed (apt-get install chromium); .ci/run installs it")
    base, data_dir = stack
    credentials = demo_credentials(data_dir)
    with sync_playwright() as playwright:
        browser = launch(playwright, executable)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, timezone_id="Europe/Berlin")
            sign_in(page, base, "demo-admin", credentials["demo-admin"])
            page.get_by_role("navigation").get_by_role("link", name="Alert rules").click()
            expect(page.get_by_role("heading", name="Alert rules")).to_be_visible()
            check_page(page, "rules-list", screenshots)

            page.get_by_role("button", name="New threshold rule").click()
            drawer = page.get_by_role("dialog")
            drawer.get_by_label("Name").fill("console e2e rule editor")
            drawer.get_by_label("Metric").fill("temperature_c")
            drawer.get_by_label("Threshold").fill("15")
            expect(drawer.get_by_label("Escalation policy")).to_have_value("Tenant default")
            check_page(page, "rules-editor", screenshots)

            drawer.get_by_role("button", name="Run backtest").click()
            answer = drawer.get_by_role("status", name="Backtest result")
            expect(answer).to_contain_text(
                re.compile(r"Would have fired \d+ times? on \d+ devices? in the last 24 hours"),
                timeout=30_000,
            )
            fires = int(re.search(r"fired (\d+)", answer.inner_text()).group(1))
            if fires > 0:  # the first device that fired is charted with the threshold and firing periods
                expect(drawer.get_by_role("table", name="Devices that would have fired")).to_be_visible()
                chart = drawer.get_by_role("img", name=re.compile("condition held"))
                expect(chart).to_be_visible(timeout=15_000)
                chart.scroll_into_view_if_needed()
            expect(drawer).to_contain_text("What this answer leaves out")
            check_page(page, "rules-backtest", screenshots)

            drawer.get_by_role("button", name="Create rule").click()
            expect(page.get_by_role("dialog")).to_have_count(0, timeout=15_000)
            row = (
                page.get_by_role("table", name="Alert rules")
                .get_by_role("row")
                .filter(has_text="console e2e rule editor")
            )
            expect(row).to_contain_text("temperature_c > 15")
            expect(row).to_contain_text("Tenant default")
            expect(row.get_by_role("switch")).to_be_checked()
            check_page(page, "rules-created", screenshots)

            row.get_by_role("switch").focus()  # by keyboard: PATCH {enabled: false}, the list reloads
            page.keyboard.press("Space")
            expect(row.get_by_role("switch")).not_to_be_checked(timeout=15_000)
            row.get_by_role("button", name="Open rule console e2e rule editor").click()
            expect(page.get_by_role("dialog").get_by_label("Threshold")).to_have_value("15")
            expect(page.get_by_role("dialog").get_by_role("switch", name="Enabled")).not_to_be_checked()
            page.get_by_role("dialog").get_by_role("button", name="Delete rule…").click()
            page.get_by_role("dialog").get_by_role("button", name="Delete", exact=True).click()
            # (other tests in this module may have created rules of their own)
            expect(row).to_have_count(0, timeout=15_000)
            expect(page.get_by_role("dialog")).to_have_count(0)  # axe on a fading drawer sees low contrast
            check_page(page, "rules-deleted", screenshots)
        finally:
            browser.close()


def test_device_detail_charts_latest_values_and_range(stack, screenshots: Path) -> None:
    """From the devices list into a simulated environment sensor: its header, a chart of its
    temperature from the columnar chart API, the latest temperature, then the 6h range."""
    executable = chromium_path()
    if executable is None:
        pytest.fail("Debian's chromium is needed (apt-get install chromium); .ci/run installs it")
    base, data_dir = stack
    credentials = demo_credentials(data_dir)
    with sync_playwright() as playwright:
        browser = launch(playwright, executable)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, timezone_id="Europe/London")
            sign_in(page, base, "demo-admin", credentials["demo-admin"])
            page.get_by_role("navigation").get_by_role("link", name="Devices").click()
            expect(page.get_by_text("25 devices")).to_be_visible(timeout=30_000)
            page.get_by_label("Search").fill("sim-site-1-dev-001")
            link = page.get_by_role("link", name=re.compile(r"^sim-site-1-dev-001"))
            expect(link).to_have_count(1, timeout=15_000)
            link.click()
            assert "/app/devices/sim-site-1-dev-001" in page.url

            summary = page.get_by_role("region", name="Device summary")
            expect(summary).to_contain_text("sim-site-1")
            latest = page.get_by_role("table", name="Latest values")
            expect(latest.get_by_role("row", name=re.compile(r"temperature_c\s+-?\d"))).to_be_visible(
                timeout=60_000
            )
            expect(page.get_by_role("textbox", name="Metric")).to_have_value("temperature_c", timeout=60_000)
            chart = page.get_by_role("img", name=re.compile(r"^temperature_c over the last 24h"))
            expect(chart.locator("canvas").first).to_be_visible()
            expect(page.get_by_role("button", name="Edit")).to_be_visible()  # tenant admin
            expect(page.get_by_role("region", name="API tokens")).to_be_visible()
            check_page(page, "device-detail-24h", screenshots)

            page.get_by_role("radiogroup", name="Range").get_by_text("6h", exact=True).click()
            expect(
                page.get_by_role("img", name=re.compile(r"^temperature_c over the last 6h"))
            ).to_be_visible(timeout=15_000)
            expect(page.get_by_text(re.compile(r"temperature_c · last 6h"))).to_be_visible()
            check_page(page, "device-detail-6h", screenshots)

            page.get_by_role("button", name="Edit").click()
            dialog = page.get_by_role("dialog")
            expect(dialog.get_by_role("textbox", name="Name")).to_have_value("sim-site-1-dev-001")
            check_page(page, "device-edit", screenshots)
            dialog.get_by_role("button", name="Cancel").click()
            expect(dialog).to_have_count(0)

            tokens = page.get_by_role("region", name="API tokens")
            tokens.get_by_role("button", name="Rotate").click()
            page.get_by_role("dialog").get_by_role("button", name="Rotate tokens").click()
            expect(tokens.get_by_text("it is shown only once")).to_be_visible(timeout=15_000)
            expect(tokens.get_by_role("button", name="Copy password")).to_be_visible()
            expect(tokens.get_by_role("table", name="Active API tokens").get_by_role("row")).to_have_count(2)
            check_page(page, "device-token-rotated", screenshots)
        finally:
            browser.close()


def test_maintenance_window_create_active_delete(stack, screenshots: Path) -> None:
    """A tenant admin creates a one-off maintenance window for the next hour, sees it listed as active
    now, and deletes it again."""
    executable = chromium_path()
    if executable is None:
        pytest.fail("Debian's chromium is needed (apt-get install chromium); .ci/run installs it")
    base, data_dir = stack
    credentials = demo_credentials(data_dir)
    with sync_playwright() as playwright:
        browser = launch(playwright, executable)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, timezone_id="Europe/London")
            sign_in(page, base, "demo-admin", credentials["demo-admin"])
            page.get_by_role("navigation").get_by_role("link", name="Maintenance").click()
            expect(page.get_by_role("heading", name="Maintenance windows")).to_be_visible()
            page.get_by_role("button", name="New window").click()
            editor = page.get_by_role("region", name="New maintenance window")
            editor.get_by_role("textbox", name="Name").fill("console e2e window")
            check_page(page, "maintenance-new", screenshots)
            editor.get_by_role("button", name="Create window").click()
            expect(editor).to_have_count(0, timeout=15_000)

            table = page.get_by_role("table", name="Maintenance windows")
            row = table.get_by_role("row").filter(has_text="console e2e window")
            expect(row).to_have_count(1)
            expect(row).to_contain_text("Active now")
            expect(row).to_contain_text("All devices")
            check_page(page, "maintenance-list", screenshots)

            # a weekly window that wraps midnight is refused by the API, which says why
            page.get_by_role("button", name="New window").click()
            editor = page.get_by_role("region", name="New maintenance window")
            editor.get_by_role("textbox", name="Name").fill("console e2e nightly")
            editor.get_by_text("Weekly", exact=True).click()
            editor.get_by_role("textbox", name="From hour").fill("22")
            editor.get_by_role("textbox", name="To hour").fill("6")
            editor.get_by_role("button", name="Create window").click()
            expect(editor.get_by_role("alert")).to_contain_text("end_hour must be after start_hour")
            check_page(page, "maintenance-refused", screenshots)
            editor.get_by_role("button", name="Cancel").click()
            expect(editor).to_have_count(0)

            row.get_by_role("button", name="Delete console e2e window").click()
            row.get_by_role("button", name="Confirm delete console e2e window").click()
            expect(table.get_by_role("row").filter(has_text="console e2e window")).to_have_count(
                0, timeout=15_000
            )
        finally:
            browser.close()


def test_console_notification_channel_test_send_and_deliveries(stack, screenshots: Path) -> None:
    """A tenant admin adds a webhook channel: a loopback target is refused at save time with the API's
    detail shown; an unresolvable one is saved, its test send answers (a failure, shown as the API
    gives it); then the delivery log lists the tenant's jobs and one job's attempts."""
    executable = chromium_path()
    if executable is None:
        pytest.fail("Debian's chromium is needed (apt-get install chromium); .ci/run installs it")
    base, data_dir = stack
    credentials = demo_credentials(data_dir)
    with sync_playwright() as playwright:
        browser = launch(playwright, executable)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, timezone_id="Europe/Berlin")
            page.on("dialog", lambda dialog: dialog.accept())  # the delete confirmations
            sign_in(page, base, "demo-admin", credentials["demo-admin"])
            page.get_by_role("navigation").get_by_role("link", name="Notifications").click()
            expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
            expect(page.get_by_role("heading", name="Routing rules")).to_be_visible()
            check_page(page, "notifications", screenshots)

            page.get_by_role("button", name="New channel").click()
            form = page.get_by_role("form", name="New channel")
            form.get_by_label("Name").fill("console e2e hook")
            form.get_by_label("URL").fill("http://127.0.0.1:9/hook")
            form.get_by_label("Signing secret (optional)").fill("e2e-signing-secret")
            form.get_by_role("button", name="Save channel").click()
            channels = page.get_by_role("table", name="Notification channels")
            row = channels.get_by_role("row").filter(has_text="console e2e hook")
            refusal = form.get_by_role("alert")
            expect(row.or_(refusal)).to_be_visible(timeout=15_000)
            if refusal.is_visible():  # loopback targets are refused unless the stack allows them
                expect(refusal).to_contain_text("The channel was not saved")
                expect(refusal).to_contain_text(re.compile("loopback|refused|private", re.I))
                check_page(page, "notifications-refused", screenshots)
                form.get_by_label("URL").fill("https://example.invalid/hook")
                form.get_by_role("button", name="Save channel").click()
            expect(row).to_be_visible(timeout=15_000)
            expect(row).to_contain_text("webhook")
            expect(row).to_contain_text("secret: ********")
            expect(page.get_by_text("e2e-signing-secret")).to_have_count(0)

            row.get_by_role("button", name="Test console e2e hook").click()
            # a test send that ran (ok or not) and a refused one (429 …) both answer in an alert
            answer = channels.get_by_role("alert").filter(has_text="Test of console e2e hook")
            expect(answer).to_contain_text(
                re.compile("Test of console e2e hook (failed|delivered|was refused)"), timeout=30_000
            )
            check_page(page, "notifications-tested", screenshots)

            page.get_by_role("button", name="New routing rule").click()
            rule_form = page.get_by_role("form", name="New routing rule")
            rule_form.get_by_role("checkbox", name="CLOSED").check()
            rule_form.get_by_role("button", name="Save rule").click()
            rule = (
                page.get_by_role("table", name="Routing rules")
                .get_by_role("row")
                .filter(has_text="console e2e hook")
            )
            expect(rule).to_contain_text("OPEN, CLOSED", timeout=15_000)
            check_page(page, "notifications-rule", screenshots)
            rule.get_by_role("button", name=re.compile("Delete routing rule")).click()
            expect(rule).to_have_count(0, timeout=15_000)
            row.get_by_role("button", name="Delete console e2e hook").click()
            expect(row).to_have_count(0, timeout=15_000)

            page.get_by_role("navigation").get_by_role("link", name="Deliveries").click()
            expect(page.get_by_role("heading", name="Deliveries")).to_be_visible()
            jobs = page.get_by_role("table", name="Delivery jobs")
            expect(jobs.or_(page.get_by_text("No delivery jobs"))).to_be_visible(timeout=15_000)
            check_page(page, "deliveries", screenshots)
            page.locator("label[for$='-COMPLETED']").click()  # the segmented control's label
            expect(jobs.or_(page.get_by_text("No COMPLETED delivery jobs"))).to_be_visible(timeout=15_000)
            if jobs.is_visible():
                first = jobs.get_by_role("row").nth(1)
                expect(first).to_contain_text("COMPLETED")
                first.get_by_role("button", name=re.compile("Attempts of job")).click()
                drawer = page.get_by_role("dialog")
                expect(drawer.get_by_role("table", name=re.compile("Attempts of job"))).to_contain_text("OK")
                check_page(page, "deliveries-attempts", screenshots)
        finally:
            browser.close()
