"""The benchmark's figures summarised against the ceiling and the targets, as JSON and as a table."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from bench.stats import spread

# Issue 6: name, check on the summary, what it demands.
TARGETS: tuple[tuple[str, str, Callable[[float], bool]], ...] = (
    ("chat_vs_ceiling", "non-streamed chat ≥ 40 % of the ceiling", lambda v: v >= 0.40),
    ("embeddings_vs_ceiling", "embeddings ≥ 25 % of the ceiling", lambda v: v >= 0.25),
    ("responses_vs_chat_ceiling", "non-streamed Responses ≥ 35 % of chat's ceiling", lambda v: v >= 0.35),
    # Issue 17: with --hooks (a no-op request and response hook loaded), chat's share in place of chat_vs_ceiling.
    ("hooked_chat_vs_ceiling", "chat with no-op request and response hooks ≥ 35 % of the ceiling", lambda v: v >= 0.35),
    ("limited_vs_chat", "rate-limited chat ≥ 90 % of unlimited", lambda v: v >= 0.90),
    ("long_minute6_vs_chat", "rate-limited after 5 minutes ≥ 90 % of unlimited", lambda v: v >= 0.90),
    (
        "paced_5000_burst_gap_p99_ms",
        "5,000 streams at 50 tok/s in bursts (Azure's default delivery): pacing p99 ≤ 5 ms",
        lambda v: v <= 5.0,
    ),
    ("paced_5000_gap_p99_ms", "5,000 streams at 50 tok/s token by token: pacing p99 ≤ 5 ms", lambda v: v <= 5.0),
    ("launch_s", "first chat 200 ≤ 1 s after launch", lambda v: v <= 1.0),
    ("resident_mib", "resident memory ≤ 100 MiB after the run", lambda v: v <= 100.0),
)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def scenario_summary(measurements: list[dict[str, Any]], scenario: str) -> dict[str, Any]:
    def of(server: str, field: str) -> list[float]:
        return [m[field] for m in measurements if m["scenario"] == scenario and m["server"] == server]

    ratios = [
        s / c for s, c in zip(of("simulator", "requests_per_s"), of("ceiling", "requests_per_s"), strict=True) if c
    ]
    summary: dict[str, Any] = {"ratio_to_ceiling": median(ratios)}
    for server in ("simulator", "ceiling"):
        for field in ("requests_per_s", "p50_ms", "p99_ms", "cpu_us_per_request"):
            summary[f"{server}_{field}"] = median(of(server, field))
        summary[f"{server}_spread"] = spread(of(server, "requests_per_s"))
        summary[f"{server}_errors"] = sum(of(server, "errors"))
    # CPU per request does not depend on how much of the core the server got: the steadier ratio on a busy machine.
    summary["cpu_ratio_to_ceiling"] = summary["ceiling_cpu_us_per_request"] / summary["simulator_cpu_us_per_request"]
    summary["max_foreign_cpu_share"] = max(of("simulator", "foreign_cpu_share") + of("ceiling", "foreign_cpu_share"))
    return summary


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    """The figures the targets name, from the raw measurements."""
    throughput = results["throughput"]
    measurements = throughput["measurements"]
    names = list(dict.fromkeys(m["scenario"] for m in measurements))
    scenarios = {name: scenario_summary(measurements, name) for name in names}
    figures: dict[str, Any] = {"scenarios": scenarios, "launch_s": throughput["launch_to_first_chat_s"]}
    figures["resident_mib"] = throughput["resident_mib_after"]
    for name in ("chat", "embeddings", "reasoning"):
        if name in scenarios:
            figures[f"{name}_vs_ceiling"] = scenarios[name]["ratio_to_ceiling"]
    if "responses" in scenarios:
        figures["responses_vs_ceiling"] = scenarios["responses"]["ratio_to_ceiling"]
        if "chat" in scenarios:  # the same ceiling as chat's: the bare stack answering chat's bytes
            chat_ceiling = scenarios["chat"]["ceiling_requests_per_s"]
            figures["responses_vs_chat_ceiling"] = scenarios["responses"]["simulator_requests_per_s"] / chat_ceiling
        base_cpu = scenarios["responses"]["simulator_cpu_us_per_request"]
        for name in ("responses-stored", "responses-turn"):
            if name in scenarios:  # what storing a turn (and continuing a stored one) adds, in CPU per request
                extra = scenarios[name]["simulator_cpu_us_per_request"] - base_cpu
                figures[f"{name.replace('-', '_')}_extra_cpu_us"] = extra
    if results.get("settings", {}).get("hooks") and "chat_vs_ceiling" in figures:
        figures["hooked_chat_vs_ceiling"] = figures.pop("chat_vs_ceiling")
    chat_rate = scenarios.get("chat", {}).get("simulator_requests_per_s")
    if chat_rate and "reasoning" in scenarios:  # what thinking costs the simulator: a plan and bigger usage
        figures["reasoning_vs_chat"] = scenarios["reasoning"]["simulator_requests_per_s"] / chat_rate
    if chat_rate and "limited" in scenarios:
        figures["limited_vs_chat"] = scenarios["limited"]["simulator_requests_per_s"] / chat_rate
        figures["limiter_active"] = throughput["samples"]["limited"]["rate_limit_headers"]
        chat_cpu, limited_cpu = (scenarios[n]["simulator_cpu_us_per_request"] for n in ("chat", "limited"))
        figures["limited_vs_chat_cpu"] = chat_cpu / limited_cpu
    if chat_rate and "long" in throughput:
        long = throughput["long"]
        shares = {minute: paired_share(long, minute) for minute in (1, 6)}
        first, last = (long[f"minute_{minute}"]["requests_per_s"] for minute in (1, 6))
        figures.update(
            long_minute6_vs_chat=shares[6][0],  # against unlimited chat in the slices between minute 6's
            long_minute1_vs_chat=shares[1][0],
            long_slice_ratios=shares[6][1],
            long_share_6_vs_1=shares[6][0] / shares[1][0],  # the limiter's share in minute 6 against minute 1's
            long_minute6_vs_minute1=last / first,  # includes whatever the machine's speed did in between
            long_minute6_vs_first_chat=last / chat_rate,
        )
    for run in results.get("paced_streams", {}).get("runs", []):
        if run["streams"] == 5000:
            key = "paced_5000_gap_p99_ms" if run["burst_tokens"] <= 1 else "paced_5000_burst_gap_p99_ms"
            figures[key] = run["gap_error_ms"]["p99"]
            if "floor" in run:
                figures[key.replace("_gap", "_floor_gap")] = run["floor"]["gap_error_ms"]["p99"]
    return figures


def paired_share(long: dict[str, Any], minute: int) -> tuple[float, list[float]]:
    """Rate-limited ÷ unlimited requests/s over a paired minute, and slice by slice."""
    limited, unlimited = long[f"minute_{minute}"], long[f"unlimited_during_minute_{minute}"]
    pairs = zip(long[f"minute_{minute}_slices"], long[f"unlimited_during_minute_{minute}_slices"], strict=True)
    return limited["requests_per_s"] / unlimited["requests_per_s"], [a / b for a, b in pairs]


def render(results: dict[str, Any]) -> str:
    figures = results["summary"]
    settings = results["settings"]
    lines = [
        f"Throughput: server on core {settings['server_core']}, wrk on core {settings['client_core']} "
        f"({settings['connections']} connections, {settings['duration']:g} s × {settings['repeat']} rounds); "
        "ceiling = bare Starlette answering the same bytes",
        f"{'scenario':<30}{'bytes':>7}{'req/s':>9}{'ceiling':>9}{'ratio':>7}{'p50/p99 ms':>15}{'ceiling':>15}"
        f"{'µs/req':>8}{'ceiling':>8}{'ratio':>7}  noise (spread sim/ceil, other load)",
    ]
    samples = results["throughput"]["samples"]
    for name, s in figures["scenarios"].items():
        lines.append(
            f"{name:<30}{samples[name]['body_bytes']:>7}{s['simulator_requests_per_s']:>9.0f}"
            f"{s['ceiling_requests_per_s']:>9.0f}{s['ratio_to_ceiling']:>7.0%}"
            f"{latency(s, 'simulator'):>15}{latency(s, 'ceiling'):>15}"
            f"{s['simulator_cpu_us_per_request']:>8.0f}{s['ceiling_cpu_us_per_request']:>8.0f}"
            f"{s['cpu_ratio_to_ceiling']:>7.0%}"
            f"  {s['simulator_spread']:.0%}/{s['ceiling_spread']:.0%}, ≤{s['max_foreign_cpu_share']:.0%}"
            + (f"  ERRORS {s['simulator_errors']}" if s["simulator_errors"] else "")
        )
    lines += extras(results, figures)
    lines.append("Targets:")
    for key, text, check in TARGETS:
        value = figures.get(key)
        verdict = "n/a " if value is None else ("ok  " if check(value) else "MISS")
        shown = "" if value is None else f" ({value:.0%})" if key.endswith(("ceiling", "chat")) else f" ({value:.2f})"
        floor = figures.get(key.replace("_gap", "_floor_gap")) if key.startswith("paced") else None
        if floor is not None:
            shown += f"; the bare-protocol floor on the same core: {floor:.2f}"
        lines.append(f"  [{verdict}] {text}{shown}")
    return "\n".join(lines)


def latency(summary: dict[str, Any], server: str) -> str:
    return f"{summary[f'{server}_p50_ms']:.1f}/{summary[f'{server}_p99_ms']:.1f}"


def extras(results: dict[str, Any], figures: dict[str, Any]) -> list[str]:
    lines = []
    if "limiter_active" in figures:
        state = (
            "active" if figures["limiter_active"] else "NOT active (no x-ratelimit headers on the limited deployment)"
        )
        lines.append(
            f"rate limiter: {state}; limited / unlimited chat: {figures['limited_vs_chat']:.0%} of the requests/s, "
            f"{figures['limited_vs_chat_cpu']:.0%} by CPU per request"
        )
    if "long_share_6_vs_1" in figures:
        pairs = figures["long_slice_ratios"]
        lines.append(
            f"rate-limited ÷ unlimited chat in alternate slices: minute 1 {figures['long_minute1_vs_chat']:.0%}, "
            f"minute 6 {figures['long_minute6_vs_chat']:.0%} (slice by slice {min(pairs):.0%}–{max(pairs):.0%}); "
            f"minute 6 / minute 1 {figures['long_share_6_vs_1']:.0%} on that basis, "
            f"{figures['long_minute6_vs_minute1']:.0%} in raw requests/s (the machine's drift included)"
        )
    if "responses_vs_chat_ceiling" in figures:
        lines.append(
            f"Responses (not streamed): {figures['responses_vs_chat_ceiling']:.0%} of chat's ceiling, "
            f"{figures['responses_vs_ceiling']:.0%} of its own (its larger body's)"
        )
    stored = [(name, figures.get(f"{name}_extra_cpu_us")) for name in ("responses_stored", "responses_turn")]
    if any(extra is not None for _, extra in stored):
        lines.append(
            "a stored conversation turn costs, over the same turn not stored (CPU per request, memory store): "
            + ", ".join(f"{name.replace('_', '-')} +{extra:.0f} µs" for name, extra in stored if extra is not None)
        )
    if "reasoning_vs_chat" in figures:
        lines.append(f"reasoning chat / chat: {figures['reasoning_vs_chat']:.0%} of the requests/s")
    lines.append(f"launch → first chat 200: {figures['launch_s']:.2f} s")
    lines.append(f"resident memory after the throughput runs: {figures['resident_mib']:.1f} MiB")
    paced = results.get("paced_streams")
    if paced:
        lines.append(
            f"Paced streams ({paced['tokens']} tokens at {1000 / paced['interval_ms']:g} tok/s = "
            f"{paced['interval_ms']:g} ms, TTFT {paced['ttft_ms']:g} ms; errors in ms, measured − configured):"
        )
        if "skipped" in paced:
            lines.append(f"  skipped: {paced['skipped']}")
        for run in paced["runs"]:
            lines.append("  " + stream_progress(run))
            if "floor" in run:
                lines.append("  " + stream_progress(run["floor"]))
        if "resident_mib_after" in paced:
            lines.append(
                f"  paced server: launch {paced['launch_to_first_chat_s']:.2f} s, resident after "
                f"{paced['resident_mib_after']:.1f} MiB (peak {paced['peak_resident_mib']:.1f})"
            )
    return lines


def progress(m: Any) -> str:
    return (
        f"{m.scenario:<22}{m.server:<10} round {m.round}: {m.requests_per_s:8.0f} req/s  p50 {m.p50_ms:6.2f}  "
        f"p99 {m.p99_ms:7.2f} ms  {m.cpu_us_per_request:6.0f} µs/req  server CPU {m.server_cpu_share:.0%}  "
        f"other load {m.foreign_cpu_share:.0%}" + (f"  errors {m.errors}" if m.errors else "")
    )


def stream_progress(run: dict[str, Any]) -> str:
    def d(name: str) -> str:
        v = run[name]
        return f"{v['p50']:6.2f} {v['p99']:7.2f} {v['max']:7.2f}"

    return (
        f"{run.get('server', 'simulator'):<9} {run['streams']:>5} streams burst {run['burst_tokens']:>2}: "
        f"{run['complete']} complete, "
        f"{run['peak_open']} open at once, {run.get('split_bursts', 0)} split reads; "
        f"gap error p50/p99/max {d('gap_error_ms')}; drift {d('lateness_ms')}; TTFT p50/p99 "
        f"{run['ttft_ms']['p50']:.0f}/{run['ttft_ms']['p99']:.0f}; CPU server {run['server_cpu_share']:.0%} "
        f"client {run['client_cpu']:.0%}"
    )
