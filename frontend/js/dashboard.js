// The analysis dashboard: headline cards, charts (token lengths on log bins with the max_seq_length line),
// issues by severity with their records, duplicate groups.
// The report's shape is read defensively: a missing field shows as "–", never breaks the page.
import { $, el, clear, pick, asArray, formatNumber, formatPercent, humanize, rovingGroup } from "./dom.js";
import { drawBars, drawHistogram } from "./charts.js";
import { filterByIssue, filterByLength, showRecord } from "./browse.js";
import { renderDuplicates } from "./duplicates.js";
import { renderBanners } from "./banners.js";

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
      ? el("p", { class: "hint", text: `${report.records_total_is_lower_bound ? "at least " : ""}${formatNumber(report.records_total)} records read${report.records_total_is_lower_bound ? " (the file was read only partly)" : ""}, ${formatNumber(unusable)} could not be used` })
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
      el("p", { class: "hint", id: "fit-note", text: fitNote(report, over) }),
      truncation.examples_losing_all_assistant_tokens !== undefined
        ? el("p", { class: "hint", text: `${formatNumber(truncation.examples_losing_all_assistant_tokens)} would lose every assistant token` })
        : null,
    ));
  }
  clear($("cards")).append(...cards);
}

// As the notebook says it: a fit is certain only when counted with the model's own tokenizer and chat template,
// which only the notebook does; here the count is another tokenizer's, without the template, so it is "about".
function fitNote(report, over) {
  const counted = report.tokenizer?.counted_with ?? report.tokenizer?.name ?? "the analysis's tokenizer";
  const what = Number(over) === 0 ? "About: every example fits" : "About";
  return `${what} (counted with ${counted}, without a model's chat template; the notebook counts exactly with the chosen model's own tokenizer and template).`;
}

function logBins(distribution) {
  return asArray(distribution?.tokens_log_histogram).map((b) => ({
    lo: b.lo, hi: b.hi, count: Number(b.count ?? 0),
    label: `${formatNumber(b.lo)}–${formatNumber(b.hi - 1)}`, short: formatNumber(b.lo),
  }));
}

function linearBins(report) {
  return asArray(pick(report, "distributions", "tokens_per_example", "histogram")).map((b) => ({
    label: `${formatNumber(b.lo)}–${formatNumber(b.hi)}`, short: formatNumber(b.lo), count: Number(b.count ?? 0),
  }));
}

function renderCharts(report, distribution) {
  const bins = logBins(distribution);
  const maxLength = Number(distribution?.max_seq_length ?? report.truncation?.max_seq_length);
  const over = Number(distribution?.examples_over_max_seq_length ?? report.truncation?.examples_over ?? 0);
  const marker = Number.isFinite(maxLength)
    ? { value: maxLength, short: `max_seq_length ${formatNumber(maxLength)}`,
        label: `The line is max_seq_length (${formatNumber(maxLength)} tokens): ${formatNumber(over)} examples are longer and would be cut.` }
    : null;
  if (bins.length) {
    drawHistogram($("token-chart"), "Tokens per example (log scale)", bins,
      { marker, onBar: (bin) => filterByLength(bin.lo, bin.hi - 1) });
  } else {
    drawHistogram($("token-chart"), "Tokens per example", linearBins(report));
  }
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
  const listAll = examples.length
    ? el("button", { type: "button", class: "list-all", onclick: () => filterByIssue(issue.code) }, `List ${count > 1 ? `all ${formatNumber(count)}` : "it"} in the examples`)
    : null;
  const chips = examples.length ? rovingGroup(el("span", { class: "chips" }, examples.map(recordButton)), `Records with: ${issue.title ?? humanize(issue.code)}`) : null;
  return el(
    "li",
    { class: `issue severity-${issue.severity}`, dataset: { code: issue.code ?? "" } },
    el("p", { class: "issue-title" }, el("strong", { text: issue.title ?? humanize(issue.code) }), ` · ${formatNumber(count)}`),
    issue.detail ? el("p", { text: issue.detail }) : null,
    issue.advice ? el("p", { class: "advice", text: `What to do: ${issue.advice}` }) : null,
    examples.length ? el("p", { class: "records" }, "Records: ", chips, more, " ", listAll) : null,
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
  const top = Object.entries(shares).filter(([, share]) => share > 0).sort((a, b) => b[1] - a[1]).slice(0, 4);
  if (!top.length) return null;
  const label = (code) => (code === "und" ? "undetermined" : code);
  return card("Languages", top.map(([code]) => label(code)).join(", "),
    el("p", { class: "hint", text: top.map(([code, share]) => `${label(code)} ${formatShare(share)}`).join(" · ") }));
}

// A share as a percentage that never reads 0% for something that is there.
function formatShare(share) {
  if (share >= 0.01) return formatPercent(share);
  return share >= 0.0005 ? `${(share * 100).toFixed(1)}%` : "under 0.1%";
}

export async function renderDashboard(sessionId, analysis, distribution, onError) {
  const report = analysis.report && typeof analysis.report === "object" ? analysis.report : analysis;
  describeFile(report);
  renderBanners(report);
  renderCards(analysis, report);
  const languages = languagesCard(report);
  if (languages) $("cards").append(languages);
  renderUnusable(report);
  renderCharts(report, distribution);
  renderIssues(report);
  await renderDuplicates(sessionId, report, $("duplicates"), onError);
  const share = report.system_prompt_share;
  if (share !== undefined) $("cards").append(card("System prompts", formatPercent(share), el("p", { class: "hint", text: `multi-turn: ${formatPercent(report.multi_turn_share)}` })));
  return report;
}
