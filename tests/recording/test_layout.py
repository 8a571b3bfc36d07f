from __future__ import annotations

from pathlib import Path

import pytest

from simulator.errors import OpenAIError
from simulator.models import Operation
from simulator.recording import Recorder, RecordingConfig
from simulator.recording.layout import UnsafeNameError, cassette_name, check_name
from simulator.recording.persisters.files import FilePersister
from tests.recording.conftest import chat, make_request

UNSAFE = ["..", ".", "../etc", "a/b", "a\\b", "%2e%2e", "", "/etc", ".hidden", "a b", "x" * 200, "a\x00"]


def test_layout_is_deployment_then_operation() -> None:
    assert cassette_name("gpt-4o", Operation.CHAT_COMPLETIONS) == "gpt-4o/chat-completions.yaml"
    assert cassette_name("emb_3.small", Operation.EMBEDDINGS) == "emb_3.small/embeddings.yaml"


@pytest.mark.parametrize("deployment", UNSAFE)
def test_deployment_names_that_could_escape_are_rejected(deployment: str) -> None:
    with pytest.raises(UnsafeNameError):
        cassette_name(deployment, Operation.CHAT_COMPLETIONS)


@pytest.mark.parametrize("name", ["../x.yaml", "a/../../x.yaml", "/etc/x.yaml", "a//b.yaml", "a/b.txt", "a/./b.yaml"])
async def test_persisters_refuse_names_outside_the_root(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnsafeNameError):
        check_name(name)
    persister = FilePersister(tmp_path / "root")
    with pytest.raises(UnsafeNameError):
        await persister.write(name, "version: 1\n", None)
    with pytest.raises(UnsafeNameError):
        await persister.read(name)


async def test_a_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "root" / "gpt-4o").symlink_to(tmp_path / "outside")
    with pytest.raises(UnsafeNameError):
        await FilePersister(tmp_path / "root").write("gpt-4o/chat-completions.yaml", "version: 1\n", None)
    assert list((tmp_path / "outside").iterdir()) == []


async def test_recording_an_unsafe_deployment_answers_404_and_writes_nothing(tmp_path: Path) -> None:
    config = RecordingConfig(directory=tmp_path / "root", endpoint="http://127.0.0.1:9", key="k")
    recorder = Recorder(config, FilePersister(config.directory))
    with pytest.raises(OpenAIError) as raised:
        await recorder.forward(make_request(Operation.CHAT_COMPLETIONS, chat(), deployment="../../escape"))
    await recorder.close()
    assert raised.value.code == "DeploymentNotFound"
    assert not (tmp_path / "root").exists() and not (tmp_path / "escape").exists()
