"""Benchmark: validate a 20-entry PDSm ITI-65 bundle (structure + profiles + rules). Target: < 100 ms warm.

Usage: python benchmarks/fhir_validation.py [--package PATH] [--runs N]
The bundle (1 SubmissionSet + 9 DocumentReference + 9 Binary + 1 Folder) is built with
conformance.fhir.builders; the package defaults to ../shared/official/fhir.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from conformance.fhir import FhirValidator, load_package
from conformance.fhir.builders import iti65_bundle
from conformance.fhir.package import PDSM_PACKAGE

TARGET_MS = 100.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "official" / "fhir" / PDSM_PACKAGE
    parser.add_argument("--package", type=Path, default=default)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    bundle = iti65_bundle(documents=9, document_size=4096, with_folder=True)
    data = json.dumps(bundle).encode()

    start = time.perf_counter()
    validator = FhirValidator([load_package(args.package)])
    first = validator.validate_bytes(data, "bench.json")
    cold = (time.perf_counter() - start) * 1000
    errors = [f for f in first.findings if f.is_error]

    wall, cpu = [], []
    for _ in range(args.runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        validator.validate_bytes(data, "bench.json")
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    print(f"bundle: {len(bundle['entry'])} entries, {len(data) / 1024:.1f} KB JSON; errors on it: {len(errors)}")
    print(f"cold (package load + imports + first validation): {cold:.0f} ms")
    # CPU time is reported beside wall time: on a shared machine the wall time mostly measures the others' load.
    for label, timings in (("wall", sorted(wall)), ("cpu", sorted(cpu))):
        median = statistics.median(timings)
        p95 = timings[min(len(timings) - 1, round(0.95 * len(timings)) - 1)]
        print(f"warm {label} over {args.runs} runs: median {median:.1f} ms, p95 {p95:.1f} ms, min {timings[0]:.1f} ms; "
              f"target {TARGET_MS:.0f} ms → median/target = {median / TARGET_MS:.2f}")


if __name__ == "__main__":
    main()
