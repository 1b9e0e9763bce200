"""PDSm payloads the suites send: ITI-65 bundles and ITI-105 DocumentReferences with fresh identifiers.

They start from :func:`conformance.fhir.builders.iti65_bundle` (valid against PDSm 3.1.1) and replace every
business identifier (uniqueIds, entryUUIDs, SubmissionSet uniqueId) and the patient's INS, so that each call
publishes new documents for the chosen patient; the author is :data:`AUTHOR_ID` unless told otherwise. The edits
are the builders' (patient, author, content, ITI-105 form), shared with ``conformance.generate.fhir``.
"""

from __future__ import annotations

import uuid
from typing import Any

from conformance.fhir.builders import (
    iti65_bundle,
    relates_to_replaced,
    set_author,
    set_content,
    set_patient,
)
from conformance.fhir.builders import simplified_publish as inline_document
from conformance.generate.fhir import MASQUE_PS

__all__ = ["AUTHOR_ID", "INS_TEST_OID", "MASQUE_PS", "fhir_xml", "fresh_oid", "provide_bundle", "simplified_publish"]

AUTHOR_ID = "810000012345"  # the author Practitioner of the builders (RPPS-like idNat)
INS_TEST_OID = "1.2.250.1.213.1.4.10"


def fhir_xml(resource: dict[str, Any]) -> bytes:
    """The resource in FHIR XML (R4B models), for the XML flavour of the flows."""
    from fhir.resources.R4B import get_fhir_model_class  # 0.4 s import: only when XML is asked for

    return get_fhir_model_class(resource["resourceType"]).model_validate(resource).model_dump_xml()  # type: ignore[no-any-return]


def fresh_oid() -> str:
    """A new uniqueId OID (UUID-derived arc 2.25)."""
    return f"2.25.{uuid.uuid4().int}"


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
        if kind in ("DocumentReference", "List"):
            set_patient(resource, ins, INS_TEST_OID)
            set_author(resource, author)
        if kind == "DocumentReference":
            resource["masterIdentifier"]["value"] = f"urn:oid:{fresh_oid()}"
            if replaces and not resource.get("relatesTo"):
                resource["relatesTo"] = relates_to_replaced(f"DocumentReference/{replaces}")
                replaces = None
        elif kind == "List":
            resource["identifier"][0]["value"] = f"urn:oid:{fresh_oid()}"
            if resource["code"]["coding"][0]["code"] == "folder":
                resource["entry"] += [{"item": {"reference": f"DocumentReference/{rid}"}} for rid in filed]
    if content is not None:
        set_content(bundle, content)
    return bundle


def simplified_publish(ins: str, *, author: str = AUTHOR_ID, content: bytes = b"%PDF-1.4 ITI-105 document",
                       replaces: str | None = None) -> dict[str, Any]:
    """An ITI-105 DocumentReference (inline ``attachment.data``, no identifier, no url)."""
    return inline_document(provide_bundle(ins, author=author, replaces=replaces)["entry"][1]["resource"], content)
