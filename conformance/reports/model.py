"""The run model: what a conformance run produced, and the per-requirement verdicts derived from it.

It is the single source every output reads (``report.json``, HTML, JUnit); ``report.json`` is its serialised
form, under the versioned schema :data:`SCHEMA_ID` (JSON Schema in ``report-v1.schema.json``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from conformance.requirements import PROFILES, Catalogue

SCHEMA_ID = "dmp-conformance/report/v1"


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"  # the test could not run (fixture or set-up failure), as opposed to a failed check


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_TESTED = "not-tested"
    MANUAL = "manual"


@dataclass(slots=True)
class EvidenceRef:
    name: str
    path: str  # relative to the run directory, "/" separated
    mime: str
    sha256: str
    size: int


@dataclass(slots=True)
class TestResult:
    __test__ = False  # not a pytest test class, despite its name

    nodeid: str
    name: str
    outcome: Outcome
    duration: float  # seconds, set-up + call + tear-down
    requirements: list[str] = field(default_factory=list)
    message: str | None = None  # the skip reason or the first line of the failure
    details: str | None = None  # the full failure text
    transactions: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    evidence: list[EvidenceRef] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)  # Finding.to_dict() of the artefacts checked

    @property
    def failed(self) -> bool:
        return self.outcome in (Outcome.FAILED, Outcome.ERROR)


@dataclass(slots=True)
class SutInfo:
    url: str | None = None
    role: str | None = None  # server / client / documents
    profile: str | None = None
    preset: str | None = None
    software_name: str | None = None
    software_version: str | None = None
    embedded: bool = False  # the bench's own reference DMP was the SUT


@dataclass(slots=True)
class Artefact:
    """A versioned input the verdicts depend on (the CI-SIS package, the rule set, the catalogue)."""

    name: str
    sha256: str
    version: str | None = None


@dataclass(slots=True)
class RequirementVerdict:
    id: str
    title: str
    level: str
    actor: str
    profiles: list[str]
    transactions: list[str]
    verdict: Verdict
    tests: list[str] = field(default_factory=list)
    manual: str | None = None


@dataclass(slots=True)
class Run:
    run_id: str
    started: str  # ISO 8601 UTC
    finished: str
    bench_version: str
    sut: SutInfo
    tests: list[TestResult] = field(default_factory=list)
    requirements: list[RequirementVerdict] = field(default_factory=list)
    artefacts: list[Artefact] = field(default_factory=list)
    schema: str = SCHEMA_ID

    @property
    def failed_mandatory(self) -> list[RequirementVerdict]:
        return [r for r in self.requirements if r.level == "SHALL" and r.verdict is Verdict.FAIL]

    @property
    def tested(self) -> int:
        """How many requirements got a pass or fail verdict (skips and manual ones are not tested)."""
        return sum(1 for r in self.requirements if r.verdict in (Verdict.PASS, Verdict.FAIL))

    @property
    def conformant(self) -> bool:
        """Every mandatory requirement that was tested passed."""
        return not self.failed_mandatory

    def counts(self) -> dict[str, int]:
        counts = {o.value: 0 for o in Outcome}
        for test in self.tests:
            counts[test.outcome.value] += 1
        return counts

    def profile_verdicts(self) -> dict[str, Verdict]:
        """Per homologation profile: fail on any failed SHALL, pass when something passed, else not-tested."""
        result: dict[str, Verdict] = {}
        for profile in PROFILES:
            mine = [r for r in self.requirements if profile in r.profiles]
            if any(r.level == "SHALL" and r.verdict is Verdict.FAIL for r in mine):
                result[profile] = Verdict.FAIL
            elif any(r.verdict is Verdict.PASS for r in mine):
                result[profile] = Verdict.PASS
            else:
                result[profile] = Verdict.NOT_TESTED
        return result

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["summary"] = {
            "tests": self.counts(),
            "conformant": self.conformant,
            "verdicts": {k: v.value for k, v in self.profile_verdicts().items()},
            "requirements": {v.value: sum(1 for r in self.requirements if r.verdict is v) for v in Verdict},
        }
        return _plain(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Run:
        if data.get("schema") != SCHEMA_ID:
            raise ValueError(f"not a {SCHEMA_ID} report (schema is {data.get('schema')!r})")
        tests = [
            TestResult(
                **{
                    **t,
                    "outcome": Outcome(t["outcome"]),
                    "evidence": [EvidenceRef(**e) for e in t.get("evidence", [])],
                }
            )
            for t in data.get("tests", [])
        ]
        requirements = [
            RequirementVerdict(**{**r, "verdict": Verdict(r["verdict"])})
            for r in data.get("requirements", [])
        ]
        return cls(
            run_id=data["run_id"],
            started=data["started"],
            finished=data["finished"],
            bench_version=data["bench_version"],
            sut=SutInfo(**data.get("sut", {})),
            tests=tests,
            requirements=requirements,
            artefacts=[Artefact(**a) for a in data.get("artefacts", [])],
        )


def _plain(value: Any) -> Any:
    """Enums to their values, recursively (asdict keeps them)."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def requirement_verdicts(tests: Iterable[TestResult], catalogue: Catalogue) -> list[RequirementVerdict]:
    """One verdict per catalogue requirement: fail if any test carrying it failed (or errored), pass if one
    passed and none failed, manual when it is attested rather than tested, else not-tested (skips count as not
    tested)."""
    by_requirement: dict[str, list[TestResult]] = {}
    for test in tests:
        for rid in catalogue.expand(test.requirements):
            by_requirement.setdefault(rid, []).append(test)
    verdicts: list[RequirementVerdict] = []
    for requirement in catalogue:
        carried = by_requirement.get(requirement.id, [])
        if any(t.failed for t in carried):
            verdict = Verdict.FAIL
        elif any(t.outcome is Outcome.PASSED for t in carried):
            verdict = Verdict.PASS
        elif requirement.manual:
            verdict = Verdict.MANUAL
        else:
            verdict = Verdict.NOT_TESTED
        verdicts.append(
            RequirementVerdict(
                id=requirement.id,
                title=requirement.title,
                level=requirement.level,
                actor=requirement.actor,
                profiles=list(requirement.profiles),
                transactions=list(requirement.transactions),
                verdict=verdict,
                tests=[t.nodeid for t in carried],
                manual=requirement.manual,
            )
        )
    return verdicts
