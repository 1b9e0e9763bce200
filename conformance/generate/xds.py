"""TD2.1 submissions (ITI-41) built with the XDS builders, their strategies, and one-rule mutations."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from hypothesis import strategies as st

from conformance.identity import Ins
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
# (classCode, typeCode) pairs of the DMP terminologies (JDV_J06 / JDV_J07)
CLASS_TYPE = [
    (Code("11", "1.2.250.1.213.1.1.4.1", "Compte rendu"),
     Code("11488-4", "2.16.840.1.113883.6.1", "Compte rendu de consultation")),
    (Code("10", "1.2.250.1.213.1.1.4.1", "Synthèse"),
     Code("34133-9", "2.16.840.1.113883.6.1", "Synthèse d'épisode de soins")),
    (Code("13", "1.2.250.1.213.1.1.4.1", "Prescription"),
     Code("57833-6", "2.16.840.1.113883.6.1", "Prescription de produits de santé")),
]
FACILITY = Code("SA07", "1.2.250.1.71.4.2.4", "Cabinet individuel")
PRACTICE = Code("ORG07", "1.2.250.1.213.1.1.4.9", "Généraliste")


@dataclass(frozen=True, slots=True)
class DocumentSpec:
    """What varies between fed documents: bytes, kind, title and whether it is masked to professionals."""

    content: bytes
    kind: int = 0  # index in CLASS_TYPE
    title: str = "Compte rendu de consultation"
    masked: bool = False


@dataclass(frozen=True, slots=True)
class SubmissionSpec:
    """A one-document TD2.1 submission for ``patient`` authored by ``author_id`` of ``structure_id``."""

    patient: Ins
    document: DocumentSpec
    author_id: str
    structure_id: str
    unique_id: str = field(default_factory=lambda: new_oid(SOURCE_OID))
    replaces: str | None = None  # entryUUID of the replaced entry (TD2.1b)


def author(person_id: str, structure_id: str) -> Author:
    return Author(person=xcn(person_id, "LIBRE", "MAX"), institutions=[xon("CABINET TEST", structure_id)],
                  roles=[], specialties=["G15_10/SM26^Médecin^1.2.250.1.213.1.1.4.5"])


def document_entry(spec: SubmissionSpec) -> DocumentEntry:
    """The DocumentEntry of the spec's document: hash and size computed from its bytes (as an LPS should)."""
    now = utc_now_dtm()
    writer = author(spec.author_id, spec.structure_id)
    class_code, type_code = CLASS_TYPE[spec.document.kind % len(CLASS_TYPE)]
    content = spec.document.content
    return DocumentEntry(
        id="doc1", mime_type="text/xml", unique_id=spec.unique_id, patient_id=spec.patient.cx(),
        title=spec.document.title, class_code=class_code, type_code=type_code, format_code=FORMAT_PDF,
        healthcare_facility_type_code=FACILITY, practice_setting_code=PRACTICE,
        confidentiality_codes=[NORMAL, MASQUE_PS] if spec.document.masked else [NORMAL], authors=[writer],
        creation_time=now, service_start_time=now, service_stop_time=now, language_code="fr-FR",
        legal_authenticator=xcn(spec.author_id, "LIBRE", "MAX"), source_patient_id=spec.patient.cx(),
        hash=hashlib.sha1(content).hexdigest(), size=str(len(content)))


def build_submission(spec: SubmissionSpec, signer: SignatureHook | None = None,
                     entry: DocumentEntry | None = None) -> ProvideAndRegisterRequest:
    """The TD2.1 (or TD2.1b when ``spec.replaces``) request; ``entry`` overrides the DocumentEntry."""
    entry = entry or document_entry(spec)
    submission_set = new_submission_set(patient_id=spec.patient.cx(), author=author(spec.author_id, spec.structure_id),
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


def document_specs(*, masked: st.SearchStrategy[bool] | None = None) -> st.SearchStrategy[DocumentSpec]:
    titles = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=60)
    return st.builds(DocumentSpec, content=document_contents(), kind=st.integers(0, len(CLASS_TYPE) - 1),
                     title=titles.filter(lambda t: t.strip() == t and t != ""),
                     masked=masked if masked is not None else st.booleans())


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
