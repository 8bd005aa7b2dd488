import pytest

from pulse.config import SettingsError, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("PULSE_DATABASE_URL", "PULSE_MQTT_URL", "PULSE_HTTP_PORT", "PULSE_HTTP_HOST"):
        monkeypatch.delenv(var, raising=False)
    settings = load_settings(_env_file=None)
    assert settings.database_url is None
    assert settings.mqtt_url is None
    assert (settings.http_host, settings.http_port, settings.admin_port) == ("127.0.0.1", 8080, 8081)
    assert str(settings.data_dir) == ".pulse"


def test_reads_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_MQTT_URL", "mqtt://broker.example:1884")
    monkeypatch.setenv("PULSE_HTTP_PORT", "9000")
    settings = load_settings(_env_file=None)
    assert settings.mqtt_host_port == ("broker.example", 1884)
    assert settings.http_port == 9000


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PULSE_HTTP_PORT", "eighty"),
        ("PULSE_HTTP_PORT", "70000"),
        ("PULSE_MQTT_URL", "http://broker:1883"),
        ("PULSE_MQTT_URL", "mqtt://broker:notaport"),
        ("PULSE_DATABASE_URL", "mysql://db/pulse"),
        ("PULSE_LOG_FORMAT", "xml"),
        ("PULSE_LOG_LEVEL", "LOUD"),
    ],
)
def test_malformed_setting_is_named(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as excinfo:
        load_settings(_env_file=None)
    assert variable in str(excinfo.value)


def test_secret_not_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_ADMIN_KEY", "s3cret-admin-key")
    settings = load_settings(_env_file=None)
    assert "s3cret-admin-key" not in repr(settings)
    assert settings.admin_key is not None
    assert settings.admin_key.get_secret_value() == "s3cret-admin-key"


def test_every_setting_is_documented_in_the_readme() -> None:
    from pathlib import Path

    from pulse.config import Settings

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    missing = [
        f"PULSE_{name.upper()}" for name in Settings.model_fields if f"`PULSE_{name.upper()}`" not in readme
    ]
    assert missing == []
