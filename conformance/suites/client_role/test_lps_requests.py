"""What the LPS under test sends for each representative transaction, judged by the reference DMP's validators."""

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
    pytest.param("TD2.1", marks=pytest.mark.requirement("BENCH-WSA", "BENCH-MTOM", "EX_2.1-1140"), id="TD2.1"),
    pytest.param("TD3.1", marks=pytest.mark.requirement("BENCH-WSA", "RG_3030"), id="TD3.1"),
    pytest.param("TD3.2", marks=pytest.mark.requirement("BENCH-WSA", "RG_3210"), id="TD3.2"),
]


@pytest.mark.parametrize("transaction", TRANSACTIONS)
def test_lps_request_is_valid_and_accepted(transaction: str, lps_capture: Callable[[str], dict[str, Any]],
                                           evidence: Evidence) -> None:
    capture = lps_capture(transaction)
    evidence.assert_valid(ArtefactResult(path=f"{transaction} request (capture {capture['id']})", kind="soap",
                                         findings=findings_of(capture)))
    assert capture["status_code"] < 400, (
        f"the reference DMP refused the {transaction} request with HTTP {capture['status_code']} "
        f"({capture['outcome']}); see the response in the evidence")
