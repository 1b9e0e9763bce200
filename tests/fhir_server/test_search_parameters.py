"""The search parameters the official PDSm server CapabilityStatement declares beyond the XDS ones: the
DocumentReference author (reference, identifier, given and family chains) and the SubmissionSet title, source
and authorOrg, each with a matching and a non-matching document; documents fed over SOAP are searched on their
ebRIM authors. The CapabilityStatement and the OpenAPI document declare the same parameters."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from conformance.server.fhir.openapi import SEARCH_PARAMS
from conformance.store import HAS_MEMBER, NewAssociation, NewDocument, NewEntry, NewSubmissionSet, Submission
from conformance.suites.pdsm.documents import AUTHOR_ID, INS_TEST_OID, provide_bundle
from conformance.xds import Author, DocumentEntry, SubmissionSet
from conformance.xds.ebrim import document_entry_element, submission_set_element
from tests.fhir_server.conftest import INS, PATIENT_IDENTIFIER, Fhir, provide
from tests.store.factory import REPOSITORY, oid

CX = f"{INS}^^^&{INS_TEST_OID}&ISO^NH"


@pytest.mark.requirement("BENCH-PDSM-SEARCH")
@pytest.mark.parametrize(("params", "found"), [
    ({"author": f"Practitioner/{AUTHOR_ID}"}, True), ({"author": "Practitioner/810000000001"}, False),
    ({"author": AUTHOR_ID}, True), ({"author.identifier": f"urn:oid:1.2.250.1.71.4.2.1|{AUTHOR_ID}"}, True),
    ({"author.identifier": "810000000001"}, False),
    ({"author.family": "mart"}, True), ({"author.family": "DURAND"}, False),
    ({"author.family:exact": "MARTIN"}, True), ({"author.family:exact": "Martin"}, False),
    ({"author.family:contains": "rti"}, True), ({"author.family:contains": "xyz"}, False),
    ({"author.given": "paul"}, True), ({"author.given": "Pierre"}, False),
    ({"author.given": "Pierre,Paul"}, True),  # comma: OR
    ({"author.given": "Paul", "author.family": "DURAND"}, False),  # two parameters: AND
])
def test_document_author_parameters(fhir: Fhir, params: dict[str, str], found: bool) -> None:
    [rid] = provide(fhir)
    assert (rid in fhir.ids(**params)) is found


def test_the_author_is_read_back_with_his_name(fhir: Fhir) -> None:
    [rid] = provide(fhir)
    read = fhir.get(f"/fhir/DocumentReference/{rid}").json()
    [author] = [c for c in read["contained"] if c["resourceType"] == "Practitioner"]
    assert author["identifier"][0]["value"] == AUTHOR_ID and author["name"] == [{"family": "MARTIN", "given": ["Paul"]}]


def test_author_parameters_by_post(fhir: Fhir) -> None:
    [rid] = provide(fhir)
    body = (f"patient.identifier={PATIENT_IDENTIFIER}&status=current&author.family:exact=MARTIN"
            f"&author=Practitioner/{AUTHOR_ID}")
    answer = fhir.http.post("/fhir/DocumentReference/_search", headers=fhir.headers(
        "application/x-www-form-urlencoded"), content=body.replace("|", "%7C").encode())
    assert answer.status_code == 200 and rid in {e["resource"]["id"] for e in answer.json()["entry"]}


def test_unknown_string_modifier_is_400(fhir: Fhir) -> None:
    response = fhir.get("/fhir/DocumentReference", **{"patient.identifier": PATIENT_IDENTIFIER,
                                                      "author.family:missing": "x"})
    assert response.status_code == 400 and response.json()["issue"][0]["expression"] == ["author.family:missing"]
    empty = fhir.get("/fhir/List", **{"patient.identifier": PATIENT_IDENTIFIER, "title:exact": " "})
    assert empty.status_code == 400 and empty.json()["issue"][0]["expression"] == ["title:exact"]
    assert fhir.get("/fhir/DocumentReference", **{"patient.identifier": PATIENT_IDENTIFIER,
                                                   "author": "not a reference"}).status_code == 400


def set_ids(fhir: Fhir, **params: str) -> set[str]:
    response = fhir.get("/fhir/List", **{"patient.identifier": PATIENT_IDENTIFIER, "code": "submissionset",
                                         **params})
    assert response.status_code == 200, response.text
    return {e["resource"]["id"] for e in response.json().get("entry", [])}


def publish_set(fhir: Fhir) -> tuple[str, dict[str, Any]]:
    bundle = provide_bundle(INS)
    response = fhir.post("/fhir", bundle)
    assert response.status_code == 200, response.text
    return response.json()["entry"][0]["response"]["location"].split("/")[1], bundle


@pytest.mark.requirement("BENCH-PDSM-ITI66")
@pytest.mark.parametrize(("params", "found"), [
    ({"title": "consultation"}, True), ({"title": "Hospitalisation"}, False),
    ({"title:exact": "Consultation du 15 janvier 2025"}, True), ({"title:exact": "Consultation"}, False),
    ({"title:contains": "janvier"}, True), ({"title:contains": "février"}, False),
    ({"source": f"PractitionerRole/{AUTHOR_ID}"}, True), ({"source": "Patient/810000000001"}, False),
    ({"source.family": "MARTIN"}, True), ({"source.family": "DURAND"}, False),
    ({"source.given": "Paul"}, True), ({"source.given:exact": "paul"}, False),
    ({"authorOrg": "Organization/1750000012"}, True), ({"authorOrg": "1750000099"}, False),
])
def test_submission_set_parameters(fhir: Fhir, params: dict[str, str], found: bool) -> None:
    set_id, _ = publish_set(fhir)
    assert (set_id in set_ids(fhir, **params)) is found


def test_submission_set_shows_its_source_and_organisation(fhir: Fhir) -> None:
    set_id, bundle = publish_set(fhir)
    listed = fhir.get(f"/fhir/List/{set_id}").json()
    assert listed["title"] == bundle["entry"][0]["resource"]["title"]
    contained = {c["id"]: c for c in listed["contained"]}
    assert listed["source"]["reference"] == "#source" and contained["source"]["resourceType"] == "PractitionerRole"
    assert contained["practitioner"]["name"] == [{"family": "MARTIN", "given": ["Paul"]}]
    assert contained["practitioner"]["identifier"] == [{"value": AUTHOR_ID}]
    assert listed["source"]["extension"][0]["valueReference"] == {"reference": "#org"}
    assert contained["org"]["identifier"] == [{"value": "1750000012"}] and contained["org"]["name"] == "Hôpital"


def test_documents_fed_over_soap_are_searched_on_their_ebrim_authors(fhir: Fhir) -> None:
    """An ITI-41 entry keeps its ebRIM: its XCN authors answer author.family / given and the SubmissionSet's
    source and authorOrg searches."""
    uid = oid()
    author = Author(person="810000000555^LEGRAND^Julie^^^^^^&1.2.250.1.71.4.2.1&ISO",
                    institutions=["Clinique^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^3750000055"])
    root = etree.Element("root")
    entry_xml = etree.tostring(document_entry_element(root, DocumentEntry(id="doc", unique_id=uid, authors=[author])))
    set_xml = etree.tostring(submission_set_element(root, SubmissionSet(id="ss", unique_id=oid(), title="Bilan",
                                                                        authors=[author])))
    stored = fhir.store.register_submission(Submission(
        NewSubmissionSet("ss", oid(), CX, submission_time="20250101000000", ebrim=set_xml.decode()),
        [NewEntry("doc", uid, CX, creation_time="20250101000000", author_persons=["810000000555"],
                  confidentiality_codes=["N^^2.16.840.1.113883.5.25"], ebrim=entry_xml.decode())],
        [NewDocument(uid, b"<doc/>")], [NewAssociation("a", HAS_MEMBER, "ss", "doc")], REPOSITORY))
    rid = stored.entry_uuids["doc"].removeprefix("urn:uuid:")
    assert rid in fhir.ids(**{"author.family": "legrand", "author.given:exact": "Julie"})
    assert rid not in fhir.ids(**{"author.family": "MARTIN"})
    set_id = stored.submission_set_uuid.removeprefix("urn:uuid:")
    assert set_id in set_ids(fhir, **{"source.family": "Legrand", "authorOrg": "3750000055", "title": "bil"})
    assert set_id not in set_ids(fhir, **{"source.family": "MARTIN"})


def test_capability_statement_and_openapi_declare_the_same_parameters(fhir: Fhir) -> None:
    statement = fhir.http.get("/fhir/metadata").json()
    declared = {r["type"]: [p["name"] for p in r.get("searchParam", [])] for r in statement["rest"][0]["resource"]}
    document = fhir.http.get("/fhir/openapi.json").json()
    for kind, path in (("DocumentReference", "/fhir/DocumentReference"), ("List", "/fhir/List")):
        parameters = {p["name"] for p in document["paths"][path]["get"]["parameters"]}
        assert set(declared[kind]) == parameters == set(SEARCH_PARAMS[kind]), kind
    types = {p["name"]: p["type"] for r in statement["rest"][0]["resource"] for p in r.get("searchParam", [])}
    assert (types["title"], types["source"], types["author"], types["author.family"]) == (
        "string", "reference", "reference", "string")


@pytest.mark.requirement("BENCH-PDSM-ITI66")
def test_lists_by_post(fhir: Fhir) -> None:
    set_id, bundle = publish_set(fhir)
    body = (f"patient.identifier={PATIENT_IDENTIFIER}&code=submissionset&title:exact={bundle['entry'][0]['resource']['title']}"
            f"&source.family=MARTIN&authorOrg=Organization/1750000012").replace("|", "%7C").replace(" ", "+")
    answer = fhir.http.post("/fhir/List/_search", headers=fhir.headers("application/x-www-form-urlencoded"),
                            content=body.encode())
    assert answer.status_code == 200, answer.text
    assert set_id in {e["resource"]["id"] for e in answer.json()["entry"]}
    missed = fhir.http.post("/fhir/List/_search", headers=fhir.headers("application/x-www-form-urlencoded"),
                            content=f"patient.identifier={PATIENT_IDENTIFIER}&title=zz".replace("|", "%7C").encode())
    assert missed.status_code == 200 and set_id not in {e["resource"]["id"] for e in missed.json().get("entry", [])}
    twice = fhir.http.post("/fhir/List/_search", headers=fhir.headers("application/x-www-form-urlencoded"),
                           content=b"patient=1&patient=2")
    assert twice.status_code == 400 and twice.json()["resourceType"] == "OperationOutcome"
