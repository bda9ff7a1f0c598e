// The datasets-out panels' status lines: one live region per panel, which also says what went wrong (in red,
// with what to do next), so the page keeps its live regions to status lines and the one error box.
import { $ } from "./dom.js";
import { describeError } from "./api.js";

export function say(id, text, { error = false } = {}) {
  const line = $(id);
  line.textContent = text;
  line.classList.toggle("status-error", error);
}

export function sayProblem(id, problem) {
  const { message, next } = describeError(problem);
  say(id, `${message} ${next}`, { error: true });
}
