"""Replacement (RPLC) coherence: relatedDocument, parentDocument, setId and versionNumber.

A new version of a document keeps the setId, increments versionNumber and points at the replaced version
with ``relatedDocument[@typeCode='RPLC']/parentDocument/id`` (the DMP deprecates that version on ITI-41).
"""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from conformance.cda.document import CdaDocument
from conformance.cda.rules._common import at
from conformance.findings import Severity, Violation, rules


def _ii(element: etree._Element | None) -> tuple[str, str] | None:
    return (element.get("root") or "", element.get("extension") or "") if element is not None else None


def _format(ii: tuple[str, str] | None) -> str:
    return "none" if ii is None else (f"{ii[0]}^{ii[1]}" if ii[1] else ii[0])


def _version(element: etree._Element | None) -> int | None:
    value = element.get("value") if element is not None else None
    return int(value) if value is not None and value.strip().isdigit() else None


@rules.register("BENCH-CDA-RPLC-PARENT", kind="cda",
                title="relatedDocument RPLC names a parent document other than this one, of the same set",
                hint="parentDocument/id is the id of the replaced version; keep the setId and increment versionNumber")
def replacement_parent(document: CdaDocument) -> Iterator[Violation]:
    own_id = _ii(document.first("hl7:id"))
    set_id = _ii(document.first("hl7:setId"))
    version = _version(document.first("hl7:versionNumber"))
    for related in document.xpath("hl7:relatedDocument[@typeCode='RPLC']"):
        parent_id = document.first("hl7:parentDocument/hl7:id", related)
        if parent_id is None or not parent_id.get("root"):
            continue  # absence of parentDocument/id or its root: official StrucMin/XSD findings
        if _ii(parent_id) == own_id:
            yield at(document, parent_id, f"the replaced document's id {_format(own_id)} is this document's id")
        parent_set = document.first("hl7:parentDocument/hl7:setId", related)
        if parent_set is not None and _ii(parent_set) != set_id:
            yield at(document, parent_set, f"parentDocument setId {_format(_ii(parent_set))} differs from "
                     f"this document's setId {_format(set_id)}")
        parent_version_element = document.first("hl7:parentDocument/hl7:versionNumber", related)
        parent_version = _version(parent_version_element)
        if parent_version is not None and version is not None and parent_version >= version:
            yield at(document, parent_version_element, f"parentDocument versionNumber {parent_version} is not "
                     f"lower than this document's versionNumber {version}")


@rules.register("BENCH-CDA-RPLC-VERSION", kind="cda", severity=Severity.WARNING,
                title="versionNumber and relatedDocument RPLC agree (a replacement has version > 1)",
                hint="a replacing document carries relatedDocument RPLC and versionNumber ≥ 2; a first version "
                     "carries neither")
def replacement_version(document: CdaDocument) -> Iterator[Violation]:
    version_element = document.first("hl7:versionNumber")
    version = _version(version_element)
    related = document.first("hl7:relatedDocument[@typeCode='RPLC']")
    if version is not None and version > 1 and related is None:
        yield at(document, version_element, f"versionNumber is {version} but there is no relatedDocument RPLC "
                 "naming the replaced version")
    elif version == 1 and related is not None:
        yield at(document, related, "relatedDocument RPLC on a document whose versionNumber is 1")


@rules.register("BENCH-CDA-RPLC-SETID", kind="cda",
                title="a replacing version (versionNumber > 1 or RPLC) has a setId other than its own id",
                hint="the setId is shared by every version and was set by the first one: keep the replaced "
                     "version's setId and give this version a new id")
def replacement_set_id(document: CdaDocument) -> Iterator[Violation]:
    set_id_element = document.first("hl7:setId")
    version = _version(document.first("hl7:versionNumber"))
    replacing = (version or 0) > 1 or document.first("hl7:relatedDocument[@typeCode='RPLC']") is not None
    if replacing and set_id_element is not None and _ii(set_id_element) == _ii(document.first("hl7:id")):
        yield at(document, set_id_element, f"setId {_format(_ii(set_id_element))} equals the id of this "
                 f"replacing version (versionNumber {version})")
