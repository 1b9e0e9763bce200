"""The load section of a certification run directory: ``load/load.json`` and ``load/section.html`` (a table and
the inline SVG chart), which the HTML report includes; ``report.html`` is regenerated when the run has one (its
manifest then no longer matches: re-sign the run, as after any change)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from conformance.load.chart import load_chart
from conformance.load.results import LoadResult


def load_section_html(result: LoadResult) -> str:
    rows = "".join(
        f"<tr><td>{escape(s.name)}</td><td>{s.requests}</td><td>{s.failures}</td><td>{s.rps:.1f}</td>"
        f"<td>{s.p50_ms:.0f}</td><td>{s.p95_ms:.0f}</td><td>{s.p99_ms:.0f}</td></tr>"
        for s in [*result.transactions, result.total])
    verdict = "all SLOs met" if not result.slo_violations else \
        "SLOs missed: " + "; ".join(escape(v) for v in result.slo_violations)
    return (f'<section id="load"><h2>Load</h2><p>{result.users} users for {result.duration_s:g} s against '
            f"{escape(result.sut_url)} ({result.workers or 1} locust process(es)): {verdict}.</p>"
            "<table><thead><tr><th>Transaction</th><th>Requests</th><th>Failures</th><th>req/s</th><th>p50 ms</th>"
            f"<th>p95 ms</th><th>p99 ms</th></tr></thead><tbody>{rows}</tbody></table>{load_chart(result)}</section>")


def write_load_section(result: LoadResult, run_dir: Path) -> Path:
    folder = run_dir / "load"
    folder.mkdir(parents=True, exist_ok=True)
    result.write(folder / "load.json")
    path = folder / "section.html"
    path.write_text(load_section_html(result), encoding="utf-8")
    if (run_dir / "report.json").is_file():
        from conformance.reports.rundir import rerender_html

        rerender_html(run_dir)
    return path
