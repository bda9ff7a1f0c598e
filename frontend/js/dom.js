// Small DOM helpers. Everything is built with createElement and textContent, never innerHTML,
// so dataset text can never turn into markup.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttributes(node, attrs);
  appendChildren(node, children);
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  appendChildren(node, children);
  return node;
}

function setAttributes(node, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
}

function appendChildren(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function $(id) {
  return document.getElementById(id);
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function show(node, visible = true) {
  node.hidden = !visible;
}

const numberFormat = new Intl.NumberFormat("en-US");

export function formatNumber(value, digits = 0) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "–";
  if (digits === 0) return numberFormat.format(Math.round(value));
  return value.toLocaleString("en-US", { maximumFractionDigits: digits });
}

export function formatBytes(bytes) {
  if (typeof bytes !== "number" || !Number.isFinite(bytes)) return "–";
  const units = ["bytes", "KB", "MB", "GB"];
  let size = bytes;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? size : size.toFixed(1)} ${units[unit]}`;
}

export function formatPercent(share) {
  if (typeof share !== "number" || !Number.isFinite(share)) return "–";
  return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;
}

export function formatDate(value) {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? "–" : date.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

// Reads a nested field without throwing on missing links: pick(report, "quality", "score").
export function pick(object, ...path) {
  let current = object;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = current[key];
  }
  return current;
}

export function asArray(value) {
  return Array.isArray(value) ? value : [];
}

export function humanize(code) {
  return String(code ?? "").replaceAll("_", " ").replace(/^\w/, (c) => c.toUpperCase());
}
