"""CDA ↔ XDS metadata coherence in ITI-41 (kind ``xds``): each DocumentEntry describes the CDA sent with it.

Mapping of docs/cda-cisis.md §11 (CDAHeaderToXDM, H2IG): uniqueId = ``id`` (root[^extension]), patientId = the
INS of ``recordTarget/patientRole/id``, typeCode = ``code``, confidentialityCode ⊇ ``confidentialityCode``,
creationTime = ``effectiveTime`` in UTC, languageCode = ``languageCode``, authorPerson ids ⊆ ``author`` ids, and
an RPLC association exactly when the CDA has ``relatedDocument[@typeCode='RPLC']``.
Entries whose document is absent or not a readable CDA are skipped (other rules report those).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from lxml import etree

from conformance.findings import Check, Severity, Violation
from conformance.identity import Cx, Hl7V2Error, Xcn
from conformance.xds.constants import INS_OIDS, AssociationType, Oid, Scheme
from conformance.xds.model import DocumentEntry
from conformance.xds.rules import HL7, XdsCheck, _at, _class_step, _id_step, _register, _slot_step
from conformance.xds.times import hl7_ts_to_utc
from conformance.xml import xpath_of

_NS = {"h": HL7}
_REQUIREMENT = "BENCH-XDS-COHERENCE"


def _pairs(check: XdsCheck) -> Iterator[tuple[DocumentEntry, etree._Element]]:
    for entry in check.clinical_entries():
        cda = check.cda_of(entry)
        if cda is not None:
            yield entry, cda


def _cda_where(element: etree._Element | None) -> str:
    return f" (CDA {xpath_of(element)}, line {element.sourceline})" if element is not None else ""


def _coherence(rule_id: str, title: str, severity: Severity = Severity.ERROR,
               hint: str | None = None) -> Callable[[Check], Check]:
    return _register(rule_id, title, severity, hint, requirement=_REQUIREMENT)


@_coherence("BENCH-XDS-CDA-UNIQUEID", "DocumentEntry.uniqueId is the CDA id (root, or root^extension)",
            hint="copy ClinicalDocument/id: @root, with ^@extension when there is one")
def cda_unique_id(check: XdsCheck) -> Iterator[Violation]:
    for entry, cda in _pairs(check):
        identifier = cda.find("h:id", _NS)
        if identifier is None:
            continue
        expected = identifier.get("root", "") + (f"^{identifier.get('extension')}" if identifier.get("extension") else "")
        if entry.unique_id != expected:
            yield _at(entry, f"uniqueId {entry.unique_id!r} differs from the CDA id {expected!r}{_cda_where(identifier)}",
                      _id_step(Scheme.DE_UNIQUE_ID))


@_coherence("BENCH-XDS-CDA-PATIENTID", "DocumentEntry.patientId is the INS of the CDA recordTarget",
            hint="copy the recordTarget/patientRole/id carrying an INS OID as <extension>^^^&<root>&ISO^NH")
def cda_patient_id(check: XdsCheck) -> Iterator[Violation]:
    for entry, cda in _pairs(check):
        ids = cda.findall("h:recordTarget/h:patientRole/h:id", _NS)
        ins = [(i.get("extension", ""), i.get("root", "")) for i in ids if i.get("root") in INS_OIDS]
        if not ins or not entry.patient_id:
            continue
        try:
            cx = Cx.parse(entry.patient_id)
        except Hl7V2Error:
            continue  # BENCH-XDS-PATIENTID reports it
        if (cx.id, cx.assigning_authority.universal_id) not in ins:
            yield _at(entry, f"patientId {entry.patient_id!r} is not the INS of the CDA recordTarget "
                             f"({', '.join(f'{e} ({r})' for e, r in ins)}){_cda_where(ids[0])}",
                      _id_step(Scheme.DE_PATIENT_ID))


@_coherence("BENCH-XDS-CDA-TYPECODE", "DocumentEntry.typeCode is the CDA code",
            hint="copy ClinicalDocument/code @code and @codeSystem into typeCode")
def cda_type_code(check: XdsCheck) -> Iterator[Violation]:
    for entry, cda in _pairs(check):
        code = cda.find("h:code", _NS)
        if code is None or entry.type_code is None:
            continue
        expected = (code.get("code"), code.get("codeSystem"))
        if (entry.type_code.code, entry.type_code.scheme) != expected:
            yield _at(entry, f"typeCode {entry.type_code.code}^^{entry.type_code.scheme} differs from the CDA code "
                             f"{expected[0]}^^{expected[1]}{_cda_where(code)}", _class_step(Scheme.DE_TYPE_CODE))


@_coherence("BENCH-XDS-CDA-CONFIDENTIALITY", "the CDA confidentialityCode is among the DocumentEntry's",
            hint="keep the CDA confidentialityCode (N/R/V) as the HL7 confidentialityCode of the entry")
def cda_confidentiality(check: XdsCheck) -> Iterator[Violation]:
    for entry, cda in _pairs(check):
        code = cda.find("h:confidentialityCode", _NS)
        if code is None or code.get("code") is None:
            continue
        codes = {(c.code, c.scheme) for c in entry.confidentiality_codes}
        if (code.get("code"), code.get("codeSystem", Oid.HL7_CONFIDENTIALITY)) not in codes:
            yield _at(entry, f"the CDA confidentialityCode {code.get('code')!r} is not among the entry's "
                             f"{sorted(c for c, _ in codes)}{_cda_where(code)}",
                      _class_step(Scheme.DE_CONFIDENTIALITY_CODE))


@_coherence("BENCH-XDS-CDA-CREATIONTIME", "creationTime is the CDA effectiveTime in UTC",
            hint="convert ClinicalDocument/effectiveTime to UTC: 20240221133445+0100 → 20240221123445")
def cda_creation_time(check: XdsCheck) -> Iterator[Violation]:
    for entry, cda in _pairs(check):
        time = cda.find("h:effectiveTime", _NS)
        if time is None or not time.get("value") or not entry.creation_time:
            continue
        expected = hl7_ts_to_utc(time.get("value", ""))
        width = min(len(expected), len(entry.creation_time))
        if entry.creation_time[:width] != expected[:width]:
            local = " (the local time was sent instead of UTC?)" if entry.creation_time.startswith(
                time.get("value", "")[:len(entry.creation_time)]) else ""
            yield _at(entry, f"creationTime {entry.creation_time} differs from the CDA effectiveTime "
                             f"{time.get('value')} = {expected} UTC{local}{_cda_where(time)}", _slot_step("creationTime"))


@_coherence("BENCH-XDS-CDA-LANGUAGE", "languageCode is the CDA languageCode", Severity.WARNING,
            hint="copy ClinicalDocument/languageCode/@code")
def cda_language(check: XdsCheck) -> Iterator[Violation]:
    for entry, cda in _pairs(check):
        language = cda.find("h:languageCode", _NS)
        if language is not None and entry.language_code and language.get("code") != entry.language_code:
            yield _at(entry, f"languageCode {entry.language_code!r} differs from the CDA's {language.get('code')!r}"
                             f"{_cda_where(language)}", _slot_step("languageCode"))


@_coherence("BENCH-XDS-CDA-AUTHOR", "each authorPerson is an author of the CDA", Severity.WARNING,
            hint="describe the CDA author/assignedAuthor (id and name) in the entry's author classification")
def cda_author(check: XdsCheck) -> Iterator[Violation]:
    for entry, cda in _pairs(check):
        authors = {(i.get("extension", ""), i.get("root", ""))
                   for i in cda.findall("h:author/h:assignedAuthor/h:id", _NS)}
        for author in entry.authors:
            if not author.person:
                continue
            try:
                person = Xcn.parse(author.person)
            except Hl7V2Error:
                continue  # BENCH-XDS-XCN reports it
            if authors and (person.id, person.assigning_authority.universal_id) not in authors:
                yield _at(entry, f"authorPerson {person.id} ({person.assigning_authority.universal_id}) is not an "
                                 "author of the CDA", _class_step(Scheme.DE_AUTHOR))


@_coherence("BENCH-XDS-CDA-RPLC", "an XDS RPLC association and the CDA relatedDocument RPLC go together",
            hint="a replacement (TD2.1b) carries both ClinicalDocument/relatedDocument[@typeCode='RPLC'] (old uniqueId) "
                 "and an RPLC association from the new entry to the old entryUUID")
def cda_replacement(check: XdsCheck) -> Iterator[Violation]:
    metadata = check.metadata
    if metadata is None:
        return
    replacing = {a.source for a in metadata.associations_of_type(AssociationType.RPLC)}
    for entry, cda in _pairs(check):
        related = cda.find("h:relatedDocument[@typeCode='RPLC']", _NS)
        if entry.id in replacing and related is None:
            yield _at(entry, "is the source of an RPLC association but its CDA has no relatedDocument typeCode='RPLC'")
        elif entry.id not in replacing and related is not None:
            yield _at(entry, f"its CDA replaces a document (relatedDocument RPLC{_cda_where(related)}) but no RPLC "
                             "association says which entry")
