import json
import logging

import pytest

from simulator.deployments import Deployments, DeploymentType, load_deployments, parse_deployments
from simulator.errors import OpenAIError
from simulator.models import ModelKind, Operation, find_model
from simulator.settings import SettingsError


def test_predecessor_file_shape_loads(tmp_path) -> None:
    path = tmp_path / "deployments.json"
    path.write_text(
        json.dumps(
            {
                "chat": {"model": "gpt-4o", "tokensPerMinute": 30000},
                "embed": {"model": "text-embedding-ada-002", "tokensPerMinute": 10000, "embeddingSize": 768},
                "ptu": {"model": "gpt-4.1", "type": "provisioned", "ptu": 50},
            }
        )
    )
    deployments = load_deployments(path)
    assert deployments["chat"].model.name == "gpt-4o" and deployments["chat"].tokens_per_minute == 30000
    assert deployments["embed"].embedding_dimensions == 768
    assert deployments["ptu"].type is DeploymentType.PROVISIONED and deployments["ptu"].ptu == 50


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"d": {"model": ""}}, "'model'"),
        ({"d": {"model": "gpt-4o", "tokensPerMinute": -5}}, "tokensPerMinute"),
        ({"d": {"model": "gpt-4o", "tokensPerMinte": 5}}, "tokensPerMinte"),
        ({"d": {"model": "gpt-4o", "type": "provisioned"}}, "ptu"),
        ([], "JSON object"),
    ],
)
def test_bad_entries_name_the_field(document, message) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_deployments(document)


def test_unreadable_file_is_a_settings_error(tmp_path) -> None:
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(SettingsError, match="OPENAI_DEPLOYMENT_CONFIG_PATH"):
        load_deployments(tmp_path / "bad.json")


def _deployments(allow_undefined: bool) -> Deployments:
    return Deployments(
        parse_deployments({"known": {"model": "gpt-4o-mini"}}),
        allow_undefined=allow_undefined,
        default_chat_model="gpt-4o",
        default_embedding_model="text-embedding-ada-002",
    )


def test_undefined_names_get_a_model_for_the_operation() -> None:
    deployments = _deployments(True)
    assert deployments.resolve("anything", Operation.CHAT_COMPLETIONS).model.name == "gpt-4o"
    assert deployments.resolve("anything", Operation.EMBEDDINGS).model.kind is ModelKind.EMBEDDING
    # A name that is a model name behaves as that model.
    assert deployments.resolve("text-embedding-3-large", Operation.EMBEDDINGS).embedding_dimensions == 3072
    assert deployments.resolve("known", Operation.CHAT_COMPLETIONS).model.name == "gpt-4o-mini"


def test_undefined_names_can_be_refused() -> None:
    with pytest.raises(OpenAIError) as caught:
        _deployments(False).resolve("missing", Operation.CHAT_COMPLETIONS)
    assert caught.value.status == 404 and caught.value.code == "DeploymentNotFound"


def test_model_lookup_tolerates_versions_and_unknowns(caplog) -> None:
    assert find_model("gpt-4o-mini-2024-07-18").encoding == "o200k_base"
    assert find_model("gpt-4o-mini-2024-07-18").ptu_input_tpm == find_model("gpt-4o-mini").ptu_input_tpm
    assert find_model("gpt-3.5-turbo").encoding == "cl100k_base"
    assert find_model("o3-mini").reasoning
    with caplog.at_level(logging.WARNING):
        first = find_model("my-custom-llm")
        find_model("my-custom-llm")
    assert first.kind is ModelKind.CHAT
    assert sum("my-custom-llm" in record.message for record in caplog.records) == 1
    assert find_model("my-embedder-embedding").kind is ModelKind.EMBEDDING


@pytest.mark.parametrize("name", ["../etc", "a b", "\u0000", "x" * 65, ""])
def test_names_azure_would_not_accept_are_not_found(name: str) -> None:
    with pytest.raises(OpenAIError) as caught:
        _deployments(True).resolve(name, Operation.CHAT_COMPLETIONS)
    assert caught.value.code == "DeploymentNotFound"
