// Charts drawn as inline SVG (no library, no outside request). Each chart also offers its numbers
// as a table, for screen readers and for anyone who wants the exact figures.
import { el, svg, formatNumber } from "./dom.js";

const WIDTH = 560;
const HEIGHT = 220;
const MARGIN = { top: 12, right: 12, bottom: 44, left: 52 };

function dataTable(caption, headers, rows) {
  return el(
    "details",
    { class: "chart-table" },
    el("summary", { text: "Show as a table" }),
    el(
      "table",
      {},
      el("caption", { text: caption }),
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows.map((row) => el("tr", {}, row.map((cell) => el("td", { text: cell }))))),
    ),
  );
}

// Where a token length falls along bins of equal width on screen (log bins: each one a slot).
function slotPosition(bins, value) {
  const i = bins.findIndex((b) => value >= b.lo && value < b.hi);
  if (i < 0) return value < bins[0].lo ? 0 : bins.length;
  const { lo, hi } = bins[i];
  const within = lo > 0 ? Math.log(value / lo) / Math.log(hi / lo) : (value - lo) / (hi - lo);
  return i + within;
}

// bins: [{label, short, count, lo?, hi?}] drawn as vertical bars, one equal slot each (log-spaced bins
// make a log axis). options.marker {value, label} draws a vertical line (max_seq_length); options.onBar
// makes a bar clickable (the data table below offers the same numbers to everyone).
export function drawHistogram(figure, title, bins, options = {}) {
  figure.replaceChildren(el("figcaption", { text: title }));
  if (!bins.length) {
    figure.append(el("p", { class: "hint", text: "No data to chart." }));
    return;
  }
  const maxCount = Math.max(1, ...bins.map((b) => b.count));
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const slot = plotWidth / bins.length;
  const summary = bins.map((b) => `${b.label}: ${b.count}`).join(", ");
  const marker = options.marker;
  const markerText = marker ? ` ${marker.label}.` : "";
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": `${title}. ${summary}.${markerText}` });
  chart.append(svg("title", {}, `${title}: ${summary}`));
  for (const tick of [0, 0.5, 1]) {
    const y = MARGIN.top + plotHeight * (1 - tick);
    chart.append(svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y, y2: y, class: "grid" }));
    chart.append(svg("text", { x: MARGIN.left - 6, y: y + 4, class: "axis", "text-anchor": "end" }, formatNumber(maxCount * tick)));
  }
  const labelEvery = Math.ceil(bins.length / 8);
  bins.forEach((bin, i) => {
    const barHeight = (bin.count / maxCount) * plotHeight;
    const x = MARGIN.left + i * slot;
    const bar = svg("rect", {
      x: x + 1, y: MARGIN.top + plotHeight - barHeight, width: Math.max(1, slot - 2), height: barHeight, class: "bar",
    });
    bar.append(svg("title", {}, `${bin.label}: ${formatNumber(bin.count)}${options.onBar && bin.count ? " (click to list them)" : ""}`));
    if (options.onBar && bin.count) {
      bar.classList.add("clickable");
      bar.addEventListener("click", () => options.onBar(bin));
    }
    chart.append(bar);
    if (i % labelEvery === 0) {
      chart.append(svg("text", { x: x + slot / 2, y: HEIGHT - MARGIN.bottom + 16, class: "axis", "text-anchor": "middle" }, bin.short ?? bin.label));
    }
  });
  if (marker && bins[0].lo !== undefined) {
    const x = MARGIN.left + slotPosition(bins, marker.value) * slot;
    chart.append(
      svg("line", { x1: x, x2: x, y1: MARGIN.top - 4, y2: MARGIN.top + plotHeight, class: "marker-line", "data-value": marker.value }),
      svg("text", { x: Math.min(x + 4, WIDTH - MARGIN.right - 4), y: MARGIN.top + 8, class: "axis marker-label", "text-anchor": x > WIDTH * 0.7 ? "end" : "start" }, marker.short ?? marker.label),
    );
  }
  chart.append(svg("text", { x: MARGIN.left + plotWidth / 2, y: HEIGHT - 6, class: "axis-title", "text-anchor": "middle" }, options.axisTitle ?? "tokens per example"));
  figure.append(chart);
  if (marker) figure.append(el("p", { class: "hint chart-marker", text: marker.label }));
  figure.append(dataTable(title, ["Tokens", "Examples"], bins.map((b) => [b.label, formatNumber(b.count)])));
}

// items: [{label, count}] drawn as horizontal bars, largest first.
export function drawBars(figure, title, items) {
  figure.replaceChildren(el("figcaption", { text: title }));
  if (!items.length) {
    figure.append(el("p", { class: "hint", text: "No data to chart." }));
    return;
  }
  const sorted = [...items].sort((a, b) => b.count - a.count);
  const rowHeight = 28;
  const labelWidth = 110;
  const height = sorted.length * rowHeight + 8;
  const maxCount = Math.max(1, ...sorted.map((i) => i.count));
  const barSpace = WIDTH - labelWidth - 90;
  const summary = sorted.map((i) => `${i.label}: ${i.count}`).join(", ");
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, role: "img", "aria-label": `${title}. ${summary}` });
  chart.append(svg("title", {}, `${title}: ${summary}`));
  sorted.forEach((item, i) => {
    const y = 4 + i * rowHeight;
    chart.append(svg("text", { x: labelWidth - 8, y: y + 18, class: "axis", "text-anchor": "end" }, item.label));
    chart.append(svg("rect", { x: labelWidth, y: y + 4, height: rowHeight - 8, width: Math.max(1, (item.count / maxCount) * barSpace), class: "bar" }));
    chart.append(svg("text", { x: labelWidth + (item.count / maxCount) * barSpace + 6, y: y + 18, class: "axis" }, formatNumber(item.count)));
  });
  figure.append(chart, dataTable(title, ["Role", "Messages"], sorted.map((i) => [i.label, formatNumber(i.count)])));
}
