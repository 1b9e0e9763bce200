"""Judge a VIHF: locate it, establish the signature facts, read it from the signed data, run the ``vihf`` rules."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

from cryptography import x509
from lxml import etree

import conformance.vihf.rules  # noqa: F401  (registers the vihf rules)
from conformance.findings import Finding, has_errors, rules
from conformance.vihf.codec import VihfError, find_assertions, load_xml, parse_vihf
from conformance.vihf.context import VihfCheck, VihfPolicy
from conformance.vihf.model import Vihf
from conformance.vihf.signature import SignatureReport, check_signature
from conformance.xml import XmlInputError

__all__ = ["ReplayCache", "VihfVerification", "validate_vihf", "verify_vihf"]


@dataclass(slots=True)
class VihfVerification:
    """The verdict on one VIHF.

    ``vihf`` is read from the data the signature covers when the signature verified (never from the unsigned
    tree), otherwise from the assertion as found (then ``authenticated`` is False and it must not be trusted).
    """

    vihf: Vihf | None
    findings: list[Finding] = field(default_factory=list)
    signature: SignatureReport | None = None
    element: etree._Element | None = None

    @property
    def valid(self) -> bool:
        """No error finding (a lenient policy may accept an unsigned token)."""
        return self.vihf is not None and not has_errors(self.findings)

    @property
    def authenticated(self) -> bool:
        """Valid, and signed by a trusted signer over exactly the assertion that was read."""
        return self.valid and self.signature is not None and self.signature.ok

    @property
    def rule_ids(self) -> set[str]:
        return {f.rule for f in self.findings}


class ReplayCache:
    """Assertion IDs already accepted, kept until their validity window ends (thread-safe).

    The server calls :meth:`check_and_remember` once per authenticated request: a second use of the same ID
    inside its window is a replay.
    """

    def __init__(self) -> None:
        self._expiry: dict[str, dt.datetime] = {}
        self._lock = threading.Lock()

    def check_and_remember(self, assertion_id: str, valid_until: dt.datetime, now: dt.datetime | None = None) -> bool:
        """True when ``assertion_id`` is new (and remember it), False when it is a replay."""
        now = now or dt.datetime.now(dt.UTC)
        with self._lock:
            for known, until in list(self._expiry.items()):
                if until <= now:
                    del self._expiry[known]
            if assertion_id in self._expiry:
                return False
            self._expiry[assertion_id] = valid_until
            return True

    def remember(self, vihf: Vihf, policy: VihfPolicy) -> bool:
        """:meth:`check_and_remember` with the window the policy gives ``vihf`` (Conditions or max age)."""
        issued = vihf.issue_instant or policy.current_time()
        until = (vihf.not_on_or_after or issued + policy.max_age) + policy.clock_skew
        return self.check_and_remember(vihf.assertion_id, until, policy.current_time())

    def __len__(self) -> int:
        return len(self._expiry)


def _duplicate_ids(root: etree._Element, assertion: etree._Element) -> list[etree._Element]:
    identifier = assertion.get("ID")
    if not identifier:
        return []
    return [e for e in root.iter() if isinstance(e.tag, str) and e is not assertion
            and identifier in (e.get("ID"), e.get("Id"), e.get("id"))]


def verify_vihf(source: bytes | etree._Element, policy: VihfPolicy | None = None, *,
                tls_client_certificate: x509.Certificate | None = None,
                replay: ReplayCache | None = None) -> VihfVerification:
    """Verify and validate the VIHF of ``source``: a bare assertion, a SOAP envelope or its ``wsse:Security``,
    as bytes or element. ``tls_client_certificate`` (the request's mutual-TLS client) enables the structure check;
    ``replay`` (the server's cache) remembers authenticated assertion IDs and flags a second use.

    Never raises for bad input: everything wrong is a finding.
    """
    policy = policy or VihfPolicy()
    findings: list[Finding] = []
    if isinstance(source, bytes):
        try:
            tree, findings = load_xml(source)
        except XmlInputError as exc:
            return VihfVerification(None, [exc.to_finding()])
        root = tree.getroot()
    else:
        root = source
    assertions = find_assertions(root)
    if not assertions:
        return VihfVerification(None, [*findings, VihfError(
            "no saml2:Assertion found (neither the root element nor a child of wsse:Security)").to_finding()])
    assertion = assertions[0]
    # an assertion handed over from a parsed message: judge it within that message (siblings, duplicate IDs)
    document = assertion.getroottree().getroot()
    if document is not root:
        assertions = [a for a in find_assertions(document) if a.getparent() is assertion.getparent()] or assertions
    unverified = parse_vihf(assertion)
    report = check_signature(assertion, trust=list(policy.trust), signing_time=unverified.issue_instant)
    vihf = parse_vihf(report.signed_element) if report.verified and report.signed_element is not None \
        else unverified
    # only authenticated IDs are remembered: unsigned replays (lenient mode, official captures) share one ID
    replayed = replay is not None and report.ok and bool(vihf.assertion_id) and not replay.remember(vihf, policy)
    check = VihfCheck(vihf=vihf, element=assertion, signature=report, policy=policy, replayed=replayed,
                      assertion_count=len(assertions), duplicate_id_elements=_duplicate_ids(document, assertion),
                      tls_client_certificate=tls_client_certificate)
    findings.extend(rules.run("vihf", check))
    return VihfVerification(vihf, findings, report, assertion)


def validate_vihf(data: bytes, policy: VihfPolicy | None = None) -> list[Finding]:
    """The findings on a VIHF token file (or a message carrying one)."""
    return verify_vihf(data, policy).findings
