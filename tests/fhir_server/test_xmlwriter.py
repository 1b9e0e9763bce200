"""The FHIR XML writer of the answers: the same XML as the R4B models' ``model_dump_xml`` (the oracle) for our
resources; for every JSON example of the official packages, XML the models read without a finding that keeps
every primitive value as written (the oracle writes an element's ``id`` as a child, not as the attribute FHIR
XML wants, and re-serialises instants); a refusal (JSON is answered instead) for what the models cannot
carry."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from lxml import etree

from conformance.fhir import load_package
from conformance.fhir.builders import iti65_bundle
from conformance.fhir.package import PDSM4DMP_PACKAGE, PDSM_PACKAGE
from conformance.fhir.parse import parse_fhir
from conformance.server.fhir.outcome import FhirError, error_response, fhir_response
from conformance.server.fhir.xmlwriter import fhir_xml


def oracle(resource: dict[str, Any]) -> bytes:
    xml: bytes = get_fhir_model_class(resource["resourceType"]).model_validate(resource).model_dump_xml()
    return xml.replace(b"encoding='utf-8'", b"encoding='UTF-8'", 1)


def ours() -> list[dict[str, Any]]:
    bundle = iti65_bundle(2, with_folder=True)
    reference = bundle["entry"][1]["resource"]
    reference["_status"] = {"extension": [{"url": "https://example.org/x", "valueString": "é <&>"}]}
    reference["extension"] = [{"url": "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/"
                                      "pdsm-ext-is-archived", "valueBoolean": True}]
    return [bundle, reference, {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "processing", "diagnostics": "x", "expression": ["a", "b"]}]}]


@pytest.mark.parametrize("resource", ours(), ids=lambda r: r["resourceType"])
def test_same_xml_as_the_models_and_lossless(resource: dict[str, Any]) -> None:
    written = fhir_xml(resource)
    assert written == oracle(resource)
    assert keeps_everything(resource)


def primitives(value: Any) -> list[str]:
    """The primitive values of a JSON resource as FHIR XML writes them (div aside)."""
    if isinstance(value, dict):
        return [p for key, item in value.items() if key not in ("resourceType", "div") for p in primitives(item)]
    if isinstance(value, list):
        return [p for item in value for p in primitives(item)]
    return [("true" if value else "false") if isinstance(value, bool) else
            value if isinstance(value, str) else json.dumps(value)]


def keeps_everything(resource: dict[str, Any]) -> bool:
    written = fhir_xml(resource)
    values = {v for element in etree.fromstring(written).iter() if isinstance(element.tag, str)
              for v in (element.get("value"), element.get("id"), element.get("url")) if v is not None}
    return not parse_fhir(written).findings and set(primitives(resource)) <= values


def test_element_ids_are_attributes() -> None:
    outcome = {"resourceType": "OperationOutcome", "id": "oo", "issue": [
        {"id": "i1", "severity": "error", "code": "processing", "_diagnostics": {"id": "d1", "extension": [
            {"url": "https://example.org/x", "valueBoolean": False}]}}]}
    written = fhir_xml(outcome)
    assert b'<id value="oo"/>' in written and b'<issue id="i1">' in written and b'<diagnostics id="d1">' in written
    assert keeps_everything(outcome)


def test_every_official_json_example(official_dir: Path) -> None:
    folder = official_dir / "fhir"
    if not (folder / PDSM_PACKAGE).is_file():
        pytest.skip("the official PDSm package is absent")
    examples = [example for name in (PDSM_PACKAGE, PDSM4DMP_PACKAGE) if (folder / name).is_file()
                for example in load_package(folder / name).examples.values()]
    assert len(examples) >= 20
    assert [e.get("id") for e in examples if not keeps_everything(e)] == []


def test_unknown_element_is_refused_and_json_is_answered() -> None:
    resource = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "x"}], "bogus": 1}
    with pytest.raises(ValueError, match="bogus"):
        fhir_xml(resource)
    response = fhir_response(resource, xml=True)
    assert response.media_type == "application/fhir+json"
    assert error_response(FhirError(404, "gone"), xml=True).media_type == "application/fhir+xml"


def test_a_large_searchset_is_written_quickly() -> None:
    reference = iti65_bundle(1)["entry"][1]["resource"]
    searchset = {"resourceType": "Bundle", "type": "searchset", "total": 500, "entry": [
        {"fullUrl": f"https://dmp.example/fhir/DocumentReference/d{i}", "resource": {**reference, "id": f"d{i}"},
         "search": {"mode": "match"}} for i in range(500)]}
    started = time.perf_counter()
    written = fhir_xml(searchset)
    elapsed = time.perf_counter() - started
    assert written.count(b"<DocumentReference>") == 500 and elapsed < 3, elapsed  # ~0.6 s; the models took ~10 s
