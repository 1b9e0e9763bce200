"""The ASGI TLS extension under uvicorn (:mod:`conformance.server.tls`): what the app sees of a mutual-TLS
client, and the FHIR API's certificate login through ``dmp-conformance serve``."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography import x509

from conformance.client import tls_context
from conformance.pki import TLS_CLIENT, TestPki
from conformance.server.tls import TlsH11Protocol, client_certificate
from conformance.store import Store
from tests.server.conftest import free_port


async def _echo_tls(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI app answering with what it was given of TLS."""
    if scope["type"] != "http":
        return
    tls = (scope.get("extensions") or {}).get("tls")
    certificate = client_certificate(scope)
    body = httpx.Response(200, json={"tls": tls, "subject": certificate.subject.rfc4514_string()
                                     if certificate else None}).content
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def _pki_with_professional_tls_client(folder: Path) -> dict[str, Path]:
    """The run-time PKI written to ``folder``, plus ``professional.crt``/``.key``: the test professional's TLS
    client certificate (``ps_authentication`` has no digitalSignature usage, so OpenSSL refuses it as a TLS client)."""
    pki = TestPki.generate("tls-extension")
    paths = pki.write(folder)
    professional = pki.issue(pki.ps_authentication.cert.subject, TLS_CLIENT)
    for suffix, pem in (("crt", professional.cert_pem), ("key", professional.key_pem)):
        paths[f"professional.{suffix}"] = folder / f"professional.{suffix}"
        paths[f"professional.{suffix}"].write_bytes(pem)
    return paths


@pytest.fixture(scope="module")
def echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Path]]]:
    """The echo app behind mutual TLS with the run-time PKI, on the TLS-aware protocol."""
    paths = _pki_with_professional_tls_client(tmp_path_factory.mktemp("pki"))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(
        _echo_tls, host="127.0.0.1", port=port, log_level="warning", http=TlsH11Protocol, lifespan="off",
        ssl_certfile=str(paths["tls_server.crt"]), ssl_keyfile=str(paths["tls_server.key"]),
        ssl_ca_certs=str(paths["ca.crt"]), ssl_cert_reqs=ssl.CERT_REQUIRED))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"https://127.0.0.1:{port}", paths
    server.should_exit = True
    thread.join(timeout=10)


def test_the_app_gets_the_client_certificate_in_the_asgi_tls_extension(
        echo: tuple[str, dict[str, Path]]) -> None:
    url, paths = echo
    context = tls_context(paths["ca.crt"], paths["professional.crt"], paths["professional.key"])
    seen = httpx.get(url, verify=context, timeout=10).json()
    tls, expected = seen["tls"], x509.load_pem_x509_certificate(paths["professional.crt"].read_bytes())
    assert x509.load_pem_x509_certificate(tls["client_cert_chain"][0].encode()) == expected
    assert seen["subject"] == tls["client_cert_name"] == expected.subject.rfc4514_string()
    assert tls["tls_version"] in (0x0303, 0x0304) and isinstance(tls["cipher_suite"], int)
    assert tls["server_cert"] is None and tls["client_cert_error"] is None


def test_no_client_certificate_without_a_readable_one() -> None:
    assert client_certificate({"type": "http"}) is None
    assert client_certificate({"type": "http", "extensions": {"tls": {"client_cert_chain": ["not PEM"]}}}) is None


@pytest.mark.slow
def test_serve_with_mutual_tls_logs_a_professional_into_the_fhir_api_by_certificate(tmp_path: Path) -> None:
    port, db = free_port(), f"sqlite:///{tmp_path / 'dmp.db'}"
    paths = _pki_with_professional_tls_client(tmp_path / "pki")
    process = subprocess.Popen(
        [sys.executable, "-c", "from conformance.cli import app; app()", "serve", "--port", str(port), "--db", db,
         "--seed", "1", "--seed-professional", TestPki.PS_ID_NAT, "--trust", str(paths["ca.crt"]),
         "--tls-cert", str(paths["tls_server.crt"]), "--tls-key", str(paths["tls_server.key"]),
         "--client-ca", str(paths["ca.crt"]), "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"https://127.0.0.1:{port}"
    try:
        context: ssl.SSLContext | None = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                context = context or tls_context(paths["ca.crt"], paths["professional.crt"],
                                                 paths["professional.key"])
                if httpx.get(f"{url}/health", verify=context, timeout=1).status_code == 200:
                    break
            except (httpx.TransportError, OSError, ssl.SSLError):
                time.sleep(0.2)
        else:
            pytest.fail("serve did not start: " + (process.stdout.read1().decode() if process.stdout else ""))
        store = Store.open(db)
        patient = store.find_patients()[0]
        # no bearer token: the certificate alone names the professional, authorized on the seeded DMP
        found = httpx.get(f"{url}/fhir/DocumentReference", verify=context, timeout=10,
                          params={"patient.identifier": f"urn:oid:{patient.ins_oid}|{patient.ins}"})
        assert found.status_code == 200, found.text[:500]
        assert found.json()["resourceType"] == "Bundle"
        assert store.access_history(actor_id=TestPki.PS_ID_NAT)[-1].outcome != "denied"
        store.close()
    finally:
        process.terminate()
        process.communicate(timeout=20)
