"""The benchmark harness end to end in a tiny configuration (a second per run), and its pure parts.

No timing assertions: on a shared machine the figures prove nothing; these tests prove the harness measures.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench import instructions, report, stats, stream_floor, wrk
from bench.streams import PacedStream, arrivals
from simulator.latency.model import LatencyPlan, Releases
from simulator.latency.pacing import StreamCursor
from simulator.replies import StreamEvent, StreamEvents, TextRun
from tests.support.server import REPO

needs_tools = pytest.mark.skipif(
    shutil.which("wrk") is None or shutil.which("taskset") is None, reason="wrk and taskset are needed"
)


TINY = ("--duration", "1", "--warmup", "0", "--repeat", "1", "--connections", "2")


def run_bench(output: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`python -m bench` in a tiny configuration, writing its figures to `output`; it must succeed."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench", *TINY, *arguments, "--output", str(output)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed


@needs_tools
def test_tiny_run_measures_every_scenario_against_the_ceiling(tmp_path: Path) -> None:
    output = tmp_path / "perf.json"
    streams = ["--streams", "4", "--stream-burst", "0", "--stream-tokens", "5", "--stream-ramp", "0.1"]
    completed = run_bench(output, *streams)
    results = json.loads(output.read_text())
    measured = {(m["scenario"], m["server"]) for m in results["throughput"]["measurements"]}
    names = ("chat", "stream", "embeddings", "limited", "reasoning", "responses", "responses-stored", "responses-turn")
    assert measured == {(name, server) for name in names for server in ("simulator", "ceiling")}
    for m in results["throughput"]["measurements"]:
        assert m["requests_per_s"] > 0 and m["errors"] == 0 and m["cpu_us_per_request"] > 0, m
    summary = results["summary"]
    assert set(summary["scenarios"]) == set(names)
    assert summary["chat_vs_ceiling"] > 0 and summary["embeddings_vs_ceiling"] > 0
    assert summary["responses_vs_chat_ceiling"] > 0 and "responses_turn_extra_cpu_us" in summary
    assert summary["reasoning_vs_ceiling"] > 0 and summary["reasoning_vs_chat"] > 0
    assert summary["launch_s"] > 0 and summary["resident_mib"] > 0
    paced = results["paced_streams"]
    assert "skipped" in paced or paced["runs"][0]["complete"] == paced["runs"][0]["floor"]["complete"] == 4
    assert "Targets:" in completed.stdout and str(output) in completed.stdout


def test_stream_floor_releases_the_bytes_on_the_simulators_schedule() -> None:
    events = [
        StreamEvents([StreamEvent(b"data: {}\n\n")]),  # prompt filter results
        StreamEvents([StreamEvent(b'data: {"delta":{"content":""}}\n\n')]),  # the role
        StreamEvents([TextRun(b'data: {"delta":{"content":', ["a", "b", "c"], b"}}\n\n")]),
        StreamEvents([StreamEvent(b"data: [DONE]\n\n")]),
    ]
    stream = StreamEvents([part for group in events for part in (group[index] for index in range(len(group)))])
    body = stream.join()
    for burst in (0, 2):
        plan = LatencyPlan(0.1, 0.0, Releases(0.1, stream.token_counts(), lambda count: 0.02 * count, burst))
        cursor = StreamCursor(stream, plan, 0.0, coalesce=0.001)  # what the simulator writes, and when
        expected = []
        while (deadline := cursor.deadline) is not None:
            expected.append((deadline, cursor.take(deadline)))
        floor = stream_floor.schedule(body, 0.1, 0.02, burst)
        assert [at for at, _ in floor] == pytest.approx([at for at, _ in expected])
        assert [data.split(b"\r\n", 1)[1][:-2] for _, data in floor] == [data for _, data in expected]


def test_lua_script_sends_the_body_or_a_counter_in_it() -> None:
    fixed = wrk.lua_script(wrk.Load("/x", '{"a": "]]"}', {"api-key": "k"}))
    assert "wrk.headers[ [[api-key]] ] = [[k]]" in fixed
    assert 'wrk.body = [=[{"a": "]]"}]=]' in fixed  # the long bracket outgrows what the body contains
    varying = wrk.lua_script(wrk.Load("/x", '{"input": "text {n}"}', {}))
    assert "wrk.body" not in varying
    assert 'local prefix, suffix, counter = [[{"input": "text ]], [["}]], 0' in varying
    assert "prefix .. counter .. suffix" in varying


def test_lua_script_reads_a_binary_body_from_its_file() -> None:
    upload = wrk.lua_script(wrk.Load("/x", b"\x00\xff--boundary", {}), Path("/tmp/load.body"))
    assert 'local file = io.open([[/tmp/load.body]], "rb")' in upload and 'wrk.body = file:read("*a")' in upload
    with pytest.raises(ValueError):
        wrk.lua_script(wrk.Load("/x", b"binary", {}))


@needs_tools
def test_tiny_run_measures_audio_and_image_scenarios(tmp_path: Path) -> None:
    """The media scenarios (uploads read from a file by wrk, audio streamed back) run without errors."""
    output = tmp_path / "perf.json"
    run_bench(output, "--streams", "--scenario", "transcription", "--scenario", "speech", "--scenario", "image-edit")
    measurements = json.loads(output.read_text())["throughput"]["measurements"]
    assert {(m["scenario"], m["server"]) for m in measurements} == {
        (name, server) for name in ("transcription", "speech", "image-edit") for server in ("simulator", "ceiling")
    }
    for m in measurements:
        assert m["requests_per_s"] > 0 and m["errors"] == 0, m


def test_wrk_summary_is_parsed_with_every_kind_of_error_counted() -> None:
    line = (
        'WRK-JSON {"requests":1000,"duration_us":2000000,"bytes":5,"connect":1,"read":2,"write":3,"status":4,'
        '"timeout":5,"p50_us":1500,"p99_us":9000,"max_us":12000,"mean_us":1700.0}'
    )
    result = wrk.parse_output("Running 2s test\n" + line + "\n")
    assert (result.rate, result.p50_ms, result.p99_ms, result.max_ms, result.errors) == (500, 1.5, 9, 12, 15)
    with pytest.raises(ValueError, match="no wrk summary"):
        wrk.parse_output("Running 2s test\n")


def test_percentiles_and_spread() -> None:
    values = [float(v) for v in range(1, 101)]
    assert stats.percentile(values, 0.5) == 51 and stats.percentile(values, 0.99) == 100
    assert stats.spread([90.0, 100.0, 110.0]) == pytest.approx(0.2)
    assert stats.spread([100.0]) == 0.0


class _Transport:
    closed = False

    def write(self, data: bytes) -> None:
        self.written = data

    def close(self) -> None:
        self.closed = True


async def test_stream_client_counts_content_tokens_once_even_when_cut_between_reads() -> None:
    finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    stream = PacedStream(b"POST / HTTP/1.1\r\n\r\n", finished)
    transport = _Transport()
    stream.connection_made(transport)  # type: ignore[arg-type]
    role = b'data: {"choices":[{"delta":{"content":"","refusal":null,"role":"assistant"}}]}\n\n'
    token = b'data: {"choices":[{"delta":{"content":"lorem"}}]}\n\n'
    stream.data_received(b"HTTP/1.1 200 OK\r\n\r\n" + role)
    cut = token.index(b'"delta"') + 5
    stream.data_received(token + token + token[:cut])  # the third token's marker is cut ...
    stream.data_received(token[cut:] + b"data: [DONE]\n\n")  # ... and completed here
    assert stream.status_ok and list(stream.tokens) == [2, 1] and transport.closed


async def test_a_burst_counts_when_its_last_token_arrives_and_the_last_burst_may_be_short() -> None:
    stream = PacedStream(b"", asyncio.get_running_loop().create_future())
    reads = [(1.0, 10), (1.2, 1), (1.2025, 9), (1.4, 10), (1.6, 5)]  # the second burst came in two reads
    for at, count in reads:
        stream.times.append(at)
        stream.tokens.append(count)
    times, tokens, partial = arrivals(stream, 10)
    assert (times, tokens, partial) == ([1.0, 1.2025, 1.4, 1.6], [10, 10, 10, 5], 1)
    times, tokens, partial = arrivals(stream, 0)  # token by token: each read is one arrival
    assert (tokens, partial) == ([10, 1, 9, 10, 5], 0)


def test_summary_compares_each_scenario_with_its_ceiling_round_by_round() -> None:
    def m(scenario: str, server: str, round_: int, rate: float) -> dict[str, object]:
        return {
            "scenario": scenario, "server": server, "round": round_, "requests_per_s": rate, "p50_ms": 1.0,
            "p99_ms": 2.0, "cpu_us_per_request": 100.0, "errors": 0, "foreign_cpu_share": 0.1,
        }  # fmt: skip

    measurements = [m("chat", "ceiling", 0, 1000), m("chat", "simulator", 0, 500)]
    measurements += [m("chat", "ceiling", 1, 800), m("chat", "simulator", 1, 320)]
    measurements += [m("limited", "ceiling", 0, 1000), m("limited", "simulator", 0, 360)]
    samples = {"limited": {"rate_limit_headers": True}}
    throughput = {"measurements": measurements, "samples": samples, "launch_to_first_chat_s": 0.5}
    throughput["resident_mib_after"] = 50.0
    figures = report.summarise({"throughput": throughput})
    assert figures["chat_vs_ceiling"] == pytest.approx(0.45)  # median of 0.5 and 0.4
    hooked = report.summarise({"throughput": throughput, "settings": {"hooks": True}})
    assert hooked["hooked_chat_vs_ceiling"] == pytest.approx(0.45) and "chat_vs_ceiling" not in hooked
    assert figures["scenarios"]["chat"]["simulator_spread"] == pytest.approx(180 / 410)
    assert figures["limited_vs_chat"] == pytest.approx(360 / 410) and figures["limiter_active"]
    long = {
        "minute_1": {"requests_per_s": 400.0}, "minute_1_slices": [400.0, 400.0],
        "unlimited_during_minute_1": {"requests_per_s": 400.0}, "unlimited_during_minute_1_slices": [400.0, 400.0],
        "minute_6": {"requests_per_s": 342.0}, "minute_6_slices": [324.0, 360.0],
        "unlimited_during_minute_6": {"requests_per_s": 360.0}, "unlimited_during_minute_6_slices": [360.0, 360.0],
    }  # fmt: skip
    throughput["long"] = long
    figures = report.summarise({"throughput": throughput})
    assert figures["long_minute6_vs_chat"] == pytest.approx(0.95)  # against chat measured in between
    assert figures["long_minute1_vs_chat"] == pytest.approx(1.0)
    assert figures["long_slice_ratios"] == pytest.approx([0.9, 1.0])
    # The machine slowed by 10 % between the minutes: the raw ratio shows it, the paired one does not.
    assert figures["long_minute6_vs_minute1"] == pytest.approx(0.855)
    assert figures["long_share_6_vs_1"] == pytest.approx(0.95)
    assert figures["long_minute6_vs_first_chat"] == pytest.approx(342 / 410)
    shown = report.extras({"throughput": throughput}, figures)
    assert any("minute 6 95% (slice by slice 90%–100%); minute 6 / minute 1 95%" in line for line in shown)


def test_summary_takes_the_5000_stream_runs_and_their_floors() -> None:
    def run(streams: int, burst: int, p99: float) -> dict[str, object]:
        return {"streams": streams, "burst_tokens": burst, "gap_error_ms": {"p99": p99}}

    throughput = {"measurements": [], "samples": {}, "launch_to_first_chat_s": 0.5, "resident_mib_after": 50.0}
    runs = [{**run(1000, 0, 1.0), "floor": run(1000, 0, 0.5)}, {**run(5000, 0, 9.0), "floor": run(5000, 0, 14.0)}]
    runs.append({**run(5000, 10, 1.5), "floor": run(5000, 10, 1.9)})
    figures = report.summarise({"throughput": throughput, "paced_streams": {"runs": runs}})
    assert figures["paced_5000_gap_p99_ms"] == 9.0 and figures["paced_5000_floor_gap_p99_ms"] == 14.0
    assert figures["paced_5000_burst_gap_p99_ms"] == 1.5 and figures["paced_5000_burst_floor_gap_p99_ms"] == 1.9


def test_inprocess_paced_streams_take_one_timer_callback_per_release() -> None:
    """20 tokens in bursts of 10 are two releases per stream: two timer callbacks, no more. 200 streams keep
    the loop busy enough that timers set on a converted deadline fired early (4.7 callbacks per stream)."""
    command = [sys.executable, "-m", "bench.inprocess", "--paced", "200", "--max-tokens", "20", "--ramp", "0.1"]
    output = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True, timeout=120).stdout
    figures = {line.split(maxsplit=1)[1]: float(line.split()[0]) for line in output.splitlines()}
    assert figures["timer callbacks per stream"] == 2.0
    assert figures["µs CPU per stream"] > 0


def test_inprocess_scenarios_answer_without_added_latency() -> None:
    """The throughput scenarios measure the app's CPU with latency off: 200 non-streamed chats at the default
    gpt-4o latency would take minutes, and the run would time out."""
    command = [sys.executable, "-m", "bench.inprocess", "--scenario", "chat", "--scenario", "limited"]
    output = subprocess.run(
        [*command, "--requests", "200"], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    figures = {line.split()[0]: float(line.split()[1]) for line in output.stdout.splitlines()}
    assert set(figures) == {"chat", "limited"} and all(value > 0 for value in figures.values())


def test_instruction_totals_are_read_from_cachegrinds_summary() -> None:
    output = "==14773== \n==14773== I   refs:      4,851,016,164\n"
    assert instructions.total_instructions(output) == 4_851_016_164
    with pytest.raises(RuntimeError, match="no instruction count"):
        instructions.total_instructions("==1== valgrind: failed to start tool 'cachegrind'")


@needs_tools
def test_tiny_telemetry_run_compares_otlp_with_the_default() -> None:
    command = [sys.executable, "-m", "bench.telemetry", *TINY]
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=180, check=False)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "OTLP on / default:" in completed.stdout and "of the throughput" in completed.stdout


def test_functions_cold_start_measures_every_step() -> None:
    """One run of the worker's cold start beside the local server's (a few seconds, one worker at a time)."""
    if not (REPO.parent / "shared" / "functions-worker").is_dir():
        pytest.skip("../shared/functions-worker is not beside this checkout")
    completed = subprocess.run(
        [sys.executable, "-m", "bench.functions_cold_start", "--runs", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    for step in ("gRPC connected", "functions loaded", "first chat 200", "local server", "encodings"):
        assert step in completed.stdout


def test_response_store_bench_times_a_turn_in_memory_and_on_blob() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.response_store", "--turns", "5"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = completed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["memory", "blob"] and all("median" in line for line in lines)


def test_request_cost_sends_each_shape_the_routes_accept() -> None:
    """Each shape is a request its route answers with 200 (the bench exits otherwise); the dearest, speech and
    the schemas, are left to the bench itself."""
    shapes = ["chat-logprobs", "completions-logprobs-stream", "embeddings", "image-dalle", "transcription"]
    command = [sys.executable, "-m", "bench.request_cost", "--repeat", "1", "--baseline-repeat", "5"]
    for shape in shapes:
        command += ["--shape", shape]
    output = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True, timeout=120).stdout
    rows = {line.split()[0]: float(line.split()[2]) for line in output.splitlines()[1:]}  # × plain chat
    assert set(rows) == {"chat", *shapes} and rows["chat"] == 1
    assert all(ratio > 1 for shape, ratio in rows.items() if shape != "chat")
