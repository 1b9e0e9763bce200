"""Schematron engine speed vs the official pipeline baseline (golden ``baseline-timings.json``).

Measures (1) cold compile of the 5 profils and every volet schematron the golden routes to (fresh cache
folder: assembly + XSLT generation + Saxon compile), (2) warm full schematron validation per official
example (5 profils + volet, minimum of ``--repeat`` runs, same protocol as the baseline) and prints the
median/p90 against the baseline's ``full_validation_min_s`` and the ratio.

    python benchmarks/schematron_compile.py [--official ../shared/official] [--golden ../shared/golden/cisis-verdicts]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from conformance.schematron import SchematronEngine


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", type=Path, default=here.parent / "shared" / "official")
    parser.add_argument("--golden", type=Path, default=here.parent / "shared" / "golden" / "cisis-verdicts")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    package = args.official / "ans-testcontenucda"
    examples = [json.loads(line) for line in (args.golden / "examples.jsonl").read_text("utf-8").splitlines()]
    baseline = json.loads((args.golden / "baseline-timings.json").read_text("utf-8"))
    schematrons = sorted({s["schematron"] for r in examples for s in r["schematrons"]})

    with tempfile.TemporaryDirectory() as cache:
        engine = SchematronEngine(package, Path(cache))
        start = time.perf_counter()
        engine.prepare([s for s in schematrons if "/profils/" in s])
        profils = time.perf_counter() - start
        engine.prepare(schematrons)
        total = time.perf_counter() - start
        print(f"cold compile: 5 profils {profils:.1f} s, + {len(schematrons) - 5} volets = {total:.1f} s "
              f"(official pipeline: {baseline['compile_total_s']} s for every schematron of the package)")

        # Wall-clock and CPU time: on a shared machine the wall clock mostly measures the other processes.
        per_document: list[float] = []
        per_document_cpu: list[float] = []
        for record in examples:
            data = (package / record["document"]).read_bytes()
            names = [s["schematron"] for s in record["schematrons"]]
            for name in names:  # warm-up: first run of this document (parsing, key indexes)
                engine.validate(name, data)
            best = best_cpu = float("inf")
            for _ in range(args.repeat):
                begin, begin_cpu = time.perf_counter(), time.process_time()
                for name in names:
                    engine.validate(name, data)
                best = min(best, time.perf_counter() - begin)
                best_cpu = min(best_cpu, time.process_time() - begin_cpu)
            per_document.append(best)
            per_document_cpu.append(best_cpu)
    official = baseline["summary"]["full_validation_min_s"]
    median, p90 = statistics.median(per_document), _quantile(per_document, 0.9)
    print(f"warm validation per document (5 profils + volet), {len(per_document)} examples: "
          f"median {median * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms, max {max(per_document) * 1000:.1f} ms")
    print(f"  CPU time per document: median {statistics.median(per_document_cpu) * 1000:.1f} ms, "
          f"p90 {_quantile(per_document_cpu, 0.9) * 1000:.1f} ms")
    print(f"official baseline (XSD + 5 profils + volet): median {official['median'] * 1000:.0f} ms, "
          f"p90 {official['p90'] * 1000:.0f} ms -> ratio median x{official['median'] / median:.1f}, "
          f"p90 x{official['p90'] / p90:.1f}")


if __name__ == "__main__":
    main()
