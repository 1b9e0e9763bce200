"""A stand-in FHIR LPS for the PDSm client-role suite test (run as a subprocess, like a vendor's scenario).

Seeds its patient through the reference DMP's admin API at $DMP_CONFORMANCE_DMP_URL, gets a test token from
``POST /fhir/_token``, then publishes an ITI-65 bundle and searches with ITI-67.
"""

from __future__ import annotations

import os

import httpx

from conformance.suites.pdsm.documents import AUTHOR_ID, INS_TEST_OID, provide_bundle

INS = "248039263001064"


def main(url: str) -> None:
    httpx.post(f"{url}/admin/patients", json={"ins": INS, "ins_oid": INS_TEST_OID, "authorizations": [
        {"professional": AUTHOR_ID, "attending": True}]}).raise_for_status()
    token = httpx.post(f"{url}/fhir/_token", json={"sub": AUTHOR_ID}).raise_for_status().json()["access_token"]
    headers = {"authorization": f"Bearer {token}", "content-type": "application/fhir+json"}
    httpx.post(f"{url}/fhir", json=provide_bundle(INS), headers=headers, timeout=30).raise_for_status()
    httpx.get(f"{url}/fhir/DocumentReference", headers=headers, timeout=30,
              params={"patient.identifier": f"urn:oid:{INS_TEST_OID}|{INS}", "status": "current"}).raise_for_status()


if __name__ == "__main__":
    main(os.environ["DMP_CONFORMANCE_DMP_URL"])
