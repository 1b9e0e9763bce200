"""The client-role fixtures (the bench's reference DMP, the LPS scenario) plus waiting for an LPS's FHIR request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from conformance.plugin import Evidence, recorder_of
from conformance.suites.captures import wait_for_capture
from conformance.suites.client_role.conftest import LpsScenario, lps_scenario, reference_dmp

__all__ = ["lps_fhir_capture", "lps_scenario", "reference_dmp"]


@pytest.fixture
def lps_fhir_capture(pytestconfig: pytest.Config, reference_dmp: str, lps_scenario: LpsScenario,
                     evidence: Evidence) -> Iterator[Callable[[str], dict[str, Any]]]:
    """``lps_fhir_capture("ITI-65")``: wait for that FHIR request from the LPS (``<url>/fhir``); its request
    and answer become evidence."""
    settings = recorder_of(pytestconfig).settings
    if settings.role == "server":  # e.g. ``run --suite pdsm``: the LPS scenario belongs to a client-role run
        pytest.skip("client-role PDSm test: run `dmp-conformance run --suite conformance/suites/pdsm/client_role`")
    timeout = settings.wait_timeout
    with httpx.Client(base_url=reference_dmp, timeout=10.0) as dmp:

        def wait(transaction: str) -> dict[str, Any]:
            capture = wait_for_capture(dmp, transaction, timeout=timeout, give_up=lps_scenario.ended)
            for part in ("request", "response"):
                evidence.attach(f"{transaction}-{part}.txt", dmp.get(capture[part]).content, "text/plain")
            return capture

        yield wait
