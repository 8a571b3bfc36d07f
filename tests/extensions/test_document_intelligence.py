"""The Document Intelligence example over a real socket: the official SDK analyses a document end to end; the
raw protocol (202 + operation-location, running then succeeded), its errors and its rate limit."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import httpx
import pytest
from azure.ai.documentintelligence import DocumentIntelligenceClient
from azure.ai.documentintelligence.models import AnalyzeDocumentRequest
from azure.core.credentials import AzureKeyCredential

from tests.support.server import SimulatorProcess

KEY = "di-key"
TEXT = "Invoice 42\nTotal: 17 EUR\fPage two says hello\n"
MODELLED_SECONDS = 1.5


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorProcess]:
    env = {
        "EXTENSION_PATH": "extensions/document_intelligence",
        "DOCUMENT_INTELLIGENCE_SECONDS": str(MODELLED_SECONDS),
        "DOCUMENT_INTELLIGENCE_SECONDS_PER_PAGE": "0",
        "DOCUMENT_INTELLIGENCE_POLL_AFTER": "0",
        "DOCUMENT_INTELLIGENCE_RPS": "4",
    }
    with SimulatorProcess(env, api_key=KEY) as process:
        yield process


def test_the_sdk_analyzes_a_document(server: SimulatorProcess) -> None:
    client = DocumentIntelligenceClient(server.url, AzureKeyCredential(KEY))
    poller = client.begin_analyze_document(
        "prebuilt-read", AnalyzeDocumentRequest(bytes_source=TEXT.encode()), polling_interval=0.05
    )
    result = poller.result()
    assert result.model_id == "prebuilt-read" and result.api_version == "2024-11-30"
    assert result.content == "Invoice 42\nTotal: 17 EUR\nPage two says hello"
    assert [page.page_number for page in result.pages] == [1, 2]
    assert [line.content for line in result.pages[0].lines] == ["Invoice 42", "Total: 17 EUR"]
    words = result.pages[1].words
    assert [word.content for word in words] == ["Page", "two", "says", "hello"]
    assert result.content[words[0].span.offset : words[0].span.offset + words[0].span.length] == "Page"


@pytest.mark.parametrize("prefix", ["/documentintelligence", "/formrecognizer"])
def test_analyze_answers_202_then_the_poll_runs_then_succeeds(server: SimulatorProcess, prefix: str) -> None:
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Page >>\n2 0 obj << /Type /Page >>\nBT (Hello \\(PDF\\)) Tj (Bye) Tj ET\n"
    with httpx.Client(base_url=server.url, headers={"Ocp-Apim-Subscription-Key": KEY}) as client:
        sent = time.monotonic()
        accepted = client.post(
            f"{prefix}/documentModels/prebuilt-layout:analyze?api-version=2024-11-30",
            content=pdf,
            headers={"content-type": "application/pdf"},
        )
        assert accepted.status_code == 202, accepted.text
        location = accepted.headers["operation-location"]
        assert location.startswith(f"{server.url}{prefix}/documentModels/prebuilt-layout/analyzeResults/")
        assert location.endswith("?api-version=2024-11-30")
        first = client.get(location)
        if time.monotonic() - sent < MODELLED_SECONDS:
            assert first.json()["status"] == "running", first.text
        statuses = [first.json()["status"]]
        while statuses[-1] == "running":
            time.sleep(0.05)  # as a client polls (polls are limited to 50 per second)
            answer = client.get(location)
            assert answer.status_code == 200, answer.text
            statuses.append(answer.json()["status"])
    assert statuses[-1] == "succeeded"
    result = answer.json()["analyzeResult"]
    assert result["content"] == "Hello (PDF)\nBye"
    assert len(result["pages"]) == 2 and result["modelId"] == "prebuilt-layout"


def test_errors_are_shaped_as_the_service_shapes_them(server: SimulatorProcess) -> None:
    with httpx.Client(base_url=server.url, headers={"Ocp-Apim-Subscription-Key": KEY}) as client:
        wrong_key = client.post(
            "/documentintelligence/documentModels/prebuilt-read:analyze?api-version=2024-11-30",
            json={"base64Source": base64.b64encode(b"x").decode()},
            headers={"Ocp-Apim-Subscription-Key": "nope"},
        )
        no_version = client.post("/documentintelligence/documentModels/prebuilt-read:analyze", json={})
        unknown_model = client.post(
            "/documentintelligence/documentModels/mine:analyze?api-version=2024-11-30", json={"urlSource": "x"}
        )
        no_result = client.get(
            "/documentintelligence/documentModels/prebuilt-read/analyzeResults/nope?api-version=2024-11-30"
        )
        wrong_method = client.delete("/documentintelligence/documentModels/prebuilt-read:analyze")
    assert wrong_key.status_code == 401
    assert no_version.status_code == 400 and no_version.json()["error"]["code"] == "MissingApiVersionParameter"
    assert unknown_model.status_code == 404
    assert unknown_model.json()["error"]["innererror"]["code"] == "ModelNotFound"
    assert no_result.status_code == 404
    assert wrong_method.status_code == 405


def test_analyses_over_the_limit_get_429_with_retry_after(server: SimulatorProcess) -> None:
    """4 per second: of 9 sent at once, at most 8 fit even across a window's end."""
    with httpx.Client(base_url=server.url, headers={"Ocp-Apim-Subscription-Key": KEY}) as client:
        answers = [
            client.post(
                "/formrecognizer/documentModels/prebuilt-read:analyze?api-version=2023-07-31",
                json={"urlSource": f"https://example.com/{n}.pdf"},
            )
            for n in range(9)
        ]
    refused = [answer for answer in answers if answer.status_code == 429]
    assert refused and {answer.status_code for answer in answers} <= {202, 429}
    assert int(refused[0].headers["retry-after"]) == 1
    assert refused[0].json()["error"]["code"] == "429"
