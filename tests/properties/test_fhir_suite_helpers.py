"""The FHIR helpers of the property suites: a SUT without FHIR API makes them skip with the reason, and an
OperationOutcome is read for the names its issues give (code, rule ID or DMP code, expression)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from conformance.suites.fhir_tokens import BearerTokens
from conformance.suites.properties.fhir import FhirDmp, outcome_names


class _SoapOnly(BaseHTTPRequestHandler):
    """A DMP with no FHIR API: every GET is 404."""

    def do_GET(self) -> None:
        self.send_response(404)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def soap_only_dmp() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SoapOnly)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_dmp_without_fhir_api_skips_with_the_reason(soap_only_dmp: str) -> None:
    with pytest.raises(pytest.skip.Exception, match=r"no FHIR API \(GET /fhir/metadata: HTTP 404\)"):
        FhirDmp.on(soap_only_dmp, "810000000001", True)


def test_an_external_fhir_sut_uses_the_given_tokens_and_skips_without_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMP_CONFORMANCE_FHIR_TOKEN", "author-token")
    monkeypatch.delenv("DMP_CONFORMANCE_FHIR_OTHER_TOKEN", raising=False)
    tokens = BearerTokens.for_sut("http://127.0.0.1:9/fhir/", False, "810000000001", "810000000777")
    assert tokens("810000000001") == "author-token"
    with pytest.raises(pytest.skip.Exception, match="no bearer token for 810000000777 on the external FHIR SUT"):
        tokens("810000000777")


def test_outcome_names_are_the_codes_rules_and_expressions_of_the_issues() -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "processing", "diagnostics": "the Bundle is not valid against PDSm"},
        {"severity": "error", "code": "invariant", "details": {"text": "BENCH-PDSM-HASH: the hash does not match"},
         "expression": ["Bundle.entry[1].resource.content[0].attachment"]},
        {"severity": "error", "code": "duplicate", "details": {"text": "XDSDuplicateUniqueIdInRegistry"}}]}
    names = outcome_names(httpx.Response(409, json=outcome))
    assert {"processing", "invariant", "duplicate", "BENCH-PDSM-HASH", "XDSDuplicateUniqueIdInRegistry",
            "Bundle.entry[1].resource.content[0].attachment"} <= names
    assert outcome_names(httpx.Response(500, text="<html>")) == set()
