"""PDSm client role: the FHIR requests an LPS sent to the bench's reference DMP (captured with the SOAP ones),
judged with the PDSm validator's findings and the MHD search minimum. Run with ``--suite pdsm`` and operate
the LPS against the printed URL (``<url>/fhir``); its token comes from ``POST /fhir/_token``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conformance.findings import Severity
from conformance.suites.captures import findings_of

Wait = Callable[[str], dict[str, Any]]


def _errors(capture: dict[str, Any]) -> list[str]:
    return [f"{f.rule} at {f.location}: {f.message}" for f in findings_of(capture) if f.severity is Severity.ERROR]


@pytest.mark.requirement("BENCH-PDSM-LPS-VALID")
def test_provided_bundle_is_valid(lps_fhir_capture: Wait) -> None:
    capture = lps_fhir_capture("ITI-65")
    assert not _errors(capture), _errors(capture)
    assert capture["status_code"] == 200, f"the reference DMP refused the bundle ({capture['status_code']})"


@pytest.mark.requirement("BENCH-PDSM-LPS-SEARCH")
def test_document_search_carries_patient_and_status(lps_fhir_capture: Wait) -> None:
    capture = lps_fhir_capture("ITI-67")
    path = capture["path"]
    assert "patient" in path, "ITI-67 needs patient or patient.identifier"
    assert not [f for f in findings_of(capture) if f.rule == "BENCH-PDSM-LPS-SEARCH"], "ITI-67 needs status"
