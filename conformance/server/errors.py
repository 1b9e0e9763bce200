"""Errors a service raises to make the server answer with a SOAP fault or an XDS error list."""

from __future__ import annotations

from conformance.findings import Finding, Severity, Source


class DmpFault(Exception):
    """Answer with a SOAP 1.2 fault: ``code`` Sender/Receiver, ``subcode`` the DMP status code."""

    def __init__(self, reason: str, *, subcode: str, code: str = "Sender", status: int = 400) -> None:
        super().__init__(reason)
        self.reason, self.subcode, self.code, self.status = reason, subcode, code, status


class XdsFailure(Exception):
    """Answer with an XDS response of status Failure carrying one RegistryError."""

    def __init__(self, code: str, context: str, location: str | None = None) -> None:
        super().__init__(f"{code}: {context}")
        self.code, self.context, self.location = code, context, location


def server_finding(rule: str, message: str, *, severity: Severity = Severity.WARNING,
                   hint: str | None = None) -> Finding:
    """A finding the server itself records on a capture (lenient signatures, refused access…)."""
    return Finding(rule=rule, severity=severity, source=Source.RULE, message=message, hint=hint)
