"""Readable terminal summaries of a Report."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from backend.core.analysis import Report, read_duplicate_groups, read_issue_records
from backend.core.analysis.lists import MAX_PAGE_SIZE
from backend.core.analysis.report import Distribution, RecordRef

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _dist_row(name: str, d: Distribution) -> list[str]:
    return [name, f"{d.min:,.0f}", f"{d.median:,.0f}", f"{d.mean:,.1f}", f"{d.p95:,.0f}", f"{d.max:,.0f}"]


def _refs(refs: list[RecordRef], total: int) -> str:
    parts = [f"#{ref.index}" + (f" (line {ref.line})" if ref.line else "") for ref in refs]
    more = total - len(refs)
    return ", ".join(parts) + (f" … and {more:,} more" if more > 0 and parts else "")


def _issue_refs(report: Report, code: str, store: Path | None, limit: int) -> list[RecordRef]:
    """The first `limit` records of an issue: from the store's complete list when there is one."""
    issue = report.issue(code)
    if issue is None or limit == 0 or not issue.examples:
        return []
    if store is None:
        return list(issue.examples[:limit])
    refs: list[RecordRef] = []
    page = 1
    while len(refs) < min(limit, issue.count):
        refs.extend(read_issue_records(store, code, page, MAX_PAGE_SIZE).records)
        page += 1
    return refs[:limit]


def _print_groups(out: Console, report: Report, store: Path | None, limit: int) -> None:
    """Up to `limit` groups of each duplicate kind, each with up to `limit` members (from the store)."""
    if store is None or limit == 0:
        return
    for kind in ("exact", "near", "prompt"):
        page_size = min(max(limit, 1), MAX_PAGE_SIZE)
        page = read_duplicate_groups(store, kind, 1, page_size)
        for group in page.groups[:limit]:
            similarity = f", similarity ≥ {group.similarity:.2f}" if group.similarity is not None else ""
            out.print(f"  {kind} group {group.group} ({group.size} records{similarity}): "
                      f"{_refs(group.members[:limit], group.size)}")
        if page.total_groups > limit:
            out.print(f"  … and {page.total_groups - limit:,} more {kind} groups (--max-listed to see more)")


def print_report_summary(report: Report, filename: str, console: Console | None = None, *,
                         store: Path | None = None, max_listed: int = 8) -> None:
    """The summary; with the analysis `store`, record lists come from its complete lists (`max_listed` each)."""
    out = console or Console()
    tok = report.tokenizer
    exactness = "exact" if tok.exact else f"ESTIMATED ({tok.note})"
    out.print(f"[bold]{filename}[/bold]  {report.file.container}, {report.file.encoding}, "
              f"format {report.file.format}")
    out.print(f"examples: [bold]{report.total_examples:,}[/bold] usable of {report.records_total:,} records"
              f"   tokens: [bold]{report.total_tokens:,}[/bold] ({tok.counted_with}, {exactness})"
              f"   avg/example: {report.avg_tokens_per_example:,.1f}")
    out.print(f"quality score: [bold]{report.quality_score}/100[/bold]"
              f"   format valid: {'yes' if report.format_valid else 'no'}")
    for d in report.quality.deductions:
        out.print(f"  -{d.points:>2}  {d.reason}")

    table = Table(title="Per example", show_edge=False)
    for col in ("", "min", "median", "mean", "p95", "max"):
        table.add_column(col, justify="right" if col else "left")
    dists = report.distributions
    table.add_row(*_dist_row("tokens", dists.tokens_per_example))
    table.add_row(*_dist_row("assistant tokens", dists.assistant_tokens_per_example))
    table.add_row(*_dist_row("messages", dists.messages_per_example))
    out.print(table)
    roles = ", ".join(f"{role} {n:,}" for role, n in sorted(report.roles.items()))
    out.print(f"roles: {roles}   system prompt: {report.system_prompt_share:.0%}"
              f"   multi-turn: {report.multi_turn_share:.0%}")
    trunc = report.truncation
    out.print(f"over max_seq_length {trunc.max_seq_length:,}: {trunc.examples_over:,} examples "
              f"({trunc.tokens_cut:,} tokens cut, {trunc.examples_losing_all_assistant_tokens:,} lose every "
              "trained token)")
    dup = report.duplicates
    out.print(f"duplicates: {dup.exact.count:,} exact, {dup.near.count:,} near (each has a group-mate with true "
              f"Jaccard ≥ {dup.near.threshold:.2f}), {dup.prompt.count:,} same prompt with another answer")
    _print_groups(out, report, store, max_listed)
    if report.read_stopped is not None:
        out.print(f"[bold red]read only partly[/bold red]: {report.read_stopped.message} "
                  f"({report.records_total:,} records is a lower bound)")
    if report.preference is not None:
        pref = report.preference
        out.print(f"preference data: {pref.examples:,} examples, {pref.kind} ({pref.source_format})"
                  + (f", labels {pref.labels}" if pref.labels else ""))
    if report.issues:
        out.print("[bold]issues[/bold]")
        for issue in report.issues:
            style = SEVERITY_STYLE.get(issue.severity, "")
            refs = _refs(_issue_refs(report, issue.code, store, max_listed), issue.count)
            out.print(f"  [{style}]{issue.severity:<7}[/{style}] {issue.title}  {refs}")
            if issue.advice:
                out.print(f"           → {issue.advice}")
    shown = report.unusable[: min(max_listed, 10)]
    for unusable in shown:
        where = f"line {unusable.line}" if unusable.line else f"record #{unusable.index}"
        out.print(f"  [red]unusable[/red] {where}: {unusable.message}")
    if report.records_unusable > len(shown):
        out.print(f"  … and {report.records_unusable - len(shown):,} more unusable records (see --json)")
