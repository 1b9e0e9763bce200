"""From the VIHF of a request to a :class:`~conformance.server.access.Caller`.

The signature is verified against the server's trust store (never against the embedded certificate alone).
With ``lenient_signatures`` an unsigned or untrusted token is accepted and a finding says so; without it
the server answers with a SOAP fault.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509
from lxml import etree

from conformance.findings import Finding, Severity
from conformance.server.access import ActorKind, AuthMode, Caller
from conformance.server.errors import DmpFault, server_finding
from conformance.server.settings import ServerSettings
from conformance.soap import SoapMessage
from conformance.store.types import AccessMode
from conformance.vihf import Vihf, VihfPolicy, find_assertions, value_sets, verify_vihf

AUTH_FAILED = "DMPAuthenticationFailure"  # bench name: the DMP's own code is not public
INVALID_CERTIFICATE = "DMPInvalidCertificate"  # observed from the DMP (transactions.md §7.2)
# Bench convention to exercise the patient-side visibility rules: these VIHF role codes act as the patient.
PATIENT_ROLES = {"PATIENT": ActorKind.PATIENT, "REPRESENTANT_LEGAL": ActorKind.LEGAL_REPRESENTATIVE}


@dataclass(slots=True)
class Authentication:
    caller: Caller
    vihf: Vihf
    findings: list[Finding] = field(default_factory=list)

    @property
    def patient_cx(self) -> str | None:
        return self.vihf.resource_id

    def identity(self) -> dict[str, str | None]:
        """What a capture keeps of the caller."""
        return {"subject": self.vihf.subject_id, "structure": self.vihf.structure_id,
                "mode": self.vihf.auth_mode, "patient": self.vihf.resource_id,
                "purpose": self.vihf.purpose_of_use.code if self.vihf.purpose_of_use else None,
                "lps": self.vihf.lps_nom, "homologation": self.vihf.lps_homologation}


def _signs_documents(certificate: x509.Certificate | None) -> bool:
    if certificate is None:
        return True
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return bool(usage.digital_signature or usage.content_commitment)


def _verify(security: etree._Element, settings: ServerSettings,
            tls_client: x509.Certificate | None = None) -> tuple[Vihf, list[Finding]]:
    """The VIHF read from signed data, and the findings; raises :class:`DmpFault` when strict and not trusted."""
    # The break-glass and régulation codes are not public: the server accepts the ones it is configured with.
    purposes = {**value_sets()["purpose_of_use"]["codes"],
                **{code: "bris de glace" for code in settings.break_glass_codes},
                **{code: "centre de régulation" for code in settings.regulation_codes}}
    policy = VihfPolicy(trust=list(settings.trust), lenient=settings.lenient_signatures,
                        require_signature=not settings.lenient_signatures, purpose_codes=purposes)
    result = verify_vihf(security, policy, tls_client_certificate=tls_client, replay=settings.replay_cache)
    if result.vihf is None:
        raise DmpFault("unreadable VIHF: " + "; ".join(f.message for f in result.findings), subcode=AUTH_FAILED)
    if result.authenticated:
        return result.vihf, result.findings
    certificate = result.signature.certificate if result.signature else None
    subcode = AUTH_FAILED if _signs_documents(certificate) else INVALID_CERTIFICATE
    errors = [f.message for f in result.findings if f.is_error] or ["the VIHF is not signed by a trusted signer"]
    if not settings.lenient_signatures:
        raise DmpFault("VIHF refused: " + "; ".join(errors), subcode=subcode)
    return result.vihf, [*result.findings, server_finding(
        "BENCH-VIHF-SIGNATURE", "VIHF not authenticated, accepted because the server runs with lenient signatures",
        hint="sign the VIHF with a signature certificate issued by a CA the DMP trusts")]


def _access_mode(vihf: Vihf, settings: ServerSettings) -> AccessMode:
    code = (vihf.purpose_of_use.code if vihf.purpose_of_use else "normal").lower()
    if code in settings.break_glass_codes:
        return AccessMode.BREAK_GLASS
    if code in settings.regulation_codes:
        return AccessMode.REGULATION
    return AccessMode.NORMAL


def authenticate(message: SoapMessage, settings: ServerSettings,
                 tls_client: x509.Certificate | None = None) -> Authentication:
    """Read and verify the single VIHF of ``message``; raises :class:`DmpFault` when it is unusable.
    ``tls_client`` (the mutual-TLS client certificate) must match the VIHF's structure or card holder."""
    if message.security is None:
        raise DmpFault("no wsse:Security header: every DMP call carries a VIHF", subcode=AUTH_FAILED)
    assertions = find_assertions(message.security)
    if len(assertions) != 1:
        raise DmpFault(f"wsse:Security holds {len(assertions)} SAML assertions, expected exactly one",
                       subcode=AUTH_FAILED)
    vihf, findings = _verify(message.security, settings, tls_client)
    if not vihf.subject_id:
        raise DmpFault("the VIHF has no Subject/NameID", subcode=AUTH_FAILED)
    try:
        mode = AuthMode(vihf.auth_mode or AuthMode.DIRECT.value)
    except ValueError:
        raise DmpFault(f"unknown Authentification_mode {vihf.auth_mode!r}", subcode=AUTH_FAILED) from None
    role = vihf.profession.code if vihf.profession else None
    caller = Caller(actor_id=vihf.subject_id, structure_id=vihf.structure_id, auth_mode=mode,
                    access_mode=_access_mode(vihf, settings),
                    kind=PATIENT_ROLES.get(role or "", ActorKind.PROFESSIONAL), role_code=role,
                    secret_connection=(vihf.confidentiality_code or "").startswith("INVISIBLE_REPRESENTANTS_LEGAUX"))
    if caller.access_mode is not AccessMode.NORMAL:
        findings.append(server_finding("BENCH-ACCESS-MODE", f"access in {caller.access_mode.value} mode",
                                       severity=Severity.INFO))
    return Authentication(caller, vihf, findings)
