"""Typed errors of the SOAP/MTOM layer: each carries the finding to report, so no caller crashes on bad input."""

from __future__ import annotations

from conformance.findings import Finding, Severity, Source


class SoapError(ValueError):
    """A message that cannot be read as a SOAP envelope. ``rule`` is a ``BENCH-SOAP-…`` ID."""

    def __init__(self, rule: str, message: str, *, location: str | None = None, line: int | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.location = location
        self.line = line
        self.hint = hint

    def to_finding(self) -> Finding:
        source = Source.XML if self.rule.startswith("XML-") else Source.RULE
        return Finding(rule=self.rule, severity=Severity.ERROR, source=source, message=self.message,
                       location=self.location, line=self.line, hint=self.hint)


class MtomError(SoapError):
    """A multipart/related (MTOM/XOP) body that cannot be read. ``rule`` is a ``BENCH-MTOM-…`` ID."""


def warning(rule: str, message: str, *, hint: str | None = None, line: int | None = None,
            location: str | None = None) -> Finding:
    """A non-blocking irregularity (legacy capture, SOAP 1.1…) noticed while reading a message."""
    return Finding(rule=rule, severity=Severity.WARNING, source=Source.RULE, message=message, hint=hint,
                   line=line, location=location)
