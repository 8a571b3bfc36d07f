"""App settings as the real worker meets them: the ones it needs, a bad one, and an extension named by one."""

from __future__ import annotations

import base64

import httpx
import pytest
from openai import AzureOpenAI

from tests.functions.conftest import KEY, REPO, app_settings, functions_host
from tests.support.functions_host import FunctionsHost

MESSAGES = [{"role": "user", "content": "echo me"}]


def test_a_bad_setting_answers_the_aoai_shaped_500_that_names_it(worker_dir) -> None:
    with FunctionsHost(REPO, worker_dir, app_settings(SIMULATOR_MODE="sideways")) as host:
        answers = [
            httpx.post(f"{host.url}/openai/v1/chat/completions", json={"model": "m"}, headers={"api-key": KEY}),
            httpx.get(f"{host.url}/health"),
        ]
        invocations = host.invocations_since(0, count=2)
    for answer in answers:
        assert answer.status_code == 500
        error = answer.json()["error"]
        assert error["code"] == "InternalServerError" and "SIMULATOR_MODE" in error["message"]
    assert [invocation.status for invocation in invocations] == ["Success", "Success"]  # answered, not crashed
    errors = [line for line in host.logs if line.startswith("Error")]
    assert len(errors) == 1 and "cannot start" in errors[0] and "SIMULATOR_MODE" in errors[0]  # logged once
    assert "Traceback" not in "".join(host.output)


def test_extensions_from_extension_path(worker_dir) -> None:
    """A generator, a route of its own (served by the catch-all function) and a response hook, in the worker."""
    # Relative to the app folder, the worker's working directory (/home/site/wwwroot on Azure).
    settings = app_settings(
        EXTENSION_PATH="extensions/echo_generator.py,extensions/document_intelligence,extensions/response_hook.py",
        DOCUMENT_INTELLIGENCE_SECONDS="0",
        DOCUMENT_INTELLIGENCE_SECONDS_PER_PAGE="0",
    )
    with functions_host(worker_dir, settings) as host:
        azure = AzureOpenAI(azure_endpoint=host.url, api_key=KEY, api_version="2024-10-21", max_retries=0)
        raw = azure.chat.completions.with_raw_response.create(model="chat", messages=MESSAGES)
        source = base64.b64encode(b"Hello from the worker").decode()
        accepted = httpx.post(
            f"{host.url}/documentintelligence/documentModels/prebuilt-read:analyze?api-version=2024-11-30",
            json={"base64Source": source},
            headers={"api-key": KEY},
        )
        polled = httpx.get(
            accepted.headers["operation-location"].replace("http://", "http://", 1), headers={"api-key": KEY}
        )
        invocations = host.invocations_since(0, count=3)
    assert raw.parse().choices[0].message.content == "echo me" and raw.headers["x-simulator-hooked"] == "1"
    assert accepted.status_code == 202, accepted.text
    assert polled.json()["analyzeResult"]["content"] == "Hello from the worker"
    assert [i.function for i in invocations] == ["chat_completions", "not_found", "not_found"]


def test_without_init_indexing_the_worker_cannot_serve_http_streams(worker_dir) -> None:
    """Why PYTHON_ENABLE_INIT_INDEXING=1 is in local.settings.sample.json and the Terraform app settings (the
    infra tests check both): without it the worker offers no HttpUri and the app's FastAPI types do not load."""
    with pytest.raises(RuntimeError, match="offered no HttpUri"):
        FunctionsHost(REPO, worker_dir, app_settings(PYTHON_ENABLE_INIT_INDEXING="0")).start()
