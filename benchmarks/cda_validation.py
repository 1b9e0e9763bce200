"""Benchmark of the CDA validation pipeline against the official ANS pipeline's baseline.

Measures, on the official examples (``ExemplesCDA/``):

* the cold compile time of every schematron the routing table can select (fresh build cache);
* the warm time of the full pipeline per document (prechecks, XSD, 5 profils + volet, our rules),
  minimum of ``--repeat`` runs as in the baseline, and the first (cold-document) run;

and prints them beside ``baseline-timings.json`` of the golden verdicts with the speed-up ratio
(target: the median per document at least 10x faster than the official pipeline).

    python benchmarks/cda_validation.py [--package DIR] [--golden DIR] [--repeat 2] [--limit N] [--json OUT]
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from conformance.artefacts import package_from_folder
from conformance.cda.pipeline import validate_cda, xsd_schema
from conformance.cda.routing import load_routing
from conformance.findings import Source

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (as for the baseline's p90)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summarise(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "p90": percentile(values, 0.9), "max": max(values),
            "sum": sum(values)}


def load_engine(package_root: Path, cache_dir: Path) -> Any | None:
    try:
        return importlib.import_module("conformance.schematron").get_engine(package_root, cache_dir)
    except (ImportError, AttributeError) as exc:
        Console(stderr=True).print(f"[yellow]schematron engine unavailable ({exc}): XSD + rules only[/]")
        return None


def compile_all(engine: Any, schematrons: list[str], console: Console) -> dict[str, float | str]:
    """Compile each schematron once, from a cold cache; seconds per schematron (or the error)."""
    times: dict[str, float | str] = {}
    with console.status("compiling schematrons (cold)") as status:
        for schematron in schematrons:
            status.update(f"compiling {schematron}")
            started = time.perf_counter()
            try:
                engine.prepare([schematron])
            except Exception as exc:  # an upstream defect (e.g. BIO-CR-BIO 2023.01) is reported, not fatal
                times[schematron] = f"{type(exc).__name__}: {exc}"[:120]
                continue
            times[schematron] = time.perf_counter() - started
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, default=SHARED / "official" / "ans-testcontenucda")
    parser.add_argument("--golden", type=Path, default=SHARED / "golden" / "cisis-verdicts")
    parser.add_argument("--repeat", type=int, default=2, help="warm runs per document (minimum kept)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N examples (0: all)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="schematron build cache (default: a fresh temporary folder, i.e. a cold compile)")
    parser.add_argument("--json", type=Path, default=None, help="also write the measurements to this file")
    args = parser.parse_args(argv)
    console = Console()
    if not (args.package / "ExemplesCDA").is_dir():
        console.print(f"[red]no CI-SIS package with ExemplesCDA/ at {args.package}[/]: pass --package")
        return 2
    baseline = json.loads((args.golden / "baseline-timings.json").read_text(encoding="utf-8"))
    package = package_from_folder(args.package)
    examples = sorted((args.package / "ExemplesCDA").glob("*.xml"))[: args.limit or None]

    with tempfile.TemporaryDirectory(prefix="dmp-bench-") as temporary:
        cache_dir = args.cache_dir or Path(temporary)
        started = time.perf_counter()
        xsd_schema(package.root / "infrastructure/cda/CDA_extended.xsd")
        xsd_build_s = time.perf_counter() - started
        engine = load_engine(package.root, cache_dir)
        table = load_routing()
        schematrons = [p.schematron for p in table.profils] + sorted(table.volet_schematrons)
        compile_times = compile_all(engine, schematrons, console) if engine is not None else {}
        stages = {"xsd", "schematron", "rules"} if engine is not None else {"xsd", "rules"}

        per_document: dict[str, dict[str, Any]] = {}
        with console.status("validating") as status:
            for path in examples:
                status.update(f"validating {path.name}")
                data = path.read_bytes()
                runs = []
                for _ in range(max(1, args.repeat)):
                    started = time.perf_counter()
                    result = validate_cda(data, path.name, package, stages=stages, engine=engine)
                    runs.append(time.perf_counter() - started)
                official_errors = [f for f in result.findings
                                   if f.is_error and f.source in (Source.XSD, Source.SCHEMATRON)]
                per_document[f"ExemplesCDA/{path.name}"] = {
                    "min_s": min(runs), "first_s": runs[0], "valid": result.valid,
                    "official_checks_valid": not official_errors,
                    "stages_ms": result.details.get("timings_ms", {}),
                }

    ours = summarise([d["min_s"] for d in per_document.values()])
    official_docs = baseline["per_document"]
    compared = [k for k in per_document if k in official_docs]
    official = summarise([official_docs[k]["full_validation_min_s"] for k in compared])
    xsd_ms = [d["stages_ms"].get("xsd", 0.0) / 1000 for d in per_document.values()]
    compiled = [v for v in compile_times.values() if isinstance(v, float)]

    report = Table(title=f"CDA pipeline vs official ANS pipeline ({len(per_document)} examples, "
                         f"package {package.version} {package.short_hash})")
    for column, justify in (("measure", "left"), ("ours", "right"), ("official", "right"), ("speed-up", "right")):
        report.add_column(column, justify=justify)  # type: ignore[arg-type]

    def row(label: str, mine: float, theirs: float | None) -> None:
        ratio = f"{theirs / mine:.1f}x" if theirs and mine else "—"
        report.add_row(label, f"{mine:.4f} s", f"{theirs:.4f} s" if theirs is not None else "—", ratio)

    for key in ("median", "p90", "max"):
        row(f"full validation per document, {key}", ours[key], official[key])
    row("all examples, total", ours["sum"], official["sum"])
    row("XSD per document, median", statistics.median(xsd_ms), baseline["summary"]["xsd_validate_min_s"]["median"])
    row("XSD schema build", xsd_build_s, baseline["xsd_schema_build_s"])
    if compiled:
        row(f"cold compile, all {len(compiled)} schematrons", sum(compiled), baseline["compile_total_s"])
    console.print(report)
    stage_table = Table(title="Our pipeline per stage (median over the examples, warm)")
    stage_table.add_column("stage")
    stage_table.add_column("median (ms)", justify="right")
    stage_table.add_column("p90 (ms)", justify="right")
    for stage in ("parse", "xsd", "schematron", "rules"):
        values = [d["stages_ms"][stage] for d in per_document.values() if stage in d["stages_ms"]]
        if values:
            stage_table.add_row(stage, f"{statistics.median(values):.1f}", f"{percentile(values, 0.9):.1f}")
    console.print(stage_table)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    console.print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} during the run (the baseline was "
                  f"measured on: {baseline.get('hardware', '?')}); compare ratios, not absolute times")
    if compiled:
        verdicts = {json.loads(line)["document"]: json.loads(line)["summary"]["fully_valid"]
                    for line in (args.golden / "examples.jsonl").read_text(encoding="utf-8").splitlines()}
        differing = [k for k, d in per_document.items() if k in verdicts
                     and d["official_checks_valid"] != verdicts[k]]
        console.print(f"XSD + schematron verdict equal to the official one on "
                      f"{len(per_document) - len(differing)}/{len(per_document)} examples"
                      + (f"; differing: {', '.join(differing[:10])}" if differing else ""), highlight=False)
    if not compiled:
        console.print("[yellow]schematrons not measured: the official per-document times include them, "
                      "so the ratios above are not comparable[/]")
    failures = {k: v for k, v in compile_times.items() if isinstance(v, str)}
    for schematron, error in failures.items():
        console.print(f"[yellow]not compiled[/] {schematron}: {error}", highlight=False)

    slowest = Table(title="Slowest documents (ours, warm)")
    for column in ("document", "ours (s)", "official (s)", "stages (ms)"):
        slowest.add_column(column)
    for name, data in sorted(per_document.items(), key=lambda item: -item[1]["min_s"])[:5]:
        theirs = official_docs.get(name, {}).get("full_validation_min_s")
        slowest.add_row(name.removeprefix("ExemplesCDA/"), f"{data['min_s']:.4f}", f"{theirs:.4f}" if theirs else "—",
                        ", ".join(f"{k} {v:.1f}" for k, v in data["stages_ms"].items()))
    console.print(slowest)

    if args.json:
        args.json.write_text(json.dumps({"ours": ours, "official": official, "xsd_build_s": xsd_build_s,
                                         "compile_s": compile_times, "per_document": per_document},
                                        indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
