"""``dmp-conformance serve`` as a real process: seeding, TLS with the run-time PKI, loopback by default."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from conformance.cli import app
from conformance.store import Store
from tests.server.conftest import free_port


def test_serve_rejects_inconsistent_tls_options(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--db", f"sqlite:///{tmp_path / 'x.db'}",
                                      "--tls-cert", str(tmp_path / "c.pem")])
    assert result.exit_code != 0 and "--tls-key" in result.output


@pytest.mark.slow
def test_serve_seeds_and_serves_tls_with_the_test_pki(tmp_path: Path) -> None:
    port, db = free_port(), f"sqlite:///{tmp_path / 'dmp.db'}"
    pki_dir = tmp_path / "pki"
    process = subprocess.Popen(
        [sys.executable, "-c", "from conformance.cli import app; app()", "serve", "--port", str(port), "--db", db,
         "--seed", "3", "--test-pki", str(pki_dir), "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        context: ssl.SSLContext | None = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                context = context or ssl.create_default_context(cafile=str(pki_dir / "ca.crt"))
                if httpx.get(f"https://127.0.0.1:{port}/health", verify=context, timeout=1).status_code == 200:
                    break
            except (httpx.TransportError, OSError, ssl.SSLError):
                time.sleep(0.2)
        else:
            pytest.fail("serve did not start: " + (process.stdout.read1().decode() if process.stdout else ""))
        assert process.poll() is None
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0].decode()
    assert "seeded 3 DMP(s)" in output and "https://127.0.0.1" in output
    store = Store.open(db)
    assert len(store.find_patients()) == 3
    store.close()
