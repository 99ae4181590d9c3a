// Tiny SVG charts, drawn by hand (no library): a line chart and a bar chart. Each chart
// carries a text alternative (role="img" + aria-label), and pages show the numbers in a
// table beside it for screen readers and exact values.

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A round axis maximum that splits into four round steps (4, 8, 20, 40, 100, ...). */
function niceMax(value) {
  const raw = Math.max(1, value) / 4;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw);
  return Math.max(1, Math.ceil(step)) * 4;
}

/**
 * lineChart({labels: [...], series: [{name, color, values: [...]}]}, {label})
 * One x position per label; values are counts.
 */
export function lineChart({ labels, series }, { label = "Chart", width = 720, height = 260 } = {}) {
  const pad = { top: 16, right: 16, bottom: 36, left: 40 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const max = niceMax(Math.max(1, ...series.flatMap((s) => s.values)));
  const x = (i) => pad.left + (labels.length <= 1 ? w / 2 : (i * w) / (labels.length - 1));
  const y = (v) => pad.top + h - (v / max) * h;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": label, preserveAspectRatio: "xMidYMid meet" });
  root.append(svg("title", {}, label));
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    root.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v), class: "grid" }));
    root.append(svg("text", { x: pad.left - 6, y: y(v) + 4, "text-anchor": "end" }, String(Math.round(v))));
  }
  root.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: y(0), y2: y(0), class: "axis" }));
  const every = Math.max(1, Math.ceil(labels.length / 10));
  labels.forEach((l, i) => {
    if (i % every === 0 || i === labels.length - 1) {
      root.append(svg("text", { x: x(i), y: height - pad.bottom + 18, "text-anchor": "middle" }, l));
    }
  });
  for (const s of series) {
    const d = s.values.map((v, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    root.append(svg("path", { d, fill: "none", stroke: s.color, "stroke-width": 2.5, "stroke-linejoin": "round" }));
    s.values.forEach((v, i) => {
      const dot = svg("circle", { cx: x(i), cy: y(v), r: labels.length > 40 ? 1.5 : 3, fill: s.color });
      dot.append(svg("title", {}, `${s.name}, ${labels[i]}: ${v}`));
      root.append(dot);
    });
  }
  return root;
}

/** barChart([{label, value, color}], {label}): horizontal bars with their values. */
export function barChart(items, { label = "Chart", width = 480, barHeight = 26 } = {}) {
  const pad = { top: 8, right: 48, bottom: 8, left: 130 };
  const height = pad.top + pad.bottom + Math.max(1, items.length) * (barHeight + 8);
  const w = width - pad.left - pad.right;
  const max = Math.max(1, ...items.map((i) => i.value));
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": label });
  root.append(svg("title", {}, label));
  items.forEach((item, i) => {
    const top = pad.top + i * (barHeight + 8);
    const len = Math.max(item.value ? 2 : 0, (item.value / max) * w);
    const name = item.label.length > 18 ? `${item.label.slice(0, 17)}…` : item.label;
    root.append(svg("text", { x: pad.left - 8, y: top + barHeight / 2 + 4, "text-anchor": "end" }, name));
    const bar = svg("rect", { x: pad.left, y: top, width: len, height: barHeight, rx: 4, fill: item.color || "#1d4ed8" });
    bar.append(svg("title", {}, `${item.label}: ${item.value}`));
    root.append(bar);
    root.append(svg("text", { x: pad.left + len + 6, y: top + barHeight / 2 + 4 }, String(item.value)));
  });
  if (!items.length) root.append(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "No data"));
  return root;
}
