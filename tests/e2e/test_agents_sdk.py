"""The OpenAI Agents SDK (`openai-agents`) runs an agent with a function tool to completion against the simulator,
over the Responses API: it calls the tool with schema-valid arguments, sends the result back, and ends with text."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from agents import Agent, ModelSettings, OpenAIResponsesModel, RunConfig, Runner, function_tool, set_tracing_disabled
from openai import AsyncOpenAI

from tests.support.server import SimulatorProcess


@pytest.fixture(scope="module")
def agent_server() -> Iterator[SimulatorProcess]:
    # "auto" answers the first turn with a call; after the tool's result it answers with text (ends the loop).
    env = {
        "SIMULATOR_SEED": "7",
        "SIMULATOR_LATENCY_ENABLED": "false",
        "SIMULATOR_TOOL_CALL_PROBABILITY": "1",
        "SIMULATOR_TOOL_CALL_PROBABILITY_AFTER_TOOL": "0",
        "SIMULATOR_PARALLEL_TOOL_CALL_PROBABILITY": "0",
    }
    with SimulatorProcess(env) as process:
        yield process


@pytest.mark.parametrize("stream", [False, True])
async def test_an_agent_with_a_function_tool_runs_to_completion(agent_server: SimulatorProcess, stream: bool) -> None:
    set_tracing_disabled(True)  # traces would be exported to api.openai.com
    calls: list[tuple[str, int]] = []

    @function_tool
    def get_weather(city: str, days: int) -> str:
        """The forecast for a city over some days."""
        calls.append((city, days))
        return json.dumps({"city": city, "forecast": "rain"})

    client = AsyncOpenAI(base_url=f"{agent_server.url}/openai/v1/", api_key=agent_server.api_key, max_retries=0)
    agent = Agent(
        name="forecaster",
        instructions="Answer with the forecast.",
        tools=[get_weather],
        model=OpenAIResponsesModel(model="gpt-4o", openai_client=client),
        model_settings=ModelSettings(store=True),
    )
    config = RunConfig(tracing_disabled=True)
    if stream:
        result = Runner.run_streamed(agent, "Weather in Oban for three days?", run_config=config)
        async for _ in result.stream_events():
            pass
    else:
        result = await Runner.run(agent, "Weather in Oban for three days?", run_config=config)
    assert len(calls) == 1 and isinstance(calls[0][0], str) and isinstance(calls[0][1], int)
    assert isinstance(result.final_output, str) and result.final_output
    kinds = [item.type for item in result.new_items]
    assert kinds == ["tool_call_item", "tool_call_output_item", "message_output_item"]
    await client.close()
