"""Hypothesis strategies for small XDS models (shared by the round-trip and rule tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.xds import (
    Association,
    AssociationType,
    Author,
    Code,
    DocumentEntry,
    ExternalIdentifier,
    Folder,
    ObjectRef,
    RegistryObjectList,
    Slot,
    Status,
    SubmissionSet,
)

# XML-safe text from a small alphabet of the characters that matter (markup, HL7 v2 delimiters, accents,
# spaces): generation stays fast while every escaping path is exercised
text = st.text(st.sampled_from("aZ09 .-^&|~\\<>'\"éÉ€\t"), max_size=10)
opt_text = st.none() | text
ids = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}", fullmatch=True)
codes = st.builds(Code, text, opt_text, opt_text)
authors = st.builds(Author, opt_text, st.lists(text, max_size=2), st.lists(text, max_size=1),
                    st.lists(text, max_size=1), st.just([]))
slots = st.builds(Slot, st.from_regex(r"x[a-z]{1,6}", fullmatch=True), st.lists(text, max_size=2))
statuses = st.none() | st.sampled_from([Status.APPROVED, Status.DEPRECATED, Status.ARCHIVED, Status.DELETED])


@st.composite
def document_entries(draw: st.DrawFn) -> DocumentEntry:
    return DocumentEntry(
        id=draw(ids), lid=draw(st.none() | ids), status=draw(statuses), version=draw(st.none() | st.just("1")),
        mime_type=draw(opt_text), unique_id=draw(opt_text), patient_id=draw(opt_text), title=draw(opt_text),
        comments=draw(opt_text), class_code=draw(st.none() | codes), type_code=draw(st.none() | codes),
        format_code=draw(st.none() | codes), healthcare_facility_type_code=draw(st.none() | codes),
        practice_setting_code=draw(st.none() | codes), confidentiality_codes=draw(st.lists(codes, max_size=2)),
        event_codes=draw(st.lists(codes, max_size=1)), authors=draw(st.lists(authors, max_size=2)),
        creation_time=draw(opt_text), service_start_time=draw(opt_text), language_code=draw(opt_text),
        legal_authenticator=draw(opt_text), source_patient_id=draw(opt_text),
        source_patient_info=draw(st.lists(text, max_size=3)), hash=draw(opt_text), size=draw(opt_text),
        extra_slots=draw(st.lists(slots, max_size=2)),
        extra_external_identifiers=draw(st.lists(st.builds(ExternalIdentifier, st.just("urn:uuid:x"), text,
                                                           opt_text), max_size=1)),
    )


@st.composite
def submission_sets(draw: st.DrawFn) -> SubmissionSet:
    return SubmissionSet(
        id=draw(ids), unique_id=draw(opt_text), source_id=draw(opt_text), patient_id=draw(opt_text),
        submission_time=draw(opt_text), title=draw(opt_text), comments=draw(opt_text),
        content_type_code=draw(st.none() | codes), authors=draw(st.lists(authors, max_size=2)),
        intended_recipients=draw(st.lists(text, max_size=1)),
    )


folders = st.builds(Folder, id=ids, unique_id=opt_text, patient_id=opt_text, title=opt_text, comments=opt_text,
                    codes=st.lists(codes, max_size=2), last_update_time=opt_text, status=statuses)
object_refs = st.builds(ObjectRef, ids, st.none() | ids)

associations = st.builds(
    Association, id=ids, type=st.sampled_from(sorted({AssociationType.HAS_MEMBER, AssociationType.SIGNS,
                                                      AssociationType.RPLC})),
    source=ids, target=ids, extra_slots=st.lists(slots, max_size=2))

registry_object_lists = st.builds(
    RegistryObjectList, submission_sets=st.lists(submission_sets(), max_size=1),
    document_entries=st.lists(document_entries(), max_size=2), folders=st.lists(folders, max_size=1),
    associations=st.lists(associations, max_size=2), object_refs=st.lists(object_refs, max_size=1))
