"""Benchmark of the VIHF and XAdES signatures: sign, verify (with every rule), and the test PKI generation.

Each figure is the minimum over ``--repeat`` rounds of the mean of ``--number`` operations, in ms per operation.
The server verifies one VIHF per request, so ``verify_vihf`` bounds the authentication cost of a call.

    python benchmarks/vihf_signature.py [--number 50] [--repeat 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree
from rich.console import Console
from rich.table import Table

from conformance.pki import TestPki
from conformance.vihf import VihfPolicy, build_vihf, new_vihf, parse_vihf, sign_vihf, verify_vihf
from conformance.xades import build_signature_document, check_signature_document


def per_operation(action: Callable[[], object], number: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            action()
        best = min(best, (time.perf_counter() - start) / number)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    start = time.perf_counter()
    pki = TestPki.create("bench")
    pki_ms = (time.perf_counter() - start) * 1000
    vihf = new_vihf(signer=pki.structure)
    token = sign_vihf(vihf, pki.structure)
    token_bytes = etree.tostring(token)
    legacy = etree.tostring(sign_vihf(vihf, pki.structure, algorithm="rsa-sha1"))
    policy = VihfPolicy(trust=pki.trust)
    documents = [(f"1.2.250.1.999.1.1.4.{i}", b"<ClinicalDocument/>" * 5000) for i in range(3)]
    xades = build_signature_document(documents, "1.2.250.1.999.1.1.3.1", pki.structure.key, pki.structure.cert)
    assert verify_vihf(token_bytes, policy).authenticated
    assert check_signature_document(xades, documents, pki.trust, submission_set_unique_id="1.2.250.1.999.1.1.3.1") == []

    n, r = args.number, args.repeat
    results = {
        "TestPki.create (CA + 5 RSA-2048 certificates), once": pki_ms,
        "build_vihf + serialise": per_operation(lambda: etree.tostring(build_vihf(vihf)), n, r),
        "parse_vihf (bytes)": per_operation(lambda: parse_vihf(token_bytes), n, r),
        "sign_vihf RSA-SHA256 (loaded key)": per_operation(lambda: sign_vihf(vihf, pki.structure), n, r),
        "verify_vihf RSA-SHA256 + all vihf rules": per_operation(lambda: verify_vihf(token_bytes, policy), n, r),
        "verify_vihf legacy RSA-SHA1 + all vihf rules": per_operation(lambda: verify_vihf(legacy, policy), n, r),
        "build_signature_document (3 x 95 KB)": per_operation(lambda: build_signature_document(
            documents, "1.2.250.1.999.1.1.3.1", pki.structure.key, pki.structure.cert), n, r),
        "check_signature_document (3 x 95 KB)": per_operation(lambda: check_signature_document(
            xades, documents, pki.trust, submission_set_unique_id="1.2.250.1.999.1.1.3.1"), n, r),
    }
    table = Table(title=f"VIHF / XAdES (min of {r} x {n} operations)")
    table.add_column("operation")
    table.add_column("ms / op", justify="right")
    for name, ms in results.items():
        table.add_row(name, f"{ms:.2f}")
    Console().print(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
