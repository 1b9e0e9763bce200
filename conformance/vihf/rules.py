"""The VIHF rules (kind ``vihf``): pure functions over a :class:`~conformance.vihf.context.VihfCheck`.

The checklist of the shared domain notes (docs/vihf.md §7): assertion structure, issuer and signature,
authentication, attributes and their value sets, patient INS, software fields, time window, certificate, wrapping.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from conformance.findings import Severity, Violation, rules
from conformance.identity import (
    Cx,
    Hl7V2Error,
    IdentifierError,
    is_ins_oid,
    parse_nir,
    parse_ps_idnat,
    parse_structure_idnat,
)
from conformance.pki.checks import LEGACY_SHA1, is_signature_certificate, validity_problem
from conformance.vihf.codec import format_instant, parse_instant
from conformance.vihf.context import VihfCheck, value_sets
from conformance.vihf.model import (
    AUTH_MODE_KIT_SPELLING,
    AUTH_MODE_NAMES,
    CODED_ATTRIBUTES,
    HL7_NS,
    LEGACY_ATTRIBUTE_NAMES,
    SAML_NS,
    X509_SUBJECT_NAME,
    XSI_NS,
    AttributeName,
    AuthMode,
)
from conformance.vihf.signature import dn_equal
from conformance.xml import xpath_of

_S = f"{{{SAML_NS}}}"
_XSI_TYPE = f"{{{XSI_NS}}}type"
_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9._\-]*")
_DS = "{http://www.w3.org/2000/09/xmldsig#}"
_DS_SIGNATURE = f"{_DS}Signature"


# The catalogue entries (profiles/requirements/bench.yaml, dmp-lps.yaml) the rules implement
_IMPLEMENTS = {
    "BENCH-VIHF-ONE": ("ASSERTION-COUNT", "VERSION", "ID", "ISSUE-INSTANT"),
    "BENCH-VIHF-SIGNATURE": ("ISSUER", "ISSUER-SIGNER", "DIRECT-SIGNER", "SIG-ABSENT", "SIG-STRUCTURE", "SIG-DIGEST",
                             "SIG-VALUE", "SIG-SHA1", "CERT-UNREADABLE", "CERT-UNTRUSTED", "CERT-VALIDITY",
                             "CERT-USAGE", "WRAPPING"),
    "BENCH-VIHF-ATTRIBUTES": ("SUBJECT", "NAMEID-FORMAT", "AUTHN", "CONDITIONS", "ATTR-MANDATORY", "ATTR-EMPTY",
                              "ATTR-DUPLICATE", "ATTR-LEGACY", "ATTR-TYPE", "VIHF-VERSION", "RESSOURCE-URN",
                              "STRUCTURE-ID", "SECTEUR", "PURPOSE", "MOJIBAKE"),
    "BENCH-VIHF-SOFTWARE": ("LPS",),
    "BENCH-VIHF-ROLES": ("ROLE", "ROLE-SPECIALTY"),
    "BENCH-VIHF-AUTHMODE": ("AUTH-MODE", "AUTH-MODE-NAME", "TLS-CLIENT"),
    "BENCH-VIHF-PATIENT": ("RESOURCE-ID", "INS-KEY"),
    "BENCH-VIHF-TIME": ("TIME-WINDOW", "REPLAY"),
    "EX_0.1-1100": ("CONFIDENTIALITY",),
}
_REQUIREMENT_OF = {f"BENCH-VIHF-{rule}": requirement for requirement, rule_names in _IMPLEMENTS.items()
                   for rule in rule_names}


def _vihf_rule(rule_id: str, title: str, *, severity: Severity = Severity.ERROR, hint: str | None = None):
    return rules.register(rule_id, kind="vihf", title=title, severity=severity, hint=hint,
                          requirement=_REQUIREMENT_OF[rule_id])


def _at(element: etree._Element | None, check: VihfCheck, **kwargs: object) -> Violation:
    """A violation located at ``element`` (or at the assertion when the element is missing)."""
    target = element if element is not None else check.element
    return Violation(location=xpath_of(target), line=target.sourceline, **kwargs)  # type: ignore[arg-type]


def _attribute(check: VihfCheck, *names: str) -> etree._Element | None:
    for attribute in check.element.iterfind(f"{_S}AttributeStatement/{_S}Attribute"):
        if attribute.get("Name") in names:
            return attribute
    return None


def _attributes(check: VihfCheck) -> list[etree._Element]:
    return list(check.element.iterfind(f"{_S}AttributeStatement/{_S}Attribute"))


# --- assertion structure -----------------------------------------------------------------------------------

@_vihf_rule("BENCH-VIHF-ASSERTION-COUNT", "Exactly one saml2:Assertion in wsse:Security",
            hint="send exactly one VIHF assertion in soap:Header/wsse:Security")
def assertion_count(check: VihfCheck) -> Iterator[Violation]:
    if check.assertion_count != 1:
        security = check.element.getparent()
        yield _at(security, check, message=f"wsse:Security holds {check.assertion_count} saml2:Assertion "
                                           "elements, expected exactly 1; only the first one is read")


@_vihf_rule("BENCH-VIHF-VERSION", "Assertion/@Version is 2.0", hint="set Version=\"2.0\" (SAML 2.0)")
def assertion_version(check: VihfCheck) -> Iterator[Violation]:
    if check.element.get("Version") != "2.0":
        yield _at(check.element, check, message=f"Assertion/@Version is {check.element.get('Version')!r}, "
                                               "expected '2.0'")


@_vihf_rule("BENCH-VIHF-ID", "Assertion/@ID present and a valid xs:ID",
            hint="use '_' followed by a UUID, as the official tokens do")
def assertion_id(check: VihfCheck) -> Iterator[Violation]:
    value = check.element.get("ID")
    if not value:
        yield _at(check.element, check, message="Assertion/@ID is missing; the signature references it as #ID")
    elif not _NCNAME.fullmatch(value):
        yield _at(check.element, check, message=f"Assertion/@ID {value!r} is not an xs:ID (an NCName: it must not "
                                               "start with a digit nor contain ':' or spaces)")


@_vihf_rule("BENCH-VIHF-ISSUE-INSTANT", "IssueInstant present, an xs:dateTime in UTC",
            hint="write IssueInstant in UTC with milliseconds and 'Z', e.g. 2019-06-26T08:46:06.839Z")
def issue_instant(check: VihfCheck) -> Iterator[Violation]:
    raw = check.element.get("IssueInstant")
    if check.vihf.issue_instant is None:
        yield _at(check.element, check, message=f"IssueInstant is {raw!r}: missing, invalid or without time zone")
    elif raw and not raw.endswith("Z"):
        yield _at(check.element, check, severity=Severity.WARNING,
                  message=f"IssueInstant {raw!r} is not written in UTC ('Z'); expected "
                          f"{format_instant(check.vihf.issue_instant)}")


@_vihf_rule("BENCH-VIHF-ISSUER", "Issuer present, Format X509SubjectName",
            hint="put the DN of the signing certificate in saml2:Issuer with Format "
                 "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName")
def issuer(check: VihfCheck) -> Iterator[Violation]:
    element = check.element.find(f"{_S}Issuer")
    if element is None or not check.vihf.issuer:
        yield _at(element, check, message="saml2:Issuer is missing or empty; expected the signer certificate DN")
    elif check.vihf.issuer_format != X509_SUBJECT_NAME:
        yield _at(element, check, severity=Severity.WARNING,
                  message=f"Issuer/@Format is {check.vihf.issuer_format!r}, expected {X509_SUBJECT_NAME}")


@_vihf_rule("BENCH-VIHF-ISSUER-SIGNER", "Issuer equals the signer certificate's subject DN",
            hint="copy the subject DN of the certificate that signs the VIHF into saml2:Issuer")
def issuer_is_signer(check: VihfCheck) -> Iterator[Violation]:
    cert = check.signature.certificate
    if cert is None or not check.vihf.issuer:
        return
    subject = cert.subject.rfc4514_string()
    if not dn_equal(check.vihf.issuer, subject):
        yield _at(check.element.find(f"{_S}Issuer"), check,
                  message=f"Issuer is {check.vihf.issuer!r} but the signer certificate's subject is {subject!r}")


# --- subject and authentication ----------------------------------------------------------------------------

@_vihf_rule("BENCH-VIHF-SUBJECT", "Subject/NameID present and not empty",
            hint="put the user's id in saml2:Subject/saml2:NameID (PS idNat in direct mode)")
def subject(check: VihfCheck) -> Iterator[Violation]:
    if not check.vihf.subject_id:
        yield _at(check.element.find(f"{_S}Subject"), check, message="saml2:Subject/saml2:NameID is missing or empty")


@_vihf_rule("BENCH-VIHF-NAMEID-FORMAT", "NameID is a PS idNat in direct mode",
            hint="in DIRECTE mode the NameID is the national id of the professional (e.g. 8 + RPPS)")
def name_id_format(check: VihfCheck) -> Iterator[Violation]:
    if check.vihf.mode is not AuthMode.DIRECTE or not check.vihf.subject_id:
        return
    try:
        parse_ps_idnat(check.vihf.subject_id)
    except IdentifierError as exc:
        yield _at(check.element.find(f"{_S}Subject/{_S}NameID"), check,
                  message=f"DIRECTE mode but the NameID is not a PS idNat: {exc}")


def _common_name(dn: str) -> str | None:
    match = re.search(r"(?:^|[,/])\s*CN\s*=\s*([^,+/]*)", dn, re.IGNORECASE)
    return match.group(1).strip() if match else None


@_vihf_rule("BENCH-VIHF-DIRECT-SIGNER", "Direct mode: the user (NameID) is the card holder who signs",
            severity=Severity.WARNING,
            hint="in DIRECTE mode sign with the user's own CPS signature key, whose CN is the NameID")
def direct_signer(check: VihfCheck) -> Iterator[Violation]:
    if check.vihf.mode is not AuthMode.DIRECTE or not check.vihf.subject_id:
        return
    cert = check.signature.certificate
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME) if cert is not None else []
    common_name = str(names[0].value) if names else _common_name(check.vihf.issuer or "")
    if common_name and common_name != check.vihf.subject_id:
        yield _at(check.element.find(f"{_S}Subject/{_S}NameID"), check,
                  message=f"DIRECTE mode: NameID {check.vihf.subject_id!r} differs from the CN {common_name!r} of "
                          "the signer (Issuer)")


@_vihf_rule("BENCH-VIHF-AUTHN", "AuthnStatement with AuthnInstant and an AuthnContextClassRef consistent with the mode",
            hint="SmartcardPKI for a CPS (direct); Password, SmartcardPKI or unspecified in indirect mode")
def authn(check: VihfCheck) -> Iterator[Violation]:
    statement = check.element.find(f"{_S}AuthnStatement")
    if statement is None or not check.vihf.authn_context:
        yield _at(statement, check, message="saml2:AuthnStatement with AuthnContext/AuthnContextClassRef is missing")
        return
    instant = parse_instant(statement.get("AuthnInstant"))
    if instant is None:
        yield _at(statement, check, message=f"AuthnStatement/@AuthnInstant is {statement.get('AuthnInstant')!r}: "
                                            "SAML requires the time of the user's logon, with a time zone")
    elif check.vihf.issue_instant and instant > check.vihf.issue_instant + check.policy.clock_skew:
        yield _at(statement, check, severity=Severity.WARNING,
                  message=f"AuthnInstant {format_instant(instant)} is after IssueInstant "
                          f"{format_instant(check.vihf.issue_instant)}: the user logged on after the token was issued")
    if check.vihf.mode is AuthMode.INDIRECTE_RENFORCEE and not check.vihf.authn_context_decl:
        yield _at(statement, check, severity=Severity.WARNING,
                  message="INDIRECTE_RENFORCEE (AIR) without AuthnContext/AuthnContextDecl (the official AIR token and "
                          "the kit carry one, e.g. APP_BROWSER_AUTH)")
    accepted = value_sets()["authn_context_classes"].get(check.vihf.auth_mode or "", [])
    if check.vihf.mode and check.vihf.authn_context not in accepted:
        yield _at(statement, check, severity=Severity.WARNING,
                  message=f"AuthnContextClassRef {check.vihf.authn_context!r} is unusual for "
                          f"{check.vihf.auth_mode} mode; expected one of {', '.join(accepted)}")


@_vihf_rule("BENCH-VIHF-CONDITIONS", "Conditions coherent; AudienceRestriction not filled",
            hint="leave AudienceRestriction out; NotBefore must precede NotOnOrAfter")
def conditions(check: VihfCheck) -> Iterator[Violation]:
    element = check.element.find(f"{_S}Conditions")
    if element is None:
        return
    for name, parsed in (("NotBefore", check.vihf.not_before), ("NotOnOrAfter", check.vihf.not_on_or_after)):
        if element.get(name) is not None and parsed is None:
            yield _at(element, check, message=f"Conditions/@{name} {element.get(name)!r} is not an xs:dateTime "
                                              "with a time zone")
    if check.vihf.not_before and check.vihf.not_on_or_after and check.vihf.not_before >= check.vihf.not_on_or_after:
        yield _at(element, check, message="Conditions/@NotBefore is not before @NotOnOrAfter: the window is empty")
    if check.vihf.audiences:
        yield _at(element.find(f"{_S}AudienceRestriction"), check, severity=Severity.WARNING,
                  message=f"AudienceRestriction is filled ({', '.join(check.vihf.audiences)}); the DMP guide says "
                          "not to fill it")


@_vihf_rule("BENCH-VIHF-TIME-WINDOW", "The assertion is valid now (IssueInstant, Conditions, clock skew)",
            hint="issue a fresh VIHF for each call and keep the clock synchronised (PRE_TPS)")
def time_window(check: VihfCheck) -> Iterator[Violation]:
    issued = check.vihf.issue_instant
    if issued is None:
        return
    policy = check.policy
    now, skew = policy.current_time(), policy.clock_skew
    start = check.vihf.not_before or issued
    end = check.vihf.not_on_or_after or issued + policy.max_age
    if now + skew < start:
        yield _at(check.element, check, message=f"not yet valid: valid from {format_instant(start)}, now is "
                                               f"{format_instant(now)} (clock skew {skew})")
    elif now - skew >= end:
        yield _at(check.element, check, message=f"expired: valid until {format_instant(end)}, now is "
                                               f"{format_instant(now)} (clock skew {skew})")


@_vihf_rule("BENCH-VIHF-REPLAY", "An assertion is used once within its validity window",
            hint="issue a fresh VIHF (new ID) for each call")
def replay(check: VihfCheck) -> Iterator[Violation]:
    if check.replayed:
        yield _at(check.element, check, message=f"assertion {check.vihf.assertion_id!r} was already used within its "
                                               "validity window (replay)")


# --- attributes --------------------------------------------------------------------------------------------

_MANDATORY = (AttributeName.STRUCTURE_ID, AttributeName.SECTEUR_ACTIVITE, AttributeName.ROLE,
              AttributeName.VIHF_VERSION, AttributeName.RESOURCE_ID, AttributeName.RESSOURCE_URN,
              AttributeName.PURPOSE_OF_USE)
_LPS = (AttributeName.LPS_NOM, AttributeName.LPS_VERSION, AttributeName.LPS_HOMOLOGATION)


def _missing(check: VihfCheck, names: tuple[str, ...], what: str) -> Iterator[Violation]:
    statement = check.element.find(f"{_S}AttributeStatement")
    present = {a.get("Name") for a in _attributes(check)}
    for name in names:
        if name not in present:
            yield _at(statement, check, message=f"{what} attribute {name!r} is missing")


@_vihf_rule("BENCH-VIHF-ATTR-MANDATORY", "Mandatory VIHF 3.0 attributes are present",
            hint="add the attribute with the exact Name of the VIHF 3.0 specification")
def mandatory_attributes(check: VihfCheck) -> Iterator[Violation]:
    yield from _missing(check, _MANDATORY, "mandatory")
    if not any(a.get("Name") in AUTH_MODE_NAMES for a in _attributes(check)):
        yield _at(check.element.find(f"{_S}AttributeStatement"), check,
                  message="mandatory attribute 'Authentification_mode' is missing")


@_vihf_rule("BENCH-VIHF-LPS", "LPS_Nom, LPS_Version and LPS_ID_HOMOLOGATION_DMP are present",
            hint="send the software name, version and the CNDA homologation number in every VIHF")
def lps(check: VihfCheck) -> Iterator[Violation]:
    yield from _missing(check, _LPS, "software (LPS)")


@_vihf_rule("BENCH-VIHF-ATTR-EMPTY", "Every attribute has at least one non-empty value",
            hint="fill the value or leave an optional attribute out")
def empty_attributes(check: VihfCheck) -> Iterator[Violation]:
    for attribute in _attributes(check):
        values = attribute.findall(f"{_S}AttributeValue")
        texts = [(v.text or "").strip() or any(isinstance(c.tag, str) for c in v) for v in values]
        if not values or not all(texts):
            yield _at(attribute, check, message=f"attribute {attribute.get('Name')!r} has an empty value")


@_vihf_rule("BENCH-VIHF-ATTR-DUPLICATE", "Single-valued attributes appear once with one value",
            hint="send one Attribute element with one AttributeValue (only the role has several values)")
def duplicate_attributes(check: VihfCheck) -> Iterator[Violation]:
    seen: set[str] = set()
    for attribute in _attributes(check):
        name = attribute.get("Name", "")
        if name == AttributeName.ROLE:
            if name in seen:
                yield _at(attribute, check, message="the role attribute appears twice; put all roles in one")
        elif name in seen:
            yield _at(attribute, check, message=f"attribute {name!r} appears more than once")
        elif len(attribute.findall(f"{_S}AttributeValue")) > 1:
            yield _at(attribute, check, message=f"attribute {name!r} has several values, expected one")
        seen.add(name)


@_vihf_rule("BENCH-VIHF-ATTR-LEGACY", "No VIHF v2 attribute names", severity=Severity.WARNING,
            hint="VIHF 3.0 replaced Profession, Mode_Acces, LPS_Type, Confidentiality_code, Identifiant_Utilisateur")
def legacy_attributes(check: VihfCheck) -> Iterator[Violation]:
    for attribute in _attributes(check):
        if attribute.get("Name") in LEGACY_ATTRIBUTE_NAMES:
            yield _at(attribute, check, message=f"attribute {attribute.get('Name')!r} is a VIHF v2 name, not read "
                                               "in VIHF 3.0")


@_vihf_rule("BENCH-VIHF-ATTR-TYPE", "Simple values are xs:string, coded values HL7 v3 CE", severity=Severity.WARNING,
            hint="write xsi:type=\"xs:string\" on simple values and an hl7 Role/PurposeOfUse xsi:type=\"CE\"")
def attribute_types(check: VihfCheck) -> Iterator[Violation]:
    for attribute in _attributes(check):
        name = attribute.get("Name", "")
        expected = CODED_ATTRIBUTES.get(name)  # type: ignore[call-overload]  (StrEnum keys match plain str)
        for value in attribute.iterfind(f"{_S}AttributeValue"):
            child = next((c for c in value if isinstance(c.tag, str)), None)
            if expected:
                if child is None or child.tag != f"{{{HL7_NS}}}{expected}" or child.get(_XSI_TYPE) != "CE":
                    yield _at(value, check, message=f"{name!r} value must be an hl7:{expected} element with "
                                                    "xsi:type='CE'")
            elif child is None and not (value.get(_XSI_TYPE) or "").endswith(":string"):
                yield _at(value, check, message=f"{name!r} value has xsi:type {value.get(_XSI_TYPE)!r}, "
                                                "expected xs:string")


@_vihf_rule("BENCH-VIHF-VIHF-VERSION", "VIHF_Version is 3.0", hint="send VIHF_Version 3.0 (every official example)")
def vihf_version(check: VihfCheck) -> Iterator[Violation]:
    version = check.vihf.vihf_version
    if version is None:
        return  # reported by BENCH-VIHF-ATTR-MANDATORY
    versions = value_sets()["vihf_versions"]
    location = _attribute(check, AttributeName.VIHF_VERSION)
    if version in versions["warn"]:
        yield _at(location, check, severity=Severity.WARNING,
                  message=f"VIHF_Version is {version!r}; every official example uses 3.0 (4.0 is unresolved)")
    elif version not in versions["accepted"]:
        yield _at(location, check, message=f"VIHF_Version is {version!r}, expected 3.0")


@_vihf_rule("BENCH-VIHF-RESSOURCE-URN", "Ressource_URN is urn:dmp", hint="send Ressource_URN = urn:dmp")
def ressource_urn(check: VihfCheck) -> Iterator[Violation]:
    expected = value_sets()["ressource_urn"]
    if check.vihf.ressource_urn is not None and check.vihf.ressource_urn != expected:
        yield _at(_attribute(check, AttributeName.RESSOURCE_URN), check,
                  message=f"Ressource_URN is {check.vihf.ressource_urn!r}, expected {expected!r}")


@_vihf_rule("BENCH-VIHF-AUTH-MODE", "Authentification_mode is DIRECTE, INDIRECTE or INDIRECTE_RENFORCEE",
            hint="DIRECTE with a CPx card, INDIRECTE with the structure certificate, INDIRECTE_RENFORCEE for AIR")
def auth_mode(check: VihfCheck) -> Iterator[Violation]:
    if check.vihf.auth_mode is not None and check.vihf.mode is None:
        yield _at(_attribute(check, *AUTH_MODE_NAMES), check,
                  message=f"Authentification_mode is {check.vihf.auth_mode!r}, expected one of "
                          f"{', '.join(value_sets()['auth_modes'])}")


@_vihf_rule("BENCH-VIHF-AUTH-MODE-NAME", "Authentification_mode spelled as in the official examples",
            severity=Severity.WARNING,
            hint="the official tokens write 'Authentification_mode' (lower-case m); which one the DMP enforces is "
                 "unverified")
def auth_mode_name(check: VihfCheck) -> Iterator[Violation]:
    attribute = _attribute(check, AUTH_MODE_KIT_SPELLING)
    if attribute is not None:
        yield _at(attribute, check, message="attribute named 'Authentification_Mode' (kit spelling); the official "
                                            "examples use 'Authentification_mode'")


def _subject_values(cert: x509.Certificate) -> set[str]:
    return {str(attribute.value).strip() for attribute in cert.subject}


@_vihf_rule("BENCH-VIHF-TLS-CLIENT", "The TLS client certificate matches the VIHF (structure or card holder)",
            hint="indirect: the TLS client certificate is the structure's (ORG AUTH_CLI) whose id is "
                 "Identifiant_Structure; direct: the user's own CPS authentication certificate")
def tls_client(check: VihfCheck) -> Iterator[Violation]:
    cert, mode = check.tls_client_certificate, check.vihf.mode
    if cert is None or mode is None:
        return
    values = _subject_values(cert)
    if mode is AuthMode.DIRECTE:
        if check.vihf.subject_id and check.vihf.subject_id not in values:
            yield _at(check.element.find(f"{_S}Subject/{_S}NameID"), check, severity=Severity.WARNING,
                      message=f"DIRECTE mode: the TLS client certificate ({cert.subject.rfc4514_string()}) is not "
                              f"the card of NameID {check.vihf.subject_id!r}")
    elif check.vihf.structure_id and not any(check.vihf.structure_id in value for value in values):
        yield _at(_attribute(check, AttributeName.STRUCTURE_ID), check,
                  message=f"{mode} mode: Identifiant_Structure {check.vihf.structure_id!r} does not appear in the TLS "
                          f"client certificate subject ({cert.subject.rfc4514_string()}): \"Erreur "
                          "d'authentification de la personne morale\" on the DMP")


@_vihf_rule("BENCH-VIHF-STRUCTURE-ID", "Identifiant_Structure is a structure idNat",
            hint="prefix 1 + FINESS, 3 + SIRET, 4 + RPPS cabinet id … (StructIdNat)")
def structure_id(check: VihfCheck) -> Iterator[Violation]:
    if not check.vihf.structure_id:
        return
    try:
        parse_structure_idnat(check.vihf.structure_id)
    except IdentifierError as exc:
        yield _at(_attribute(check, AttributeName.STRUCTURE_ID), check, message=f"Identifiant_Structure: {exc}")


@_vihf_rule("BENCH-VIHF-SECTEUR", "Secteur_Activite is <TRE_R02 code>^1.2.250.1.71.4.2.4",
            hint="e.g. SA07^1.2.250.1.71.4.2.4 (cabinet individuel)")
def secteur(check: VihfCheck) -> Iterator[Violation]:
    value = check.vihf.secteur_activite
    if not value:
        return
    spec = value_sets()["secteur_activite"]
    location = _attribute(check, AttributeName.SECTEUR_ACTIVITE)
    code, _, system = value.partition("^")
    if system != spec["code_system"] or not re.fullmatch(spec["pattern"], code):
        yield _at(location, check, message=f"Secteur_Activite is {value!r}, expected <code>^{spec['code_system']} "
                                           f"with a TRE_R02 code ({spec['pattern']})")
    elif code not in spec["known"]:
        yield _at(location, check, severity=Severity.WARNING,
                  message=f"Secteur_Activite code {code!r} is not among the TRE_R02 codes the bench knows")


@_vihf_rule("BENCH-VIHF-ROLE", "Roles are CE values from the known code systems",
            hint="1st value: profession (TRE_G15 1.2.250.1.71.1.2.7) or AUTOMATE; then the savoir-faire")
def roles(check: VihfCheck) -> Iterator[Violation]:
    spec = value_sets()["roles"]
    location = _attribute(check, AttributeName.ROLE)
    systems = {spec["profession_system"], *spec["specialty_systems"], *spec["other_systems"]}
    for index, role in enumerate(check.vihf.roles, start=1):
        if not role.code or not role.code_system:
            yield _at(location, check, message=f"role value {index} lacks its code or codeSystem")
        elif role.code_system not in systems:
            yield _at(location, check, severity=Severity.WARNING,
                      message=f"role value {index} uses code system {role.code_system!r}, unknown to the bench "
                              f"(known: {', '.join(sorted(systems))})")
        elif role.code_system == spec["profession_system"] and role.code not in spec["professions"]:
            yield _at(location, check, severity=Severity.WARNING,  # the bench's TRE_G15 list is partial
                      message=f"role value {index}: profession code {role.code!r} is not among the TRE_G15 codes "
                              "the bench knows")
    first = check.vihf.profession
    if first is not None and first.code_system in spec["specialty_systems"]:
        yield _at(location, check, message="the first role value is a specialty; the profession must come first")


@_vihf_rule("BENCH-VIHF-ROLE-SPECIALTY", "Médecins and pharmaciens carry a second role value (savoir-faire)",
            hint="add the specialty, e.g. SM26 in 1.2.250.1.71.4.2.5 (qualifié en médecine générale)")
def role_specialty(check: VihfCheck) -> Iterator[Violation]:
    spec = value_sets()["roles"]
    first = check.vihf.profession
    if first is None or first.code_system != spec["profession_system"]:
        return
    if first.code in spec["professions_needing_specialty"] and not any(
            r.code_system in spec["specialty_systems"] for r in check.vihf.roles[1:]):
        yield _at(_attribute(check, AttributeName.ROLE), check,
                  message=f"profession {first.code} ({first.display_name or ''}) requires a second role value from "
                          f"{', '.join(spec['specialty_systems'])}; none found")


@_vihf_rule("BENCH-VIHF-RESOURCE-ID", "resource-id is the patient INS as a CX <NIR>^^^&<INS OID>&ISO^NH",
            hint="e.g. 207058575627097^^^&1.2.250.1.213.1.4.10&ISO^NH")
def resource_id(check: VihfCheck) -> Iterator[Violation]:
    value = check.vihf.resource_id
    if not value:
        return
    location = _attribute(check, AttributeName.RESOURCE_ID)
    try:
        cx = Cx.parse(value)
    except Hl7V2Error as exc:
        yield _at(location, check, message=f"resource-id is not a valid CX: {exc}")
        return
    if cx.identifier_type_code != "NH":
        yield _at(location, check, message=f"resource-id type code is {cx.identifier_type_code!r}, expected 'NH'")
    if not is_ins_oid(cx.assigning_authority.universal_id):
        yield _at(location, check, message=f"resource-id authority {cx.assigning_authority.universal_id!r} is not "
                                           "an INS OID (1.2.250.1.213.1.4.8/.9/.10/.11)")


@_vihf_rule("BENCH-VIHF-INS-KEY", "The resource-id NIR/NIA is well formed and its key is right",
            hint="correct the NIR or use a test INS whose key is 97 − (NIR mod 97)")
def ins_key(check: VihfCheck) -> Iterator[Violation]:
    nir = check.vihf.patient_nir
    if not nir or not check.vihf.resource_id or not check.vihf.patient_oid:
        return
    location = _attribute(check, AttributeName.RESOURCE_ID)
    try:
        parsed = parse_nir(nir)
    except IdentifierError as exc:
        yield _at(location, check, message=f"resource-id: {exc}")
        return
    if not parsed.key_valid:
        yield _at(location, check, message=f"INS key of {nir} is {parsed.key}, expected {parsed.expected_key}")


@_vihf_rule("BENCH-VIHF-PURPOSE", "purposeOfUse is a CE of 1.2.250.1.213.1.1.4.248 with a known code",
            hint="send code 'normal' (or the configured emergency codes) in codeSystem 1.2.250.1.213.1.1.4.248")
def purpose(check: VihfCheck) -> Iterator[Violation]:
    value = check.vihf.purpose_of_use
    location = _attribute(check, AttributeName.PURPOSE_OF_USE)
    if value is None:
        if location is not None:
            yield _at(location, check, message="purposeOfUse carries no hl7:PurposeOfUse CE value")
        return
    system = value_sets()["purpose_of_use"]["code_system"]
    known = check.policy.known_purpose_codes()
    if value.code_system != system:
        yield _at(location, check, message=f"purposeOfUse codeSystem is {value.code_system!r}, expected {system}")
    elif value.code not in known:
        yield _at(location, check, message=f"purposeOfUse code {value.code!r} is not accepted (accepted: "
                                           f"{', '.join(known)})")


@_vihf_rule("BENCH-VIHF-CONFIDENTIALITY", "confidentiality-code is INVISIBLE_REPRESENTANTS_LEGAUX",
            hint="only INVISIBLE_REPRESENTANTS_LEGAUX (TRE_A07) exists, for a minor's secret connection")
def confidentiality(check: VihfCheck) -> Iterator[Violation]:
    value = check.vihf.confidentiality_code
    codes = value_sets()["confidentiality_codes"]["codes"]
    if value is not None and value not in codes:
        yield _at(_attribute(check, AttributeName.CONFIDENTIALITY_CODE), check,
                  message=f"confidentiality-code is {value!r}, expected {', '.join(codes)}")


# "Ã©", "Ã¨", "Â°" …: a lead byte of a 2-byte UTF-8 sequence read as Latin-1, followed by a continuation byte
_MOJIBAKE_HINT = re.compile("[\u00c2-\u00c3][\u0080-\u00bf\u2018-\u203a\u0152-\u0178\u02c6\u02dc\u20ac\u2122]")


def _double_encoded(text: str) -> str | None:
    """The repaired text when ``text`` is UTF-8 decoded as Latin-1/CP1252 (``MÃ©decin``), else None."""
    if not _MOJIBAKE_HINT.search(text):
        return None
    for codec in ("cp1252", "latin-1"):
        try:
            repaired = text.encode(codec).decode("utf-8")
        except UnicodeError:
            continue
        if repaired != text:
            return repaired
    return None


@_vihf_rule("BENCH-VIHF-MOJIBAKE", "No double-encoded (mojibake) text", hint="encode the text in UTF-8 only once")
def mojibake(check: VihfCheck) -> Iterator[Violation]:
    for element in check.element.iter():
        if not isinstance(element.tag, str) or element.tag.startswith(_DS):
            continue  # comments, and the signature's base64 (never text)
        for label, text in [("text", element.text), *((f"@{k}", v) for k, v in element.attrib.items())]:
            repaired = _double_encoded(text or "")
            if repaired is not None:
                yield _at(element, check, message=f"{label} {text!r} is double-encoded UTF-8; it should read "
                                                  f"{repaired!r}")


# --- signature and certificate -----------------------------------------------------------------------------

@_vihf_rule("BENCH-VIHF-SIG-ABSENT", "The VIHF is signed",
            hint="sign the assertion (enveloped XML-DSig): CPS signature key in direct mode, structure seal otherwise")
def signature_absent(check: VihfCheck) -> Iterator[Violation]:
    if not check.signature.present:
        lenient = check.policy.lenient or not check.policy.require_signature
        nested = next(check.element.iter(_DS_SIGNATURE), None)
        where = f"; a ds:Signature is nested at {xpath_of(nested)}, not a child of the assertion" \
            if nested is not None else ""
        yield _at(check.element, check, severity=Severity.WARNING if lenient else None,
                  message="the assertion has no enveloped ds:Signature" + where +
                          (" (accepted in lenient mode, as in the official example requests)" if lenient else ""))


def _signature_element(check: VihfCheck) -> etree._Element | None:
    return check.element.find(_DS_SIGNATURE)


@_vihf_rule("BENCH-VIHF-SIG-STRUCTURE", "Enveloped signature, exclusive c14n, one Reference",
            hint="sign the assertion with Reference URI=#<ID>, transforms enveloped-signature + exc-c14n")
def signature_structure(check: VihfCheck) -> Iterator[Violation]:
    for problem in check.signature.structure_problems:
        yield _at(_signature_element(check), check, message=problem)


@_vihf_rule("BENCH-VIHF-SIG-DIGEST", "The Reference digest matches the assertion",
            hint="the assertion was modified after signing (or re-serialised): sign the final bytes")
def signature_digest(check: VihfCheck) -> Iterator[Violation]:
    if check.signature.digest_ok is False:
        yield _at(_signature_element(check), check,
                  message=f"DigestValue does not match the canonicalised assertion "
                          f"({check.signature.digest_method}): the signed content was altered")


@_vihf_rule("BENCH-VIHF-SIG-VALUE", "The SignatureValue verifies with the signer certificate",
            hint="sign SignedInfo with the private key of the certificate in KeyInfo")
def signature_value(check: VihfCheck) -> Iterator[Violation]:
    if check.signature.value_ok is False:
        yield _at(_signature_element(check), check,
                  message=f"SignatureValue does not verify with the certificate's key: {check.signature.error}")


@_vihf_rule("BENCH-VIHF-SIG-SHA1", "No SHA-1 in the signature", severity=Severity.WARNING,
            hint="sign with rsa-sha256 and sha256 (the 2019 official tokens use SHA-1)")
def signature_sha1(check: VihfCheck) -> Iterator[Violation]:
    used = {check.signature.signature_method, check.signature.digest_method} & LEGACY_SHA1
    if used:
        yield _at(_signature_element(check), check,
                  severity=None if check.policy.allow_sha1 else Severity.ERROR,
                  message=f"legacy SHA-1 algorithms used: {', '.join(sorted(used))}")


@_vihf_rule("BENCH-VIHF-CERT-UNREADABLE", "The signer certificate is present and readable",
            hint="embed the DER certificate (base64) in ds:KeyInfo/ds:X509Data/ds:X509Certificate")
def certificate_unreadable(check: VihfCheck) -> Iterator[Violation]:
    if check.signature.certificate_error:
        yield _at(_signature_element(check), check, message=check.signature.certificate_error)


@_vihf_rule("BENCH-VIHF-CERT-UNTRUSTED", "The signer certificate chains to a trusted CA",
            hint="use a certificate of the configured IGC-Santé (or test) CA; the embedded certificate alone "
                 "proves nothing")
def certificate_untrusted(check: VihfCheck) -> Iterator[Violation]:
    if check.signature.trusted is False:
        yield _at(_signature_element(check), check, message=check.signature.trust_problem or "untrusted signer")


@_vihf_rule("BENCH-VIHF-CERT-VALIDITY", "The signer certificate is valid at signing time and now",
            hint="renew the certificate; sign with a certificate valid at IssueInstant")
def certificate_validity(check: VihfCheck) -> Iterator[Violation]:
    cert = check.signature.certificate
    if cert is None:
        if check.signature.certificate_validity is not None:  # read leniently from an unreadable certificate
            not_after = check.signature.certificate_validity[1]
            if not_after < check.policy.current_time():
                yield _at(_signature_element(check), check,
                          message=f"the signer certificate expired on {format_instant(not_after)} (read from its "
                                  "raw DER, as strict parsers refuse it)")
        return
    moments = [(check.policy.current_time(), "now")]
    if check.vihf.issue_instant:
        moments.insert(0, (check.vihf.issue_instant, "signing time (IssueInstant)"))
    problems = [p for when, what in moments if (p := validity_problem(cert, when, what))]
    if problems:
        yield _at(_signature_element(check), check, message="; ".join(dict.fromkeys(problems)))


@_vihf_rule("BENCH-VIHF-CERT-USAGE", "The signer certificate is a signature certificate",
            hint="sign with the CPS signature key or the structure seal (ORG SIGN), never an authentication key "
                 "(the DMP answers DMPInvalidCertificate)")
def certificate_usage(check: VihfCheck) -> Iterator[Violation]:
    cert = check.signature.certificate
    if cert is None:
        return
    if not is_signature_certificate(cert):
        yield _at(_signature_element(check), check,
                  message="the signer certificate's keyUsage has neither digitalSignature nor nonRepudiation: it is "
                          "an authentication-only certificate")


@_vihf_rule("BENCH-VIHF-WRAPPING", "The assertion read is exactly the element signed (no XML signature wrapping)",
            hint="sign the assertion itself and send it alone; do not copy or move signed elements")
def wrapping(check: VihfCheck) -> Iterator[Violation]:
    for problem in check.signature.wrapping_problems:
        yield _at(_signature_element(check), check, message=problem)
    for other in check.duplicate_id_elements:
        yield _at(other, check, message=f"another element carries the assertion's ID {check.vihf.assertion_id!r}: "
                                        "a signature could be resolved to it (XML signature wrapping)")
