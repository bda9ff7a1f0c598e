// Download buttons: the analysed version in each export format (GET /datasets/{id}/export), optionally gzipped.
// A format that cannot carry some examples is refused by the server before any byte is sent; that is said here.
import { $, el, clear, formatBytes, whileBusy } from "./dom.js";
import { fetchFile } from "./api.js";
import { say, sayProblem } from "./panel.js";

const FORMATS = [
  ["canonical", "Canonical JSONL"],
  ["openai", "OpenAI messages"],
  ["sharegpt", "ShareGPT"],
  ["alpaca", "Alpaca"],
];

let current = null;

function save(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function download(sessionId, format, label) {
  const gzip = $("export-gzip").checked;
  say("export-status", `Preparing ${label}${gzip ? " (gzip)" : ""}…`);
  try {
    const { blob, filename } = await fetchFile(`/datasets/${encodeURIComponent(sessionId)}/export`, { format, gzip: String(gzip) });
    if (current !== sessionId) return;
    save(blob, filename);
    say("export-status", `Downloaded ${filename} (${formatBytes(blob.size)}).`);
  } catch (error) {
    sayProblem("export-status", error);
  }
}

export function renderExports(sessionId) {
  current = sessionId;
  const buttons = FORMATS.map(([format, label]) => {
    const button = el("button", { type: "button", id: `export-${format}`, dataset: { format } }, label);
    button.addEventListener("click", () => whileBusy(button, () => download(sessionId, format, label)));
    return button;
  });
  clear($("export-panel")).append(
    el("h4", { text: "Download" }),
    el("p", { class: "hint", text: "One example per line, in the format your training tool reads." }),
    el("div", { class: "actions export-buttons" }, buttons,
      el("label", { for: "export-gzip" }, el("input", { type: "checkbox", id: "export-gzip" }), " gzip")),
    el("p", { class: "status", id: "export-status", role: "status" }));
}
