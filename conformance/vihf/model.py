"""The VIHF (SAML 2.0 assertion of every DMP call) as a plain model, with the attribute names of VIHF 3.0."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

SAML_NS = "urn:oasis:names:tc:SAML:2.0:assertion"
HL7_NS = "urn:hl7-org:v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XS_NS = "http://www.w3.org/2001/XMLSchema"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"

X509_SUBJECT_NAME = "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName"
SMARTCARD_PKI = "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI"


class AttributeName(StrEnum):
    """Exact ``saml2:Attribute/@Name`` strings of VIHF 3.0, in the order of the official tokens."""

    STRUCTURE_ID = "Identifiant_Structure"
    SECTEUR_ACTIVITE = "Secteur_Activite"
    SUBJECT_NAME = "urn:oasis:names:tc:xspa:1.0:subject:subject-id"
    ROLE = "urn:oasis:names:tc:xacml:2.0:subject:role"
    VIHF_VERSION = "VIHF_Version"
    AUTH_MODE = "Authentification_mode"  # spelling of the official examples
    RESOURCE_ID = "urn:oasis:names:tc:xacml:2.0:resource:resource-id"
    RESSOURCE_URN = "Ressource_URN"
    PURPOSE_OF_USE = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"
    CONFIDENTIALITY_CODE = "urn:oasis:names:tc:xspa:1.0:resource:patient:hl7:confidentiality-code"
    MODE_ACCES_RAAS = "Mode_Acces_RAAS"
    LPS_ID = "LPS_ID"
    LPS_NOM = "LPS_Nom"
    LPS_VERSION = "LPS_Version"
    LPS_HOMOLOGATION = "LPS_ID_HOMOLOGATION_DMP"


AUTH_MODE_KIT_SPELLING = "Authentification_Mode"  # kit and H2IG spelling, accepted on input
AUTH_MODE_NAMES = (AttributeName.AUTH_MODE.value, AUTH_MODE_KIT_SPELLING)
LEGACY_ATTRIBUTE_NAMES = ("Profession", "Mode_Acces", "LPS_Type", "Confidentiality_code", "Identifiant_Utilisateur")
CODED_ATTRIBUTES = {AttributeName.ROLE: "Role", AttributeName.PURPOSE_OF_USE: "PurposeOfUse"}


class AuthMode(StrEnum):
    DIRECTE = "DIRECTE"
    INDIRECTE = "INDIRECTE"
    INDIRECTE_RENFORCEE = "INDIRECTE_RENFORCEE"


@dataclass(frozen=True, slots=True)
class CodedValue:
    """An HL7 v3 CE (``Role``, ``PurposeOfUse``)."""

    code: str
    code_system: str
    display_name: str | None = None
    code_system_name: str | None = None


PURPOSE_NORMAL = CodedValue("normal", "1.2.250.1.213.1.1.4.248", "Accès normal", "mode acces VIHF 2.0")
ROLE_MEDECIN = CodedValue("10", "1.2.250.1.71.1.2.7", "Médecin")
ROLE_GENERAL_PRACTICE = CodedValue("SM26", "1.2.250.1.71.4.2.5", "Qualifié en Médecine Générale (SM)")


def utc_now_ms() -> dt.datetime:
    """Now, truncated to milliseconds (the precision of ``IssueInstant``) so build/parse round-trips."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass(slots=True)
class Vihf:
    """One VIHF assertion. Field values are kept as found (strings), so invalid tokens can be modelled and judged."""

    subject_id: str  # saml2:Subject/NameID: PS idNat (direct) or the user's id in the structure (indirect)
    structure_id: str | None  # Identifiant_Structure
    secteur_activite: str | None  # "<code>^1.2.250.1.71.4.2.4"
    roles: list[CodedValue]
    auth_mode: str | None  # Authentification_mode value (DIRECTE / INDIRECTE / INDIRECTE_RENFORCEE)
    resource_id: str | None  # patient INS as HL7 CX "<NIR>^^^&<OID>&ISO^NH"
    purpose_of_use: CodedValue | None
    lps_nom: str | None
    lps_version: str | None
    lps_homologation: str | None  # LPS_ID_HOMOLOGATION_DMP
    issuer: str | None  # DN of the signer certificate
    assertion_id: str = field(default_factory=lambda: f"_{uuid.uuid4()}")  # '' when a token has none
    issue_instant: dt.datetime | None = field(default_factory=utc_now_ms)
    lps_id: str | None = None
    subject_name: str | None = None  # xspa subject-id: display name of the user
    confidentiality_code: str | None = None  # INVISIBLE_REPRESENTANTS_LEGAUX for a minor's secret connection
    mode_acces_raas: str | None = None
    vihf_version: str | None = "3.0"
    ressource_urn: str | None = "urn:dmp"
    issuer_format: str | None = X509_SUBJECT_NAME
    name_id_format: str | None = None  # the official tokens carry none
    authn_instant: dt.datetime | None = None  # when the user logged on; defaults to issue_instant
    authn_context: str | None = SMARTCARD_PKI
    authn_context_decl: str | None = None  # INDIRECTE_RENFORCEE (AIR) only
    not_before: dt.datetime | None = None
    not_on_or_after: dt.datetime | None = None
    audiences: list[str] = field(default_factory=list)  # must stay empty (do not fill AudienceRestriction)
    auth_mode_name: str = AttributeName.AUTH_MODE.value  # which spelling of the attribute name is used
    version: str | None = "2.0"  # Assertion/@Version
    other_attributes: dict[str, list[str]] = field(default_factory=dict)  # unknown or legacy names, kept

    def __post_init__(self) -> None:
        if self.authn_instant is None:
            self.authn_instant = self.issue_instant

    @property
    def mode(self) -> AuthMode | None:
        try:
            return AuthMode(self.auth_mode) if self.auth_mode else None
        except ValueError:
            return None

    @property
    def profession(self) -> CodedValue | None:
        return self.roles[0] if self.roles else None

    @property
    def specialties(self) -> list[CodedValue]:
        """The role values after the profession (savoir-faire, e.g. SM26)."""
        return self.roles[1:]

    @property
    def secteur_code(self) -> str | None:
        return self.secteur_activite.split("^", 1)[0] if self.secteur_activite else None

    @property
    def patient_nir(self) -> str | None:
        """The NIR/NIA part of the resource-id CX (component 1)."""
        return self.resource_id.split("^", 1)[0] if self.resource_id else None

    @property
    def patient_oid(self) -> str | None:
        """The assigning authority OID of the resource-id CX (component 4, sub-component 2)."""
        if not self.resource_id:
            return None
        parts = self.resource_id.split("^")
        if len(parts) < 4:
            return None
        sub = parts[3].split("&")
        return sub[1] if len(sub) > 1 else None
