"""Benchmark of the reference DMP: ITI-41 feeds per second and ITI-18 FindDocuments latency (p50/p95) as the
registry grows (1k and 10k stored documents by default; 100k with ``--sizes 1000,10000,100000``).

The server runs in a subprocess on loopback (``dmp-conformance serve`` on a SQLite file); the registry is
bulk-loaded through the store API between phases, ~20 documents per patient, so every FindDocuments returns
the same number of entries at every size and any growth of its latency comes from the registry size (the
goal: p95 at the largest size within 2x of the p95 at 1k). Requests are prepared (VIHF signed) before timing.

    python benchmarks/server.py [--sizes 1000,10000] [--feeds 200] [--queries 300] [--threads 4] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from conformance.client import signed_vihf_factory
from conformance.identity import Ins
from conformance.pki import TestPki
from conformance.store import (
    HAS_MEMBER,
    AuthorizationStatus,
    NewAssociation,
    NewDocument,
    NewEntry,
    NewSubmissionSet,
    Store,
    Submission,
)
from conformance.xds import Author, Code, DocumentEntry
from conformance.xds.builders import (
    new_oid,
    new_submission_set,
    submission,
    td21_request,
    td31_request,
    xcn,
    xon,
)
from conformance.xds.queries import find_documents

DOCS_PER_PATIENT = 20
OID = "1.2.250.1.213.1.4.10"
REPOSITORY = "1.2.250.1.213.4.1.1.1.2"
CLASSES = ["11^^1.2.250.1.213.1.1.4.1", "10^^1.2.250.1.213.1.1.4.1", "13^^1.2.250.1.213.1.1.4.1"]


def nir(index: int) -> str:
    """A valid test NIR per index (unique below 799,200): sex, year, month, Paris commune, order, key."""
    body = f"{1 + index % 2}{80 + index % 20:02d}{1 + index % 12:02d}75{101 + index % 800:03d}{1 + index // 800:03d}"
    return f"{body}{97 - int(body) % 97:02d}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def bulk_load(store: Store, start: int, end: int, ps: str) -> None:
    """Documents ``start``..``end`` (patients of DOCS_PER_PATIENT documents each), in batches of 500."""
    batch: list[Submission] = []
    for index in range(start, end):
        patient = index // DOCS_PER_PATIENT
        cx = f"{nir(patient)}^^^&{OID}&ISO^NH"
        if index % DOCS_PER_PATIENT == 0:
            created = store.add_patient(nir(patient), OID, family_name=f"PATIENT{patient}")
            store.set_authorization(created.id, ps, AuthorizationStatus.GRANTED)
        unique_id = f"1.2.250.1.999.7.{index}"
        entry = NewEntry(f"e{index}", unique_id, cx, class_code=CLASSES[index % 3],
                         type_code="11488-4^^2.16.840.1.113883.6.1", creation_time=f"2024{1 + index % 12:02d}01",
                         confidentiality_codes=["N^^2.16.840.1.113883.5.25"], author_persons=[ps],
                         author_institutions=[TestPki.STRUCTURE_ID], metadata={"title": "bulk"})
        batch.append(Submission(NewSubmissionSet("ss", f"1.2.250.1.999.8.{index}", cx), [entry],
                                [NewDocument(unique_id, f"<doc n='{index}'/>".encode())],
                                [NewAssociation("a", HAS_MEMBER, "ss", f"e{index}")], REPOSITORY, ps))
        if len(batch) == 500:
            store.register_submissions(batch)
            batch = []
    if batch:
        store.register_submissions(batch)


def start_server(db: str, ca: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-c", "from conformance.cli import app; app()", "serve", "--port", str(port), "--db", db,
         "--trust", str(ca), "--no-validate-requests", "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the reference DMP did not start")


def feeds(url: str, pki: TestPki, count: int, threads: int, patients: int) -> float:
    """ITI-41 per second: ``count`` one-document submissions over ``threads`` connections."""
    ps = TestPki.PS_ID_NAT
    author = Author(person=xcn(ps, "BENCH", "PS"), institutions=[xon("BENCH", TestPki.STRUCTURE_ID)])
    factory = signed_vihf_factory(pki.ps_signature, subject_id=ps, structure_id=TestPki.STRUCTURE_ID)
    bodies = []
    for index in range(count):
        patient = Ins(nir(index % patients), OID)
        entry = DocumentEntry(id="doc", mime_type="text/xml", unique_id=new_oid("1.2.250.1.999.9"),
                              patient_id=patient.cx(), class_code=Code("11", "1.2.250.1.213.1.1.4.1"),
                              type_code=Code("11488-4", "2.16.840.1.113883.6.1"),
                              format_code=Code("urn:ihe:iti:xds-sd:pdf:2008", "1.3.6.1.4.1.19376.1.2.3"),
                              confidentiality_codes=[Code("N", "2.16.840.1.113883.5.25")], authors=[author],
                              creation_time="20250101")
        sset = new_submission_set(patient_id=patient.cx(), author=author, source_id="1.2.250.1.999.9",
                                  content_type_code=Code("04", "1.2.250.1.213.1.1.4.12"))
        request = submission(sset, [(entry, b"<ClinicalDocument/>" * 50)])
        bodies.append(td21_request(request, security=factory(patient.cx())).to_http())

    def send(chunk: list[tuple[bytes, str]]) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            for body, content_type in chunk:
                response = http.post("/si-dmp-server/v2/services/repository", content=body,
                                     headers={"content-type": content_type})
                if b"ResponseStatusType:Success" not in response.content:
                    raise RuntimeError(f"feed failed: {response.text[-500:]}")

    chunks = [bodies[i::threads] for i in range(threads)]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, chunks))
    return count / (time.perf_counter() - started)


def queries(url: str, pki: TestPki, count: int, patients: int) -> list[float]:
    """Latency (ms) of ``count`` sequential FindDocuments on random patients."""
    factory = signed_vihf_factory(pki.ps_signature, subject_id=TestPki.PS_ID_NAT, structure_id=TestPki.STRUCTURE_ID)
    rng = random.Random(7)
    bodies = []
    for _ in range(count):
        patient = Ins(nir(rng.randrange(patients)), OID)
        bodies.append(td31_request(find_documents(patient.cx()), security=factory(patient.cx())).to_http())
    latencies = []
    with httpx.Client(base_url=url, timeout=60) as http:
        for body, content_type in bodies:
            started = time.perf_counter()
            response = http.post("/si-dmp-server/v2/services/registry", content=body,
                                 headers={"content-type": content_type})
            latencies.append((time.perf_counter() - started) * 1000)
            if b"ResponseStatusType:Success" not in response.content:
                raise RuntimeError(f"query failed: {response.text[-500:]}")
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="stored-document counts, comma-separated, increasing")
    parser.add_argument("--feeds", type=int, default=200, help="ITI-41 submissions per size")
    parser.add_argument("--queries", type=int, default=300, help="ITI-18 FindDocuments per size")
    parser.add_argument("--threads", type=int, default=4, help="concurrent connections for ITI-41")
    parser.add_argument("--json", type=Path, help="write the results as JSON")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    console = Console()
    pki = TestPki.generate("benchmark")
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = pki.write(folder / "pki")
        db = f"sqlite:///{folder / 'dmp.db'}"
        store = Store.open(db)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = start_server(db, paths["ca.crt"], port)
        url = f"http://127.0.0.1:{port}"
        loaded = 0
        try:
            for size in sizes:
                started = time.perf_counter()
                bulk_load(store, loaded, size, TestPki.PS_ID_NAT)
                load_s = time.perf_counter() - started
                loaded = size
                patients = size // DOCS_PER_PATIENT
                latencies = queries(url, pki, args.queries, patients)
                rate = feeds(url, pki, args.feeds, args.threads, patients)
                results.append({"stored_documents": size, "bulk_load_s": round(load_s, 2),
                                "iti41_per_s": round(rate, 1),
                                "iti18_p50_ms": round(statistics.median(latencies), 2),
                                "iti18_p95_ms": round(percentile(latencies, 0.95), 2)})
                console.print(f"{size} documents: done")
        finally:
            server.terminate()
            server.wait(timeout=30)
            store.close()
    table = Table(title="Reference DMP (SQLite, one uvicorn worker, loopback)")
    for column in ("stored documents", "bulk load (s)", "ITI-41/s", "ITI-18 p50 (ms)", "ITI-18 p95 (ms)"):
        table.add_column(column, justify="right")
    for row in results:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)
    ratio = results[-1]["iti18_p95_ms"] / results[0]["iti18_p95_ms"]
    median_ratio = results[-1]["iti18_p50_ms"] / results[0]["iti18_p50_ms"]
    console.print(f"ITI-18 at {sizes[-1]} / at {sizes[0]}: p95 {ratio:.2f}x (goal: within 2x), p50 {median_ratio:.2f}x"
                  f" — on a shared machine compare runs made at the same load (see `uptime`)")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "p95_ratio": round(ratio, 2),
                                         "p50_ratio": round(median_ratio, 2)}, indent=2))
    return 0 if ratio <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
