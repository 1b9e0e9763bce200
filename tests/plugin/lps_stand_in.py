"""A stand-in LPS for the client-role suite test (run as a subprocess, like a vendor's scenario script).

Usage: python lps_stand_in.py PKI_DIR. Seeds its patient through the reference DMP's admin API, then sends
TD0.2, TD2.1, TD3.1 and TD3.2 to $DMP_CONFORMANCE_DMP_URL with VIHFs signed by PKI_DIR/ps_signature.{crt,key}
and submissions sealed by PKI_DIR/structure.{crt,key}.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conformance.client import DmpClient, signed_vihf_factory
from conformance.identity import Ins
from conformance.pki import CertifiedKey, TestPki
from conformance.suites.server_role.documents import feed_request
from conformance.vihf import AuthMode
from conformance.xds.builders import xades_signer


def load(pki_dir: Path, name: str) -> CertifiedKey:
    return CertifiedKey(
        serialization.load_pem_private_key((pki_dir / f"{name}.key").read_bytes(), None),
        x509.load_pem_x509_certificate((pki_dir / f"{name}.crt").read_bytes()),
    )


def main(pki_dir: Path, url: str) -> None:
    signer, seal = load(pki_dir, "ps_signature"), load(pki_dir, "structure")
    patient = Ins("248039263001064", "1.2.250.1.213.1.4.10")
    professional = TestPki.PS_ID_NAT
    httpx.post(
        f"{url}/admin/professionals",
        json={
            "id_nat": professional,
            "family_name": "LIBRE",
            "given_name": "MAX",
            "role_code": "10",
            "specialty_code": "G15_10/SM26",
        },
    ).raise_for_status()
    httpx.post(
        f"{url}/admin/patients",
        json={
            "ins": patient.value,
            "ins_oid": patient.oid,
            "family_name": "DUPONT",
            "given_name": "JEAN",
            "birth_date": "19480326",
            "gender": "M",
            "authorizations": [{"professional": professional, "attending": True}],
        },
    ).raise_for_status()
    factory = signed_vihf_factory(
        signer, mode=AuthMode.DIRECTE, subject_id=professional, structure_id=TestPki.STRUCTURE_ID
    )
    with DmpClient(url, factory) as dmp:
        dmp.test_existence(patient)
        request, entry = feed_request(
            patient,
            b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>",
            person_id=professional,
            structure_id=TestPki.STRUCTURE_ID,
            signer=xades_signer(seal.key, seal.cert),
        )
        dmp.feed(request, patient)
        dmp.find_documents(patient)
        dmp.retrieve([entry.unique_id or ""], patient)


if __name__ == "__main__":
    main(Path(sys.argv[1]), os.environ["DMP_CONFORMANCE_DMP_URL"])
