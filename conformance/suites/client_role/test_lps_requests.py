"""What the LPS under test sends for each representative transaction, judged by the reference DMP's
validators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conformance.findings import ArtefactResult
from conformance.plugin import Evidence
from conformance.suites.captures import findings_of

VIHF = ("BENCH-VIHF-ONE", "BENCH-VIHF-SIGNATURE", "BENCH-VIHF-ATTRIBUTES", "BENCH-VIHF-SOFTWARE")
TRANSACTIONS = [
    pytest.param("TD0.2", marks=pytest.mark.requirement("BENCH-WSA", *VIHF), id="TD0.2"),
    pytest.param(
        "TD2.1", marks=pytest.mark.requirement("BENCH-WSA", "BENCH-MTOM", "EX_2.1-1140"), id="TD2.1"
    ),
    pytest.param("TD3.1", marks=pytest.mark.requirement("BENCH-WSA", "RG_3030"), id="TD3.1"),
    pytest.param("TD3.2", marks=pytest.mark.requirement("BENCH-WSA", "RG_3210"), id="TD3.2"),
]


@pytest.mark.parametrize("transaction", TRANSACTIONS)
def test_lps_request_is_valid_and_accepted(
    transaction: str, lps_capture: Callable[[str], dict[str, Any]], evidence: Evidence
) -> None:
    capture = lps_capture(transaction)
    evidence.assert_valid(
        ArtefactResult(
            path=f"{transaction} request (capture {capture['id']})",
            kind="soap",
            findings=findings_of(capture),
        )
    )
    assert capture["status_code"] < 400, (
        f"the reference DMP refused the {transaction} request with HTTP {capture['status_code']} "
        f"({capture['outcome']}); see the response in the evidence"
    )


@pytest.mark.requirement("RG_3030", "EX_3.1-1030", "RG_3010")
def test_lps_search_asks_for_the_active_documents_of_the_ins(
    lps_capture: Callable[[str], dict[str, Any]],
) -> None:
    from conformance.identity import is_ins_oid
    from conformance.identity.hl7v2 import Cx, Hl7V2Error
    from conformance.soap import parse_message
    from conformance.xds import AdhocQueryRequest, Status, parse_body
    from conformance.xds.queries import StoredQuery

    capture = lps_capture("TD3.1")
    content_type = (capture.get("request_headers") or {}).get("content-type", "")
    query = parse_body(parse_message(capture["request_bytes"], content_type))
    assert isinstance(query, AdhocQueryRequest), "the TD3.1 request body is not a query:AdhocQueryRequest"
    assert query.query_id == StoredQuery.FIND_DOCUMENTS, (
        f"TD3.1 uses stored query {query.query_id}, expected FindDocuments"
    )
    statuses = " ".join(query.parameters.get("$XDSDocumentEntryStatus", []))
    assert Status.APPROVED in statuses, (
        f"$XDSDocumentEntryStatus is {statuses or 'missing'}: active documents "
        "(Approved) must always be asked for"
    )
    patient = "".join(query.parameters.get("$XDSDocumentEntryPatientId", [])).strip("'")
    try:
        cx = Cx.parse(patient)
    except Hl7V2Error as exc:
        raise AssertionError(f"$XDSDocumentEntryPatientId {patient!r} is not an HL7 v2 CX: {exc}") from exc
    assert is_ins_oid(cx.assigning_authority.universal_id) and cx.identifier_type_code == "NH", (
        f"$XDSDocumentEntryPatientId {patient!r} is not an INS (INS OID and type NH)"
    )
