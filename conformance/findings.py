"""The Finding model shared by every validator, and the registry of our own rules.

A rule is a small pure function ``(model) -> Iterable[Violation]`` registered once with its ID; the
CLI, the reference server's capture and the suites all run rules through :data:`rules`, and the
requirement catalogue and the coverage command read the same registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Source(StrEnum):
    """Which engine produced a finding."""

    XML = "xml"  # encoding, well-formedness, unsafe constructs
    XSD = "xsd"
    SCHEMATRON = "schematron"
    RULE = "rule"  # our own rules (Python)


@dataclass(slots=True)
class Finding:
    """One problem (or notable fact) found in an artefact.

    ``rule`` is a requirement or rule ID (official IDs such as ``EX_2.1-1140`` or CI-SIS rule names where
    they exist, ``BENCH-…`` for ours, ``XSD`` / ``XML-…`` for engine findings). ``location`` is an XPath,
    ``line`` the 1-based line in the artefact when known. ``hint`` tells a person what to do.
    """

    rule: str
    severity: Severity
    source: Source
    message: str
    location: str | None = None
    line: int | None = None
    hint: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        data["source"] = str(self.source)
        if not data["extra"]:
            del data["extra"]
        return data


@dataclass(slots=True)
class ArtefactResult:
    """The verdict on one artefact (a document, a message, a resource) and every finding behind it."""

    path: str
    kind: str
    findings: list[Finding] = field(default_factory=list)
    # Raw engine outputs kept as evidence (e.g. SVRL per schematron), keyed by a short name.
    evidence: dict[str, bytes] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not any(f.is_error for f in self.findings)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "valid": self.valid,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True, slots=True)
class Violation:
    """What a rule function yields: the rule's ID, severity and source are added by the registry."""

    message: str
    location: str | None = None
    line: int | None = None
    hint: str | None = None
    severity: Severity | None = None  # overrides the rule's default severity when set


Check = Callable[[Any], Iterable[Violation]]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str  # the model the rule reads: "cda", "xds", "vihf", "soap", "fhir", "coherence" …
    title: str
    severity: Severity
    check: Check
    requirement: str | None = None  # official requirement this rule implements, when it is not its own ID
    hint: str | None = None

    def run(self, model: Any) -> Iterator[Finding]:
        for violation in self.check(model):
            yield Finding(
                rule=self.id,
                severity=violation.severity or self.severity,
                source=Source.RULE,
                message=violation.message,
                location=violation.location,
                line=violation.line,
                hint=violation.hint or self.hint,
            )


class RuleRegistry:
    """The single list of our own rules, per model kind, in registration order."""

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}

    def register(
        self,
        id: str,
        *,
        kind: str,
        title: str,
        severity: Severity = Severity.ERROR,
        requirement: str | None = None,
        hint: str | None = None,
    ) -> Callable[[Check], Check]:
        def decorate(check: Check) -> Check:
            if id in self._rules:
                raise ValueError(f"rule {id} is registered twice")
            self._rules[id] = Rule(id, kind, title, severity, check, requirement, hint)
            return check

        return decorate

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules.values())

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def get(self, rule_id: str) -> Rule:
        return self._rules[rule_id]

    def of_kind(self, kind: str) -> list[Rule]:
        return [r for r in self._rules.values() if r.kind == kind]

    def run(self, kind: str, model: Any) -> list[Finding]:
        """Run every rule of ``kind``; a rule that crashes becomes an error finding, never an exception."""
        findings: list[Finding] = []
        for rule in self.of_kind(kind):
            try:
                findings.extend(rule.run(model))
            except Exception as exc:  # a bug in one rule must not hide the others' verdicts
                findings.append(
                    Finding(
                        rule=rule.id,
                        severity=Severity.ERROR,
                        source=Source.RULE,
                        message=f"rule {rule.id} could not be evaluated: {type(exc).__name__}: {exc}",
                        hint="this is a bench defect; please report it with the input file",
                    )
                )
        return findings


rules = RuleRegistry()


def has_errors(findings: Sequence[Finding]) -> bool:
    return any(f.is_error for f in findings)
