// The analysis dashboard: headline cards, charts, issues by severity, duplicate groups.
// The report's shape is read defensively: a missing field shows as "–", never breaks the page.
import { $, el, clear, pick, asArray, formatNumber, formatPercent, humanize } from "./dom.js";
import { drawBars, drawHistogram } from "./charts.js";
import { findRecord, renderExample, showRecord } from "./preview.js";

const SEVERITIES = [
  { key: "error", label: "Errors" },
  { key: "warning", label: "Warnings" },
  { key: "info", label: "Notes" },
];

function card(title, value, ...details) {
  return el("section", { class: "card" }, el("h3", { text: title }), el("p", { class: "card-value", text: value }), ...details);
}

function renderCards(analysis, report) {
  const tokenizer = report.tokenizer ?? {};
  const unusable = Number(report.records_unusable ?? 0);
  const examples = card(
    "Examples",
    formatNumber(analysis.total_examples ?? report.total_examples),
    report.records_total !== undefined
      ? el("p", { class: "hint", text: `${formatNumber(report.records_total)} records read, ${formatNumber(unusable)} could not be used` })
      : null,
  );
  const tokens = card(
    "Tokens",
    formatNumber(analysis.total_tokens ?? report.total_tokens),
    el("p", { class: "hint", text: `${formatNumber(analysis.avg_tokens_per_example ?? report.avg_tokens_per_example, 1)} per example on average` }),
    tokenizer.name
      ? el("p", { class: "hint", text: `Counted with ${tokenizer.counted_with ?? tokenizer.name} (${tokenizer.exact === false ? "estimated" : "exact"})` })
      : null,
  );
  const quality = report.quality ?? {};
  const score = quality.score ?? analysis.quality_score ?? report.quality_score;
  const deductions = asArray(quality.deductions);
  const scoreCard = card(
    "Quality score",
    score === undefined ? "–" : `${formatNumber(score)} / 100`,
    deductions.length
      ? el("ul", { class: "deductions", "aria-label": "Deductions" },
          deductions.map((d) => el("li", {}, el("strong", { text: `−${formatNumber(d.points, 1)}` }), ` ${d.reason ?? humanize(d.code)}`)))
      : el("p", { class: "hint", text: "No deductions." }),
  );
  const cards = [examples, tokens, scoreCard];
  const truncation = report.truncation;
  if (truncation && typeof truncation === "object") {
    const over = truncation.examples_over ?? truncation.count ?? truncation.examples_truncated;
    cards.push(card(
      "Truncation",
      formatNumber(over),
      el("p", { class: "hint", text: `examples longer than ${formatNumber(truncation.max_seq_length)} tokens` }),
      truncation.examples_losing_all_assistant_tokens !== undefined
        ? el("p", { class: "hint", text: `${formatNumber(truncation.examples_losing_all_assistant_tokens)} would lose every assistant token` })
        : null,
    ));
  }
  clear($("cards")).append(...cards);
}

function histogramBins(analysis, report) {
  const histogram = asArray(pick(report, "distributions", "tokens_per_example", "histogram"));
  if (histogram.length) {
    return histogram.map((b) => ({
      label: `${formatNumber(b.lo)}–${formatNumber(b.hi)}`,
      short: formatNumber(b.lo),
      count: Number(b.count ?? 0),
    }));
  }
  const buckets = report.token_distribution ?? analysis.token_distribution ?? {};
  return Object.entries(buckets).map(([label, count]) => ({ label, count: Number(count) }));
}

function renderCharts(analysis, report) {
  drawHistogram($("token-chart"), "Tokens per example", histogramBins(analysis, report));
  const roles = report.roles && typeof report.roles === "object" ? report.roles : {};
  drawBars($("role-chart"), "Messages by role", Object.entries(roles).map(([label, count]) => ({ label, count: Number(count) })));
}

function recordButton(ref) {
  const index = typeof ref === "number" ? ref : ref?.index;
  if (typeof index !== "number") return null;
  const line = typeof ref === "object" && ref.line ? ` (line ${ref.line})` : "";
  return el("button", { type: "button", class: "record-link", onclick: () => showRecord(index) }, `#${index}${line}`);
}

function renderIssue(issue) {
  const examples = asArray(issue.examples);
  const count = Number(issue.count ?? examples.length);
  const more = count > examples.length && examples.length ? el("span", { class: "hint", text: ` and ${formatNumber(count - examples.length)} more` }) : null;
  return el(
    "li",
    { class: `issue severity-${issue.severity}`, dataset: { code: issue.code ?? "" } },
    el("p", { class: "issue-title" }, el("strong", { text: issue.title ?? humanize(issue.code) }), ` · ${formatNumber(count)}`),
    issue.detail ? el("p", { text: issue.detail }) : null,
    issue.advice ? el("p", { class: "advice", text: `What to do: ${issue.advice}` }) : null,
    examples.length ? el("p", { class: "records" }, "Records: ", examples.map(recordButton), more) : null,
  );
}

function renderIssues(report) {
  const issues = asArray(report.issues);
  const box = clear($("issues"));
  if (!issues.length) {
    box.append(el("p", { text: "No issues found." }));
    return;
  }
  for (const { key, label } of SEVERITIES) {
    const group = issues.filter((i) => (i.severity ?? "info") === key);
    if (!group.length) continue;
    box.append(
      el("section", { class: `severity-group severity-${key}` }, el("h4", { text: `${label} (${group.length})` }), el("ul", { class: "issue-list" }, group.map(renderIssue))),
    );
  }
  const known = new Set(SEVERITIES.map((s) => s.key));
  const others = issues.filter((i) => i.severity && !known.has(i.severity));
  if (others.length) box.append(el("ul", { class: "issue-list" }, others.map(renderIssue)));
}

// A group may be a list of record numbers, of {index, line}, or an object holding such a list.
function groupMembers(group) {
  const list = Array.isArray(group) ? group : asArray(group?.records ?? group?.indexes ?? group?.indices ?? group?.members ?? group?.examples);
  return list.map((m) => (typeof m === "number" ? { index: m } : m)).filter((m) => typeof m?.index === "number");
}

async function compareGroup(members, target, button) {
  button.disabled = true;
  try {
    const found = await Promise.all(members.slice(0, 3).map((m) => findRecord(m.index)));
    clear(target).append(...found.filter(Boolean).map((f) => renderExample(f.example)));
    if (!found.some(Boolean)) target.append(el("p", { class: "hint", text: "These records are not among the usable examples." }));
  } finally {
    button.disabled = false;
  }
}

function renderGroup(group, number) {
  const members = groupMembers(group);
  const side = el("div", { class: "side-by-side" });
  const button = el("button", { type: "button", text: "Compare side by side" });
  button.addEventListener("click", () => compareGroup(members, side, button));
  return el(
    "li",
    { class: "dup-group" },
    el("p", {}, `Group ${number}: `, members.map((m) => recordButton(m)), members.length >= 2 ? button : null),
    side,
  );
}

const DUPLICATE_KINDS = [
  { key: "exact", title: "Exact duplicates", note: "Records whose conversation repeats another one exactly (extra keys ignored)." },
  { key: "near", title: "Near-duplicates", note: "" },
  { key: "prompt", title: "Same prompt, different answers", note: "Records that share their user turns." },
];

function renderDuplicates(report) {
  const box = clear($("duplicates"));
  const duplicates = report.duplicates ?? {};
  let shown = 0;
  for (const kind of DUPLICATE_KINDS) {
    const section = duplicates[kind.key];
    if (!section) continue;
    const groups = asArray(Array.isArray(section) ? section : section.groups);
    const count = section.count ?? section.duplicate_records ?? groups.reduce((n, g) => n + Math.max(0, groupMembers(g).length - 1), 0);
    const groupCount = section.groups_count ?? section.group_count ?? groups.length;
    let note = kind.note;
    if (kind.key === "near" && section.threshold !== undefined) {
      note = `Similarity ≥ ${formatNumber(Number(section.threshold), 2)} by ${section.method ?? "MinHash"} over ${section.hashed_text ?? "the conversation text"}.`;
    }
    const list = groups.slice(0, 20).map((g, i) => renderGroup(g, i + 1));
    box.append(
      el(
        "section",
        { class: "dup-kind", dataset: { kind: kind.key } },
        el("h4", { text: `${kind.title}: ${formatNumber(count)} records in ${formatNumber(groupCount)} groups` }),
        note ? el("p", { class: "hint", text: note }) : null,
        list.length ? el("ol", { class: "dup-groups" }, list) : null,
      ),
    );
    shown += 1;
  }
  if (!shown) box.append(el("p", { text: "No duplicate information in this report." }));
}

function describeFile(report) {
  const file = report.file ?? {};
  const parts = [
    file.format ? `format: ${humanize(file.format)}` : null,
    file.container ? `container: ${file.container}${file.compression ? ` (${file.compression})` : ""}` : null,
    file.encoding ? `encoding: ${file.encoding}` : null,
    file.encoding_note,
  ].filter(Boolean);
  $("file-facts").textContent = parts.join(" · ");
}

function renderUnusable(report) {
  const unusable = asArray(report.unusable);
  const box = clear($("unusable"));
  if (!unusable.length) return;
  box.append(
    el("h4", { text: `Records that could not be used (${formatNumber(report.records_unusable ?? unusable.length)})` }),
    el("ul", { class: "unusable-list" }, unusable.map((u) =>
      el("li", {}, el("strong", { text: `#${u.index}${u.line ? ` (line ${u.line})` : ""}` }), `: ${u.message ?? humanize(u.code)}`))),
  );
}

function languagesCard(report) {
  const shares = pick(report, "languages", "shares");
  if (!shares || typeof shares !== "object") return null;
  const top = Object.entries(shares).sort((a, b) => b[1] - a[1]).slice(0, 4);
  if (!top.length) return null;
  return card("Languages", top.map(([code]) => code).join(", "),
    el("p", { class: "hint", text: top.map(([code, share]) => `${code} ${formatPercent(share)}`).join(" · ") }));
}

export function renderDashboard(analysis) {
  const report = analysis.report && typeof analysis.report === "object" ? analysis.report : analysis;
  describeFile(report);
  renderCards(analysis, report);
  const languages = languagesCard(report);
  if (languages) $("cards").append(languages);
  renderUnusable(report);
  renderCharts(analysis, report);
  renderIssues(report);
  renderDuplicates(report);
  const share = report.system_prompt_share;
  if (share !== undefined) $("cards").append(card("System prompts", formatPercent(share), el("p", { class: "hint", text: `multi-turn: ${formatPercent(report.multi_turn_share)}` })));
  return report;
}
