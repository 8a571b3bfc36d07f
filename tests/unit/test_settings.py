from pathlib import Path

import pytest

from simulator.settings import Mode, Settings, SettingsError, documented_settings, parse_token_range


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.mode is Mode.GENERATE
    assert settings.allow_undefined_deployments is True
    assert settings.recording_dir == Path("recordings")


def test_values_are_parsed_by_type() -> None:
    settings = Settings.from_env(
        {
            "SIMULATOR_MODE": "Replay",
            "ALLOW_UNDEFINED_OPENAI_DEPLOYMENTS": "false",
            "SIMULATOR_MAX_BODY_BYTES": "1000",
            "OPENAI_DEPLOYMENT_CONFIG_PATH": "deployments.json",
        }
    )
    assert settings.mode is Mode.REPLAY
    assert settings.allow_undefined_deployments is False
    assert settings.max_body_bytes == 1000
    assert settings.deployment_config_path == Path("deployments.json")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SIMULATOR_MODE", "playback"),
        ("ALLOW_UNDEFINED_OPENAI_DEPLOYMENTS", "perhaps"),
        ("SIMULATOR_MAX_BODY_BYTES", "lots"),
        ("SIMULATOR_MAX_BODY_BYTES", "-1"),
        ("SIMULATOR_COMPLETION_TOKENS", "300-100"),
        ("LOG_LEVEL", "LOUD"),
    ],
)
def test_bad_values_name_the_setting(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_record_mode_needs_an_endpoint() -> None:
    with pytest.raises(SettingsError, match="AZURE_OPENAI_ENDPOINT"):
        Settings.from_env({"SIMULATOR_MODE": "record"})


def test_token_range() -> None:
    assert parse_token_range("200") == (200, 200)
    assert parse_token_range("10-20") == (10, 20)


def test_every_setting_is_documented_once() -> None:
    rows = documented_settings()
    names = [row.env for row in rows]
    assert len(names) == len(set(names))
    assert {"SIMULATOR_MODE", "SIMULATOR_API_KEY", "OPENAI_DEPLOYMENT_CONFIG_PATH", "LOG_LEVEL"} <= set(names)
    assert all(row.doc for row in rows)


def test_secrets_stay_out_of_repr() -> None:
    settings = Settings.from_env(
        {
            "SIMULATOR_API_KEY": "k-123",
            "AZURE_OPENAI_KEY": "u-456",
            "AZURE_STORAGE_CONNECTION_STRING": "AccountKey=s-789",
        }
    )
    shown = repr(settings)
    assert "k-123" not in shown and "u-456" not in shown and "s-789" not in shown
    assert "mode=" in shown
