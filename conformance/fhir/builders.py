"""Build valid PDSm ITI-65 bundles (one SubmissionSet, n DocumentReference + Binary pairs, optional Folder).

Used as the golden-valid fixture of the tests, by the benchmark and by client suites that need a
well-formed submission. Identifiers are derived from ``seed`` so that builds are reproducible. The ``set_*``
functions and :func:`simplified_publish` turn a built bundle into a given patient's, author's or document's
(the generators of ``conformance.generate.fhir`` and the suites' payloads share them).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

from conformance.identity import make_nir

PDSM_SD = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/"
NOS = "https://mos.esante.gouv.fr/NOS/"
RFC3986 = "urn:ietf:rfc:3986"
MHD_LIST_TYPES = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
_DIV = '<div xmlns="http://www.w3.org/1999/xhtml">{}</div>'


def _uuid(seed: str, name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{seed}/{name}')}"


def sha1_base64(content: bytes) -> str:
    """``attachment.hash``: the SHA-1 of the bytes, base64."""
    return base64.b64encode(hashlib.sha1(content).digest()).decode("ascii")


def _text(summary: str) -> dict[str, str]:
    return {"status": "generated", "div": _DIV.format(summary)}


def _patient(seed: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "patient", "text": _text("Patient"),
            "identifier": [{"use": "official", "system": "urn:oid:1.2.250.1.213.1.4.10",
                            "type": {"coding": [{"system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203",
                                                 "code": "INS-NIR-TEST"}]},
                            "value": make_nir("2", 1980, 5, "75056", 123)}],
            "name": [{"family": "DUPONT", "given": ["MARIE"]}], "gender": "female", "birthDate": "1980-05-12"}


def document_reference(seed: str, index: int, binary_url: str, content: bytes) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": f"doc-{index}",
        "meta": {"profile": [PDSM_SD + "pdsm-comprehensive-document-reference"]},
        "text": _text(f"Document {index}"),
        "contained": [
            {"resourceType": "Practitioner", "id": "author", "text": _text("Auteur"),
             "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "810000012345"}],
             "name": [{"family": "MARTIN", "given": ["Paul"]}]},
            _patient(seed),
        ],
        "masterIdentifier": {"use": "usual", "system": RFC3986, "value": f"urn:oid:1.2.250.1.999.1.{index + 1}"},
        "identifier": [{"use": "official", "system": RFC3986, "value": _uuid(seed, f"doc-{index}")}],
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4", "display": "Consult note"}]},
        "category": [{"coding": [{"system": NOS + "TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument",
                                  "code": "10", "display": "Compte rendu"}]}],
        "subject": {"reference": "Patient/patient-1"},
        "date": "2025-01-15T10:00:00+01:00",
        "author": [{"reference": "#author"}],
        "custodian": {"reference": "Organization/dmp"},
        "securityLabel": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                                       "code": "N"}]}],
        "content": [{
            "attachment": {"contentType": "application/pdf", "language": "fr-FR", "url": binary_url,
                           "size": len(content),
                           "hash": sha1_base64(content),
                           "title": f"Compte rendu {index}", "creation": "2025-01-15T09:00:00+01:00"},
            "format": {"system": NOS + "TRE_A11-IheFormatCode/FHIR/TRE-A11-IheFormatCode",
                       "code": "urn:ihe:iti:xds-sd:pdf:2008"},
        }],
        "context": {
            "period": {"start": "2025-01-15T08:00:00+01:00"},
            "facilityType": {"coding": [{"system": NOS + "TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite",
                                         "code": "SA01"}]},
            "practiceSetting": {"coding": [{"system": NOS + "TRE_A01-CadreExercice/FHIR/TRE-A01-CadreExercice",
                                            "code": "ETABLISSEMENT"}]},
            "sourcePatientInfo": {"reference": "#patient"},
        },
    }


def submission_set(seed: str, items: list[str]) -> dict[str, Any]:
    """The SubmissionSet List: its source is the author's PractitionerRole, with his organisation (authorOrg)."""
    return {
        "resourceType": "List",
        "id": "submissionset",
        "meta": {"profile": [PDSM_SD + "pdsm-submissionset-comprehensive"]},
        "text": _text("Lot de soumission"),
        "contained": [
            {"resourceType": "PractitionerRole", "id": "author", "text": _text("Auteur"),
             "practitioner": {"reference": "#practitioner"}, "organization": {"reference": "#org"}},
            {"resourceType": "Practitioner", "id": "practitioner", "text": _text("Auteur"),
             "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "810000012345"}],
             "name": [{"family": "MARTIN", "given": ["Paul"]}]},
            {"resourceType": "Organization", "id": "org", "text": _text("Organisation"), "name": "Hôpital",
             "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.2", "value": "1750000012"}]},
        ],
        "extension": [
            {"url": "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-designationType",
             "valueCodeableConcept": {"coding": [{"system": NOS + "TRE_A04-TypeSoumission/FHIR/TRE-A04-TypeSoumission",
                                                  "code": "04"}]}},
            {"url": "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-sourceId",
             "valueIdentifier": {"system": RFC3986, "value": "urn:oid:1.2.250.1.999.2"}},
        ],
        "identifier": [{"use": "usual", "system": RFC3986, "value": "urn:oid:1.2.250.1.999.3.1"},
                       {"use": "official", "system": RFC3986, "value": _uuid(seed, "submissionset")}],
        "status": "current",
        "mode": "working",
        "title": "Consultation du 15 janvier 2025",
        "code": {"coding": [{"system": MHD_LIST_TYPES, "code": "submissionset",
                             "display": "SubmissionSet as a FHIR List"}]},
        "subject": {"reference": "Patient/patient-1"},
        "date": "2025-01-15T10:05:00+01:00",
        "source": {"reference": "#author",
                   "extension": [{"url": "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-authorOrg",
                                  "valueReference": {"reference": "#org"}}]},
        "entry": [{"item": {"reference": item}} for item in items],
    }


def folder(seed: str, items: list[str]) -> dict[str, Any]:
    return {
        "resourceType": "List",
        "id": "folder",
        "meta": {"profile": [PDSM_SD + "pdsm-folder-comprehensive"]},
        "text": _text("Classeur"),
        "extension": [{"url": "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-designationType",
                       "valueCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": "11488-4"}]}}],
        "identifier": [{"use": "usual", "system": RFC3986, "value": "urn:oid:1.2.250.1.999.4.1"},
                       {"use": "official", "system": RFC3986, "value": _uuid(seed, "folder")}],
        "status": "current",
        "mode": "working",
        "title": "Suivi",
        "code": {"coding": [{"system": MHD_LIST_TYPES, "code": "folder", "display": "Folder as a FHIR List"}]},
        "subject": {"reference": "Patient/patient-1"},
        "date": "2025-01-15T10:05:00+01:00",
        "entry": [{"item": {"reference": item}} for item in items],
    }


def iti65_bundle(documents: int = 1, seed: str = "bench", document_size: int = 64,
                 with_folder: bool = False) -> dict[str, Any]:
    """A PDSm ITI-65 transaction bundle with ``documents`` DocumentReference + Binary pairs (and a Folder
    grouping them when ``with_folder``), valid against PDSm 3.1.1."""
    entries: list[dict[str, Any]] = []
    items: list[str] = []
    for index in range(documents):
        content = (f"%PDF-1.4 document {index} ".encode() * (document_size // 20 + 1))[:document_size]
        binary_url, docref_url = _uuid(seed, f"binary-{index}"), _uuid(seed, f"docref-{index}")
        items.append(docref_url)
        entries.append({"fullUrl": docref_url, "resource": document_reference(seed, index, binary_url, content),
                        "request": {"method": "POST", "url": "DocumentReference"}})
        entries.append({"fullUrl": binary_url,
                        "resource": {"resourceType": "Binary", "id": f"binary-{index}", "contentType": "application/pdf",
                                     "data": base64.b64encode(content).decode("ascii")},
                        "request": {"method": "POST", "url": "Binary"}})
    if with_folder:
        entries.append({"fullUrl": _uuid(seed, "folder"), "resource": folder(seed, list(items)),
                        "request": {"method": "POST", "url": "List"}})
        items.append(_uuid(seed, "folder"))
    submission = {"fullUrl": _uuid(seed, "submissionset"), "resource": submission_set(seed, items),
                  "request": {"method": "POST", "url": "List"}}
    return {"resourceType": "Bundle", "id": f"iti65-{seed}",
            "meta": {"profile": [PDSM_SD + "pdsm-comprehensive-provide-document-bundle"]},
            "type": "transaction", "entry": [submission, *entries]}


# ---------------------------------------------------------------- a built bundle made someone's


def set_patient(resource: dict[str, Any], ins: str, oid: str) -> None:
    """The patient of a DocumentReference or List: ``subject`` by INS identifier (the XDS patientId), and the
    same INS on its contained Patient (sourcePatientInfo)."""
    identifier = {"system": f"urn:oid:{oid}", "value": ins}
    for contained in resource.get("contained", []):
        if contained["resourceType"] == "Patient":
            contained["identifier"][0].update(identifier)
    resource["subject"] = {"identifier": identifier}


def set_author(resource: dict[str, Any], author_id: str) -> None:
    """The idNat of the contained author Practitioner of a DocumentReference or SubmissionSet."""
    for contained in resource.get("contained", []):
        if contained["resourceType"] == "Practitioner":
            contained["identifier"][0]["value"] = author_id


def set_content(bundle: dict[str, Any], content: bytes) -> None:
    """Every Binary of the bundle carries ``content``; every attachment states its size and hash."""
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Binary":
            resource["data"] = base64.b64encode(content).decode("ascii")
        elif resource["resourceType"] == "DocumentReference":
            resource["content"][0]["attachment"].update(size=len(content), hash=sha1_base64(content))


def relates_to_replaced(reference: str) -> list[dict[str, Any]]:
    """``relatesTo`` of a replacing DocumentReference: it replaces ``reference`` (``DocumentReference/<id>``)."""
    return [{"code": "replaces", "target": {"reference": reference}}]


def simplified_publish(reference: dict[str, Any], content: bytes) -> dict[str, Any]:
    """A DocumentReference of :func:`iti65_bundle` made an ITI-105 one, in place: the document inline (data,
    size, hash), no url, no identifier and no id (0..0 in ITI-105)."""
    reference["meta"]["profile"] = [PDSM_SD + "pdsm-simplified-publish"]
    for key in ("id", "identifier"):
        reference.pop(key, None)
    attachment = reference["content"][0]["attachment"]
    attachment.pop("url", None)
    attachment.update(data=base64.b64encode(content).decode("ascii"), size=len(content), hash=sha1_base64(content))
    return reference
