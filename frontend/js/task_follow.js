// Follows a task (GET /tasks/{id}) until it ends, handing each state to `onUpdate`: its progress, latest step,
// result or error. Polling rather than the event stream: an EventSource cannot send the sign-in header.
import { getJson } from "./api.js";

const FINAL = new Set(["DONE", "ERROR", "CANCELLED"]);
const FIRST_MS = 300;
const MAX_MS = 1500;

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// The task's last view once it has ended, or null when `isCurrent()` turned false (the page moved on).
export async function followTask(taskId, onUpdate, isCurrent = () => true) {
  let delay = FIRST_MS;
  for (;;) {
    const { data } = await getJson(`/tasks/${encodeURIComponent(taskId)}`);
    if (!isCurrent()) return null;
    onUpdate(data);
    if (FINAL.has(data?.state)) return data;
    await sleep(delay);
    delay = Math.min(MAX_MS, delay * 1.5);
  }
}

export function latestStep(task) {
  const steps = Array.isArray(task?.detailed_status) ? task.detailed_status : [];
  return steps.length ? steps[steps.length - 1] : "";
}

export function fractionOf(task) {
  const fraction = task?.progress?.fraction;
  return typeof fraction === "number" && Number.isFinite(fraction) ? fraction : null;
}
