// Upload with a progress bar, then poll the analysis until it is ready.
import { $, show, formatBytes, formatPercent } from "./dom.js";
import { ApiError, getJson, uploadFile } from "./api.js";

const POLL_FIRST_MS = 300;
const POLL_MAX_MS = 1500;
let currentRun = 0; // a newer upload makes older polling loops stop
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

async function pollAnalysis(sessionId, run) {
  let delay = POLL_FIRST_MS;
  for (;;) {
    const { status, data } = await getJson(`/analyze/${encodeURIComponent(sessionId)}`);
    if (run !== currentRun) return null;
    if (status === 200 && data?.status !== "failed") return data;
    if (data?.status === "failed") {
      throw new ApiError({ status: 422, code: data.error ?? "analysis_failed", detail: data.detail ?? "The analysis failed.", data });
    }
    const progress = Number(data?.progress ?? 0);
    $("analysis-progress").value = progress;
    setStatus(`${data?.status === "queued" ? "Waiting for a worker" : "Analysing"}… ${formatPercent(progress)}`);
    await sleep(delay);
    delay = Math.min(POLL_MAX_MS, delay * 1.5);
  }
}

async function handleFile(file, { onAnalysis, onError, onStart }) {
  const run = ++currentRun;
  onStart();
  show($("progress-block"), true);
  $("upload-progress").value = 0;
  $("analysis-progress").value = 0;
  try {
    checkFile(file);
    setStatus(`Uploading ${file.name} (${formatBytes(file.size)})…`);
    const uploaded = await uploadFile(file, (share) => {
      $("upload-progress").value = share;
      setStatus(`Uploading ${file.name}… ${formatPercent(share)}`);
    });
    $("upload-progress").value = 1;
    setStatus("Upload complete; analysing…");
    const analysis = await pollAnalysis(uploaded.session_id, run);
    if (!analysis) return;
    $("analysis-progress").value = 1;
    setStatus(`Analysis of ${file.name} is ready.`);
    await onAnalysis({ sessionId: uploaded.session_id, filename: uploaded.filename ?? file.name, analysis });
  } catch (error) {
    if (run !== currentRun) return;
    setStatus(`${file.name} could not be analysed.`);
    onError(error);
  }
}

export function initUpload(config, handlers) {
  const maxBytes = Number(config.max_upload_bytes);
  limits = { maxBytes: Number.isFinite(maxBytes) && maxBytes > 0 ? maxBytes : null };
  if (limits.maxBytes) $("upload-limit").textContent = `Up to ${formatBytes(limits.maxBytes)}.`;
  const input = $("file-input");
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
