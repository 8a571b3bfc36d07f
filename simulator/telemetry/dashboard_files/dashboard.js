// The live dashboard: asks for the key once (kept in this tab's sessionStorage), polls /++/stats and charts
// it. window.dashboardState holds what each chart last drew, for people and for the browser test.
"use strict";
(function () {
  const KEY = "aoai-simulator-key";
  const POLL_MS = 2000;
  const HISTORY_SECONDS = 15 * 60;
  const REASONS = ["tokens", "requests", "utilisation", "fault"];
  const state = (window.dashboardState = { polls: 0, failures: 0, lastError: null, stats: null, charts: {} });
  const latencyHistory = {};
  const $ = (id) => document.getElementById(id);
  let timer = null;

  function showLogin(message) {
    $("login").hidden = false;
    $("charts").hidden = true;
    $("login-error").textContent = message || "";
    $("key").focus();
  }

  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $("key").value);
    $("login").hidden = true;
    $("charts").hidden = false;
    poll();
  });
  $("forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    showLogin();
  });
  $("deployment").addEventListener("change", () => state.stats && render(state.stats));
  window.addEventListener("resize", () => state.stats && render(state.stats));

  async function poll() {
    clearTimeout(timer);
    const key = sessionStorage.getItem(KEY);
    if (!key) return showLogin();
    try {
      const response = await fetch("stats", { headers: { "api-key": key }, cache: "no-store" });
      if (response.status === 401) {
        sessionStorage.removeItem(KEY);
        return showLogin("That key was refused.");
      }
      if (!response.ok) throw new Error("HTTP " + response.status);
      const stats = await response.json();
      state.polls += 1;
      state.stats = stats;
      remember(stats);
      render(stats);
    } catch (error) {
      state.failures += 1;
      state.lastError = String(error);
      $("updated").textContent = "cannot reach the simulator: " + error;
    }
    timer = setTimeout(poll, POLL_MS);
  }

  function remember(stats) {
    const now = Date.now() / 1000;
    for (const [name, figures] of Object.entries(stats.deployments)) {
      const history = (latencyHistory[name] = latencyHistory[name] || []);
      if (!figures["1m"].requests) continue;
      const latency = figures["1m"].latency_ms;
      history.push([now, latency.p50, latency.p95, latency.p99, figures["1m"].ttft_ms.p50]);
      while (history.length && history[0][0] < now - HISTORY_SECONDS) history.shift();
    }
  }

  // The slots of a deployment's series as [end of slot, rate]: `scale` turns a slot's count into the rate
  // shown. The current slot has lasted only until `now`, so its count is spread over that time (a second
  // at least: a slot a few milliseconds old would show wild rates).
  function slots(series, values, scale, now) {
    const points = [];
    const last = values.length - 1;
    for (let index = 0; index <= last; index++) {
      const slotStart = series.start + index * series.slot_seconds;
      if (index < last) {
        points.push([slotStart + series.slot_seconds, values[index] * scale]);
      } else {
        const elapsed = Math.min(series.slot_seconds, Math.max(1, now - slotStart));
        points.push([slotStart + elapsed, ((values[index] || 0) * scale * series.slot_seconds) / elapsed]);
      }
    }
    return points;
  }

  function render(stats) {
    const deployments = Object.entries(stats.deployments);
    const active = deployments.filter(([, d]) => d.series.requests.some((n) => n > 0) || d.open_streams > 0);
    $("mode").textContent = stats.mode;
    $("instances").textContent = stats.instances + (stats.instances === 1 ? " instance" : " instances");
    const faults = Object.entries(stats.faults || {}).map(([name, rules]) => name + ": " + rules.join(", "));
    $("faults").textContent = faults.length ? "faults: " + faults.join("; ") : "no faults";
    const unlimited = stats.rate_limiter ? stats.rate_limiter.served_unlimited : 0;
    $("unlimited").textContent = unlimited ? unlimited + " served unlimited (limits store down)" : "";
    $("updated").textContent = "updated " + new Date().toTimeString().slice(0, 8);
    const chooser = $("deployment");
    let chosen = chooser.value;
    if (!active.some(([name]) => name === chosen) && active.length) {  // the busiest, until someone chooses
      chosen = active.reduce((a, b) => (b[1]["1m"].requests > a[1]["1m"].requests ? b : a))[0];
    }
    chooser.replaceChildren(...active.map(([name]) => new Option(name, name, false, name === chosen)));

    // From a minute before the first traffic (two minutes at least) to now: a test that has just begun
    // fills the chart rather than its last pixels.
    const end = stats.now;
    let start = end - 120;
    for (const [, figures] of active) {
      const series = figures.series;
      const first = series.requests.findIndex((count) => count > 0);
      if (first >= 0) start = Math.min(start, series.start + first * series.slot_seconds - 60);
      start = Math.max(start, series.start + series.slot_seconds);
    }
    const requests = [];
    const tokens = [];
    active.forEach(([name, figures], index) => {
      const color = LineChart.color(index);
      const series = figures.series;
      requests.push({ label: name, color, points: slots(series, series.requests, 1 / series.slot_seconds, end) });
      tokens.push({ label: name, color, points: slots(series, series.tokens, 60 / series.slot_seconds, end) });
      const limits = figures.limits;
      if (limits && limits.requests_per_minute) {
        const value = limits.requests_per_minute / 60;
        requests.push({ label: name + " limit", color, dashed: true, points: [[start, value], [end, value]] });
      }
      if (limits && limits.tokens_per_minute) {
        const value = limits.tokens_per_minute;
        tokens.push({ label: name + " TPM", color, dashed: true, points: [[start, value], [end, value]] });
      }
    });
    const limited = REASONS.map((reason, index) => {
      const sums = [];
      for (const [, figures] of active) {
        figures.series.rate_limited[reason].forEach((count, slot) => (sums[slot] = (sums[slot] || 0) + count));
      }
      const series = active.length ? active[0][1].series : { start, slot_seconds: 10 };
      const points = slots(series, sums, 1 / series.slot_seconds, end);
      return { label: reason, color: LineChart.color(index + 3), points };
    }).filter((line) => line.points.some(([, value]) => value > 0));
    const name = chooser.value;
    const history = latencyHistory[name] || [];
    const latency = ["p50", "p95", "p99", "TTFT p50"].map((label, index) => ({
      label: name ? name + " " + label : label,
      color: LineChart.color(index),
      dashed: index === 3,
      points: history.map((row) => [row[0], row[index + 1]]),
    })).filter((line) => line.points.some(([, value]) => value !== null));
    const now = Date.now() / 1000;
    const latencyStart = Math.max(start, history.length ? Math.min(history[0][0], now - 120) : now - 120);

    state.charts = { requests, tokens, limited, latency };
    LineChart.draw($("chart-requests"), requests, { start, end, empty: "no requests yet" });
    LineChart.draw($("chart-tokens"), tokens, { start, end, empty: "no tokens yet" });
    LineChart.draw($("chart-limited"), limited, { start, end, empty: "no 429s" });
    LineChart.draw($("chart-latency"), latency, { start: latencyStart, end: now, empty: "no answers yet" });
    renderTable(deployments);
  }

  function cell(value) {
    const td = document.createElement("td");
    td.textContent = value === null || value === undefined ? "–" : String(value);
    return td;
  }

  function renderTable(deployments) {
    const rows = deployments.map(([name, figures]) => {
      const minute = figures["1m"];
      const row = document.createElement("tr");
      row.append(
        cell(name),
        cell(minute.requests),
        cell(minute.tokens.used),
        cell(figures.limits ? figures.limits.tokens_per_minute : null),
        ...REASONS.map((reason) => cell(minute.rate_limited[reason])),
        cell(minute.latency_ms.p50),
        cell(minute.latency_ms.p95),
        cell(minute.latency_ms.p99),
        cell(minute.ttft_ms.p50),
        cell(figures.open_streams),
      );
      return row;
    });
    $("table").tBodies[0].replaceChildren(...rows);
  }

  poll();
})();
