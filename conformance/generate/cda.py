"""CI-SIS CDA headers and complete non-structured CDA documents, valid by construction.

:func:`cda_headers` draws a typed :class:`CdaHeader` (patient with a test INS whose sex and birth date agree
with the NIR, authors identified by RPPS in a structure identified by FINESS or SIRET, custodian, legal
authenticator, a JDV_J07 document type, N/R/V confidentiality, times, ids, an optional RPLC); :func:`render`
writes it as a *structuration minimale* document with a ``nonXMLBody`` (IHE XDS-SD, a base64 PDF or text), so
the CDA XSD and the five CI-SIS profils apply and no volet body is needed; :func:`cda_documents` draws the bytes.

The same header gives the XDS metadata of the document (:func:`conformance.generate.xds.document_entries_for`).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from hypothesis import strategies as st
from lxml import etree

from conformance.cda.rules.header import ANS_DOCUMENT_TYPES, CONFIDENTIALITY_SYSTEM, LOINC
from conformance.identity import (
    INS_NIR_TEST_OID,
    PS_IDNAT_ROOT,
    STRUCTURE_IDNAT_ROOT,
    Ins,
    StructureIdKind,
    parse_ps_idnat,
)
from conformance.identity.strategies import nirs, patients, professionals, structures
from conformance.identity.synthetic import Patient, Professional, Structure
from conformance.xds.builders import new_oid
from conformance.xds.model import Code
from conformance.xml.builder import hl7_element

DOCUMENT_ROOT = "1.2.250.1.999.77"  # root of the bench's generated document ids (a private test arc)
HL7_FRANCE_TEMPLATE = "2.16.840.1.113883.2.8.2.1"
CISIS_TEMPLATE = "1.2.250.1.213.1.1.1.1"
XDS_SD_TEMPLATE = "1.3.6.1.4.1.19376.1.2.20"  # non-structured body: no volet templateId, no volet schematron
TEMPLATE_IDS = (HL7_FRANCE_TEMPLATE, CISIS_TEMPLATE, XDS_SD_TEMPLATE)
CLASS_SYSTEM = "1.2.250.1.213.1.1.4.1"  # TRE_A03, the DMP classCode (JDV_J57)
CONFIDENTIALITY = {"N": "Normal", "R": "Restreint", "V": "Très restreint"}
GENDER_SYSTEM = "2.16.840.1.113883.5.1"
GENDER = {"M": "Masculin", "F": "Féminin"}
FORMAT_SYSTEM = "1.3.6.1.4.1.19376.1.2.3"
# formatCode of a non-structured document follows the body's media type (docs/cda-cisis.md §4, H2IG)
FORMATS = {"application/pdf": Code("urn:ihe:iti:xds-sd:pdf:2008", FORMAT_SYSTEM, "Document à corps non structuré en PDF"),
           "text/plain": Code("urn:ihe:iti:xds-sd:text:2008", FORMAT_SYSTEM,
                              "Document à corps non structuré en texte brut")}


@dataclass(frozen=True, slots=True)
class DocumentType:
    """A JDV_J07 document type code and the DMP class (JDV_J57) it is filed under."""

    type_code: Code
    class_code: Code


def _type(code: str, system: str, display: str, class_code: str, class_display: str) -> DocumentType:
    return DocumentType(Code(code, system, display), Code(class_code, CLASS_SYSTEM, class_display))


# JDV_J07 codes that route to no volet schematron when the body is non-structured (only 85208-7, TLM-CR, does:
# profiles/cda/volet-routing.yaml); the class is the natural JDV_J57 one (the ANS table ASS_X04 is not public).
DOCUMENT_TYPES: tuple[DocumentType, ...] = (
    _type("11488-4", LOINC, "CR ou fiche de consultation ou de visite", "10", "Compte rendu"),
    _type("11502-2", LOINC, "CR d'examens biologiques", "10", "Compte rendu"),
    _type("34874-8", LOINC, "CR opératoire", "10", "Compte rendu"),
    _type("18748-4", LOINC, "CR d'imagerie médicale", "31", "Imagerie"),
    _type("34133-9", LOINC, "Synthèse d'épisode de soins", "11", "Synthèse"),
    _type("SYNTH", ANS_DOCUMENT_TYPES, "Synthèse", "11", "Synthèse"),
    _type("57833-6", LOINC, "Prescription de produits de santé", "42", "Prescription"),
    _type("60593-1", LOINC, "Dispensation médicamenteuse", "43", "Dispensation"),
    _type("18776-5", LOINC, "Plan personnalisé de soins", "44", "Plan de soins"),
    _type("89601-9", LOINC, "Certificat médical", "52", "Certificat"),
)
# JDV_J02 (healthCareFacility/code → healthcareFacilityTypeCode) and JDV_J04 (standardIndustryClassCode →
# practiceSettingCode)
FACILITIES = (Code("SA01", "1.2.250.1.71.4.2.4", "Etablissement public de santé"),
              Code("SA07", "1.2.250.1.71.4.2.4", "Cabinet individuel"),
              Code("SA08", "1.2.250.1.71.4.2.4", "Cabinet de groupe"))
FUNCTIONS = (Code("ATTPHYS", "2.16.840.1.113883.5.88", "Référent - Responsable du patient dans la structure de soins"),
             Code("DISPHYS", "2.16.840.1.113883.5.88", "Responsable de la sortie"),
             Code("PCP", "2.16.840.1.113883.5.88", "Médecin traitant"))
PRACTICES = (Code("AMBULATOIRE", "1.2.250.1.213.1.1.4.9", "Ambulatoire"),
             Code("ETABLISSEMENT", "1.2.250.1.213.1.1.4.9", "Etablissement de santé"))
_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass(frozen=True, slots=True)
class Organisation:
    """A structure and the idNat it is identified by: 1 + FINESS or 3 + SIRET (root 1.2.250.1.71.4.2.2)."""

    structure: Structure
    id: str

    @property
    def name(self) -> str:
        return self.structure.name


@dataclass(frozen=True, slots=True)
class CdaAuthor:
    """An author: the professional (idNat 8 + RPPS), the organisation it writes for and, optionally, its
    function (JDV_J47, the XDS authorRole)."""

    person: Professional
    organisation: Organisation
    function: Code | None = None


@dataclass(frozen=True, slots=True)
class CdaHeader:
    """Everything a CI-SIS non-structured document says about itself (docs/cda-cisis.md §2–§3)."""

    document_id: str  # ClinicalDocument/id/@root: the XDS uniqueId
    set_id: str
    version: int
    document_type: DocumentType
    title: str
    effective_time: datetime  # aware: written with its offset, UTC in XDS
    confidentiality: str  # N, R or V
    patient: Patient
    authors: tuple[CdaAuthor, ...]
    custodian: Organisation
    legal_authenticator: Professional
    service_start: datetime
    service_stop: datetime
    facility: Code
    practice: Code
    media_type: str  # of the nonXMLBody
    content: bytes  # the embedded document (base64 in the CDA)
    language: str = "fr-FR"
    replaces: str | None = None  # id of the replaced version (relatedDocument RPLC)

    @property
    def ins(self) -> Ins:
        return self.patient.ins

    @property
    def confidentiality_code(self) -> Code:
        return Code(self.confidentiality, CONFIDENTIALITY_SYSTEM, CONFIDENTIALITY[self.confidentiality])

    @property
    def format_code(self) -> Code:
        return FORMATS[self.media_type]


def hl7_ts(moment: datetime) -> str:
    """HL7 v3 TS with seconds and offset: ``20240221133445+0100``."""
    return moment.strftime("%Y%m%d%H%M%S%z")


# --- rendering ------------------------------------------------------------------------------------------------

def _code(parent: etree._Element, local: str, code: Code) -> etree._Element:
    return hl7_element(parent, local, code=code.code, codeSystem=code.scheme or "", displayName=code.display or "")


def _organisation(parent: etree._Element, local: str, organisation: Organisation) -> etree._Element:
    element = hl7_element(parent, local)
    hl7_element(element, "id", root=STRUCTURE_IDNAT_ROOT, extension=organisation.id)
    hl7_element(element, "name", organisation.name)
    return element


def _person(parent: etree._Element, local: str, person: Professional) -> None:
    name = hl7_element(hl7_element(parent, local), "name")
    hl7_element(name, "given", person.given_name)
    hl7_element(name, "family", person.family_name)


def _professional(parent: etree._Element, local: str, person: Professional) -> etree._Element:
    """``assignedAuthor`` / ``assignedEntity``: idNat PS, JDV_J01 specialty, name."""
    entity = hl7_element(parent, local)
    hl7_element(entity, "id", root=PS_IDNAT_ROOT, extension=person.idnat)
    _code(entity, "code", Code(person.author_specialty_code, person.specialty_system, person.specialty_display))
    _person(entity, "assignedPerson", person)
    return entity


def _record_target(root: etree._Element, patient: Patient) -> None:
    role = hl7_element(hl7_element(root, "recordTarget"), "patientRole")
    hl7_element(role, "id", root=patient.ins.oid, extension=patient.nir)
    person = hl7_element(role, "patient")
    name = hl7_element(person, "name")
    hl7_element(name, "given", patient.first_given_name, qualifier="BR")  # INS traits (StrucMin)
    hl7_element(name, "given", " ".join(patient.birth_given_names))
    hl7_element(name, "family", patient.birth_family_name, qualifier="BR")
    hl7_element(person, "administrativeGenderCode", code=patient.sex, codeSystem=GENDER_SYSTEM,
                displayName=GENDER[patient.sex])
    hl7_element(person, "birthTime", value=patient.hl7_birth_time)
    hl7_element(hl7_element(hl7_element(hl7_element(person, "birthplace"), "place"), "addr"), "county",
                patient.birth_place_code)


def render_tree(header: CdaHeader) -> etree._ElementTree:
    """The ``ClinicalDocument`` of ``header`` in CDA R2 element order."""
    root = hl7_element(None, "ClinicalDocument")
    hl7_element(root, "realmCode", code="FR")
    hl7_element(root, "typeId", root="2.16.840.1.113883.1.3", extension="POCD_HD000040")
    for template in TEMPLATE_IDS:
        hl7_element(root, "templateId", root=template)
    hl7_element(root, "id", root=header.document_id)
    _code(root, "code", header.document_type.type_code)
    hl7_element(root, "title", header.title)
    signed = hl7_ts(header.effective_time)
    hl7_element(root, "effectiveTime", value=signed)
    _code(root, "confidentialityCode", header.confidentiality_code)
    hl7_element(root, "languageCode", code=header.language)
    hl7_element(root, "setId", root=header.set_id)
    hl7_element(root, "versionNumber", value=str(header.version))
    _record_target(root, header.patient)
    for author in header.authors:
        element = hl7_element(root, "author")
        if author.function is not None:
            _code(element, "functionCode", author.function)
        hl7_element(element, "time", value=signed)
        assigned = _professional(element, "assignedAuthor", author.person)
        _organisation(assigned, "representedOrganization", author.organisation)
    custodian = hl7_element(hl7_element(root, "custodian"), "assignedCustodian")
    _organisation(custodian, "representedCustodianOrganization", header.custodian)
    legal = hl7_element(root, "legalAuthenticator")
    hl7_element(legal, "time", value=signed)
    hl7_element(legal, "signatureCode", code="S")
    entity = hl7_element(legal, "assignedEntity")
    hl7_element(entity, "id", root=PS_IDNAT_ROOT, extension=header.legal_authenticator.idnat)
    _person(entity, "assignedPerson", header.legal_authenticator)
    _service_event(root, header)
    if header.replaces:
        parent = hl7_element(hl7_element(root, "relatedDocument", typeCode="RPLC"), "parentDocument")
        hl7_element(parent, "id", root=header.replaces)
    encounter = hl7_element(hl7_element(root, "componentOf"), "encompassingEncounter")
    hl7_element(hl7_element(encounter, "effectiveTime"), "low", value=hl7_ts(header.service_start))
    _code(hl7_element(hl7_element(encounter, "location"), "healthCareFacility"), "code", header.facility)
    body = hl7_element(hl7_element(root, "component"), "nonXMLBody")
    hl7_element(body, "text", base64.b64encode(header.content).decode("ascii"), mediaType=header.media_type,
                representation="B64")
    return etree.ElementTree(root)


def _service_event(root: etree._Element, header: CdaHeader) -> None:
    """documentationOf/serviceEvent of the main act: its times and the first author as performer (StrucMin)."""
    event = hl7_element(hl7_element(root, "documentationOf"), "serviceEvent")
    times = hl7_element(event, "effectiveTime")
    hl7_element(times, "low", value=hl7_ts(header.service_start))
    hl7_element(times, "high", value=hl7_ts(header.service_stop))
    first = header.authors[0]
    entity = _professional(hl7_element(event, "performer", typeCode="PRF"), "assignedEntity", first.person)
    organisation = _organisation(entity, "representedOrganization", first.organisation)
    _code(organisation, "standardIndustryClassCode", header.practice)


def render(header: CdaHeader) -> bytes:
    """The document's bytes (UTF-8 with an XML declaration), as an LPS sends them to the DMP."""
    return etree.tostring(render_tree(header), xml_declaration=True, encoding="UTF-8")


# --- strategies -------------------------------------------------------------------------------------------------

TIME_ZONES = (timezone(timedelta(hours=1)), timezone(timedelta(hours=2)), UTC)
FIRST_DAY = date(2015, 1, 1)
LAST_DAY = date(2025, 12, 31)  # never in the future: a creationTime after the submission is suspicious
_TEXT = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp"))


def bodies() -> st.SearchStrategy[tuple[str, bytes]]:
    """``(mediaType, bytes)`` of a non-structured body: a small PDF or UTF-8 text."""
    text = st.text(_TEXT, min_size=1, max_size=200).map(lambda t: ("text/plain", t.encode()))
    pdf = st.binary(max_size=64).map(lambda extra: ("application/pdf", _PDF + extra))
    return st.one_of(pdf, text)


def titles(document_type: DocumentType) -> st.SearchStrategy[str]:
    """The type's display name or free text (non-empty, no surrounding spaces: BENCH-CDA-TITLE)."""
    free = st.text(_TEXT, min_size=1, max_size=60).map(str.strip).filter(bool)
    return st.one_of(st.just(document_type.type_code.display or ""), free)


def organisations(structure_id: str | None = None) -> st.SearchStrategy[Organisation]:
    """A synthetic structure identified by its FINESS or its SIRET idNat, or by ``structure_id``."""
    if structure_id is not None:
        return structures().map(lambda s: Organisation(s, structure_id))
    return structures().flatmap(lambda s: st.sampled_from(
        [Organisation(s, s.idnat), Organisation(s, StructureIdKind.SIRET.value + s.siret)]))


def cda_authors(person_id: str | None = None, structure_id: str | None = None) -> st.SearchStrategy[CdaAuthor]:
    """A synthetic physician of a synthetic organisation; ``person_id`` (an idNat 8 + RPPS, e.g. the VIHF
    subject) and ``structure_id`` fix their identifiers."""
    people = professionals()
    if person_id is not None:
        rpps = parse_ps_idnat(person_id).rpps
        if rpps is None:
            raise ValueError(f"{person_id!r} is not an idNat 8 + RPPS: a CDA author is identified by its RPPS")
        people = people.map(lambda p: replace(p, rpps=rpps))
    return st.builds(CdaAuthor, people, organisations(structure_id), st.none() | st.sampled_from(FUNCTIONS))


@st.composite
def patients_for(draw: st.DrawFn, ins: Ins) -> Patient:
    """A synthetic patient carrying ``ins``, its sex, birth year/month and birth place taken from the NIR."""
    nir = ins.nir
    year = 1900 + int(nir.year)
    year += 100 if year + 100 <= LAST_DAY.year else 0
    month = int(nir.month) if 1 <= int(nir.month) <= 12 else draw(st.integers(1, 12))
    born = date(year, month, draw(st.integers(1, 28)))
    person = draw(patients())
    return replace(person, ins=ins, sex=nir.sex, birth_date=born, birth_place_code=nir.birth_place_code)


def cda_patients() -> st.SearchStrategy[Patient]:
    """Synthetic patients, and patients whose traits follow any NIR shape (provisional, unknown birth month,
    Corsica, overseas, born abroad), as :func:`patients_for` gives them."""
    return st.one_of(patients(), nirs().flatmap(lambda nir: patients_for(Ins(nir, INS_NIR_TEST_OID))))


@st.composite
def cda_headers(draw: st.DrawFn, *, patient: st.SearchStrategy[Patient] | None = None,
                authors: st.SearchStrategy[Sequence[CdaAuthor]] | None = None,
                document_types: Sequence[DocumentType] = DOCUMENT_TYPES,
                replacing: st.SearchStrategy[bool] | None = None) -> CdaHeader:
    """A CI-SIS header; ``patient``/``authors`` fix the parties (e.g. :func:`patients_for` a DMP patient,
    :func:`cda_authors` of the VIHF subject), ``replacing`` whether it replaces a previous version (RPLC).

    Document ids are fresh OIDs (not drawn), so that documents fed to one DMP never collide."""
    person = draw(patient if patient is not None else cda_patients())
    writers = tuple(draw(authors if authors is not None else st.lists(cda_authors(), min_size=1, max_size=2)))
    document_type = draw(st.sampled_from(list(document_types)))
    first_day = max(FIRST_DAY, person.birth_date + timedelta(days=1))
    local = draw(st.datetimes(datetime.combine(first_day, time()), datetime.combine(LAST_DAY, time())))
    effective = local.replace(microsecond=0, tzinfo=draw(st.sampled_from(TIME_ZONES)))
    start = effective - timedelta(minutes=draw(st.integers(0, 3 * 24 * 60)))
    stop = start + timedelta(seconds=draw(st.integers(0, int((effective - start).total_seconds()))))
    media_type, content = draw(bodies())
    replaces = new_oid(DOCUMENT_ROOT) if draw(replacing if replacing is not None else st.booleans()) else None
    document_id = new_oid(DOCUMENT_ROOT)
    legal = draw(st.one_of(st.just(writers[0].person), professionals()))
    return CdaHeader(
        document_id=document_id, set_id=new_oid(DOCUMENT_ROOT) if replaces else document_id,
        version=2 if replaces else 1, document_type=document_type, title=draw(titles(document_type)),
        effective_time=effective, confidentiality=draw(st.sampled_from(sorted(CONFIDENTIALITY))), patient=person,
        authors=writers, custodian=writers[0].organisation, legal_authenticator=legal, service_start=start,
        service_stop=stop, facility=draw(st.sampled_from(FACILITIES)), practice=draw(st.sampled_from(PRACTICES)),
        media_type=media_type, content=content, replaces=replaces)


def next_version(previous: CdaHeader, new: CdaHeader) -> CdaHeader:
    """``new`` as the next version of ``previous``: same set, version + 1, relatedDocument RPLC to it."""
    return replace(new, set_id=previous.set_id, version=previous.version + 1, replaces=previous.document_id)


def cda_documents(**options: Any) -> st.SearchStrategy[bytes]:
    """Rendered documents of :func:`cda_headers` (same keyword arguments)."""
    return cda_headers(**options).map(render)

