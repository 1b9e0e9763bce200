"""Fixtures of the property suites: the server-role suite's (PKI, LPS identity, embedded DMP options), the team of
professionals, hypothesis profiles and the minimal failing example as evidence.

Profiles: ``--hypothesis-profile ci`` (bounded, derandomized) or ``thorough``; ``HYPOTHESIS_PROFILE`` is honoured
when no option is given. A property against a live DMP costs several HTTP exchanges per example, so it runs
:func:`live_examples` examples (a fifth of the profile's ``max_examples``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import InvalidArgument

from conformance.generate.xds import DocumentSpec
from conformance.plugin import Evidence
from conformance.suites.properties.fhir import FhirDmp
from conformance.suites.server_role.conftest import embedded_dmp_args, lps_identity, suite_pki  # noqa: F401
from conformance.suites.server_role.team import Team


def _profile(name: str, **values: Any) -> None:
    try:
        settings.get_profile(name)
    except InvalidArgument:  # outside this repository (no root conftest): the suite brings its own profiles
        settings.register_profile(name, **values)


_profile("ci", max_examples=50, deadline=None, derandomize=True, database=None, print_blob=True,
         suppress_health_check=[HealthCheck.too_slow])
_profile("thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("hypothesis_profile", None) and os.environ.get("HYPOTHESIS_PROFILE"):
        settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])


def live_examples() -> settings:
    """Settings of a live-DMP property: the loaded profile with a fifth of its examples (5 to 400)."""
    # no explain phase: it replays many variants of a failure, each costing several exchanges with the DMP
    phases = [p for p in settings.default.phases if p is not Phase.explain]
    return settings(settings.default, max_examples=min(400, max(5, settings.default.max_examples // 5)),
                    deadline=None, suppress_health_check=list(HealthCheck), phases=phases)


def describe(document: DocumentSpec) -> str:
    """A generated document as the minimal example notes it."""
    return f"document: {len(document.content)} bytes {document.content[:80]!r}…, kind {document.kind}, " \
           f"title {document.title!r}, masked {document.masked}"


@pytest.fixture(scope="module")
def team(sut_url: str, sut_embedded: bool, lps_identity: Any, synthetic_identities: Any) -> Team:  # noqa: F811
    return Team.on(sut_url, sut_embedded, lps_identity, synthetic_identities)


@pytest.fixture(scope="module")
def fhir_dmp(team: Team, sut_embedded: bool) -> FhirDmp:
    """The FHIR PDSm API of the DMP under test (the test skips when it has none)."""
    return FhirDmp.on(team.url, team.author, sut_embedded)


@pytest.fixture
def minimal_example(evidence: Evidence) -> Iterator[Callable[[str], None]]:
    """``note(text)`` per example; when the test fails, the last noted example (hypothesis replays the shrunk
    minimal one last) is attached to the report as ``minimal-failing-example.txt``."""
    notes: list[str] = []
    yield notes.append
    notes.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" and report.failed and "minimal_example" in getattr(item, "fixturenames", ()):
        notes = item.funcargs["minimal_example"].__self__  # type: ignore[attr-defined]
        if notes:
            item.funcargs["evidence"].attach("minimal-failing-example.txt",  # type: ignore[attr-defined]
                                             f"{notes[-1]}\n\n{report.longreprtext[-4000:]}")
    return report
