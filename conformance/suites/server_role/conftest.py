"""Fixtures of the server-role suite: the bench plays an LPS (signed VIHF, XDS builders) against the DMP under
test.

On the embedded reference DMP the suite trusts its own run-time test PKI and seeds its patient through the
admin API; an external DMP must be given those by its operator (tests needing them skip with the reason).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.plugin import Evidence, SutSettings


def _require(module: str, what: str) -> None:
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        pytest.skip(f"{what} not available ({module} is not installed yet)")


@pytest.fixture(scope="session")
def suite_pki() -> Any:
    """A test PKI generated at run time (never a key in the repository): CA, professional signature key…"""
    _require("conformance.pki", "test PKI")
    from conformance.pki import TestPki

    return TestPki.generate("server-role-suite")


@pytest.fixture(scope="session")
def embedded_dmp_args(
    suite_pki: Any, tmp_path_factory: pytest.TempPathFactory, sut_settings: SutSettings
) -> list[str]:
    """The embedded reference DMP trusts the suite's CA for VIHF signatures and opens its admin API;
    ``--dmp-options`` adds serve options (e.g. ``--fault NAME`` for the mutation score)."""
    ca = tmp_path_factory.mktemp("suite-trust") / "ca.pem"
    ca.write_bytes(suite_pki.ca.cert_pem)
    return ["--trust", str(ca), "--admin", "--log-level", "warning", *sut_settings.dmp_options]


@dataclass(frozen=True, slots=True)
class LpsIdentity:
    """Who the bench is when it plays the LPS: the VIHF signer, the professional it names, its structure."""

    signer: Any  # conformance.pki.CertifiedKey
    subject_id: str
    structure_id: str

    def xades_signer(self) -> Any:
        """The hook signing a submission's XAdES document with the same key."""
        from conformance.xds.builders import xades_signer

        return xades_signer(self.signer.key, self.signer.cert)


@pytest.fixture(scope="session")
def lps_identity(sut_settings: SutSettings, suite_pki: Any) -> LpsIdentity:
    """``--vihf-cert/--vihf-key/--vihf-subject`` for an external DMP, else the suite's run-time test
    professional."""
    if sut_settings.vihf_cert or sut_settings.vihf_key:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        from conformance.pki import CertifiedKey

        if not (sut_settings.vihf_cert and sut_settings.vihf_key and sut_settings.vihf_subject):
            raise pytest.UsageError("--vihf-cert, --vihf-key and --vihf-subject go together")
        try:
            key = serialization.load_pem_private_key(Path(sut_settings.vihf_key).read_bytes(), None)
            cert = x509.load_pem_x509_certificate(Path(sut_settings.vihf_cert).read_bytes())
        except (OSError, ValueError, TypeError) as exc:
            raise pytest.UsageError(f"cannot load the VIHF signer: {exc}") from exc
        return LpsIdentity(CertifiedKey(key, cert), sut_settings.vihf_subject, suite_pki.STRUCTURE_ID)
    return LpsIdentity(suite_pki.ps_signature, suite_pki.PS_ID_NAT, suite_pki.STRUCTURE_ID)


@pytest.fixture(scope="session")
def dmp_patient(
    sut_url: str,
    sut_embedded: bool,
    sut_settings: SutSettings,
    synthetic_identities: Any,
    lps_identity: LpsIdentity,
) -> Any:
    """The INS of a patient whose DMP exists and authorizes the bench's professional: ``--sut-patient`` on an
    external DMP, a synthetic patient seeded through the admin API on the embedded one."""
    from conformance.identity import Ins
    from conformance.identity.hl7v2 import Cx, Hl7V2Error

    if sut_settings.sut_patient:
        try:
            cx = Cx.parse(sut_settings.sut_patient)
            return Ins(cx.id, cx.assigning_authority.universal_id)
        except (Hl7V2Error, ValueError) as exc:
            raise pytest.UsageError(f"--sut-patient {sut_settings.sut_patient!r}: {exc}") from exc
    if not sut_embedded:
        pytest.skip("an external DMP needs --sut-patient (a patient whose DMP authorizes --vihf-subject)")
    patient = synthetic_identities.patient()
    with httpx.Client(base_url=sut_url, timeout=10.0) as admin:
        admin.post(
            "/admin/professionals",
            json={
                "id_nat": lps_identity.subject_id,
                "family_name": "LIBRE",
                "given_name": "MAX",
                "role_code": "10",
                "specialty_code": "G15_10/SM26",
                "specialty_label": "Médecin - Qualifié en Médecine Générale (SM)",
            },
        ).raise_for_status()
        admin.post(
            "/admin/patients",
            json={
                "ins": patient.ins.value,
                "ins_oid": patient.ins.oid,
                "family_name": patient.birth_family_name,
                "given_name": patient.first_given_name,
                "birth_date": patient.birth_date.strftime("%Y%m%d"),
                "gender": patient.sex,
                "authorizations": [{"professional": lps_identity.subject_id, "attending": True}],
            },
        ).raise_for_status()
    return patient.ins


def _http_text(start_line: str, headers: httpx.Headers, body: bytes) -> str:
    lines = [
        start_line,
        *(f"{k}: {v}" for k, v in headers.items()),
        "",
        body.decode("utf-8", errors="replace"),
    ]
    return "\n".join(lines)


@pytest.fixture
def dmp_client(sut_url: str, lps_identity: LpsIdentity, evidence: Evidence) -> Iterator[Any]:
    """A DMP client signing a DIRECTE VIHF as the bench's professional; every exchange becomes evidence."""
    _require("conformance.client", "reference DMP client")
    from conformance.client import DmpClient, signed_vihf_factory
    from conformance.vihf import AuthMode

    factory = signed_vihf_factory(
        lps_identity.signer,
        mode=AuthMode.DIRECTE,
        subject_id=lps_identity.subject_id,
        structure_id=lps_identity.structure_id,
    )
    numbers = count(1)

    def attach(kind: str, first_line: str, headers: httpx.Headers, content: bytes) -> None:
        evidence.attach(f"{next(numbers):02d}-{kind}.http", _http_text(first_line, headers, content), "text/plain")

    def on_request(request: httpx.Request) -> None:
        request.read()
        attach("request", f"{request.method} {request.url}", request.headers, request.content)

    def on_response(response: httpx.Response) -> None:
        response.read()
        attach("response", f"HTTP {response.status_code}", response.headers, response.content)

    with DmpClient(sut_url, factory) as client:
        client.http.event_hooks = {"request": [on_request], "response": [on_response]}
        yield client
