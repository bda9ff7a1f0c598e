// The signed-in user's jobs: what was analysed, the model chosen (by name), the notebook (what went into it,
// when its link expires); reopen any job at its step, re-download, delete.
import { $, el, clear, asArray, formatDate, formatNumber, humanize } from "./dom.js";
import { getJson, requestJson } from "./api.js";
import { isSignedIn, openSignIn } from "./auth.js";
import { modelName } from "./catalog.js";
import { datasetUrl } from "./router.js";
import { targetLabel, taskLabel } from "./recommend.js";

let onError = () => {};

const STEP_NAMES = { created: "its analysis", analyzed: "its analysis", recommended: "its model ranking", generated: "its notebook" };

// The page address that reopens a job where it stopped.
export function jobUrl(job) {
  const params = {};
  if (job.task_type) params.task = job.task_type;
  if (job.deployment_target) params.target = job.deployment_target;
  if (job.status === "generated" && job.model_id) {
    params.model = job.model_id;
    params.job = job.id;
  }
  return datasetUrl(job.session_id, job.status === "created" || job.status === "analyzed" ? {} : params);
}

function focusAfterDelete(row) {
  const rows = [...$("history-list").querySelectorAll("li.job")];
  const at = rows.indexOf(row);
  const next = rows[at + 1] ?? rows[at - 1];
  return () => (next ? next.querySelector("button.danger") : $("history-heading"))?.focus();
}

function deleteButton(job, row) {
  const name = job.dataset_filename ?? job.id;
  const button = el("button", { type: "button", class: "danger", text: "Delete", "aria-label": `Delete job for ${name}` });
  let armed = false;
  button.addEventListener("click", async () => {
    // Two presses: the first asks, the second deletes (no modal to trap keyboard users).
    if (!armed) {
      armed = true;
      button.textContent = "Press again to delete";
      button.setAttribute("aria-label", `Press again to delete the job for ${name}`);
      return;
    }
    button.setAttribute("aria-disabled", "true");
    const refocus = focusAfterDelete(row);
    try {
      await requestJson("DELETE", `/jobs/${encodeURIComponent(job.id)}`);
      row.remove();
      if (!$("history-list").querySelector(".job")) renderEmpty();
      $("history-status").textContent = `Deleted the job for ${name}.`;
      refocus(); // the focus stays in the list, on the next job, instead of falling back to the page
    } catch (error) {
      button.removeAttribute("aria-disabled");
      onError(error);
    }
  });
  button.addEventListener("blur", () => {
    armed = false;
    button.textContent = "Delete";
    button.setAttribute("aria-label", `Delete job for ${name}`);
  });
  return button;
}

function fact(label, value) {
  return value === undefined || value === null || value === "" ? null : [el("dt", { text: label }), el("dd", { text: value })];
}

function notebookFacts(job) {
  if (!job.notebook_id) return null;
  const parts = [];
  if (typeof job.notebook_examples === "number") parts.push(`${formatNumber(job.notebook_examples)} examples`);
  if (job.notebook_examples_left_out) parts.push(`${formatNumber(job.notebook_examples_left_out)} left out`);
  if (job.notebook_records_unusable) parts.push(`${formatNumber(job.notebook_records_unusable)} records of the file unusable`);
  return parts.join(", ");
}

function jobRow(job) {
  const stats = job.dataset_stats ?? {};
  const url = job.download_url;
  const row = el("li", { class: "job", dataset: { jobId: job.id } });
  const expires = job.notebook_expires_at
    ? `${formatDate(job.notebook_expires_at)} for others; always for you while signed in` : null;
  row.append(
    el("h2", { text: job.dataset_filename ?? job.session_id ?? job.id }),
    el("p", { class: "hint", text: `${formatDate(job.created_at)} · ${humanize(job.status ?? "")}` }),
    el(
      "dl",
      { class: "facts" },
      fact("Examples analysed", stats.total_examples !== undefined ? formatNumber(stats.total_examples) : null),
      fact("Task", job.task_type ? taskLabel(job.task_type) : null),
      fact("Target", job.deployment_target ? targetLabel(job.deployment_target) : null),
      fact("Model", job.model_id ? modelName(job.model_id) : null),
      fact("Notebook", notebookFacts(job)),
      fact("Download link works until", expires),
    ),
    el(
      "div",
      { class: "actions" },
      job.session_id ? el("a", { class: "button primary reopen", href: jobUrl(job), text: `Reopen ${STEP_NAMES[job.status] ?? "the job"}` }) : null,
      url
        ? el("a", { class: "button", href: url, download: "", text: "Download notebook" })
        : el("span", { class: "hint", text: job.notebook_id ? "A notebook was generated, but the server gave no download link for it." : "No notebook generated yet." }),
      job.colab_url ? el("a", { class: "button", href: job.colab_url, target: "_blank", rel: "noopener noreferrer", text: "Open in Colab" }) : null,
      deleteButton(job, row),
    ),
  );
  return row;
}

function renderEmpty() {
  clear($("history-list")).append(el("p", { text: "No jobs yet. Upload a dataset and generate a notebook while signed in; it will be listed here." }));
}

export async function showHistory() {
  const box = clear($("history-list"));
  $("history-status").textContent = "";
  if (!isSignedIn()) {
    const button = el("button", { type: "button", class: "primary", text: "Sign in" });
    button.addEventListener("click", () => openSignIn());
    box.append(el("p", { text: "Sign in to see the datasets you analysed and the notebooks you generated." }), button);
    return;
  }
  $("history-status").textContent = "Loading your jobs…";
  try {
    const { data } = await getJson("/jobs", { limit: 100 });
    const jobs = Array.isArray(data) ? data : asArray(data?.jobs ?? data?.items);
    $("history-status").textContent = `${formatNumber(jobs.length)} job${jobs.length === 1 ? "" : "s"}.`;
    if (!jobs.length) renderEmpty();
    else clear(box).append(el("ul", { class: "jobs" }, jobs.map(jobRow)));
  } catch (error) {
    // A refused token has already signed the person out and re-rendered this view.
    if (error.status === 401) return;
    $("history-status").textContent = "Your jobs could not be loaded.";
    onError(error);
  }
}

// The signed-in user's job for an upload session, or null (for reopening it at its step).
export async function findJob(sessionId, jobId) {
  if (!isSignedIn()) return null;
  try {
    if (jobId) return (await getJson(`/jobs/${encodeURIComponent(jobId)}`)).data;
    const { data } = await getJson("/jobs", { limit: 100 });
    return asArray(data).find((j) => j.session_id === sessionId) ?? null;
  } catch {
    return null; // the job is an extra: the dataset's own page works without it
  }
}

export function initHistory(handlers) {
  onError = handlers.onError;
}
