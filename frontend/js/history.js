// The signed-in user's jobs: what was analysed, the model chosen, the notebook; re-download, delete.
import { $, el, clear, asArray, formatDate, formatNumber, humanize } from "./dom.js";
import { getJson, requestJson } from "./api.js";
import { isSignedIn, openSignIn } from "./auth.js";

let onError = () => {};

function jobDownloadUrl(job) {
  return job.download_url ?? job.notebook?.download_url ?? null;
}

function deleteButton(job, row) {
  const button = el("button", { type: "button", class: "danger", text: "Delete", "aria-label": `Delete job for ${job.dataset_filename ?? job.id}` });
  let armed = false;
  button.addEventListener("click", async () => {
    // Two clicks: the first asks, the second deletes (no modal to trap keyboard users).
    if (!armed) {
      armed = true;
      button.textContent = "Click again to delete";
      return;
    }
    button.disabled = true;
    try {
      await requestJson("DELETE", `/jobs/${encodeURIComponent(job.id)}`);
      row.remove();
      if (!$("history-list").querySelector(".job")) renderEmpty();
    } catch (error) {
      button.disabled = false;
      onError(error);
    }
  });
  button.addEventListener("blur", () => {
    armed = false;
    button.textContent = "Delete";
  });
  return button;
}

function jobRow(job) {
  const stats = job.dataset_stats ?? {};
  const url = jobDownloadUrl(job);
  const row = el("li", { class: "job", dataset: { jobId: job.id } });
  row.append(
    el("h2", { text: job.dataset_filename ?? job.session_id ?? job.id }),
    el("p", { class: "hint", text: `${formatDate(job.created_at)} · ${humanize(job.status ?? "")}` }),
    el(
      "dl",
      { class: "facts" },
      stats.total_examples !== undefined ? [el("dt", { text: "Examples" }), el("dd", { text: formatNumber(stats.total_examples) })] : null,
      job.task_type ? [el("dt", { text: "Task" }), el("dd", { text: humanize(job.task_type) })] : null,
      job.deployment_target ? [el("dt", { text: "Target" }), el("dd", { text: humanize(job.deployment_target) })] : null,
      job.model_id ? [el("dt", { text: "Model" }), el("dd", { text: job.model_id })] : null,
    ),
    el(
      "div",
      { class: "actions" },
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
  if (!isSignedIn()) {
    const button = el("button", { type: "button", class: "primary", text: "Sign in" });
    button.addEventListener("click", () => openSignIn());
    box.append(el("p", { text: "Sign in to see the datasets you analysed and the notebooks you generated." }), button);
    return;
  }
  box.append(el("p", { class: "hint", text: "Loading your jobs…" }));
  try {
    const { data } = await getJson("/jobs", { limit: 100 });
    const jobs = Array.isArray(data) ? data : asArray(data?.jobs ?? data?.items);
    if (!jobs.length) renderEmpty();
    else clear(box).append(el("ul", { class: "jobs" }, jobs.map(jobRow)));
  } catch (error) {
    // A refused token has already signed the person out and re-rendered this view.
    if (error.status === 401) return;
    clear(box).append(el("p", { text: "Your jobs could not be loaded." }));
    onError(error);
  }
}

export function initHistory(handlers) {
  onError = handlers.onError;
}
