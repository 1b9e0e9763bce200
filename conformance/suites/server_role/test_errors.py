"""Refusals: bad requests get a coded SOAP fault or RegistryError, never an HTTP 500 or a silent success."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.suites.server_role.documents import feed_request

BAD_BODIES = {
    "not XML": (b"<Envelope", "application/soap+xml; charset=UTF-8"),
    "XML but not SOAP": (b"<a/>", "application/soap+xml; charset=UTF-8"),
    "empty body": (b"", "text/plain"),
}


@pytest.mark.requirement("BENCH-DMP-ERRORS")
@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_malformed_request_gets_a_soap_fault(dmp_client: Any, case: str) -> None:
    body, content_type = BAD_BODIES[case]
    response = dmp_client.post("registry", body, content_type)
    assert 400 <= response.status_code < 500, f"{case}: HTTP {response.status_code}, expected a 4xx SOAP fault"
    assert response.fault is not None, f"{case}: the answer is not a SOAP fault ({response.error})"


@pytest.mark.requirement("EX_2.1-1140", "BENCH-DMP-ERRORS")
def test_feed_by_someone_who_is_not_an_author_is_refused(dmp_client: Any, dmp_patient: Any, suite_pki: Any) -> None:
    request, _ = feed_request(dmp_patient, b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>", person_id="899999999999",
                              structure_id=suite_pki.STRUCTURE_ID)
    response = dmp_client.feed(request, dmp_patient)
    assert response.status_code < 500, f"TD2.1 answered HTTP {response.status_code}"
    registry = response.xds()
    assert not registry.success, "a document authored by someone else than the VIHF subject was accepted"
    assert registry.errors and registry.errors[0].error_code, "the refusal carries no RegistryError code"
