// Following one generation job: its state, steps and usage (GET /tasks/{id}), its rows as they are written
// (GET /data/rows/{id}?after=N), Cancel, and once it is done the link to the generated dataset's analysis.
import { $, el, clear, show, formatNumber } from "./dom.js";
import { ApiError, getJson, getText, requestJson } from "./api.js";
import { datasetUrl } from "./router.js";

const POLL_MS = 500;
const SHOWN_ROWS = 500; // rows listed on the page; the rest are counted (all of them are in the dataset)
const FINAL = new Set(["DONE", "ERROR", "CANCELLED"]);

let run = null; // {taskId, kind, target, next, shown, timer, handlers}

export function stopRun() {
  if (run?.timer) clearTimeout(run.timer);
  run = null;
}

export function followRun(taskId, { kind, target, onError, remember }) {
  stopRun();
  run = { taskId, kind, target, next: 0, shown: 0, timer: null, onError, remember };
  document.body.dataset.generation = "running";
  clear($("gen-rows"));
  $("gen-progress").removeAttribute("value"); // indeterminate until the first rows are counted
  $("gen-status").textContent = "Queued.";
  $("gen-usage").textContent = "";
  show($("gen-analyse"), false);
  show($("gen-cancel"), true);
  $("gen-cancel").onclick = () => cancel(taskId).catch(onError);
  show($("gen-run"), true);
  $("gen-run-heading").textContent = "Generating";
  $("gen-run-heading").scrollIntoView({ block: "start" });
  $("gen-run-heading").focus({ preventScroll: true });
  poll(run);
}

async function poll(current) {
  try {
    const { data: task } = await getJson(`/tasks/${encodeURIComponent(current.taskId)}`);
    await readRows(current);
    if (run !== current) return;
    showTask(current, task);
    if (FINAL.has(task.state)) {
      await readRows(current); // what was written between the two reads
      finish(current, task);
      return;
    }
  } catch (error) {
    if (run !== current) return;
    current.onError(error);
  }
  if (run === current) current.timer = setTimeout(() => poll(current), POLL_MS);
}

async function readRows(current) {
  const text = await getText(`/data/rows/${encodeURIComponent(current.taskId)}`, { after: current.next });
  if (run !== current) return;
  const list = $("gen-rows");
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const row = JSON.parse(line);
    current.next = Math.max(current.next, Number(row.n) + 1);
    if (current.shown < SHOWN_ROWS) {
      list.append(rowItem(row));
      current.shown += 1;
    }
  }
  const more = current.next - current.shown;
  const note = list.querySelector(".more-rows");
  if (more > 0) {
    const text = `and ${formatNumber(more)} more rows (all of them are in the dataset)`;
    if (note) note.textContent = text;
    else list.after(el("p", { class: "hint more-rows", text }));
  }
}

function rowItem(row) {
  if (row.messages) {
    return el("li", { class: "gen-row" }, ...row.messages.map((m) => el("p", { class: `gen-turn role-${m.role}` },
      el("span", { class: "gen-role", text: `${m.role}: ` }), m.content)));
  }
  const text = row.input ?? row.text ?? row.question ?? JSON.stringify(row);
  const answer = row.output ?? row.answer ?? row.label;
  return el("li", { class: "gen-row" }, el("p", { class: "gen-turn", text }),
    answer === undefined ? null : el("p", { class: "gen-turn role-assistant", text: String(answer) }));
}

function showTask(current, task) {
  const done = task.progress?.done ?? 0;
  const total = task.progress?.total ?? current.target;
  if (total) {
    $("gen-progress").max = total;
    $("gen-progress").value = Math.min(done, total);
  }
  const step = task.detailed_status?.at(-1) ?? "";
  const state = task.state === "CANCELLING" ? "Stopping" : { QUEUED: "Queued", RUNNING: "Running", DONE: "Done", ERROR: "Failed", CANCELLED: "Cancelled" }[task.state];
  $("gen-status").textContent = `${state}: ${formatNumber(current.next)} of ${formatNumber(current.target)} rows. ${step}`;
  const usage = task.usage ?? {};
  if (usage.requests) {
    const cost = typeof usage.cost_usd === "number" ? `, $${usage.cost_usd.toFixed(4)} so far` : "";
    $("gen-usage").textContent = `${formatNumber(usage.requests)} request${usage.requests === 1 ? "" : "s"}, ${formatNumber(usage.prompt_tokens ?? 0)} prompt and ${formatNumber(usage.completion_tokens ?? 0)} completion tokens${cost}.`;
  }
}

function finish(current, task) {
  show($("gen-cancel"), false);
  document.body.dataset.generation = task.state.toLowerCase();
  const heading = $("gen-run-heading");
  if (task.state === "DONE" && task.result?.dataset_id) {
    const link = $("gen-analyse");
    const name = `Generated ${current.kind} (${formatNumber(task.result.rows)} rows)`;
    link.href = datasetUrl(task.result.dataset_id);
    link.onclick = () => current.remember(task.result.dataset_id, name);
    show(link, true);
    heading.textContent = "Generated";
    if (task.result.warning) $("gen-usage").textContent += ` ${task.result.warning}`;
    link.focus();
  } else if (task.state === "ERROR") {
    heading.textContent = "Generation failed";
    // said in the page's error box when the person is on this page (a run goes on while they look elsewhere)
    if (!$("view-generate").hidden) current.onError(new ApiError({ code: task.error?.code ?? "", detail: task.error?.message ?? "The generation failed." }));
    $("gen-status").textContent = `Failed: ${task.error?.message ?? "the job failed"}`;
  } else {
    heading.textContent = "Generation cancelled";
  }
  run = null;
}

async function cancel(taskId) {
  $("gen-status").textContent = "Stopping at the next batch…";
  await requestJson("DELETE", `/tasks/${encodeURIComponent(taskId)}`);
}
