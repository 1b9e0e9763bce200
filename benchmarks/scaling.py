"""Scaling of the reference DMP on SQLite and PostgreSQL, and of the validator with 1 and 2 processes.

* ITI-41 throughput and ITI-18 FindDocuments latency (p50/p95) at 1k, 10k and 100k stored documents, the
  background documents bulk-loaded through the store API (the phases of ``benchmarks/server.py``, reused here).
* PostgreSQL when ``DMP_CONFORMANCE_PG_URL`` is set, in a scratch schema ``bench_scaling`` dropped first.
* Validator throughput: ITI-41 messages (SOAP, MTOM, VIHF, XDS metadata rules) validated per second by 1 and 2
  worker processes.

    python benchmarks/scaling.py [--sizes 1000,10000,100000] [--feeds 100] [--queries 200] [--json OUT]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from conformance.pki import TestPki
from conformance.store import Store

SCHEMA = "bench_scaling"


def _server_bench() -> Any:
    """benchmarks/server.py as a module (bulk load, feeds, queries, server start)."""
    spec = importlib.util.spec_from_file_location("bench_server", Path(__file__).with_name("server.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pg_scratch_url(base: str) -> str:
    """A URL whose search_path is a fresh scratch schema (the shared database keeps its own tables)."""
    from sqlalchemy import create_engine, text

    _drop_scratch(base)
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    engine.dispose()
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{SCHEMA}"


def _drop_scratch(base: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    engine.dispose()


def registry_scaling(backend: str, db: str, sizes: list[int], feeds: int, queries: int) -> list[dict[str, Any]]:
    bench = _server_bench()
    pki = TestPki.generate("scaling")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = pki.write(Path(tmp) / "pki")
        store = Store.open(db)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = bench.start_server(db, paths["ca.crt"], port)
        url, loaded = f"http://127.0.0.1:{port}", 0
        try:
            for size in sizes:
                started = time.perf_counter()
                bench.bulk_load(store, loaded, size, TestPki.PS_ID_NAT)
                load_s, loaded = time.perf_counter() - started, size
                patients = size // bench.DOCS_PER_PATIENT
                latencies = bench.queries(url, pki, queries, patients)
                rate = bench.feeds(url, pki, feeds, 2, patients)
                rows.append({"backend": backend, "stored_documents": size, "bulk_load_s": round(load_s, 1),
                             "iti41_per_s": round(rate, 1), "iti18_p50_ms": round(statistics.median(latencies), 1),
                             "iti18_p95_ms": round(bench.percentile(latencies, 0.95), 1)})
                print(json.dumps(rows[-1]), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
            store.close()
    return rows


def _messages(count: int) -> list[tuple[bytes, str]]:
    from conformance.client import signed_vihf_factory
    from conformance.generate.xds import DocumentSpec, SubmissionSpec, build_submission
    from conformance.identity import Ins
    from conformance.xds.builders import td21_request, xades_signer

    pki = TestPki.generate("scaling")
    factory = signed_vihf_factory(pki.ps_signature, subject_id=pki.PS_ID_NAT, structure_id=pki.STRUCTURE_ID)
    patient = Ins("180017510100173", "1.2.250.1.213.1.4.10")
    seal = xades_signer(pki.structure.key, pki.structure.cert)
    return [td21_request(build_submission(SubmissionSpec(patient, DocumentSpec(f"<doc n='{n}'/>".encode() * 40),
                                                         pki.PS_ID_NAT, pki.STRUCTURE_ID), seal),
                         security=factory(patient.cx())).to_http() for n in range(count)]


def _validate(batch: list[tuple[bytes, str]]) -> int:
    from conformance.validation import ValidationContext, validate_bytes

    for body, content_type in batch:
        validate_bytes(body, "iti41.http", ValidationContext(options={"content_type": content_type}), kind="soap")
    return len(batch)


def validator_throughput(count: int) -> list[dict[str, Any]]:
    messages = _messages(count)
    _validate(messages[:2])  # warm-up: imports and caches
    rows = []
    for processes in (1, 2):
        started = time.perf_counter()
        with ProcessPoolExecutor(processes) as pool:
            done = sum(pool.map(_validate, [messages[i::processes] for i in range(processes)]))
        rows.append({"processes": processes, "messages": done,
                     "messages_per_s": round(done / (time.perf_counter() - started), 1)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--feeds", type=int, default=100, help="ITI-41 submissions per size (2 connections)")
    parser.add_argument("--queries", type=int, default=200, help="ITI-18 FindDocuments per size (sequential)")
    parser.add_argument("--messages", type=int, default=120, help="ITI-41 messages for the validator throughput")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[str, Any] = {"registry": [], "uptime": os.getloadavg()}
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                results["registry"] += registry_scaling("sqlite", f"sqlite:///{tmp}/dmp.db", sizes, args.feeds,
                                                        args.queries)
        elif os.environ.get("DMP_CONFORMANCE_PG_URL"):
            base = os.environ["DMP_CONFORMANCE_PG_URL"]
            try:
                results["registry"] += registry_scaling("postgresql", _pg_scratch_url(base), sizes, args.feeds,
                                                        args.queries)
            finally:
                _drop_scratch(base)
        else:
            print("PostgreSQL skipped: DMP_CONFORMANCE_PG_URL is not set", file=sys.stderr)
    results["validator"] = validator_throughput(args.messages)
    for backend in {r["backend"] for r in results["registry"]}:
        rows = [r for r in results["registry"] if r["backend"] == backend]
        results[f"{backend}_p95_ratio"] = round(rows[-1]["iti18_p95_ms"] / rows[0]["iti18_p95_ms"], 2)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v for k, v in results.items() if k.endswith("ratio")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
