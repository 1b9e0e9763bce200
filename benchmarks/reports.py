"""Benchmark of the certification report: writing and verifying a signed run directory as the run grows.

A synthetic run of N tests, each with one 10 KB evidence file and a failing third carrying two findings, is
written with :func:`conformance.reports.write_run_dir` (report.json, HTML, JUnit, manifest, Ed25519 signature)
and checked with :func:`conformance.reports.verify_run`. Times are the minimum of ``--repeat`` runs; linear
behaviour shows as a constant ms per test. The HTML size per test tells whether the self-contained page stays
openable.

    python benchmarks/reports.py [--tests 100 1000 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from conformance.reports import (
    EvidenceRef,
    Outcome,
    Run,
    SutInfo,
    TestResult,
    requirement_verdicts,
    verify_run,
)
from conformance.reports.rundir import write_run_dir
from conformance.requirements import Catalogue, load_catalogue

EVIDENCE = b"<soap:Envelope>" + b"x" * 10_000 + b"</soap:Envelope>"
REQUIREMENTS = ["BENCH-DMP-TD2.1", "BENCH-DMP-TD3.1", "BENCH-WSA", "EX_2.1-1140"]


def make_run(count: int, run_dir: Path, catalogue: Catalogue) -> Run:
    tests = []
    for i in range(count):
        folder = run_dir / "evidence" / f"t{i}"
        folder.mkdir(parents=True)
        (folder / "exchange.xml").write_bytes(EVIDENCE)
        failed = i % 3 == 0
        tests.append(
            TestResult(
                f"suite/test_m.py::test_{i}",
                f"test_{i}",
                Outcome.FAILED if failed else Outcome.PASSED,
                0.01 * (i % 7),
                [REQUIREMENTS[i % len(REQUIREMENTS)]],
                message="expected Success" if failed else None,
                transactions=["TD2.1"],
                profiles=["Alimentation"],
                evidence=[
                    EvidenceRef(
                        "exchange.xml",
                        f"evidence/t{i}/exchange.xml",
                        "application/xml",
                        hashlib.sha256(EVIDENCE).hexdigest(),
                        len(EVIDENCE),
                    )
                ],
                findings=[
                    {
                        "rule": "BENCH-XDS-CODES",
                        "severity": "error",
                        "source": "rule",
                        "message": "bad code",
                        "location": "/x",
                        "line": 3,
                        "hint": "fix it",
                    }
                ]
                * (2 if failed else 0),
            )
        )
    return Run(
        "bench",
        "2026-01-01T00:00:00+00:00",
        "2026-01-01T00:00:01+00:00",
        "0",
        SutInfo(),
        tests,
        requirement_verdicts(tests, catalogue),
    )


def measure(count: int, repeat: int, catalogue: Catalogue) -> dict[str, float]:
    write, verify, html = float("inf"), float("inf"), 0
    for _ in range(repeat):
        run_dir = Path(tempfile.mkdtemp(prefix="bench-report-"))
        try:
            run = make_run(count, run_dir, catalogue)
            started = time.perf_counter()
            write_run_dir(run, run_dir)
            write = min(write, time.perf_counter() - started)
            started = time.perf_counter()
            assert verify_run(run_dir).ok
            verify = min(verify, time.perf_counter() - started)
            html = (run_dir / "report.html").stat().st_size
        finally:
            shutil.rmtree(run_dir)
    return {"write": write, "verify": verify, "html": html}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    catalogue = load_catalogue(with_rules=False)
    table = Table(title="signed run directory")
    for column in (
        "tests",
        "write s",
        "write ms/test",
        "verify s",
        "verify ms/test",
        "HTML KB",
        "HTML B/test",
    ):
        table.add_column(column, justify="right")
    for count in args.tests:
        m = measure(count, args.repeat, catalogue)
        table.add_row(
            str(count),
            f"{m['write']:.2f}",
            f"{m['write'] / count * 1000:.2f}",
            f"{m['verify']:.2f}",
            f"{m['verify'] / count * 1000:.2f}",
            f"{m['html'] / 1024:.0f}",
            f"{m['html'] / count:.0f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
