"""The SUT answers before any transaction is attempted."""

from __future__ import annotations

import httpx
import pytest

from conformance.plugin import Evidence


@pytest.mark.requirement("BENCH-DMP-AVAILABLE")
def test_health_endpoint_answers(sut_url: str, evidence: Evidence) -> None:
    response = httpx.get(f"{sut_url}/health", timeout=10.0)
    evidence.attach("health-response.txt", f"HTTP {response.status_code}\n{response.text}", "text/plain")
    assert response.status_code == 200, f"GET {sut_url}/health answered {response.status_code}, expected 200"
