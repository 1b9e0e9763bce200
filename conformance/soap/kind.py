"""Registers the ``soap`` artefact kind: a DMP SOAP message, plain XML or raw MTOM multipart.

Validation: read the message (:func:`~conformance.soap.parse_message`; ``context.lenient`` replays legacy
captures), detect the DMP transaction, run the ``soap`` rules and the annex XSD of the body (XDS, HL7 v3 or
DMP service schema), then for XDS bodies the ``xds`` rules, for ITI-41 the ``xades`` checks of the signature
document (:mod:`conformance.xades`), and for requests the VIHF checks of :mod:`conformance.vihf`. Importing the
rule modules (for ``SoapCheck`` and ``XdsCheck``) registers their rules.

A file may start with its HTTP request line and headers (or MIME headers): the Content-Type is then read from
them. Options read from ``context.options``: ``content_type`` (the HTTP Content-Type, when known),
``production`` (test INS OIDs become errors), ``dmp_lps_package`` (a package folder for the XSDs), ``now``
(an aware datetime: the clock of the VIHF time checks, to replay a dated capture), ``vihf_policy`` (a
:class:`~conformance.vihf.VihfPolicy`, e.g. with the trusted CA; replaces the default policy).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from lxml import etree

from conformance.artefacts import INSTALL_HINTS, PackageError, resolve_package
from conformance.findings import ArtefactResult, Finding, Severity, Source, rules
from conformance.soap.errors import SoapError
from conformance.soap.mtom import parse_message, split_http_message
from conformance.soap.rules import SoapCheck
from conformance.soap.transactions import detect_transaction
from conformance.validation import ArtefactKind, ValidationContext, register_kind
from conformance.vihf import VihfPolicy, verify_vihf
from conformance.xades import check_signature_document
from conformance.xds.messages import ProvideAndRegisterRequest, XdsParseError, parse_body
from conformance.xds.rules import XdsCheck, is_signature
from conformance.xds.valuesets import load_value_sets
from conformance.xds.xsd import XsdUnavailable, xsd_findings

_SNIFF = 4096
_ENVELOPE = re.compile(rb"<([A-Za-z_][\w.-]*:)?Envelope[\s>]")
_SOAP_NS = (b"http://www.w3.org/2003/05/soap-envelope", b"http://schemas.xmlsoap.org/soap/envelope/")


def detect(data: bytes) -> bool:
    """A SOAP envelope root, or a multipart body whose first part holds one."""
    head = data[:_SNIFF].lstrip(b"\xef\xbb\xbf\r\n\t ")
    if (split := split_http_message(data)) is not None:
        head = split[1][:_SNIFF].lstrip(b"\r\n\t ")
    if head.startswith(b"--"):
        return b"Envelope" in data[:65536] and any(ns in data[:65536] for ns in _SOAP_NS)
    return bool(_ENVELOPE.search(head)) and any(ns in head for ns in _SOAP_NS)


def _package_root(kind: str, context: ValidationContext, explicit: object = None) -> Path | None:
    try:
        package = resolve_package(kind, context.profiles_dir, explicit=str(explicit) if explicit else None)
    except PackageError:
        return None
    return package.root if package is not None else None


def _info(rule: str, message: str, hint: str) -> Finding:
    return Finding(rule=rule, severity=Severity.INFO, source=Source.RULE, message=message, hint=hint)


def _vihf_policy(context: ValidationContext) -> VihfPolicy:
    """The ``vihf_policy`` option, or a policy from ``lenient`` and ``now``; its trust list also serves XAdES."""
    policy = context.options.get("vihf_policy")
    if isinstance(policy, VihfPolicy):
        return policy
    now = context.options.get("now")
    return VihfPolicy(lenient=context.lenient, now=now if isinstance(now, datetime) else None)


def _signature_findings(request: ProvideAndRegisterRequest, policy: VihfPolicy) -> list[Finding]:
    """The ``xades`` checks of each signature document of an ITI-41 submission, over its other documents."""
    metadata = request.metadata
    signed = [(e.unique_id or "", request.documents[e.id]) for e in metadata.document_entries
              if not is_signature(e) and e.id in request.documents]
    findings: list[Finding] = []
    for entry in metadata.signature_entries():
        content = request.documents.get(entry.id)
        if content is not None:
            findings.extend(check_signature_document(
                content, signed, policy.trust, now=policy.current_time(),
                submission_set_unique_id=metadata.submission_set.unique_id if metadata.submission_set else None))
    return findings


def validate(data: bytes, path: str, context: ValidationContext) -> ArtefactResult:
    result = ArtefactResult(path=path, kind="soap")
    content_type = context.options.get("content_type")
    if not content_type and (split := split_http_message(data)) is not None:
        # a saved HTTP request or MIME message: its headers say how to read the body
        headers, data = split
        content_type = headers.get("content-type")
    try:
        message = parse_message(data, str(content_type) if content_type else None, lenient=context.lenient)
    except SoapError as exc:
        finding = exc.to_finding()
        if not context.lenient and exc.rule.startswith("BENCH-MTOM"):
            finding.hint = (finding.hint or "") + " (legacy captures without HTTP headers or with LF line endings: " \
                                                  "validate with --lenient)"
        result.findings.append(finding)
        return result
    detected = detect_transaction(message)
    result.details.update({
        "version": str(message.version), "action": message.action, "attachments": len(message.attachments),
        "transaction": detected.transaction.td if detected.transaction else None,
        "response": detected.is_response,
    })
    result.findings.extend(message.findings)
    result.findings.extend(rules.run("soap", SoapCheck(message, detected, str(content_type) if content_type else None)))
    try:
        body = parse_body(message)
    except (XdsParseError, ValueError) as exc:
        result.findings.append(Finding(rule="BENCH-XDS-BODY", severity=Severity.ERROR, source=Source.RULE,
                                       message=f"the XDS body cannot be read: {exc}"))
        body = None
    if message.body is not None and message.fault is None:
        lps = _package_root("dmp-lps", context, context.options.get("dmp_lps_package"))
        try:
            if lps is None:
                raise XsdUnavailable("the DMP LPS package (annex schemas) is not available")
            result.findings.extend(xsd_findings(message.body, lps))
        except (XsdUnavailable, etree.XMLSchemaParseError) as exc:
            result.findings.append(_info("BENCH-XSD-SKIPPED", f"XSD validation of the body was not run: {exc}",
                                         INSTALL_HINTS["dmp-lps"]))
    if body is not None:
        cisis = context.package_dir or _package_root("cisis", context)
        value_sets = load_value_sets(cisis / "jeuxDeValeurs" if cisis is not None else None)
        check = XdsCheck(body, detected.transaction.td if detected.transaction else None, value_sets,
                         production=bool(context.options.get("production")))
        result.findings.extend(rules.run("xds", check))
        if isinstance(body, ProvideAndRegisterRequest):
            result.findings.extend(_signature_findings(body, _vihf_policy(context)))
    # the VIHF belongs to DMP requests (the INSi teleservice, for one, carries another kind of assertion)
    if detected.transaction is not None and not detected.is_response and message.fault is None \
            and message.tree is not None:
        verification = verify_vihf(message.tree.getroot(), _vihf_policy(context))
        result.findings.extend(verification.findings)
    return result


# before the CDA kind: a multipart body may carry a CDA document, but it is a message
register_kind(ArtefactKind("soap", detect, validate, priority=5))
