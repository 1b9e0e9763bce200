"""Authentication attacks over HTTP against the strict server: each gets its exact refusal; nothing stored."""

from __future__ import annotations

import copy
import datetime as dt
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from conformance.client import DmpClient, DmpResponse, signed_vihf_factory, tls_context
from conformance.pki import TLS_CLIENT, TestPki
from conformance.server.app import create_app
from conformance.server.settings import ServerSettings
from conformance.server.tls import TlsH11Protocol
from conformance.soap import parse_message
from conformance.store import Store
from conformance.vihf import AuthMode, CodedValue, ReplayCache, VihfPolicy, verify_vihf
from conformance.vihf.model import WSSE_NS
from conformance.xds.builders import td21_request
from tests.reliability.registry_checks import registry_counts
from tests.security.conftest import signed_feed
from tests.server.conftest import PATIENT, STRANGER, RunningServer, free_port, seed_default, start_server
from tests.server.factory import feed_request
from tests.vihf.test_signature import WRAPPINGS, set_attribute

AUTH_FAILED = "DMPAuthenticationFailure"
BREAK_GLASS = CodedValue("bris_de_glace", "1.2.250.1.213.1.1.4.248", "Accès en mode bris de glace")
RESOURCE_ID = "urn:oasis:names:tc:xacml:2.0:resource:resource-id"


def _security(signer: object, **fields: object) -> etree._Element:
    """A wsse:Security header with a VIHF for PATIENT signed by ``signer`` (direct mode by default)."""
    fields.setdefault("mode", AuthMode.DIRECTE)
    factory = signed_vihf_factory(
        signer,
        subject_id=TestPki.PS_ID_NAT,  # type: ignore[arg-type]
        structure_id=TestPki.STRUCTURE_ID,
        **fields,
    )
    return factory(PATIENT.cx())


def _feed(
    server: RunningServer, security: etree._Element, extra_body: etree._Element | None = None
) -> tuple[httpx.Response, str]:
    """POST a TD2.1 carrying ``security``; return the response and the document uniqueId."""
    request, document = feed_request(PATIENT, b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>")
    outgoing = td21_request(request, security=security)
    if extra_body is not None:
        outgoing.envelope[1].append(extra_body)
    body, content_type = outgoing.to_http()
    response = httpx.post(
        f"{server.url}/si-dmp-server/v2/services/repository",
        content=body,
        headers={"content-type": content_type},
        timeout=30,
    )
    return response, document.unique_id or ""


def _refused(
    server: RunningServer,
    security: etree._Element,
    subcode: str = AUTH_FAILED,
    extra_body: etree._Element | None = None,
) -> str:
    before = registry_counts(server.store.engine)
    response, unique_id = _feed(server, security, extra_body)
    assert response.status_code == 400, response.text[:500]
    fault = parse_message(response.content, response.headers["content-type"]).fault
    assert fault is not None and fault.code.endswith("Sender") and fault.subcodes == [subcode], response.text[
        :500
    ]
    assert server.store.document(unique_id) is None
    assert registry_counts(server.store.engine) == before
    return str(fault.reason)


def test_a_well_signed_feed_is_accepted(hardened: RunningServer) -> None:
    """The control case: what the attacks alter is accepted when left alone."""
    response, unique_id = _feed(hardened, _security(hardened.pki.ps_signature))
    assert response.status_code == 200 and hardened.store.document(unique_id) is not None


@pytest.mark.parametrize("name", sorted(WRAPPINGS))
def test_signature_wrapping_is_refused(hardened: RunningServer, name: str) -> None:
    attack, _rules = WRAPPINGS[name]
    original = _security(hardened.pki.ps_signature)[0]
    forged_envelope = attack(original)
    security = forged_envelope[0][0]
    # what the attack put in its Body (the signed original) travels after our request body
    extra = copy.deepcopy(forged_envelope[1][0]) if len(forged_envelope[1]) else None
    _refused(hardened, security, extra_body=extra)


def test_an_injected_second_assertion_is_refused(hardened: RunningServer) -> None:
    security = _security(hardened.pki.ps_signature)
    injected = copy.deepcopy(security[0])
    injected.set("ID", "_injected")
    set_attribute(injected, RESOURCE_ID, "180019238001097^^^&1.2.250.1.213.1.4.10&ISO^NH")
    security.insert(0, injected)
    assert "2 SAML assertions" in _refused(hardened, security)


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        (RESOURCE_ID, "180019238001097^^^&1.2.250.1.213.1.4.10&ISO^NH"),  # another patient
        ("Identifiant_Structure", "10B0000000"),
        ("Authentification_mode", "INDIRECTE"),
    ],
)
def test_an_attribute_altered_after_signing_is_refused(
    hardened: RunningServer, attribute: str, value: str
) -> None:
    security = _security(hardened.pki.ps_signature)
    set_attribute(security[0], attribute, value)
    _refused(hardened, security)


def test_the_name_id_altered_after_signing_is_refused(hardened: RunningServer) -> None:
    security = _security(hardened.pki.ps_signature)
    name_id = security[0].find(".//{urn:oasis:names:tc:SAML:2.0:assertion}NameID")
    assert name_id is not None
    name_id.text = STRANGER
    _refused(hardened, security)


@pytest.mark.parametrize(
    "shift", [dt.timedelta(hours=-3), dt.timedelta(hours=2)], ids=["expired", "not-yet-valid"]
)
def test_an_assertion_outside_its_validity_window_is_refused(
    hardened: RunningServer, shift: dt.timedelta
) -> None:
    issued = dt.datetime.now(dt.UTC) + shift
    security = _security(
        hardened.pki.ps_signature,
        issue_instant=issued,
        not_before=issued,
        not_on_or_after=issued + dt.timedelta(minutes=30),
    )
    _refused(hardened, security)


def test_a_captured_assertion_replayed_after_its_window_is_refused(hardened: RunningServer) -> None:
    """A VIHF that was valid (its signature still checks out) replayed once its NotOnOrAfter has passed."""
    issued = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=40)
    security = _security(
        hardened.pki.ps_signature,
        issue_instant=issued,
        not_before=issued,
        not_on_or_after=issued + dt.timedelta(minutes=30),
    )
    # the same token judged at its issue time is fine: only the clock makes the replay a failure
    accepted_then = verify_vihf(
        security, VihfPolicy(trust=hardened.pki.trust, now=issued + dt.timedelta(minutes=1))
    )
    assert accepted_then.authenticated, [f.message for f in accepted_then.findings]
    _refused(hardened, security)


@pytest.fixture(scope="module")
def one_time(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Iterator[RunningServer]:
    """A server that refuses the reuse of an assertion ID (ServerSettings.replay_cache)."""
    path: Path = tmp_path_factory.mktemp("one-time") / "dmp.db"
    store = Store.open(f"sqlite:///{path}")
    seed_default(store)
    settings = ServerSettings(db_url=f"sqlite:///{path}", trust=pki.trust, replay_cache=ReplayCache())
    server, thread, url = start_server(store, settings)
    yield RunningServer(url, store, pki, settings)
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


def test_reuse_of_an_assertion_id_is_refused_when_the_server_enforces_one_time_use(
    one_time: RunningServer,
) -> None:
    security = _security(one_time.pki.ps_signature)
    first, unique_id = _feed(one_time, copy.deepcopy(security))
    assert first.status_code == 200 and one_time.store.document(unique_id) is not None
    assert "replay" in _refused(one_time, security).lower()
    response, _ = _feed(one_time, _security(one_time.pki.ps_signature))  # a fresh VIHF is fine
    assert response.status_code == 200


def test_an_assertion_signed_by_an_untrusted_ca_is_refused(hardened: RunningServer) -> None:
    rogue = TestPki.generate("rogue")
    _refused(hardened, _security(rogue.ps_signature))


def test_an_assertion_signed_with_an_authentication_only_certificate_is_refused(
    hardened: RunningServer,
) -> None:
    _refused(hardened, _security(hardened.pki.ps_authentication), subcode="DMPInvalidCertificate")


def test_an_unsigned_assertion_is_refused(hardened: RunningServer) -> None:
    _refused(hardened, _security(None))


def test_an_empty_security_header_is_refused(hardened: RunningServer) -> None:
    _refused(hardened, etree.Element(f"{{{WSSE_NS}}}Security"))


def test_a_professional_the_patient_did_not_authorize_is_refused_and_traced(hardened: RunningServer) -> None:
    before = registry_counts(hardened.store.engine)
    request, document = feed_request(PATIENT, person_id=STRANGER)
    with hardened.client(STRANGER) as client:
        response = client.feed(request, PATIENT)
        query = client.find_documents(PATIENT).xds()
    fed = response.xds()
    assert response.status_code == 200 and not fed.success and fed.errors[0].error_code == "DMPAccessDenied"
    assert query.errors[0].error_code == "DMPAccessDenied"
    assert hardened.store.document(document.unique_id or "") is None
    assert registry_counts(hardened.store.engine) == before
    denied = {
        (h.transaction, h.outcome) for h in hardened.store.access_history(PATIENT.cx(), actor_id=STRANGER)
    }
    assert {("TD2.1", "denied"), ("TD3.1", "denied")} <= denied


def test_break_glass_access_is_allowed_logged_and_visible_in_the_history(hardened: RunningServer) -> None:
    body, content_type, unique_id = signed_feed(hardened, masked=True)
    assert (
        httpx.post(
            f"{hardened.url}/si-dmp-server/v2/services/repository",
            content=body,
            headers={"content-type": content_type},
            timeout=30,
        ).status_code
        == 200
    )
    with hardened.client(STRANGER, purpose=BREAK_GLASS) as client:
        retrieved = client.retrieve([unique_id], PATIENT).xds()
    assert retrieved.response.success
    history = httpx.get(
        f"{hardened.url}/history", params={"patient": PATIENT.cx(), "actor": STRANGER}, timeout=10
    ).json()
    assert any(
        h["mode"] == "break_glass"
        and h["transaction"] == "TD3.2"
        and h["target"] == unique_id
        and h["outcome"] == "allowed"
        for h in history
    ), history


# -- mutual TLS ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mtls(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Iterator[tuple[str, dict[str, Path]]]:
    """The server behind mutual TLS with the run-time PKI (client certificates required)."""
    folder = tmp_path_factory.mktemp("mtls")
    paths = pki.write(folder / "pki")
    store = Store.open(f"sqlite:///{folder / 'dmp.db'}")
    seed_default(store)
    port = free_port()
    config = uvicorn.Config(
        create_app(ServerSettings(trust=pki.trust), store),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ssl_certfile=str(paths["tls_server.crt"]),
        ssl_keyfile=str(paths["tls_server.key"]),
        ssl_ca_certs=str(paths["ca.crt"]),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
        http=TlsH11Protocol,  # as `serve` does: the app gets the client certificate
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{port}"
    context = tls_context(paths["ca.crt"], paths["tls_client.crt"], paths["tls_client.key"])
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert httpx.get(f"{url}/health", verify=context, timeout=5).status_code == 200
    yield url, paths
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


def test_mutual_tls_requires_a_client_certificate(mtls: tuple[str, dict[str, Path]]) -> None:
    url, paths = mtls
    with pytest.raises((httpx.TransportError, ssl.SSLError)):
        httpx.get(f"{url}/health", verify=tls_context(paths["ca.crt"]), timeout=5).raise_for_status()
    rogue = TestPki.generate("rogue-tls").write(paths["ca.crt"].parent.parent / "rogue")
    with pytest.raises((httpx.TransportError, ssl.SSLError)):
        httpx.get(
            f"{url}/health",
            verify=tls_context(paths["ca.crt"], rogue["tls_client.crt"], rogue["tls_client.key"]),
            timeout=5,
        ).raise_for_status()


def test_the_vihf_verifier_refuses_a_structure_other_than_the_tls_clients(pki: TestPki) -> None:
    security = _security(pki.structure, mode=AuthMode.INDIRECTE)
    matching = verify_vihf(security, VihfPolicy(trust=pki.trust), tls_client_certificate=pki.tls_client.cert)
    assert matching.authenticated, [f.message for f in matching.findings]
    other = pki.issue(
        x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, "ORG AUTH_CLI 10B0000000"),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "10B0000000"),
            ]
        ),
        TLS_CLIENT,
    )
    mismatch = verify_vihf(security, VihfPolicy(trust=pki.trust), tls_client_certificate=other.cert)
    assert not mismatch.authenticated and mismatch.rule_ids


def test_the_server_refuses_a_structure_other_than_the_tls_clients(
    mtls: tuple[str, dict[str, Path]], pki: TestPki
) -> None:
    url, paths = mtls
    context = tls_context(paths["ca.crt"], paths["tls_client.crt"], paths["tls_client.key"])

    def find_as(structure_id: str) -> DmpResponse:
        factory = signed_vihf_factory(
            pki.structure, mode=AuthMode.INDIRECTE, subject_id="ACCUEIL-01", structure_id=structure_id
        )
        with DmpClient(url, factory, verify=context) as client:
            return client.find_documents(PATIENT)

    refused = find_as("10B0000000")
    assert refused.status_code == 400 and refused.fault.subcodes == [AUTH_FAILED]
    # the TLS client's own structure passes authentication (whatever the access rules then decide)
    own = find_as(TestPki.STRUCTURE_ID)
    assert own.status_code == 200 or own.fault.subcodes != [AUTH_FAILED], own.text[:500]
