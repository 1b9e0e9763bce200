"""Results of one schematron run: the SVRL summary and its translation into findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Literal

from lxml import etree

from conformance.findings import Finding, Severity, Source

SVRL = "{http://purl.oclc.org/dsdl/svrl}"

_SEVERITY = {"error": Severity.ERROR, "fatal": Severity.ERROR, "warning": Severity.WARNING,
             "warn": Severity.WARNING, "info": Severity.INFO, "information": Severity.INFO}


def normalise(text: str) -> str:
    """Whitespace-normalised message, as in the golden verdicts."""
    return " ".join(text.split())


@dataclass(slots=True)
class SvrlAssertion:
    """One failed assert or successful report."""

    kind: Literal["failed-assert", "successful-report"]
    location: str
    text: str
    role: str | None
    flag: str | None
    id: str | None
    test: str | None
    pattern: str | None = None  # id (or name) of the SVRL active-pattern it belongs to
    rule_context: str | None = None
    diagnostics: list[str] = field(default_factory=list)

    @property
    def severity(self) -> Severity:
        return _SEVERITY.get((self.role or "error").lower(), Severity.ERROR)


@dataclass(slots=True)
class SchematronRun:
    schematron: str
    status: Literal["ok", "compile_error", "run_error"]
    fired_rules: int
    active_patterns: int
    failed_asserts: list[SvrlAssertion]
    successful_reports: list[SvrlAssertion]
    svrl: bytes
    error: str | None
    error_rule: str | None = None  # the finding rule of a compile/run error

    def findings(self) -> list[Finding]:
        stem = PurePosixPath(self.schematron).stem
        if self.status != "ok":
            return [Finding(
                rule=self.error_rule or ("BENCH-SCH-COMPILE-ERROR" if self.status == "compile_error"
                                         else "BENCH-SCH-RUN-ERROR"),
                severity=Severity.ERROR, source=Source.SCHEMATRON,
                message=f"{self.schematron} could not be {'built' if self.status == 'compile_error' else 'run'}: "
                        f"{self.error}",
                hint="the document could not be checked against this schematron; see the error",
                extra={"schematron": self.schematron, "status": self.status})]
        return [_finding(stem, self.schematron, a) for a in [*self.failed_asserts, *self.successful_reports]]


def _hint(assertion: SvrlAssertion) -> str:
    text = assertion.text.lower()
    if "jeu de valeurs" in text or "value set" in text:
        return "use a code (code + codeSystem) of the value set named in the message"
    if "obligatoire" in text or "mandatory" in text or "required" in text:
        return f"add the missing element under {assertion.location}"
    if assertion.test:
        return f"make {assertion.location} satisfy the CI-SIS condition: {assertion.test}"
    return f"fix {assertion.location} as the message says"


def _finding(stem: str, schematron: str, assertion: SvrlAssertion) -> Finding:
    rule = assertion.id or f"CI-SIS:{stem}:{assertion.pattern or 'pattern'}"
    return Finding(rule=rule, severity=assertion.severity, source=Source.SCHEMATRON, message=assertion.text,
                   location=assertion.location, hint=_hint(assertion),
                   extra={"schematron": schematron, "test": assertion.test, "kind": assertion.kind})


def parse_svrl(schematron: str, svrl: bytes) -> SchematronRun:
    """Summarise an SVRL report (ours or any ISO skeleton output)."""
    root = etree.fromstring(svrl, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    fired = patterns = 0
    pattern: str | None = None
    context: str | None = None
    failed: list[SvrlAssertion] = []
    reports: list[SvrlAssertion] = []
    for node in root:
        tag = node.tag
        if tag == f"{SVRL}fired-rule":
            fired += 1
            context = node.get("context")
        elif tag == f"{SVRL}active-pattern":
            patterns += 1
            pattern = node.get("id") or node.get("name")
        elif tag in (f"{SVRL}failed-assert", f"{SVRL}successful-report"):
            text = node.find(f"{SVRL}text")
            target = failed if tag == f"{SVRL}failed-assert" else reports
            target.append(SvrlAssertion(
                kind="failed-assert" if target is failed else "successful-report",
                location=node.get("location", ""),
                text=normalise("".join(text.itertext())) if text is not None else "",
                role=node.get("role"), flag=node.get("flag"), id=node.get("id"), test=node.get("test"),
                pattern=pattern, rule_context=context,
                diagnostics=[normalise("".join(d.itertext())) for d in node.iter(f"{SVRL}diagnostic-reference")],
            ))
    return SchematronRun(schematron=schematron, status="ok", fired_rules=fired, active_patterns=patterns,
                         failed_asserts=failed, successful_reports=reports, svrl=svrl, error=None)
