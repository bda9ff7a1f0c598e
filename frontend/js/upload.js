// Upload with a progress bar, then follow the analysis: the engine's progress fraction as it comes,
// its running figures (records, examples, tokens, issues so far) and its latest step.
import { $, el, clear, show, formatBytes, formatNumber, formatPercent, humanize } from "./dom.js";
import { ApiError, getJson, uploadFile } from "./api.js";

const POLL_FIRST_MS = 300;
const POLL_MAX_MS = 1500;
let currentRun = 0; // a newer upload or dataset makes older polling loops stop
let uploadRun = 0; // a newer upload makes an older one's answer be ignored
let limits = { maxBytes: null };

function setStatus(text) {
  $("progress-status").textContent = text;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function clientError(detail, code) {
  return new ApiError({ kind: "client", status: 400, code, detail });
}

function checkFile(file) {
  if (file.size === 0) {
    throw clientError(`"${file.name}" is empty (0 bytes).`, "empty_file");
  }
  if (limits.maxBytes && file.size > limits.maxBytes) {
    throw new ApiError({
      kind: "client", status: 413, code: "payload_too_large",
      detail: `"${file.name}" is ${formatBytes(file.size)}, over this server's upload limit of ${formatBytes(limits.maxBytes)}.`,
    });
  }
}

// A bar with no value is "working, amount unknown": honest while queued or before the first chunk is done,
// where a bar stuck at 0% looks broken and then jumps.
function setBar(bar, fraction) {
  if (typeof fraction === "number" && fraction > 0) bar.value = Math.min(1, fraction);
  else bar.removeAttribute("value");
}

const PARTIAL_FIGURES = [
  ["chunks", "Parts of the file done"],
  ["records", "Records read"],
  ["examples", "Usable examples"],
  ["tokens", "Tokens"],
  ["assistant_tokens", "Assistant tokens"],
  ["unusable", "Records that cannot be used"],
];

function renderPartial(partial) {
  const box = $("partial-figures");
  if (!partial || typeof partial !== "object") {
    show(box, false);
    return;
  }
  const rows = PARTIAL_FIGURES.filter(([key]) => typeof partial[key] === "number")
    .flatMap(([key, label]) => [el("dt", { text: label }), el("dd", { dataset: { figure: key }, text: formatNumber(partial[key]) })]);
  const issues = Object.entries(partial.issues ?? {}).filter(([, count]) => Number(count) > 0);
  if (issues.length) {
    rows.push(el("dt", { text: "Issues so far" }),
      el("dd", { dataset: { figure: "issues" }, text: issues.map(([code, count]) => `${humanize(code)}: ${formatNumber(Number(count))}`).join(" · ") }));
  }
  clear(box).append(...rows);
  show(box, rows.length > 0);
}

function describeProgress(name, data) {
  const steps = Array.isArray(data?.detailed_status) ? data.detailed_status : [];
  const step = steps.length ? steps[steps.length - 1] : "";
  const fraction = Number(data?.progress ?? 0);
  if (data?.status === "queued") return `${name}: waiting for a worker…${step ? ` ${step}` : ""}`;
  // datasets out: a version a task is still making (GET /analyze answers for it before it has a row)
  if (data?.status === "importing") return `Importing ${name} from the Hub…${step ? ` (${step})` : ""}`;
  if (data?.status === "fixing") return `Making ${name}…${step ? ` (${step})` : ""}`;
  const done = fraction > 0 ? ` ${formatPercent(fraction)} done` : "";
  return `Analysing ${name}…${done}${step ? ` (${step})` : ""}`;
}

export function resetProgress({ uploading }) {
  show($("progress-block"), true);
  show($("upload-progress"), uploading);
  show($("upload-progress-label"), uploading);
  $("upload-progress").value = 0;
  setBar($("analysis-progress"), 0);
  renderPartial(null);
}

export function stopFollowing() {
  currentRun += 1;
}

// Polls GET /analyze/{id} until the report is ready; null when a newer upload or dataset took over. `given` is
// a name the page already has; otherwise the server's `filename` (in its 200 and 202 answers) names the file.
export async function followAnalysis(sessionId, given) {
  const run = ++currentRun;
  let delay = POLL_FIRST_MS;
  for (;;) {
    const { status, data } = await getJson(`/analyze/${encodeURIComponent(sessionId)}`);
    if (run !== currentRun) return null;
    const name = given ?? data?.filename ?? "your dataset";
    if (status === 200 && data?.status !== "failed") {
      $("analysis-progress").value = 1;
      renderPartial(null);
      setStatus(`Analysis of ${name} is ready.`);
      return data;
    }
    if (data?.status === "failed") {
      throw new ApiError({ status: 422, code: data.error ?? "analysis_failed", detail: data.detail ?? "The analysis failed.", data });
    }
    setBar($("analysis-progress"), Number(data?.progress ?? 0));
    renderPartial(data?.partial);
    setStatus(describeProgress(name, data));
    await sleep(delay);
    delay = Math.min(POLL_MAX_MS, delay * 1.5);
  }
}

async function handleFile(file, { onError, onStart, onUploaded }) {
  stopFollowing();
  const run = ++uploadRun;
  onStart();
  resetProgress({ uploading: true });
  try {
    checkFile(file);
    setStatus(`Uploading ${file.name} (${formatBytes(file.size)})…`);
    const uploaded = await uploadFile(file, (share) => {
      $("upload-progress").value = share;
      setStatus(`Uploading ${file.name}… ${formatPercent(share)}`);
    });
    if (run !== uploadRun) return;
    $("upload-progress").value = 1;
    setStatus("Upload complete; analysing…");
    await onUploaded({ sessionId: uploaded.session_id, filename: uploaded.filename ?? file.name });
  } catch (error) {
    if (run !== uploadRun) return;
    setBar($("analysis-progress"), 0);
    setStatus(`${file.name} could not be analysed.`);
    onError(error);
  }
}

export function initUpload(config, handlers) {
  const maxBytes = Number(config.max_upload_bytes);
  limits = { maxBytes: Number.isFinite(maxBytes) && maxBytes > 0 ? maxBytes : null };
  if (limits.maxBytes) $("upload-limit").textContent = `Up to ${formatBytes(limits.maxBytes)}.`;
  const input = $("file-input");
  $("choose-file").addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    if (input.files?.length) handleFile(input.files[0], handlers);
    input.value = "";
  });
  const zone = $("dropzone");
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "drop"]) zone.addEventListener(type, () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer?.files?.[0];
    if (file) handleFile(file, handlers);
  });
  // A file dropped outside the zone would make the browser navigate away from the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
}
