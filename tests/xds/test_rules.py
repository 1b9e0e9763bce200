"""Every ``xds`` rule: valid messages pass all rules; one mutation per rule makes that rule fire."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

import conformance.xds.rules  # noqa: F401  (registers the rules)
from conformance.findings import Finding, rules
from conformance.xds import (
    AdhocQueryResponse,
    AssociationType,
    Classification,
    Code,
    DocumentRequest,
    ObjectType,
    Oid,
    ProvideAndRegisterRequest,
    RegistryError,
    RegistryObjectList,
    RegistryResponse,
    ResponseStatus,
    RetrievedDocument,
    RetrieveDocumentSetRequest,
    RetrieveDocumentSetResponse,
    Slot,
    Status,
    SubmitObjectsRequest,
    builders,
)
from conformance.xds.constants import WRONG_FORMAT_CODE_SCHEME
from conformance.xds.queries import find_documents
from conformance.xds.rules import XdsCheck, cx_problem, dtm_problem

from .samples import CDA, PATIENT_ID, replacement_submission, sample_submission

ENTRY_UUID = "urn:uuid:3f2504e0-4f89-11d3-9a0c-0305e82c3301"
OTHER_PATIENT = "184037645108996^^^&1.2.250.1.213.1.4.10&ISO^NH"


def findings(body: object, production: bool = False) -> list[Finding]:
    return rules.run("xds", XdsCheck(body, production=production))  # type: ignore[arg-type]


def registry_response_objects() -> RegistryObjectList:
    """What a registry returns for the sample: entryUUIDs, lid, status and registry slots."""
    metadata = sample_submission().metadata
    entries = []
    for index, entry in enumerate(metadata.document_entries):
        uuid = f"urn:uuid:00000000-0000-4000-8000-00000000000{index}"
        entries.append(replace(entry, id=uuid, lid=uuid, status=Status.APPROVED, version="1", size="10",
                               hash="a" * 40, repository_unique_id=Oid.DMP_REPOSITORY))
    return RegistryObjectList(document_entries=entries)


def metadata_update() -> SubmitObjectsRequest:
    """TD3.3a: a new version of an entry (same lid), masked to professionals, with PreviousVersion."""
    request = sample_submission()
    entry = request.metadata.document_entries[0]
    masked = replace(entry, lid=ENTRY_UUID, confidentiality_codes=[
        *entry.confidentiality_codes, Code("MASQUE_PS", Oid.TRE_A07_VISIBILITY, "Masqué aux professionnels de santé")])
    sset = request.metadata.submission_set
    assert sset is not None
    return builders.metadata_update(sset, masked, "1")


def valid_bodies() -> dict[str, object]:
    sset = sample_submission().metadata.submission_set
    assert sset is not None
    return {
        "TD2.1 submission": sample_submission(),
        "TD2.1b replacement": replacement_submission(),
        "TD2.1 with visibility codes": sample_submission(
            Code("MASQUE_PS", Oid.TRE_A07_VISIBILITY, "Masqué aux professionnels de santé"),
            Code("INVISIBLE_PATIENT", Oid.TRE_A07_VISIBILITY, "Non visible par le patient")),
        "TD3.1 FindDocuments": find_documents(PATIENT_ID),
        "TD3.1 FindDocuments with filters": find_documents(
            PATIENT_ID, statuses=[Status.APPROVED, Status.ARCHIVED], class_codes=[Code("10", "1.2.250.1.213.1.1.4.1")],
            creation_time_from="20240101", creation_time_to="20240301120000"),
        "TD3.1 response": AdhocQueryResponse(objects=registry_response_objects(), total_result_count=2, start_index=0),
        "TD3.2 request": RetrieveDocumentSetRequest([DocumentRequest(Oid.DMP_REPOSITORY, "1.2.250.1.999.1.1.4242.4.1001")]),
        "TD3.2 response": RetrieveDocumentSetResponse(
            RegistryResponse(), [RetrievedDocument(Oid.DMP_REPOSITORY, "1.2.3", "text/xml", CDA)]),
        "TD3.3c delete": builders.status_update(sset, ENTRY_UUID, Status.ARCHIVED, Status.DELETED),
        "TD3.3d archive": builders.status_update(sset, ENTRY_UUID, Status.APPROVED, Status.ARCHIVED),
        "TD3.3a mask": metadata_update(),
        "failure response": RegistryResponse.failure("XDSUnknownPatientId", "patient inconnu"),
        "success": RegistryResponse(),
    }


@pytest.mark.parametrize("name", list(valid_bodies()))
def test_valid_messages_pass_every_rule(name: str):
    found = findings(valid_bodies()[name])
    assert found == [], [f"{f.rule}: {f.message}" for f in found]


# --- one mutation per rule --------------------------------------------------------------------------------

Mutation = Callable[[ProvideAndRegisterRequest], object]


def _entry(request: ProvideAndRegisterRequest):
    return request.metadata.document_entries[0]


def _signature(request: ProvideAndRegisterRequest):
    return request.metadata.document_entries[1]


def _sset(request: ProvideAndRegisterRequest):
    return request.metadata.submission_sets[0]


def _set(getter: Callable, **values: object) -> Mutation:
    def mutate(request: ProvideAndRegisterRequest) -> object:
        target = getter(request)
        for name, value in values.items():
            setattr(target, name, value)
        return request
    return mutate


def _do(action: Callable[[ProvideAndRegisterRequest], object]) -> Mutation:
    def mutate(request: ProvideAndRegisterRequest) -> object:
        action(request)
        return request
    return mutate


def _body(factory: Callable[[], object]) -> Mutation:
    return lambda _request: factory()


def _query(**changes: object) -> Mutation:
    def mutate(_request: ProvideAndRegisterRequest) -> object:
        query = find_documents(PATIENT_ID)
        for name, value in changes.items():
            if name == "drop":
                del query.parameters[str(value)]
            elif name == "param":
                key, raw = value  # type: ignore[misc]
                query.parameters[key] = raw
            else:
                setattr(query, name, value)
        return query
    return mutate


def _without_association(kind: str, target: str | None = None) -> Mutation:
    def mutate(request: ProvideAndRegisterRequest) -> object:
        request.metadata.associations = [a for a in request.metadata.associations
                                         if not (a.type == kind and (target is None or a.target == target))]
        return request
    return mutate


def _metadata_update_without_previous_version() -> SubmitObjectsRequest:
    update = metadata_update()
    update.metadata.associations[0].extra_slots = [Slot("SubmissionSetStatus", ["Original"])]
    return update


def _update_status(original: str, new: str) -> SubmitObjectsRequest:
    sset = sample_submission().metadata.submission_set
    assert sset is not None
    return builders.status_update(sset, ENTRY_UUID, original, new)


MUTATIONS: dict[str, Mutation] = {
    "BENCH-XDS-SS-COUNT": _do(lambda r: r.metadata.submission_sets.append(replace(_sset(r), id="SS2"))),
    "BENCH-XDS-SS-UNIQUEID": _set(_sset, unique_id="1.2.x"),
    "BENCH-XDS-SS-SOURCEID": _set(_sset, source_id=None),
    "BENCH-XDS-SS-SUBMISSIONTIME": _set(_sset, submission_time=None),
    "BENCH-XDS-SS-CONTENTTYPE": _set(_sset, content_type_code=Code("ZZ", "1.2.250.1.213.2.2", "inconnu")),
    "BENCH-XDS-SS-AUTHOR": _set(_sset, authors=[]),
    "BENCH-XDS-PATIENTID": _set(_entry, patient_id="279035121518989^^^&1.2.3&ISO^NH"),
    "BENCH-XDS-PATIENTID-KEY": _set(_sset, patient_id="279035121518988^^^&1.2.250.1.213.1.4.10&ISO^NH"),
    "BENCH-XDS-PATIENTID-MATCH": _set(_entry, patient_id=OTHER_PATIENT),
    "BENCH-XDS-DE-UNIQUEID": _set(_entry, unique_id="abc"),
    "BENCH-XDS-UNIQUEID-DUPLICATE": _do(lambda r: setattr(_signature(r), "unique_id", _entry(r).unique_id)),
    "BENCH-XDS-ID-DUPLICATE": _do(lambda r: setattr(r.metadata.associations[1], "id", r.metadata.associations[0].id)),
    "BENCH-XDS-DTM": _set(_entry, creation_time="2024-02-21T12:00:00+01:00"),
    "BENCH-XDS-DE-CREATIONTIME": _set(_entry, creation_time=None),
    "BENCH-XDS-DE-SERVICETIME": _set(_entry, service_stop_time="20200101"),
    "BENCH-XDS-DE-LANGUAGE": _set(_entry, language_code="français"),
    "BENCH-XDS-DE-MIMETYPE": _set(_entry, mime_type="xml"),
    "BENCH-XDS-DE-TITLE": _set(_entry, title=None),
    "BENCH-XDS-DE-OBJECTTYPE": _set(_entry, object_type=ObjectType.ON_DEMAND_DOCUMENT_ENTRY),
    "BENCH-XDS-DE-SOURCEPATIENTID": _set(_entry, source_patient_id=None),
    "BENCH-XDS-DE-SOURCEPATIENTINFO": _set(_entry, source_patient_info=["PID-5|MARTIN^JEANNE^^^^^L"]),
    "BENCH-XDS-DE-HASH-SIZE": _set(_entry, hash="0" * 40, size="1"),
    "BENCH-XDS-DE-REGISTRY-SLOTS": lambda r: AdhocQueryResponse(objects=r.metadata),
    "BENCH-XDS-DE-CLASSCODE": _set(_entry, class_code=Code("99", "1.2.250.1.213.1.1.4.1", "inconnu")),
    "BENCH-XDS-DE-TYPECODE": _set(_entry, type_code=None),
    "BENCH-XDS-DE-FORMATCODE": _set(_entry, format_code=None),
    "BENCH-XDS-FORMATCODE-SCHEME": _do(lambda r: _entry(r).extra_classifications.append(
        Classification(WRONG_FORMAT_CODE_SCHEME, "urn:ihe:iti:xds-sd:text:2008"))),
    "BENCH-XDS-DE-FACILITY": _set(_entry, healthcare_facility_type_code=None),
    "BENCH-XDS-DE-PRACTICE": _set(_entry, practice_setting_code=Code("ETABLISSEMENT", "9.9.9", "x")),
    "BENCH-XDS-DE-CONFIDENTIALITY-COUNT": _set(_entry, confidentiality_codes=[]),
    "BENCH-XDS-DE-CONFIDENTIALITY-VALUESET": _do(lambda r: _entry(r).confidentiality_codes.append(
        Code("SECRET", Oid.TRE_A07_VISIBILITY, "Secret"))),
    "BENCH-XDS-DE-CONFIDENTIALITY-HL7": _do(lambda r: _entry(r).confidentiality_codes.append(
        Code("R", Oid.HL7_CONFIDENTIALITY, "Restreint"))),
    "BENCH-XDS-DE-CONFIDENTIALITY-DUPLICATE": _do(lambda r: _entry(r).confidentiality_codes.append(
        Code("N", Oid.HL7_CONFIDENTIALITY, "Normal"))),
    "BENCH-XDS-CODE-SCHEME": _do(lambda r: setattr(_entry(r).event_codes[0], "scheme", None)),
    "BENCH-XDS-DE-AUTHOR": _set(_entry, authors=[]),
    "BENCH-XDS-XCN": _set(_entry, legal_authenticator="810000000001^DURAND^PAUL"),
    "BENCH-XDS-XCN-NAMES": _do(lambda r: setattr(_entry(r).authors[0], "person",
                                                 "810000000001^^PAUL^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS")),
    "BENCH-XDS-XON": _do(lambda r: setattr(_entry(r).authors[0], "institutions", ["CABINET DURAND^^^^^^IDNST"])),
    "BENCH-XDS-XCN-IDTYPE": _set(_entry, legal_authenticator="810000000001^DURAND^PAUL^^^^^^&1.2.3&ISO^D^^^IDNPS"),
    "BENCH-XDS-XON-IDTYPE": _do(lambda r: setattr(_entry(r).authors[0], "institutions",
                                                  ["CABINET DURAND^^^^^&1.2.250.1.71.4.2.2&ISO^FINESS^^^1810000000001"])),
    "BENCH-XDS-AUTHOR-SPECIALTY": _do(lambda r: setattr(_entry(r).authors[0], "specialties", ["G15_10"])),
    "BENCH-XDS-DE-LEGALAUTH": _set(_entry, legal_authenticator=None),
    "BENCH-XDS-ASSOC-TYPE": _do(lambda r: setattr(r.metadata.associations[0], "type", "urn:example:Related")),
    "BENCH-XDS-ASSOC-REFERENCE": _do(lambda r: setattr(r.metadata.associations[0], "target", "Nowhere")),
    "BENCH-XDS-HASMEMBER": _without_association(AssociationType.HAS_MEMBER, "Doc01"),
    "BENCH-XDS-SIGNATURE": _without_association(AssociationType.SIGNS),
    "BENCH-XDS-SIGNATURE-METADATA": _set(_signature, format_code=Code("urn:ihe:iti:xds-sd:text:2008", "URN", "x")),
    "BENCH-XDS-DOC-MISSING": _do(lambda r: r.documents.pop("Doc01")),
    "BENCH-XDS-DOC-METADATA-MISSING": _do(lambda r: r.documents.update(Extra=b"x")),
    "BENCH-XDS-DOC-CONTENT": _do(lambda r: (r.documents.pop("Doc01"), r.unresolved.append("Doc01"))),
    "BENCH-XDS-RPLC": _do(lambda r: r.metadata.associations.append(
        builders.replacement_association("Doc01", "1.2.250.1.999.1.1.4242.4.1000"))),
    "BENCH-XDS-STATUS-UPDATE": _body(lambda: _update_status(Status.DELETED, Status.APPROVED)),
    "BENCH-XDS-STATUS-VALUES": _set(_entry, status="urn:example:StatusType:Hidden"),
    "BENCH-XDS-VERSION-UPDATE": _body(_metadata_update_without_previous_version),
    "BENCH-XDS-QUERY-ID": _query(query_id="urn:uuid:00000000-0000-0000-0000-000000000000"),
    "BENCH-XDS-QUERY-PARAMS": _query(drop="$XDSDocumentEntryStatus"),
    "BENCH-XDS-QUERY-SYNTAX": _query(param=("$XDSDocumentEntryPatientId", [f"'{PATIENT_ID}"])),
    "BENCH-XDS-QUERY-RETURNTYPE": _query(return_type="Everything"),
    "BENCH-XDS-QUERY-STATUS": _query(param=("$XDSDocumentEntryStatus", ["('Approved')"])),
    "BENCH-XDS-QUERY-CODES": _query(param=("$XDSDocumentEntryClassCode", ["('10')"])),
    "BENCH-XDS-QUERY-TIME": _query(param=("$XDSDocumentEntryCreationTimeFrom", ["'2024-01-01'"])),
    "BENCH-XDS-RETRIEVE-RESPONSE": _body(lambda: RetrieveDocumentSetResponse(
        RegistryResponse(), [RetrievedDocument(Oid.DMP_REPOSITORY, "1.2.3", "", None)])),
    "BENCH-XDS-RETRIEVE-UNIQUEID": _body(lambda: RetrieveDocumentSetRequest([DocumentRequest(Oid.DMP_REPOSITORY,
                                                                                             ENTRY_UUID)])),
    "BENCH-XDS-RETRIEVE-REPOSITORY": _body(lambda: RetrieveDocumentSetRequest([DocumentRequest("1.2.3", "1.2.3.4")])),
    "BENCH-XDS-RESPONSE-STATUS": _body(lambda: RegistryResponse(ResponseStatus.FAILURE)),
    "BENCH-XDS-RESPONSE-ERROR": _body(lambda: RegistryResponse(ResponseStatus.FAILURE,
                                                               [RegistryError("XDSBogus", "", "Error")])),
    # CDA ↔ metadata coherence
    "BENCH-XDS-CDA-UNIQUEID": _set(_entry, unique_id="1.2.250.1.999.1.1.4242.4.1002"),
    "BENCH-XDS-CDA-PATIENTID": _do(lambda r: (setattr(_entry(r), "patient_id", OTHER_PATIENT),
                                              setattr(_sset(r), "patient_id", OTHER_PATIENT))),
    "BENCH-XDS-CDA-TYPECODE": _set(_entry, type_code=Code("11490-0", "2.16.840.1.113883.6.1", "Lettre de liaison")),
    "BENCH-XDS-CDA-CONFIDENTIALITY": _set(_entry, confidentiality_codes=[Code("R", Oid.HL7_CONFIDENTIALITY, "Restreint")]),
    "BENCH-XDS-CDA-CREATIONTIME": _set(_entry, creation_time="20240221133445"),
    "BENCH-XDS-CDA-LANGUAGE": _set(_entry, language_code="en-GB"),
    "BENCH-XDS-CDA-RPLC": _do(lambda r: r.metadata.associations.append(
        builders.replacement_association("Doc01", ENTRY_UUID))),
    "BENCH-XDS-CDA-AUTHOR": _do(lambda r: setattr(_entry(r).authors[0], "person",
                                                  "810000000002^DURAND^PAUL^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS")),
}
# Rules that need a profile rather than a mutation: (rule, mutation, production profile)
PROFILE_CASES = {"BENCH-XDS-PATIENTID-TEST-OID": (lambda r: r, True)}


def test_every_xds_rule_has_a_failing_case():
    registered = {r.id for r in rules.of_kind("xds")}
    assert registered == set(MUTATIONS) | set(PROFILE_CASES)
    assert len(registered) >= 40


@pytest.mark.parametrize("rule_id", [pytest.param(r, marks=pytest.mark.requirement(r)) for r in sorted(MUTATIONS)])
def test_rule_fires_on_its_mutation(rule_id: str):
    body = MUTATIONS[rule_id](sample_submission())
    fired = [f for f in findings(body) if f.rule == rule_id]
    assert fired, f"{rule_id} did not fire"
    assert all(f.location and f.message for f in fired)


@pytest.mark.parametrize("rule_id", [pytest.param(r, marks=pytest.mark.requirement(r))
                                     for r in sorted(PROFILE_CASES)])
def test_profile_rules(rule_id: str):
    mutate, production = PROFILE_CASES[rule_id]
    assert rule_id not in {f.rule for f in findings(mutate(sample_submission()))}
    assert rule_id in {f.rule for f in findings(mutate(sample_submission()), production=production)}


def test_findings_locate_parsed_messages_by_line(dmp_lps_package):
    from conformance.soap import parse_message
    from conformance.xds import parse_body
    body, content_type = builders.td21_request(MUTATIONS["BENCH-XDS-DE-TITLE"](sample_submission())).to_http()
    parsed = parse_body(parse_message(body, content_type))
    [finding] = [f for f in findings(parsed) if f.rule == "BENCH-XDS-DE-TITLE"]
    assert finding.line is not None and finding.location.startswith("/")
    assert "rim:ExtrinsicObject" in finding.location


@pytest.mark.parametrize("value,ok", [("2024", True), ("20240229", True), ("20230229", False), ("202402211200", True),
                                      ("20240221120000+0100", False), ("2024022", False), ("20241301", False)])
def test_dtm(value: str, ok: bool):
    assert (dtm_problem(value) is None) is ok


@pytest.mark.parametrize("value,ok", [
    (PATIENT_ID, True), (PATIENT_ID + "^^20100907", True), ("279035121518989^^^&1.2.250.1.213.1.4.8&ISO^NH", True),
    ("279035121518989^^^&1.2.250.1.213.1.4.2&ISO^NH", False), ("279035121518989^^^&1.2.250.1.213.1.4.10&ISO^PI", False),
    ("279035121518989", False),
])
def test_patient_id_cx(value: str, ok: bool):
    assert (cx_problem(value) is None) is ok


def test_valid_messages_pass_with_the_official_value_sets(cisis_package):
    from conformance.xds.valuesets import load_value_sets
    value_sets = load_value_sets(cisis_package / "jeuxDeValeurs")
    assert value_sets["J07_type_code"].source.startswith("JDV_J07")
    for name, body in valid_bodies().items():
        found = rules.run("xds", XdsCheck(body, value_sets=value_sets))  # type: ignore[arg-type]
        assert found == [], (name, [f"{f.rule}: {f.message}" for f in found])


@pytest.mark.parametrize("rule_id", ["BENCH-XDS-QUERY-PARAMS", "BENCH-XDS-QUERY-TIME", "BENCH-XDS-RETRIEVE-UNIQUEID",
                                     "BENCH-XDS-RESPONSE-ERROR", "BENCH-XDS-DOC-METADATA-MISSING",
                                     "BENCH-XDS-SIGNATURE"])
def test_parsed_messages_give_lines(rule_id: str):
    from conformance.soap import build_envelope, parse_message, serialize_message
    from conformance.xds import parse_body
    body = MUTATIONS[rule_id](sample_submission())
    attachments = body.attachments() if hasattr(body, "attachments") else []
    data, content_type = serialize_message(build_envelope(body.to_element(), action="urn:x"), attachments)
    parsed = parse_body(parse_message(data, content_type))
    fired = [f for f in findings(parsed) if f.rule == rule_id]
    assert fired and all(f.line is not None and f.location.startswith("/") for f in fired)
