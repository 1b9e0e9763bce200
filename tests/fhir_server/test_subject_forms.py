"""The DMP patient of an ITI-65 bundle comes from ``subject`` in every PDSm form, never from sourcePatientInfo."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from conformance.suites.pdsm.documents import INS_TEST_OID, provide_bundle
from tests.fhir_server.conftest import INS, OTHER_INS, PATIENT_IDENTIFIER, Fhir


def _conditional_subjects(bundle: dict[str, Any]) -> dict[str, Any]:
    """The PDSM4DMP form: ``subject`` = ``Patient?identifier=system|INS``; sourcePatientInfo names another INS."""
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if "subject" in resource:
            resource["subject"] = {"reference": f"Patient?identifier={quote(PATIENT_IDENTIFIER, safe=':')}"}
        for contained in resource.get("contained", []):
            if contained.get("resourceType") == "Patient":
                contained["identifier"] = [{"system": f"urn:oid:{INS_TEST_OID}", "value": OTHER_INS}]
    return bundle


def test_a_conditional_subject_names_the_dmp_patient(fhir: Fhir) -> None:
    bundle = _conditional_subjects(provide_bundle(INS))
    assert json.dumps(bundle).count("Patient?identifier=") >= 2  # the DocumentReference and the SubmissionSet
    response = fhir.post("/fhir", bundle)
    assert response.status_code == 200, response.text
    unique_ids = {e["resource"]["masterIdentifier"]["value"] for e in bundle["entry"]
                  if e["resource"]["resourceType"] == "DocumentReference"}
    found = {e["resource"]["masterIdentifier"]["value"] for e in fhir.search().get("entry", [])
             if e["resource"]["resourceType"] == "DocumentReference"}
    assert unique_ids <= found, "the document was not filed in the DMP the subject names"
    other = fhir.get("/fhir/DocumentReference", **{"patient.identifier": f"urn:oid:{INS_TEST_OID}|{OTHER_INS}"})
    assert not unique_ids & {e["resource"]["masterIdentifier"]["value"] for e in other.json().get("entry", [])
                             if e["resource"]["resourceType"] == "DocumentReference"}
