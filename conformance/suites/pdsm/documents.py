"""PDSm payloads the suites send: ITI-65 bundles and ITI-105 DocumentReferences with fresh identifiers.

They start from :func:`conformance.fhir.builders.iti65_bundle` (valid against PDSm 3.1.1) and replace every
business identifier (uniqueIds, entryUUIDs, SubmissionSet uniqueId) and the patient's INS, so that each call
publishes new documents for the chosen patient; the author is :data:`AUTHOR_ID` unless told otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

from conformance.fhir.builders import iti65_bundle

AUTHOR_ID = "810000012345"  # the author Practitioner of the builders (RPPS-like idNat)
INS_TEST_OID = "1.2.250.1.213.1.4.10"
MASQUE_PS = {"system": "https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/"
                       "TRE-A07-StatutVisibiliteDocument", "code": "MASQUE_PS"}


def fhir_xml(resource: dict[str, Any]) -> bytes:
    """The resource in FHIR XML (R4B models), for the XML flavour of the flows."""
    from fhir.resources.R4B import get_fhir_model_class  # 0.4 s import: only when XML is asked for

    return get_fhir_model_class(resource["resourceType"]).model_validate(resource).model_dump_xml()  # type: ignore[no-any-return]


def sha1_base64(content: bytes) -> str:
    """``attachment.hash``: the SHA-1 of the bytes, base64."""
    return base64.b64encode(hashlib.sha1(content).digest()).decode("ascii")


def fresh_oid() -> str:
    """A new uniqueId OID (UUID-derived arc 2.25)."""
    return f"2.25.{uuid.uuid4().int}"


def _set_patient(resource: dict[str, Any], ins: str) -> None:
    for contained in resource.get("contained", []):
        if contained.get("resourceType") == "Patient":
            contained["identifier"][0]["value"] = ins
    resource["subject"] = {"identifier": {"system": f"urn:oid:{INS_TEST_OID}", "value": ins}}


def _set_author(resource: dict[str, Any], author: str) -> None:
    for contained in resource.get("contained", []):
        if contained.get("resourceType") == "Practitioner":
            contained["identifier"][0]["value"] = author


def provide_bundle(ins: str, *, documents: int = 1, author: str = AUTHOR_ID, content: bytes | None = None,
                   replaces: str | None = None, folder: bool = False,
                   filed: tuple[str, ...] = ()) -> dict[str, Any]:
    """An ITI-65 bundle for patient ``ins`` with new identifiers; ``replaces`` = the logical id of the
    DocumentReference the (first) document replaces (relatesTo replaces); ``folder`` adds a Folder List of
    the new documents and of the DocumentReferences already published whose logical ids are ``filed``."""
    bundle = iti65_bundle(documents=documents, seed=str(uuid.uuid4()), with_folder=folder)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        kind = resource["resourceType"]
        if kind == "DocumentReference":
            resource["masterIdentifier"]["value"] = f"urn:oid:{fresh_oid()}"
            _set_patient(resource, ins)
            _set_author(resource, author)
            if replaces and not resource.get("relatesTo"):
                resource["relatesTo"] = [{"code": "replaces", "target": {"reference": f"DocumentReference/{replaces}"}}]
                replaces = None
        elif kind == "List":
            resource["identifier"][0]["value"] = f"urn:oid:{fresh_oid()}"
            resource["subject"] = {"identifier": {"system": f"urn:oid:{INS_TEST_OID}", "value": ins}}
            _set_author(resource, author)
            if resource["code"]["coding"][0]["code"] == "folder":
                resource["entry"] += [{"item": {"reference": f"DocumentReference/{rid}"}} for rid in filed]
    if content is not None:
        _set_content(bundle, content)
    return bundle


def _set_content(bundle: dict[str, Any], content: bytes) -> None:
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Binary":
            resource["data"] = base64.b64encode(content).decode("ascii")
        elif resource["resourceType"] == "DocumentReference":
            attachment = resource["content"][0]["attachment"]
            attachment["size"] = len(content)
            attachment["hash"] = sha1_base64(content)


def simplified_publish(ins: str, *, author: str = AUTHOR_ID, content: bytes = b"%PDF-1.4 ITI-105 document",
                       replaces: str | None = None) -> dict[str, Any]:
    """An ITI-105 DocumentReference (inline ``attachment.data``, no identifier, no url)."""
    resource = provide_bundle(ins, author=author, replaces=replaces)["entry"][1]["resource"]
    resource["meta"]["profile"] = ["https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/"
                                   "pdsm-simplified-publish"]
    resource.pop("identifier", None)
    resource.pop("id", None)
    attachment = resource["content"][0]["attachment"]
    attachment.pop("url", None)
    attachment.update(data=base64.b64encode(content).decode("ascii"), size=len(content),
                      hash=sha1_base64(content))
    return resource

