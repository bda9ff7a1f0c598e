"""Readable terminal summaries of a Report."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from backend.core.analysis import Report
from backend.core.analysis.report import Distribution

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _dist_row(name: str, d: Distribution) -> list[str]:
    return [name, f"{d.min:,.0f}", f"{d.median:,.0f}", f"{d.mean:,.1f}", f"{d.p95:,.0f}", f"{d.max:,.0f}"]


def _refs(refs: list[object], limit: int = 8) -> str:
    parts = []
    for ref in refs[:limit]:
        index = getattr(ref, "index", ref)
        line = getattr(ref, "line", None)
        parts.append(f"#{index}" + (f" (line {line})" if line else ""))
    return ", ".join(parts) + (" …" if len(refs) > limit else "")


def print_report_summary(report: Report, filename: str, console: Console | None = None) -> None:
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
    out.print(f"duplicates: {dup.exact.count:,} exact, {dup.near.count:,} near (Jaccard ≥ {dup.near.threshold:.2f}),"
              f" {dup.prompt.count:,} same prompt with another answer")
    if report.issues:
        out.print("[bold]issues[/bold]")
        for issue in report.issues:
            style = SEVERITY_STYLE.get(issue.severity, "")
            out.print(f"  [{style}]{issue.severity:<7}[/{style}] {issue.title}  {_refs(list(issue.examples))}")
            if issue.advice:
                out.print(f"           → {issue.advice}")
    for unusable in report.unusable[:10]:
        where = f"line {unusable.line}" if unusable.line else f"record #{unusable.index}"
        out.print(f"  [red]unusable[/red] {where}: {unusable.message}")
    if report.records_unusable > 10:
        out.print(f"  … and {report.records_unusable - 10:,} more unusable records (see --json)")
