"""Human output with rich: a summary table, then the findings of each invalid artefact."""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from conformance.findings import ArtefactResult, Severity

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def summary_table(results: Sequence[ArtefactResult]) -> Table:
    table = Table(title="Validation summary", show_lines=False)
    table.add_column("artefact", overflow="fold")
    table.add_column("kind")
    table.add_column("verdict")
    table.add_column("errors", justify="right")
    table.add_column("warnings", justify="right")
    for r in results:
        verdict = "[green]valid[/]" if r.valid else "[bold red]invalid[/]"
        table.add_row(escape(r.path), r.kind, verdict, str(r.count(Severity.ERROR)), str(r.count(Severity.WARNING)))
    return table


def print_results(results: Sequence[ArtefactResult], console: Console, *, verbose: bool = False) -> None:
    for r in results:
        shown = [f for f in r.findings if verbose or f.severity is not Severity.INFO]
        if not shown:
            continue
        console.rule(f"{r.path} ({r.kind})")
        for f in shown:
            where = f" at [italic]{escape(f.location)}[/]" if f.location else ""
            line = f" line {f.line}" if f.line else ""
            console.print(f"[{_STYLE[f.severity]}]{f.severity}[/] [bold]{escape(f.rule)}[/] ({f.source}){line}{where}",
                          highlight=False, markup=True)
            console.print(f"  {f.message}", markup=False, highlight=False)
            if f.hint:
                console.print(f"  → {f.hint}", markup=False, highlight=False)
    console.print(summary_table(results))


def render(results: Sequence[ArtefactResult]) -> str:
    buffer = io.StringIO()
    print_results(results, Console(file=buffer, width=140, color_system=None), verbose=True)
    return buffer.getvalue()
