"""The CLI answers --help everywhere and fails early, naming the setting, when configuration is wrong."""

import pytest
from typer.testing import CliRunner

from pulse.cli import app

runner = CliRunner()


@pytest.mark.parametrize("command", [[], ["up"], ["migrate"], ["run"], ["version"], ["outbox"]])
def test_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.output.startswith("pulse ")


def test_run_unknown_service() -> None:
    result = runner.invoke(app, ["run", "nonsense"])
    assert result.exit_code == 2
    assert "unknown service" in result.output


def test_run_needs_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULSE_DATABASE_URL", raising=False)
    monkeypatch.chdir("/")  # no .env here
    result = runner.invoke(app, ["run", "api"])
    assert result.exit_code == 1
    assert "PULSE_DATABASE_URL" in result.output


def test_malformed_setting_fails_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_HTTP_PORT", "not-a-port")
    result = runner.invoke(app, ["up"])
    assert result.exit_code == 2
    assert "PULSE_HTTP_PORT" in result.output


def test_outbox_help_says_the_mail_was_not_sent() -> None:
    result = runner.invoke(app, ["outbox", "--help"])
    assert result.exit_code == 0
    for text in ("NOT sent", "PULSE_SMTP_HOST", "--limit", "--tenant", "--follow", "--json", "--html"):
        assert text in result.output, text


def test_outbox_limit_is_bounded() -> None:
    result = runner.invoke(app, ["outbox", "--limit", "0"])
    assert result.exit_code == 2
