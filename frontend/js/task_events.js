// A task's Server-Sent Events (GET /tasks/{id}/events), read with fetch rather than EventSource: EventSource
// cannot send the sign-in header, and a signed-in person's task is not visible without it. It reconnects as
// EventSource does, with Last-Event-ID (the server then sends only what was missed), and gives up after a few
// failed connections in a row so that the caller can fall back to polling.
import { authHeaders } from "./api.js";

const FINAL = new Set(["DONE", "ERROR", "CANCELLED"]);
const MAX_FAILURES = 3;

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// One "id/event/data" block of the stream, or null for a comment or a retry line alone.
function parseBlock(block) {
  const event = { id: null, kind: "message", data: "", retry: null };
  let hasData = false;
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") event.id = value;
    else if (field === "event") event.kind = value;
    else if (field === "retry") event.retry = Number(value);
    else if (field === "data") {
      event.data += (hasData ? "\n" : "") + value;
      hasData = true;
    }
  }
  return hasData ? event : event.retry !== null ? { ...event, kind: "retry" } : null;
}

// Calls onEvent(kind, data) for each event until the task ends; true when it ended (its final state came),
// false when the stream could not be kept open (the caller polls instead) or isCurrent() turned false.
// `signal` closes the stream at once (a newer upload took over: it must not hold one of the client's streams).
export async function followTaskEvents(taskId, onEvent, { isCurrent = () => true, signal = null } = {}) {
  let lastId = null;
  let retryMs = 1000;
  let failures = 0;
  while (isCurrent()) {
    const controller = new AbortController();
    if (signal?.aborted) return false;
    signal?.addEventListener("abort", () => controller.abort(), { once: true });
    let sawFinal = false;
    try {
      const headers = { Accept: "text/event-stream", ...authHeaders(), ...(lastId ? { "Last-Event-ID": lastId } : {}) };
      const response = await fetch(`/tasks/${encodeURIComponent(taskId)}/events`, { headers, signal: controller.signal, cache: "no-store" });
      if (!response.ok || !response.body) throw new Error(`events answered ${response.status}`);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (!isCurrent()) {
          controller.abort();
          return false;
        }
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const event = parseBlock(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (!event) continue;
          if (event.kind === "retry") {
            if (Number.isFinite(event.retry)) retryMs = event.retry;
            continue;
          }
          if (event.id) lastId = event.id;
          let data = {};
          try {
            data = JSON.parse(event.data);
          } catch {
            continue; // not ours to read
          }
          failures = 0; // this connection delivers: a later drop starts the count again
          onEvent(event.kind, data);
          if (event.kind === "state" && FINAL.has(data.state)) sawFinal = true;
        }
      }
      if (sawFinal) return true; // the server closes the stream after the task's final event
      failures += 1; // closed early, or with nothing new
    } catch {
      if (signal?.aborted) return false;
      failures += 1;
    }
    if (sawFinal) return true;
    if (failures >= MAX_FAILURES) return false;
    await sleep(retryMs); // a dropped stream: reconnect with Last-Event-ID, as EventSource would
  }
  return false;
}
