// Banners above the analysis for what changes how every figure below must be read (issue 15): a file read only
// partly (its counts are a lower bound) and preference data (trained with DPO or KTO, never as plain chat/SFT).
// The training step repeats the preference banner's point next to the Generate button.
import { $, el, clear, show, formatNumber, humanize } from "./dom.js";

const FORMATS = {
  trl_paired: "TRL prompt/chosen/rejected",
  trl_unpaired: "TRL prompt/completion/label",
  sharegpt_chosen_rejected: "LLaMA-Factory ShareGPT conversations with chosen and rejected",
  kto_messages_label: "KTO messages with a true/false label",
  llamafactory_v1: "LLaMA-Factory v1 chosen_messages/rejected_messages",
};

function focusBanner(id) {
  const target = $(id);
  target?.scrollIntoView({ block: "start" });
  target?.focus({ preventScroll: true });
}

function readPartly(report) {
  const stopped = report.read_stopped;
  if (!stopped || typeof stopped !== "object") return null;
  const where = [
    typeof stopped.index === "number" ? `record #${stopped.index}` : null,
    stopped.line ? `line ${formatNumber(stopped.line)}` : null,
  ].filter(Boolean).join(", ");
  const total = formatNumber(report.records_total);
  const lower = report.records_total_is_lower_bound
    ? `The file holds at least ${total} records: every count here (records, examples, tokens, issues) is a lower bound, made from the records before that point.`
    : "The figures here describe only the records before that point.";
  return el(
    "section",
    { class: "banner banner-error", id: "read-partly-banner", tabindex: "-1", "aria-labelledby": "read-partly-title", dataset: { banner: "read_partly" } },
    el("h3", { id: "read-partly-title", text: "This file was read only partly" }),
    el("p", { text: `Reading stopped${where ? ` at ${where}` : ""}: ${stopped.message ?? humanize(stopped.code)}` }),
    el("p", { text: lower }),
    el("p", { class: "advice", text: "What to do: fix the cause named above (for a cut file, upload it whole; for a damaged one, export it again), then upload the file again. The score loses 20 points until then." }),
  );
}

function preferenceText(pref) {
  const count = formatNumber(pref.examples);
  const source = FORMATS[pref.source_format] ?? humanize(pref.source_format ?? "");
  if (pref.kind === "paired") {
    return {
      what: `These ${count} examples are preference pairs (${source}): each prompt has a chosen answer and a rejected one.`,
      means: "Train them with DPO (direct preference optimisation), which learns to prefer the chosen answer over the rejected one. Never as plain chat (SFT): that would learn from one side only and throw the comparison away.",
    };
  }
  const good = Number(pref.labels?.true ?? 0);
  const bad = Number(pref.labels?.false ?? 0);
  return {
    what: `These ${count} examples are unpaired preference data (${source}): each prompt has one answer labelled good (${formatNumber(good)}) or bad (${formatNumber(bad)}).`,
    means: `Train them with KTO, or pair them for DPO. Never as plain chat (SFT): it would learn the ${formatNumber(bad)} answers labelled bad as if they were good.`,
  };
}

function preferenceBanner(report) {
  const pref = report.preference;
  if (!pref || typeof pref !== "object") return null;
  const { what, means } = preferenceText(pref);
  return el(
    "section",
    { class: "banner banner-info", id: "preference-banner", tabindex: "-1", "aria-labelledby": "preference-title", dataset: { banner: "preference", kind: pref.kind ?? "" } },
    el("h3", { id: "preference-title", text: `Preference data (${pref.kind === "paired" ? "paired" : "unpaired"})` }),
    el("p", { text: what }),
    el("p", { text: means }),
    el("p", { class: "advice", text: "What to do: the notebook this page makes trains with SFT, so it is not made for these examples. Use a DPO or KTO trainer (TRL's DPOTrainer or KTOTrainer read these fields as they are), or keep only the chosen (good) answers and upload them as plain chat." }),
  );
}

// The analysis's banners, above its cards.
export function renderBanners(report) {
  const banners = [readPartly(report), preferenceBanner(report)].filter(Boolean);
  clear($("analysis-banners")).append(...banners);
  show($("analysis-banners"), banners.length > 0);
}

// The training step: preference data gets no SFT notebook; say so before the person presses Generate.
export function renderTrainingNote(report) {
  const pref = report?.preference;
  const box = clear($("train-note"));
  show(box, Boolean(pref));
  if (!pref) return;
  box.append(
    el("p", {}, el("strong", { text: "Preference data: " }),
      `this notebook would train with SFT, which ${pref.kind === "paired" ? "learns only one side of each pair" : "would learn the answers labelled bad"}; the server does not make it for these examples. `,
      el("button", { type: "button", class: "link-button", id: "train-note-what", onclick: () => focusBanner("preference-banner") }, "What to do instead")),
  );
}
