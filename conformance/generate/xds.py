"""TD2.1 submissions (ITI-41) built with the XDS builders, their strategies, and one-rule mutations.

A document is arbitrary bytes, or a generated CI-SIS CDA (:mod:`conformance.generate.cda`) whose metadata is
derived from its header (:func:`document_entries_for`), as an LPS derives it (docs/cda-cisis.md §11).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Literal

from hypothesis import strategies as st

from conformance.generate.cda import (
    DOCUMENT_TYPES,
    FACILITIES,
    PRACTICES,
    CdaHeader,
    cda_authors,
    cda_headers,
    next_version,
    patients_for,
    render,
)
from conformance.identity import Ins, make_nir, new_urn_uuid
from conformance.identity.hl7v2 import escape
from conformance.xds import Author, Code, DocumentEntry, ProvideAndRegisterRequest
from conformance.xds.builders import (
    SignatureHook,
    new_oid,
    new_submission_set,
    placeholder_signature,
    replacement_association,
    submission,
    utc_now_dtm,
    xcn,
    xon,
)

SOURCE_OID = "1.2.250.1.999.42"  # source OID of the bench acting as an LPS
VISIBILITY_SCHEME = "1.2.250.1.213.1.1.4.13"
NORMAL = Code("N", "2.16.840.1.113883.5.25", "Normal")
MASQUE_PS = Code("MASQUE_PS", VISIBILITY_SCHEME, "Masqué aux professionnels de santé")
CONTENT_TYPE = Code("04", "1.2.250.1.213.1.1.4.12", "Hospitalisation de jour")
FORMAT_PDF = Code("urn:ihe:iti:xds-sd:pdf:2008", "1.3.6.1.4.1.19376.1.2.3", "PDF")
FACILITY, PRACTICE = FACILITIES[1], PRACTICES[0]  # SA07 "Cabinet individuel", AMBULATOIRE


@dataclass(frozen=True, slots=True)
class DocumentSpec:
    """What varies between fed documents: bytes, kind, title and whether it is masked to professionals.

    ``cda`` is the header of a generated CDA document (``content`` is then its rendering): the metadata
    are derived from it instead of the bench's defaults."""

    content: bytes
    kind: int = 0  # index in DOCUMENT_TYPES
    title: str = "Compte rendu de consultation"
    masked: bool = False
    cda: CdaHeader | None = None


def cda_document(header: CdaHeader, masked: bool = False) -> DocumentSpec:
    return DocumentSpec(render(header), DOCUMENT_TYPES.index(header.document_type), header.title, masked, header)


@dataclass(frozen=True, slots=True)
class SubmissionSpec:
    """A one-document TD2.1 submission for ``patient`` authored by ``author_id`` of ``structure_id``.

    The uniqueId of a CDA document is its ``ClinicalDocument/id`` (whatever ``unique_id`` says)."""

    patient: Ins
    document: DocumentSpec
    author_id: str
    structure_id: str
    unique_id: str = field(default_factory=lambda: new_oid(SOURCE_OID))
    replaces: str | None = None  # entryUUID of the replaced entry (TD2.1b)

    def __post_init__(self) -> None:
        if self.document.cda is not None:
            object.__setattr__(self, "unique_id", self.document.cda.document_id)


def author(person_id: str, structure_id: str) -> Author:
    return Author(person=xcn(person_id, "LIBRE", "MAX"), institutions=[xon("CABINET TEST", structure_id)],
                  roles=[], specialties=["G15_10/SM26^Médecin^1.2.250.1.213.1.1.4.5"])


def _coded(code: Code) -> str:
    """authorSpecialty / authorRole: ``code^display^codingScheme``."""
    return f"{code.code}^{code.display or ''}^{code.scheme or ''}"


def document_entries_for(header: CdaHeader, content: bytes | None = None, *, entry_id: str = "doc1",
                         masked: bool = False) -> DocumentEntry:
    """The DocumentEntry describing the CDA of ``header`` (``content``: its bytes, rendered when omitted), field
    by field from the header as docs/cda-cisis.md §11 maps it; ``masked`` adds MASQUE_PS to the CDA
    confidentiality."""
    content = render(header) if content is None else content
    patient = header.patient
    authors = [Author(person=xcn(a.person.idnat, a.person.family_name, a.person.given_name),
                      institutions=[xon(a.organisation.name, a.organisation.id)],
                      roles=[_coded(a.function)] if a.function else [],
                      specialties=[_coded(Code(a.person.author_specialty_code, a.person.specialty_system,
                                               a.person.specialty_display))])
               for a in header.authors]
    legal = header.legal_authenticator
    return DocumentEntry(
        id=entry_id, mime_type="text/xml", unique_id=header.document_id, patient_id=header.ins.cx(),
        title=header.title, class_code=header.document_type.class_code, type_code=header.document_type.type_code,
        format_code=header.format_code, healthcare_facility_type_code=header.facility,
        practice_setting_code=header.practice,
        confidentiality_codes=[header.confidentiality_code, *([MASQUE_PS] if masked else [])],
        authors=authors, creation_time=utc_now_dtm(header.effective_time),
        service_start_time=utc_now_dtm(header.service_start), service_stop_time=utc_now_dtm(header.service_stop),
        language_code=header.language, legal_authenticator=xcn(legal.idnat, legal.family_name, legal.given_name),
        source_patient_id=header.ins.cx(),
        source_patient_info=[f"PID-3|{header.ins.cx()}",
                             f"PID-5|{escape(patient.birth_family_name)}^{escape(patient.first_given_name)}^^^^^L",
                             f"PID-7|{patient.hl7_birth_time}", f"PID-8|{patient.sex}"],
        hash=hashlib.sha1(content).hexdigest(), size=str(len(content)))


def document_entry(spec: SubmissionSpec) -> DocumentEntry:
    """The DocumentEntry of the spec's document: hash and size computed from its bytes (as an LPS should)."""
    content = spec.document.content
    if spec.document.cda is not None:
        if spec.document.cda.ins != spec.patient:
            raise ValueError(f"the CDA is about {spec.document.cda.ins.cx()}, the submission about "
                             f"{spec.patient.cx()}: draw the document with document_specs(kind='cda', patient=…)")
        return document_entries_for(spec.document.cda, content, masked=spec.document.masked)
    now = utc_now_dtm()
    writer = author(spec.author_id, spec.structure_id)
    document_type = DOCUMENT_TYPES[spec.document.kind % len(DOCUMENT_TYPES)]
    return DocumentEntry(
        id="doc1", mime_type="text/xml", unique_id=spec.unique_id, patient_id=spec.patient.cx(),
        title=spec.document.title, class_code=document_type.class_code, type_code=document_type.type_code,
        format_code=FORMAT_PDF, healthcare_facility_type_code=FACILITY, practice_setting_code=PRACTICE,
        confidentiality_codes=[NORMAL, MASQUE_PS] if spec.document.masked else [NORMAL], authors=[writer],
        creation_time=now, service_start_time=now, service_stop_time=now, language_code="fr-FR",
        legal_authenticator=xcn(spec.author_id, "LIBRE", "MAX"), source_patient_id=spec.patient.cx(),
        hash=hashlib.sha1(content).hexdigest(), size=str(len(content)))


def build_submission(spec: SubmissionSpec, signer: SignatureHook | None = None,
                     entry: DocumentEntry | None = None) -> ProvideAndRegisterRequest:
    """The TD2.1 (or TD2.1b when ``spec.replaces``) request; ``entry`` overrides the DocumentEntry.

    The SubmissionSet of a CDA document has the document's first author (docs/cda-cisis.md §11)."""
    derived = document_entry(spec)
    entry = entry or derived
    submitter = derived.authors[0] if spec.document.cda else author(spec.author_id, spec.structure_id)
    submission_set = new_submission_set(patient_id=spec.patient.cx(), author=submitter,
                                        content_type_code=CONTENT_TYPE, source_id=SOURCE_OID)
    request = submission(submission_set, [(entry, spec.document.content)], signer=signer or placeholder_signature)
    if spec.replaces:
        request.metadata.associations.append(replacement_association(entry.id, spec.replaces))
    return request


# --- strategies -----------------------------------------------------------------------------------------------

def document_contents(max_size: int = 2048) -> st.SearchStrategy[bytes]:
    """Document bytes: a small CDA-like XML with arbitrary text, or arbitrary binary (the repository must not
    care: hash and size are of the bytes)."""
    text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=200)
    xml = text.map(lambda t: ("<ClinicalDocument xmlns='urn:hl7-org:v3'><title>"
                              + t.replace("&", "&amp;").replace("<", "&lt;") + "</title></ClinicalDocument>").encode())
    return st.one_of(xml, st.binary(min_size=1, max_size=max_size))


def document_specs(*, masked: st.SearchStrategy[bool] | None = None, kind: Literal["bytes", "cda"] = "bytes",
                   patient: Ins | None = None, author_id: str | None = None,
                   structure_id: str | None = None) -> st.SearchStrategy[DocumentSpec]:
    """Documents to feed: arbitrary bytes, or (``kind="cda"``) a valid CI-SIS CDA whose metadata follow its
    header. A CDA is about ``patient`` and written by ``author_id`` of ``structure_id`` when given (the DMP
    patient and the VIHF subject of the submission), by synthetic parties otherwise; it replaces nothing
    (chain versions with :func:`replacement_chain`)."""
    masked = masked if masked is not None else st.booleans()
    if kind == "cda":
        writers = st.tuples(cda_authors(author_id, structure_id)) if author_id or structure_id else None
        headers = cda_headers(patient=patients_for(patient) if patient else None, authors=writers,
                              replacing=st.just(False))
        return st.builds(cda_document, headers, masked)
    titles = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=60)
    return st.builds(DocumentSpec, content=document_contents(), kind=st.integers(0, len(DOCUMENT_TYPES) - 1),
                     title=titles.filter(lambda t: t.strip() == t and t != ""), masked=masked)


def replacement_chain(versions: Sequence[DocumentSpec]) -> list[DocumentSpec]:
    """``versions`` as successive versions of one document: each CDA keeps the first one's setId and names the
    previous version in relatedDocument RPLC (other documents are kept as they are)."""
    chain: list[DocumentSpec] = []
    for version in versions:
        previous = chain[-1].cda if chain else None
        if previous is not None and version.cda is not None:
            version = cda_document(next_version(previous, version.cda), version.masked)
        chain.append(version)
    return chain


@st.composite
def submissions_from_cda(draw: st.DrawFn, headers: st.SearchStrategy[CdaHeader] | None = None,
                         masked: st.SearchStrategy[bool] | None = None) -> SubmissionSpec:
    """A TD2.1 submission of a generated CDA, submitted by its first author: a replacing CDA (RPLC) comes with
    the RPLC association to the replaced entry (a fresh entryUUID: the registry decides whether it exists)."""
    header = draw(headers if headers is not None else cda_headers())
    first = header.authors[0]
    return SubmissionSpec(header.ins, cda_document(header, draw(masked if masked is not None else st.booleans())), first.person.idnat,
                          first.organisation.id, replaces=new_urn_uuid() if header.replaces else None)


# --- mutations: break exactly one rule, and know which -----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Mutation:
    """A submission that breaks one rule: ``expected`` is the XDS error code the DMP must answer."""

    name: str
    rule: str  # the requirement / rule broken
    expected: str
    apply: Callable[[SubmissionSpec, DocumentEntry], tuple[SubmissionSpec, DocumentEntry]]

    def build(self, spec: SubmissionSpec, signer: SignatureHook | None = None) -> ProvideAndRegisterRequest:
        spec, entry = self.apply(spec, document_entry(spec))
        return build_submission(spec, signer, entry)


def _wrong_hash(spec: SubmissionSpec, entry: DocumentEntry) -> tuple[SubmissionSpec, DocumentEntry]:
    return spec, replace(entry, hash=hashlib.sha1(spec.document.content + b"x").hexdigest())


def _wrong_size(spec: SubmissionSpec, entry: DocumentEntry) -> tuple[SubmissionSpec, DocumentEntry]:
    return spec, replace(entry, size=str(len(spec.document.content) + 1))


def _other_author(spec: SubmissionSpec, entry: DocumentEntry) -> tuple[SubmissionSpec, DocumentEntry]:
    other = author("899999999999", spec.structure_id)
    return spec, replace(entry, authors=[other], legal_authenticator=other.person)


MUTATIONS: Sequence[Mutation] = (
    Mutation("hash differs from the bytes", "BENCH-DMP-REJECT", "XDSRepositoryMetadataError", _wrong_hash),
    Mutation("size differs from the bytes", "BENCH-DMP-REJECT", "XDSRepositoryMetadataError", _wrong_size),
    Mutation("author is not the VIHF subject", "EX_2.1-1140", "XDSRepositoryMetadataError", _other_author),
)


def mutations() -> st.SearchStrategy[Mutation]:
    return st.sampled_from(list(MUTATIONS))


# --- CDA ↔ metadata mutations: one DocumentEntry field contradicts the CDA, one coherence rule says so ----------

@dataclass(frozen=True, slots=True)
class CoherenceMutation:
    """A DocumentEntry contradicting its CDA in one field: ``rule`` is the coherence rule (conformance.xds.coherence)
    that must report it, and the only one."""

    name: str
    rule: str
    field: str  # the DocumentEntry field changed
    apply: Callable[[CdaHeader, DocumentEntry], DocumentEntry]


def _other_type(header: CdaHeader, entry: DocumentEntry) -> DocumentEntry:
    other = next(t for t in DOCUMENT_TYPES if t.type_code.code != header.document_type.type_code.code)
    return replace(entry, type_code=other.type_code)


def _other_patient(header: CdaHeader, entry: DocumentEntry) -> DocumentEntry:
    nir = header.ins.nir  # the same person's traits with another order number: another valid INS
    other = make_nir(nir.sex_digit, int(nir.year), int(nir.month), nir.birth_place_code, int(nir.order) % 999 + 1)
    return replace(entry, patient_id=Ins(other, header.ins.oid).cx())


def _other_person(header: CdaHeader, entry: DocumentEntry) -> DocumentEntry:
    return replace(entry, authors=[replace(entry.authors[0], person=xcn("899999999999", "AUTRE", "AUTEUR")),
                                   *entry.authors[1:]])


def _other_confidentiality(header: CdaHeader, entry: DocumentEntry) -> DocumentEntry:
    other = replace(header, confidentiality="R" if header.confidentiality == "N" else "N")
    return replace(entry, confidentiality_codes=[other.confidentiality_code, *entry.confidentiality_codes[1:]])


def _creation_shifted(header: CdaHeader, entry: DocumentEntry) -> DocumentEntry:
    return replace(entry, creation_time=utc_now_dtm(header.effective_time + timedelta(hours=1)))


def _other_unique_id(header: CdaHeader, entry: DocumentEntry) -> DocumentEntry:
    return replace(entry, unique_id=header.document_id + ".1")


def _other_language(header: CdaHeader, entry: DocumentEntry) -> DocumentEntry:
    return replace(entry, language_code="en-GB" if header.language != "en-GB" else "fr-FR")


COHERENCE_MUTATIONS: Sequence[CoherenceMutation] = (
    CoherenceMutation("uniqueId is not the CDA id", "BENCH-XDS-CDA-UNIQUEID", "unique_id", _other_unique_id),
    CoherenceMutation("typeCode is not the CDA code", "BENCH-XDS-CDA-TYPECODE", "type_code", _other_type),
    CoherenceMutation("patientId is another INS", "BENCH-XDS-CDA-PATIENTID", "patient_id", _other_patient),
    CoherenceMutation("authorPerson is not a CDA author", "BENCH-XDS-CDA-AUTHOR", "authors", _other_person),
    CoherenceMutation("confidentialityCode is not the CDA's", "BENCH-XDS-CDA-CONFIDENTIALITY",
                      "confidentiality_codes", _other_confidentiality),
    CoherenceMutation("creationTime is not the CDA effectiveTime", "BENCH-XDS-CDA-CREATIONTIME", "creation_time",
                      _creation_shifted),
    CoherenceMutation("languageCode is not the CDA's", "BENCH-XDS-CDA-LANGUAGE", "language_code", _other_language),
)
