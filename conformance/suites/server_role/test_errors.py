"""Refusals: bad requests get a coded SOAP fault or RegistryError, never an HTTP 500 or a silent success."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.suites.server_role.checks import explain
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
    assert 400 <= response.status_code < 500 and response.fault is not None, (
        f"{case}: expected a 4xx SOAP fault, got {explain(response)}"
    )


@pytest.mark.requirement("EX_2.1-1140", "BENCH-DMP-ERRORS")
def test_feed_by_someone_who_is_not_an_author_is_refused(
    dmp_client: Any, dmp_patient: Any, lps_identity: Any
) -> None:
    request, _ = feed_request(
        dmp_patient,
        b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>",
        person_id="899999999999",
        structure_id=lps_identity.structure_id,
    )
    response = dmp_client.feed(request, dmp_patient)
    registry = response.xds() if response.fault is None and response.message is not None else None
    assert registry is not None and response.status_code < 500, (
        f"expected a RegistryResponse with a RegistryError, got {explain(response)}"
    )
    assert not registry.success, "a document authored by someone else than the VIHF subject was accepted"
    assert registry.errors and registry.errors[0].error_code, "the refusal carries no RegistryError code"
