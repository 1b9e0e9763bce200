"""The FHIR generators of the property suites: the ITI-65 bundle of a generated submission is valid against PDSm
and consistent with its document, and each bundle mutation breaks exactly its own rule."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings

from conformance.fhir import default_validator
from conformance.findings import Severity
from conformance.generate import DocumentSpec, SubmissionSpec, document_specs
from conformance.generate.fhir import (
    BUNDLE_MUTATIONS,
    BundleMutation,
    provide_bundle,
    sha1_base64,
    simplified_publish,
    unique_id_of,
)
from conformance.identity import Ins
from conformance.identity.strategies import patients
from conformance.pki import TestPki

SPEC = SubmissionSpec(Ins("279035121518989", "1.2.250.1.213.1.4.10"), DocumentSpec(b"%PDF-1.4 bench"),
                      TestPki.PS_ID_NAT, TestPki.STRUCTURE_ID)


def _errors(bundle: dict[str, Any]) -> set[str]:
    result = default_validator().validate_bytes(json.dumps(bundle).encode(), "ITI-65")
    return {f.rule for f in result.findings if f.severity is Severity.ERROR}


@settings(max_examples=10, deadline=None)
@given(patient=patients(), document=document_specs())
def test_the_bundle_of_a_submission_is_valid_and_carries_its_document(patient: Any, document: DocumentSpec) -> None:
    spec = SubmissionSpec(Ins(patient.ins.value, patient.ins.oid), document, TestPki.PS_ID_NAT, TestPki.STRUCTURE_ID)
    bundle = provide_bundle(spec)
    assert not _errors(bundle)
    _, reference, binary = (e["resource"] for e in bundle["entry"])
    attachment = reference["content"][0]["attachment"]
    assert base64.b64decode(binary["data"]) == document.content
    assert attachment["hash"] == sha1_base64(document.content) and attachment["size"] == len(document.content)
    assert unique_id_of(reference) == spec.unique_id and attachment["title"] == document.title
    assert reference["subject"]["identifier"]["value"] == patient.ins.value
    assert ("MASQUE_PS" in {c["coding"][0]["code"] for c in reference["securityLabel"]}) is document.masked


def test_two_bundles_of_one_submission_share_only_its_identifiers() -> None:
    first, second = provide_bundle(SPEC), provide_bundle(SPEC)
    assert unique_id_of(first["entry"][1]["resource"]) == unique_id_of(second["entry"][1]["resource"])
    assert {e["fullUrl"] for e in first["entry"]}.isdisjoint(e["fullUrl"] for e in second["entry"])


@pytest.mark.parametrize("mutation", BUNDLE_MUTATIONS, ids=lambda m: m.name)
def test_a_mutation_breaks_its_rule_only(mutation: BundleMutation) -> None:
    """A mutation the PDSm validator sees is reported with its rule and no other error; the others (patient,
    author, uniqueId, replaced document: the DMP's rules) leave the bundle valid against PDSm."""
    from conformance.findings import rules

    errors = _errors(mutation.build(SPEC))
    assert errors == ({mutation.issue} if mutation.issue in rules else set())


def test_every_bundle_mutation_names_a_catalogued_requirement() -> None:
    from conformance.requirements import load_catalogue

    catalogue = load_catalogue()
    assert all(m.rule in catalogue for m in BUNDLE_MUTATIONS)


def test_the_simplified_publish_of_a_submission_is_valid_and_inline() -> None:
    resource = simplified_publish(SPEC)
    assert not _errors(resource)
    attachment = resource["content"][0]["attachment"]
    assert base64.b64decode(attachment["data"]) == SPEC.document.content and "url" not in attachment
    assert unique_id_of(resource) == SPEC.unique_id and "identifier" not in resource
