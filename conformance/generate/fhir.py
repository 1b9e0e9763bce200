"""PDSm (ITI-65) transaction bundles: DocumentReference + Binary pairs, with or without a Folder; the bundle of a
TD2.1 :class:`~conformance.generate.xds.SubmissionSpec` (the same generated documents as over SOAP), and one-rule
mutations of it that name what the DMP must answer."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from conformance.fhir.builders import (
    NOS,
    RFC3986,
    iti65_bundle,
    relates_to_replaced,
    set_author,
    set_content,
    set_patient,
    sha1_base64,
)
from conformance.fhir.builders import simplified_publish as inline_document
from conformance.generate.xds import SOURCE_OID, SubmissionSpec
from conformance.identity import make_nir
from conformance.xds.builders import new_oid

MASQUE_PS = {"system": NOS + "TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument",
             "code": "MASQUE_PS"}
NORMAL = {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "N"}
# DocumentSpec.kind → (TRE_A03 class code and display, LOINC type code), within the DMP value sets JDV_J57 / J66
# (the SOAP generator's CLASS_TYPE kinds, with their TRE_A03 codes: Prescription is 42 there)
KINDS = (("10", "Compte rendu", "11488-4"), ("11", "Synthèse", "34133-9"), ("42", "Prescription", "57833-6"))
# a valid test INS no DMP is opened for (the bench's synthetic patients are drawn by seeded generators)
INS_WITHOUT_DMP = make_nir("1", 1901, 1, "75056", 999)


def iti65_bundles(max_documents: int = 3) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(iti65_bundle, documents=st.integers(1, max_documents),
                     seed=st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12),
                     document_size=st.integers(1, 512), with_folder=st.booleans())


def security_labels(masked: bool) -> list[dict[str, Any]]:
    """``securityLabel`` of a document: Normal, plus MASQUE_PS when masked to professionals."""
    return [{"coding": [NORMAL]}, {"coding": [MASQUE_PS]}] if masked else [{"coding": [NORMAL]}]


def unique_id_of(resource: dict[str, Any]) -> str:
    """The document uniqueId of a DocumentReference (``masterIdentifier`` without ``urn:oid:``)."""
    return str(resource.get("masterIdentifier", {}).get("value", "")).removeprefix("urn:oid:")


def _describe_document(resource: dict[str, Any], spec: SubmissionSpec) -> None:
    """The generated document's identity, patient, author, kind, title and masking on the builders' resource."""
    document = spec.document
    class_code, class_display, type_code = KINDS[document.kind % len(KINDS)]
    resource["masterIdentifier"]["value"] = f"urn:oid:{spec.unique_id}"
    set_patient(resource, spec.patient.value, spec.patient.oid)
    set_author(resource, spec.author_id)
    resource["type"]["coding"][0] = {"system": "http://loinc.org", "code": type_code}
    resource["category"][0]["coding"][0].update(code=class_code, display=class_display)
    resource["securityLabel"] = security_labels(document.masked)
    resource["content"][0]["attachment"]["title"] = document.title
    if spec.replaces:
        resource["relatesTo"] = relates_to_replaced(spec.replaces)


def provide_bundle(spec: SubmissionSpec) -> dict[str, Any]:
    """The ITI-65 bundle of the one-document submission ``spec``, valid against PDSm: its bytes, kind, title
    and masking, patient (INS), author and uniqueId; every other identifier is new. ``spec.replaces`` is the
    ``relatesTo`` replaces target reference (``DocumentReference/<id>``)."""
    bundle = iti65_bundle(documents=1, seed=str(uuid.uuid4()))
    submission_set, reference, _ = (e["resource"] for e in bundle["entry"])
    _describe_document(reference, spec)
    set_content(bundle, spec.document.content)
    submission_set["identifier"][0]["value"] = f"urn:oid:{new_oid(SOURCE_OID)}"
    set_patient(submission_set, spec.patient.value, spec.patient.oid)
    return bundle


def simplified_publish(spec: SubmissionSpec) -> dict[str, Any]:
    """The ITI-105 DocumentReference of ``spec`` (the document inline, no identifier, no url): the body of a
    simplified publish or of a replacement by conditional update."""
    return inline_document(provide_bundle(spec)["entry"][1]["resource"], spec.document.content)


# --- mutations: break exactly one rule, and know what the DMP answers -------------------------------------------

Edit = Callable[[SubmissionSpec, dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class BundleMutation:
    """An ITI-65 bundle that breaks one rule: the DMP must answer HTTP ``status`` with an OperationOutcome
    naming ``issue`` (a rule ID, a DMP/XDS error code, an IssueType code or the expression at fault)."""

    name: str
    rule: str  # the requirement broken
    status: int
    issue: str
    edit: Edit  # changes the valid bundle of the spec in place

    def build(self, spec: SubmissionSpec) -> dict[str, Any]:
        bundle = provide_bundle(spec)
        self.edit(spec, bundle)
        return bundle


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _attachment(bundle: dict[str, Any]) -> dict[str, Any]:
    return _resources(bundle, "DocumentReference")[0]["content"][0]["attachment"]  # type: ignore[no-any-return]


def _wrong_hash(spec: SubmissionSpec, bundle: dict[str, Any]) -> None:
    _attachment(bundle)["hash"] = sha1_base64(spec.document.content + b"x")


def _wrong_size(spec: SubmissionSpec, bundle: dict[str, Any]) -> None:
    _attachment(bundle)["size"] = len(spec.document.content) + 1


def _url_to_nowhere(_spec: SubmissionSpec, bundle: dict[str, Any]) -> None:
    _attachment(bundle)["url"] = f"urn:uuid:{uuid.uuid4()}"


def _unknown_type_system(_spec: SubmissionSpec, bundle: dict[str, Any]) -> None:
    _resources(bundle, "DocumentReference")[0]["type"]["coding"][0]["system"] = "http://example.org/document-types"


def _no_ins(_spec: SubmissionSpec, bundle: dict[str, Any]) -> None:
    """Neither the subject nor the contained sourcePatientInfo carries an INS."""
    reference = _resources(bundle, "DocumentReference")[0]
    reference["subject"] = {"display": "patient without identifier"}
    for contained in reference["contained"]:
        if contained["resourceType"] == "Patient":
            contained["identifier"] = [{"system": "urn:oid:1.2.250.1.999.5", "value": "local-1"}]


def _patient_without_dmp(_spec: SubmissionSpec, bundle: dict[str, Any]) -> None:
    for resource in [*_resources(bundle, "DocumentReference"), *_resources(bundle, "List")]:
        resource["subject"]["identifier"]["value"] = INS_WITHOUT_DMP
        for contained in resource.get("contained", []):
            if contained["resourceType"] == "Patient":
                contained["identifier"][0]["value"] = INS_WITHOUT_DMP


def _other_author(_spec: SubmissionSpec, bundle: dict[str, Any]) -> None:
    for contained in _resources(bundle, "DocumentReference")[0]["contained"]:
        if contained["resourceType"] == "Practitioner":
            contained["identifier"][0]["value"] = "899999999999"


def _unique_id_twice(_spec: SubmissionSpec, bundle: dict[str, Any]) -> None:
    """A second DocumentReference + Binary pair in the same bundle with the same masterIdentifier."""
    reference_entry, binary_entry = (copy.deepcopy(e) for e in bundle["entry"][1:3])
    reference_entry["fullUrl"], binary_entry["fullUrl"] = (f"urn:uuid:{uuid.uuid4()}" for _ in range(2))
    reference = reference_entry["resource"]
    reference["identifier"] = [{"use": "official", "system": RFC3986, "value": reference_entry["fullUrl"]}]
    reference["content"][0]["attachment"]["url"] = binary_entry["fullUrl"]
    bundle["entry"] += [reference_entry, binary_entry]
    bundle["entry"][0]["resource"]["entry"].append({"item": {"reference": reference_entry["fullUrl"]}})


def _replaces_nothing(_spec: SubmissionSpec, bundle: dict[str, Any]) -> None:
    _resources(bundle, "DocumentReference")[0]["relatesTo"] = [
        {"code": "replaces", "target": {"reference": f"DocumentReference/{uuid.uuid4()}"}}]


BUNDLE_MUTATIONS: Sequence[BundleMutation] = (
    BundleMutation("hash differs from the bytes", "BENCH-DMP-REJECT", 422, "BENCH-PDSM-HASH", _wrong_hash),
    BundleMutation("size differs from the bytes", "BENCH-DMP-REJECT", 422, "BENCH-PDSM-SIZE", _wrong_size),
    BundleMutation("attachment.url names no Binary of the bundle", "BENCH-PDSM-ITI65-INVALID", 422,
                   "constr-bind-attachmenturl", _url_to_nowhere),
    BundleMutation("type from a code system outside the CI-SIS terminologies", "BENCH-PDSM-ITI65-INVALID", 422,
                   "constr-bind-type", _unknown_type_system),
    BundleMutation("no INS for the patient", "BENCH-PDSM-ITI65-INVALID", 422, "BENCH-PDSM-PATIENTID", _no_ins),
    BundleMutation("patient without DMP", "BENCH-PDSM-ERRORS", 404, "not-found", _patient_without_dmp),
    BundleMutation("author is not the caller", "EX_2.1-1140", 403, "forbidden", _other_author),
    BundleMutation("uniqueId twice in the bundle", "BENCH-PDSM-DUPLICATE", 422,
                   "XDSRegistryDuplicateUniqueIdInMessage", _unique_id_twice),
    BundleMutation("replaces a document that is not in the DMP", "BENCH-PDSM-REPLACE", 422,
                   "DocumentReference.relatesTo[0].target", _replaces_nothing),
)
