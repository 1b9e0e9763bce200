"""Bad input never crashes the CDA pipeline: it always ends in a result with located findings."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.cda.pipeline import validate_cda
from conformance.findings import ArtefactResult, Severity
from tests.cda.test_pipeline import MINIMAL_CDA

_FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FAST
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_give_a_result(data: bytes) -> None:
    result = validate_cda(data, "fuzz.xml", None)
    assert isinstance(result, ArtefactResult)
    if not data.strip():
        assert not result.valid


@_FAST
@given(st.integers(min_value=0, max_value=len(MINIMAL_CDA) - 1), st.binary(min_size=0, max_size=8))
def test_truncated_or_spliced_documents_are_reported(cut: int, splice: bytes) -> None:
    data = MINIMAL_CDA[:cut] + splice
    result = validate_cda(data, "cut.xml", None)
    errors = [f for f in result.findings if f.severity is Severity.ERROR]
    # the document cannot be complete any more: either an error says where, or it still parses
    assert errors or "routing" in result.details
    assert all(f.line is None or f.line >= 1 for f in errors)
