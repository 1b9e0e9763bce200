"""Administration and authorizations: TD1.3a, TD0.3, TD1.6."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.suites.server_role.checks import expect_ok

HABILITATIONS = "urn:si-dmp-habilitations:HabilitationsEndPoint:"


@pytest.mark.requirement("BENCH-DMP-TD1.3a", "BENCH-DMP-WSA-RESPONSE")
def test_td13a_reads_the_administrative_data(dmp_client: Any, dmp_patient: Any) -> None:
    response = dmp_client.read_administrative_data(dmp_patient)
    expect_ok(response, "TD1.3a", "urn:hl7-org:v3:PRPA_IN201308UV02")
    assert response.attribute("acknowledgement", "typeCode") == "AA", "acknowledgement typeCode is not AA"
    assert response.attribute("queryResponseCode", "code") == "OK", "queryResponseCode is not OK"


@pytest.mark.requirement("BENCH-DMP-TD0.3")
def test_td03_set_authorization_answers_dmpok(dmp_client: Any, dmp_patient: Any) -> None:
    response = dmp_client.set_authorization(dmp_patient, "AJOUT")
    expect_ok(response, "TD0.3", f"{HABILITATIONS}setAuthorizationResponse")
    assert response.text("status") == "DMPOk", (
        f"setAuthorization status is {response.text('status')}, expected DMPOk"
    )


@pytest.mark.requirement("BENCH-DMP-TD1.6")
def test_td16_lists_the_caller_among_the_authorized(
    dmp_client: Any, dmp_patient: Any, lps_identity: Any
) -> None:
    response = dmp_client.list_authorizations(dmp_patient, "ACTIVE")
    expect_ok(response, "TD1.6", f"{HABILITATIONS}listAuthorizationByPatientResponse")
    listed = [e.text for e in response.body.xpath(".//*[local-name()='nationalId']")]
    assert any(lps_identity.subject_id in (text or "") for text in listed), (
        f"{lps_identity.subject_id} is authorized but TD1.6 lists {listed}"
    )
