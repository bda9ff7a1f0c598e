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

// One tab stop for a group of buttons (record chips): Tab enters the group at its current button,
// arrow keys, Home and End move inside it. Keeps the keyboard path short on long issue lists.
export function rovingGroup(container, label) {
  const items = () => [...container.querySelectorAll("button")];
  container.setAttribute("role", "toolbar");
  if (label) container.setAttribute("aria-label", label);
  items().forEach((item, i) => item.setAttribute("tabindex", i === 0 ? "0" : "-1"));
  const moveTo = (target) => {
    for (const item of items()) item.setAttribute("tabindex", item === target ? "0" : "-1");
    target.focus();
  };
  container.addEventListener("keydown", (event) => {
    const list = items();
    const at = list.indexOf(document.activeElement);
    if (at < 0) return;
    const next = {
      ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: list.length - 1,
    }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    moveTo(list[Math.max(0, Math.min(list.length - 1, next))]);
  });
  container.addEventListener("click", (event) => {
    const item = event.target.closest?.("button");
    if (item && container.contains(item)) {
      for (const other of items()) other.setAttribute("tabindex", other === item ? "0" : "-1");
    }
  });
  return container;
}

// A button that keeps its focus while its request runs (a disabled button drops focus to the page).
export async function whileBusy(button, work) {
  if (button.getAttribute("aria-disabled") === "true") return undefined;
  button.setAttribute("aria-disabled", "true");
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.removeAttribute("aria-disabled");
    button.removeAttribute("aria-busy");
  }
}
