"""The DMP client: VIHF factories, responses that are not SOAP, and mutual TLS against the reference DMP."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from conformance.client import DmpClient, signed_vihf_factory, tls_context
from conformance.pki import TestPki
from conformance.server.app import create_app
from conformance.server.settings import ServerSettings
from conformance.store import Store
from conformance.vihf import VihfPolicy, find_assertions, verify_vihf
from tests.server.conftest import PATIENT, free_port, seed_default


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate("client-tests")


def test_signed_factory_builds_one_trusted_assertion_for_the_patient(pki: TestPki) -> None:
    security = signed_vihf_factory(pki.ps_signature, subject_id=TestPki.PS_ID_NAT)(PATIENT.cx())
    [assertion] = find_assertions(security)
    result = verify_vihf(assertion, VihfPolicy(trust=pki.trust))
    assert result.authenticated, [f.message for f in result.findings]
    assert result.vihf is not None and result.vihf.resource_id == PATIENT.cx()


def test_unsigned_factory_has_no_signature(pki: TestPki) -> None:
    [assertion] = find_assertions(signed_vihf_factory(None, subject_id=TestPki.PS_ID_NAT)(PATIENT.cx()))
    assert not verify_vihf(assertion, VihfPolicy(trust=pki.trust)).authenticated


def test_a_body_that_is_not_soap_is_reported_not_raised(pki: TestPki) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(502, text="<html>proxy error</html>",
                                                                   headers={"content-type": "text/html"}))
    with DmpClient("http://dmp.invalid", signed_vihf_factory(None), transport=transport) as client:
        response = client.test_existence(PATIENT)
    assert response.status_code == 502 and response.message is None and response.error
    assert response.xds() is None and response.text("status") is None


@pytest.fixture(scope="module")
def mtls_server(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Path]]]:
    folder = tmp_path_factory.mktemp("mtls")
    paths = pki.write(folder / "pki")
    store = Store.open(f"sqlite:///{folder / 'dmp.db'}")
    seed_default(store)
    port = free_port()
    config = uvicorn.Config(create_app(ServerSettings(trust=pki.trust), store), host="127.0.0.1", port=port,
                            log_level="warning", ssl_certfile=str(paths["tls_server.crt"]),
                            ssl_keyfile=str(paths["tls_server.key"]), ssl_ca_certs=str(paths["ca.crt"]),
                            ssl_cert_reqs=ssl.CERT_REQUIRED)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield url, paths
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


def test_mutual_tls_with_the_run_time_pki(pki: TestPki, mtls_server: tuple[str, dict[str, Path]]) -> None:
    url, paths = mtls_server
    factory = signed_vihf_factory(pki.ps_signature, subject_id=TestPki.PS_ID_NAT, structure_id=TestPki.STRUCTURE_ID)
    with DmpClient(url, factory, verify=tls_context(paths["ca.crt"], paths["tls_client.crt"],
                                                     paths["tls_client.key"])) as client:
        response = client.test_existence(PATIENT)
    assert response.status_code == 200 and response.attribute("value", "code") == "VALIDE"
    with DmpClient(url, factory, verify=tls_context(paths["ca.crt"])) as client, \
            pytest.raises((httpx.TransportError, ssl.SSLError)):
        client.test_existence(PATIENT)  # no client certificate: the handshake fails
