"""Keys never leave the simulator: one record-mode run with both keys, then every output is searched for them.

The run uses the simulator's client key, a separate admin key and the upstream AOAI key (against the stand-in
AOAI on loopback), logs at DEBUG, records, fails upstream, crashes an extension, refuses bad keys and reads
every GET route under `/++/` from the route table (config today; telemetry and dashboards as they land). Then
the server's whole output (logs, crash traces, banner), every recording file, and every answer's status line,
headers and body are searched for each key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from simulator.api.routes import ROUTES
from tests.support.server import SimulatorProcess
from tests.support.standin_aoai import StandinAOAI

CLIENT_KEY = "client-SECRET-7c41d09e5b"
ADMIN_KEY = "admin-SECRET-2f98a6c3d1"
UPSTREAM_KEY = "upstream-SECRET-93be07f4aa"
GA = "?api-version=2024-10-21"
CRASHING_EXTENSION = """
from simulator import extend


def initialize(simulator):
    def crash(prompt):
        if "crash" in prompt.last_user_text:
            raise RuntimeError("the extension crashed on purpose")
        return "fine"

    simulator.add_generator(extend.Operation.CHAT_COMPLETIONS, crash)
"""


class Run:
    def __init__(self) -> None:
        self.answers: list[str] = []
        self.output = ""
        self.recordings: dict[str, str] = {}

    def keep(self, response: httpx.Response) -> httpx.Response:
        response.read()
        headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
        self.answers.append(f"{response.status_code} {response.url}\n{headers}\n\n{response.text}")
        return response


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("secrets")
    extension = root / "crashing.py"
    extension.write_text(CRASHING_EXTENSION)
    result = Run()
    with StandinAOAI(api_key=UPSTREAM_KEY) as upstream:
        env = {
            "SIMULATOR_MODE": "record",
            "AZURE_OPENAI_ENDPOINT": upstream.url,
            "AZURE_OPENAI_KEY": UPSTREAM_KEY,
            "SIMULATOR_ADMIN_KEY": ADMIN_KEY,
            "RECORDING_DIR": str(root / "recordings"),
            "RECORDING_RECORD_FAILURES": "true",
            "EXTENSION_PATH": str(extension),
            "LOG_LEVEL": "DEBUG",
        }
        server = SimulatorProcess(env, api_key=CLIENT_KEY).start()
        try:
            _exercise(server, result)
        finally:
            result.output = server.stop()
    result.recordings = {
        str(path): path.read_text() for path in sorted((root / "recordings").rglob("*")) if path.is_file()
    }
    yield result


def _exercise(server: SimulatorProcess, run: Run) -> None:
    client = httpx.Client(base_url=server.url, timeout=30, headers={"api-key": CLIENT_KEY})
    admin = {"api-key": ADMIN_KEY}
    chat = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}
    with client:
        run.keep(client.post(f"/openai/deployments/gpt-4o/chat/completions{GA}", json=chat))
        with client.stream(
            "POST", f"/openai/deployments/gpt-4o/chat/completions{GA}", json={**chat, "stream": True}
        ) as streamed:
            run.keep(streamed)
        run.keep(client.post(f"/openai/deployments/text-embedding-3-small/embeddings{GA}", json={"input": "a"}))
        run.keep(
            client.post(
                f"/openai/deployments/gpt-4o/chat/completions{GA}",
                json=chat,
                headers={"api-key": "", "authorization": f"Bearer {CLIENT_KEY}"},
            )
        )
        run.keep(client.post(f"/openai/deployments/standin-500/chat/completions{GA}", json=chat))
        run.keep(client.post(f"/openai/deployments/standin-429/chat/completions{GA}", json=chat))
        # Wrong keys, and keys where they do not belong.
        run.keep(client.post(f"/openai/deployments/gpt-4o/chat/completions{GA}", json=chat, headers=admin))
        run.keep(
            client.post(
                f"/openai/deployments/gpt-4o/chat/completions{GA}", json=chat, headers={"api-key": UPSTREAM_KEY}
            )
        )
        run.keep(client.get("/++/config"))
        run.keep(client.post(f"/openai/deployments/gpt-4o/chat/completions{GA}", content=b"{" + CLIENT_KEY.encode()))
        for route in ROUTES:
            if route.path.startswith("/++/") and "GET" in route.methods and "{" not in route.path:
                run.keep(client.get(route.path, headers=admin))
        run.keep(client.post("/++/recordings/save", headers=admin))
        # An extension that crashes in generate mode: a logged stack trace, a 500 to the client.
        run.keep(client.patch("/++/config", json={"mode": "generate"}, headers=admin))
        run.keep(
            client.post(
                f"/openai/deployments/gpt-4o/chat/completions{GA}",
                json={"messages": [{"role": "user", "content": "crash"}]},
            )
        )
        run.keep(client.get("/++/config", headers=admin))


@pytest.mark.parametrize("key", [CLIENT_KEY, ADMIN_KEY, UPSTREAM_KEY], ids=["client", "admin", "upstream"])
def test_no_key_appears_in_any_output(run: Run, key: str) -> None:
    assert key not in run.output
    for path, text in run.recordings.items():
        assert key not in text, path
    for answer in run.answers:
        assert key not in answer, answer[:200]


def test_the_run_produced_every_kind_of_output(run: Run) -> None:
    """The search means something only if the outputs exist: recordings, a crash trace, failed answers."""
    assert any(path.endswith(".yaml") for path in run.recordings)
    assert "Traceback" in run.output and "the extension crashed on purpose" in run.output
    statuses = [int(answer.split(" ", 1)[0]) for answer in run.answers]
    assert statuses[:6] == [200, 200, 200, 200, 500, 429]
    assert statuses[6:10] == [401, 401, 401, 400]
    assert 500 in statuses[-3:]


def test_the_admin_key_guards_the_control_endpoints(run: Run) -> None:
    config_answers = [answer for answer in run.answers if "/++/config" in answer.split("\n", 1)[0]]
    assert [int(answer.split(" ", 1)[0]) for answer in config_answers] == [401, 200, 200, 200]


@pytest.fixture(scope="module")
def cors_server() -> Iterator[SimulatorProcess]:
    with SimulatorProcess({"SIMULATOR_CORS_ORIGINS": "https://dashboard.example, https://other.example/"}) as server:
        yield server


def test_cors_is_off_by_default(server: SimulatorProcess) -> None:
    response = httpx.get(
        f"{server.url}/openai/v1/models", headers={"api-key": server.api_key, "origin": "https://x.example"}
    )
    assert response.status_code == 200
    assert not [name for name in response.headers if name.startswith("access-control-")]


def test_cors_answers_listed_origins_only(cors_server: SimulatorProcess) -> None:
    url = f"{cors_server.url}/openai/deployments/chat/chat/completions{GA}"
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2})
    preflight = httpx.options(
        url,
        headers={
            "origin": "https://dashboard.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "api-key, content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://dashboard.example"
    assert preflight.headers["access-control-allow-headers"] == "api-key, content-type"
    assert preflight.headers["access-control-allow-methods"] == "POST"

    headers = {"api-key": cors_server.api_key, "content-type": "application/json"}
    allowed = httpx.post(url, content=body, headers={**headers, "origin": "https://other.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://other.example"
    assert allowed.headers["access-control-expose-headers"] == "*"

    foreign = httpx.post(url, content=body, headers={**headers, "origin": "https://evil.example"})
    assert "access-control-allow-origin" not in foreign.headers
    refused = httpx.options(url, headers={"origin": "https://evil.example", "access-control-request-method": "POST"})
    assert refused.status_code == 401  # not a preflight it answers: the usual auth applies
