from pathlib import Path

import pytest
from openai import AzureOpenAI

from simulator.app import Simulator
from simulator.settings import Settings, SettingsError
from tests.support.server import REPO, SimulatorProcess


def test_example_extension_replaces_the_chat_generator() -> None:
    env = {"EXTENSION_PATH": str(REPO / "extensions" / "echo_generator.py")}
    with SimulatorProcess(env) as server:
        client = AzureOpenAI(azure_endpoint=server.url, api_key=server.api_key, api_version="2024-10-21")
        reply = client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "echo me"}])
    assert reply.choices[0].message.content == "echo me"
    assert reply.usage.completion_tokens == 2


def test_a_broken_extension_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "ext.py").write_text("x = 1\n")
    with pytest.raises(SettingsError, match="initialize"):
        Simulator.from_settings(Settings.from_env({"EXTENSION_PATH": str(tmp_path / "ext.py")}))
    with pytest.raises(SettingsError, match="EXTENSION_PATH"):
        Simulator.from_settings(Settings.from_env({"EXTENSION_PATH": str(tmp_path / "missing.py")}))
