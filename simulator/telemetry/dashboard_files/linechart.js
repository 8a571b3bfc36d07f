// A small line chart on a canvas, written for this dashboard (no library, no build step): time on the x axis,
// numbers on the y axis, solid lines for measurements and dashed ones for limits, a legend below.
"use strict";
(function () {
  const PALETTE = ["#4da3ff", "#ffb454", "#7bd88f", "#ff6b6b", "#c792ea", "#5ccfe6", "#f78c6c", "#d4d76a"];
  const PAD = { left: 56, right: 12, top: 8, bottom: 22 };
  const LEGEND_ROW = 18;
  const TIME_STEPS = [5, 10, 15, 30, 60, 120, 300, 600]; // seconds between time labels: whole clock values

  function niceStep(range, ticks) {
    const rough = range / Math.max(ticks, 1);
    const power = Math.pow(10, Math.floor(Math.log10(rough)));
    const scaled = rough / power;
    return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10) * power;
  }

  function formatValue(value) {
    if (value >= 1e6) return (value / 1e6).toFixed(value >= 1e7 ? 0 : 1) + "M";
    if (value >= 1e3) return (value / 1e3).toFixed(value >= 1e4 ? 0 : 1) + "k";
    return Number.isInteger(value) ? String(value) : value.toFixed(value < 1 ? 2 : 1);
  }

  function formatTime(seconds) {
    return new Date(seconds * 1000).toTimeString().slice(0, 8);
  }

  function legendRows(context, lines, width) {
    const rows = [[]];
    let x = 0;
    for (const line of lines) {
      const size = 22 + context.measureText(line.label).width + 14;
      if (x + size > width && rows[rows.length - 1].length) {
        rows.push([]);
        x = 0;
      }
      rows[rows.length - 1].push({ line, x });
      x += size;
    }
    return rows;
  }

  // lines: [{label, color, dashed, points: [[seconds, value], ...]}]; options: {start, end, empty}
  function draw(canvas, lines, options) {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const context = canvas.getContext("2d");
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    context.font = "12px system-ui, sans-serif";
    const rows = legendRows(context, lines, width - PAD.left);
    const plot = {
      left: PAD.left,
      top: PAD.top,
      right: width - PAD.right,
      bottom: height - PAD.bottom - rows.length * LEGEND_ROW,
    };
    let top = 0;
    for (const line of lines) for (const [, value] of line.points) if (value > top) top = value;
    const step = niceStep(top > 0 ? top * 1.1 : 1, 4);
    const yMax = Math.max(step, Math.ceil((top * 1.1) / step) * step);
    const start = options.start;
    const end = Math.max(options.end, start + 1);
    const x = (t) => plot.left + ((t - start) / (end - start)) * (plot.right - plot.left);
    const y = (v) => plot.bottom - (v / yMax) * (plot.bottom - plot.top);

    context.strokeStyle = "#2a323c";
    context.fillStyle = "#8a96a3";
    context.lineWidth = 1;
    context.textAlign = "right";
    context.textBaseline = "middle";
    for (let value = 0; value <= yMax + step / 2; value += step) {
      context.beginPath();
      context.moveTo(plot.left, y(value));
      context.lineTo(plot.right, y(value));
      context.stroke();
      context.fillText(formatValue(value), plot.left - 6, y(value));
    }
    context.textAlign = "center";
    context.textBaseline = "top";
    const timeStep = TIME_STEPS.find((step) => (end - start) / step <= 6) || 900;
    for (let t = Math.ceil(start / timeStep) * timeStep; t <= end; t += timeStep) {
      if (x(t) > plot.right - 24) break; // a label cut by the edge reads worse than none
      context.fillText(formatTime(t), x(t), plot.bottom + 4);
    }
    context.save();
    context.beginPath();
    context.rect(plot.left, plot.top - 1, plot.right - plot.left, plot.bottom - plot.top + 2);
    context.clip();
    for (const line of lines) {
      context.strokeStyle = line.color;
      context.lineWidth = line.dashed ? 1.5 : 2;
      context.setLineDash(line.dashed ? [6, 4] : []);
      context.beginPath();
      let drawing = false;
      for (const [t, value] of line.points) {
        if (value === null || value === undefined) {
          drawing = false;
          continue;
        }
        if (drawing) context.lineTo(x(t), y(value));
        else context.moveTo(x(t), y(value));
        drawing = true;
      }
      context.stroke();
    }
    context.restore();
    context.setLineDash([]);
    if (!lines.length && options.empty) {
      context.textAlign = "center";
      context.textBaseline = "middle";
      context.fillText(options.empty, (plot.left + plot.right) / 2, (plot.top + plot.bottom) / 2);
    }
    context.textAlign = "left";
    context.textBaseline = "middle";
    rows.forEach((row, index) => {
      const rowY = plot.bottom + PAD.bottom + index * LEGEND_ROW + LEGEND_ROW / 2;
      for (const { line, x: offset } of row) {
        context.strokeStyle = line.color;
        context.lineWidth = 2;
        context.setLineDash(line.dashed ? [4, 3] : []);
        context.beginPath();
        context.moveTo(plot.left + offset, rowY);
        context.lineTo(plot.left + offset + 16, rowY);
        context.stroke();
        context.fillStyle = "#d8dee6";
        context.fillText(line.label, plot.left + offset + 22, rowY);
      }
    });
    context.setLineDash([]);
  }

  window.LineChart = { draw, color: (index) => PALETTE[index % PALETTE.length] };
})();
