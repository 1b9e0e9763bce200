"""Self-contained HTML certification report (jinja2, autoescaped; inline CSS and SVG, no script, no external
URL).

Everything that comes from the run is escaped: findings and exchanges may contain health data and markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from conformance.reports.model import Outcome, Run, TestResult, Verdict

TEMPLATES = Path(__file__).parent / "templates"
_COLOURS = {
    Outcome.PASSED: "#2e7d32",
    Outcome.FAILED: "#c62828",
    Outcome.ERROR: "#ef6c00",
    Outcome.SKIPPED: "#9e9e9e",
}
_INLINE_EVIDENCE = 64 * 1024  # text evidence up to this size is shown inline under a failure…
_INLINE_BUDGET = 1024 * 1024  # …until this much has been inlined: a big run's page must still open
_TEXT_MIMES = ("text/", "application/xml", "application/json", "application/soap+xml", "application/xop+xml")


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    y: int
    segments: list[tuple[int, int, str, str]]  # x, width, colour, tooltip
    total: str


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def transaction_bars(run: Run, width: int = 420) -> list[Bar]:
    """Stacked bars of outcomes per transaction (a test counts under each transaction it touches)."""
    groups: dict[str, dict[Outcome, int]] = {}
    for test in run.tests:
        for transaction in test.transactions or ["(none)"]:
            counts = groups.setdefault(transaction, dict.fromkeys(Outcome, 0))
            counts[test.outcome] += 1
    biggest = max((sum(c.values()) for c in groups.values()), default=1)
    bars = []
    ordered = sorted(groups.items(), key=lambda g: (not g[0].startswith("TD"), g[0]))  # TD… first, then ITI-…
    for index, (transaction, counts) in enumerate(ordered):
        x, segments = 0, []
        for outcome in (Outcome.PASSED, Outcome.FAILED, Outcome.ERROR, Outcome.SKIPPED):
            if counts[outcome]:
                w = max(2, round(counts[outcome] / biggest * width))
                segments.append((x, w, _COLOURS[outcome], f"{counts[outcome]} {outcome.value}"))
                x += w
        bars.append(Bar(transaction, index * 22, segments, str(sum(counts.values()))))
    return bars


def timing_bars(run: Run, width: int = 420, limit: int = 15) -> list[Bar]:
    """The slowest tests, longest first."""
    slowest = sorted(run.tests, key=lambda t: t.duration, reverse=True)[:limit]
    longest = max((t.duration for t in slowest), default=0.0) or 1.0
    return [
        Bar(
            t.name,
            i * 22,
            [(0, max(2, round(t.duration / longest * width)), _COLOURS[t.outcome], f"{t.duration:.3f} s")],
            f"{t.duration:.2f} s",
        )
        for i, t in enumerate(slowest)
    ]


def _inline_evidence(failures: list[TestResult], run_dir: Path | None) -> list[list[tuple[str, str]]]:
    """Per failure, (name, text) of its small textual evidence files: the raw exchange shown under it."""
    budget = _INLINE_BUDGET
    result: list[list[tuple[str, str]]] = []
    for test in failures:
        shown = []
        for ref in test.evidence if run_dir is not None else []:
            path = run_dir / ref.path
            if (
                ref.size <= min(_INLINE_EVIDENCE, budget)
                and ref.mime.startswith(_TEXT_MIMES)
                and path.is_file()
            ):
                shown.append((ref.name, path.read_bytes().decode("utf-8", errors="replace")))
                budget -= ref.size
        result.append(shown)
    return result


def render_html(run: Run, run_dir: Path | None = None) -> str:
    order = {Outcome.FAILED: 0, Outcome.ERROR: 1, Outcome.PASSED: 2, Outcome.SKIPPED: 3}
    failures = [t for t in run.tests if t.failed]
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            run=run,
            counts=run.counts(),
            profiles=run.profile_verdicts(),
            failures=list(zip(failures, _inline_evidence(failures, run_dir), strict=True)),
            tests=sorted(run.tests, key=lambda t: (order[t.outcome], t.nodeid)),
            requirements=sorted(
                run.requirements,
                key=lambda r: (
                    [Verdict.FAIL, Verdict.PASS, Verdict.MANUAL, Verdict.NOT_TESTED].index(r.verdict),
                    r.id,
                ),
            ),
            transaction_bars=transaction_bars(run),
            timing_bars=timing_bars(run),
            colours={o.value: c for o, c in _COLOURS.items()},
            load_section=_load_section(run_dir),
        )
    )


def _load_section(run_dir: Path | None) -> str | None:
    """``load/section.html`` written by ``dmp-conformance load --run-dir`` (escaped there), shown as is."""
    path = run_dir / "load" / "section.html" if run_dir is not None else None
    return path.read_text(encoding="utf-8") if path is not None and path.is_file() else None
