"""Build a VIHF assertion from the model, and read one (from bytes, a SOAP envelope or an element) into it.

Reading is tolerant: whatever is missing or malformed becomes ``None``/empty in the model and is judged by the
rules (:mod:`conformance.vihf.rules`), never an exception; only input that is not an assertion at all raises
:class:`VihfError`.
"""

from __future__ import annotations

import codecs
import datetime as dt

from lxml import etree

from conformance.findings import Finding, Severity, Source
from conformance.vihf.model import (
    AUTH_MODE_NAMES,
    CODED_ATTRIBUTES,
    HL7_NS,
    SAML_NS,
    WSSE_NS,
    X509_SUBJECT_NAME,
    XS_NS,
    XSI_NS,
    AttributeName,
    CodedValue,
    Vihf,
)
from conformance.xml import XmlInputError, parse_xml, precheck_findings

__all__ = [
    "VihfError",
    "build_vihf",
    "find_assertions",
    "format_instant",
    "load_xml",
    "parse_instant",
    "parse_vihf",
    "vihf_to_bytes",
]

_S = f"{{{SAML_NS}}}"
_XSI_TYPE = f"{{{XSI_NS}}}type"


class VihfError(ValueError):
    """The input holds no readable VIHF assertion."""

    def __init__(self, message: str, *, rule: str = "BENCH-VIHF-ASSERTION-COUNT", location: str | None = None,
                 line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.rule, self.location, self.line = message, rule, location, line

    def to_finding(self) -> Finding:
        return Finding(rule=self.rule, severity=Severity.ERROR, source=Source.RULE, message=self.message,
                       location=self.location, line=self.line,
                       hint="send exactly one saml2:Assertion (the VIHF) in soap:Header/wsse:Security")


# --- times -------------------------------------------------------------------------------------------------

def format_instant(value: dt.datetime) -> str:
    """``2019-06-26T08:46:06.839Z``: UTC, milliseconds, ``Z`` (the format of the official tokens)."""
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_instant(text: str | None) -> dt.datetime | None:
    """An xs:dateTime with a time zone, as an aware UTC datetime; ``None`` when absent, zone-less or invalid."""
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value.astimezone(dt.UTC) if value.tzinfo else None


# --- reading -----------------------------------------------------------------------------------------------

def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    # Repair one stray Latin-1 byte (what the official DIRECTE tokens contain) while keeping valid UTF-8 as is
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start:error.start + 1].decode("latin-1"), error.start + 1


codecs.register_error("conformance-latin1-fallback", _latin1_fallback)


def load_xml(data: bytes) -> tuple[etree._ElementTree, list[Finding]]:
    """Parse untrusted bytes safely; stray Latin-1 bytes in UTF-8 input are repaired after an ``XML-UTF8`` finding.

    Raises :class:`~conformance.xml.XmlInputError` when the input is not XML even after that repair.
    """
    findings = precheck_findings(data)
    if any(f.rule == "XML-UTF8" for f in findings):
        data = data.decode("utf-8", errors="conformance-latin1-fallback").encode("utf-8")
    return parse_xml(data), findings


def find_assertions(root: etree._Element) -> list[etree._Element]:
    """The assertions a receiver would read: the root itself, or the children of every ``wsse:Security``."""
    if root.tag == f"{_S}Assertion":
        return [root]
    return [child for security in root.iter(f"{{{WSSE_NS}}}Security") for child in security
            if child.tag == f"{_S}Assertion"]


def _text_of(element: etree._Element) -> str:
    """All the text of ``element`` (comments skipped: ``8999<!---->00063480`` reads ``899900063480``, as signed)."""
    return "".join(element.itertext()).strip()


def _values(attribute: etree._Element) -> list[str | CodedValue]:
    values: list[str | CodedValue] = []
    for value in attribute.iterchildren(f"{_S}AttributeValue"):
        coded = next((c for c in value if isinstance(c.tag, str)), None)
        if coded is not None:
            values.append(CodedValue(coded.get("code", ""), coded.get("codeSystem", ""), coded.get("displayName"),
                                     coded.get("codeSystemName")))
        else:
            values.append(_text_of(value))
    return values


def _text(values: list[str | CodedValue] | None) -> str | None:
    if not values:
        return None
    first = values[0]
    return first.code if isinstance(first, CodedValue) else first


def _child_text(element: etree._Element | None, path: str) -> str | None:
    if element is None:
        return None
    found = element.find(path, {"saml2": SAML_NS})
    return None if found is None else _text_of(found)


def parse_vihf(source: bytes | etree._Element) -> Vihf:
    """Read the VIHF of an assertion element, a SOAP envelope (its ``wsse:Security``) or raw bytes of either."""
    if isinstance(source, bytes):
        try:
            root = load_xml(source)[0].getroot()
        except XmlInputError as exc:
            raise VihfError(f"no readable VIHF: {exc.message}", rule=exc.rule, line=exc.line) from exc
    else:
        root = source
    assertions = find_assertions(root)
    if not assertions:
        raise VihfError("no saml2:Assertion found (neither the root nor in a wsse:Security header)")
    assertion = assertions[0]
    by_name: dict[str, list[str | CodedValue]] = {}
    for attribute in assertion.iterfind(f"{_S}AttributeStatement/{_S}Attribute"):
        by_name.setdefault(attribute.get("Name", ""), []).extend(_values(attribute))
    get = by_name.get
    auth_mode_name = next((n for n in AUTH_MODE_NAMES if n in by_name), AttributeName.AUTH_MODE.value)
    known = {a.value for a in AttributeName} | set(AUTH_MODE_NAMES)
    name_id = assertion.find(f"{_S}Subject/{_S}NameID")
    issuer = assertion.find(f"{_S}Issuer")
    conditions = assertion.find(f"{_S}Conditions")
    authn = assertion.find(f"{_S}AuthnStatement")
    purpose = [v for v in by_name.get(AttributeName.PURPOSE_OF_USE, []) if isinstance(v, CodedValue)]
    return Vihf(
        subject_id=_text_of(name_id) if name_id is not None else "",
        name_id_format=name_id.get("Format") if name_id is not None else None,
        structure_id=_text(get(AttributeName.STRUCTURE_ID)),
        secteur_activite=_text(get(AttributeName.SECTEUR_ACTIVITE)),
        roles=[v for v in by_name.get(AttributeName.ROLE, []) if isinstance(v, CodedValue)],
        auth_mode=_text(get(auth_mode_name)),
        auth_mode_name=auth_mode_name,
        resource_id=_text(get(AttributeName.RESOURCE_ID)),
        purpose_of_use=purpose[0] if purpose else None,
        lps_id=_text(get(AttributeName.LPS_ID)),
        lps_nom=_text(get(AttributeName.LPS_NOM)),
        lps_version=_text(get(AttributeName.LPS_VERSION)),
        lps_homologation=_text(get(AttributeName.LPS_HOMOLOGATION)),
        subject_name=_text(get(AttributeName.SUBJECT_NAME)),
        confidentiality_code=_text(get(AttributeName.CONFIDENTIALITY_CODE)),
        mode_acces_raas=_text(get(AttributeName.MODE_ACCES_RAAS)),
        vihf_version=_text(get(AttributeName.VIHF_VERSION)),
        ressource_urn=_text(get(AttributeName.RESSOURCE_URN)),
        issuer=_text_of(issuer) if issuer is not None else None,
        # the format only means something with an Issuer: keep the model's default when there is none
        issuer_format=issuer.get("Format") if issuer is not None else X509_SUBJECT_NAME,
        assertion_id=assertion.get("ID") or "",
        issue_instant=parse_instant(assertion.get("IssueInstant")),
        version=assertion.get("Version"),
        authn_instant=parse_instant(authn.get("AuthnInstant")) if authn is not None else None,
        authn_context=_child_text(authn, "saml2:AuthnContext/saml2:AuthnContextClassRef"),
        authn_context_decl=_child_text(authn, "saml2:AuthnContext/saml2:AuthnContextDecl"),
        not_before=parse_instant(conditions.get("NotBefore")) if conditions is not None else None,
        not_on_or_after=parse_instant(conditions.get("NotOnOrAfter")) if conditions is not None else None,
        audiences=[_text_of(a) for a in conditions.iterfind(
            f"{_S}AudienceRestriction/{_S}Audience")] if conditions is not None else [],
        other_attributes={name: [v.code if isinstance(v, CodedValue) else v for v in values]
                          for name, values in by_name.items() if name not in known},
    )


# --- building ----------------------------------------------------------------------------------------------

def _attribute(statement: etree._Element, name: str, values: list[str | CodedValue]) -> None:
    attribute = etree.SubElement(statement, f"{_S}Attribute", Name=name)
    for value in values:
        if isinstance(value, CodedValue):
            holder = etree.SubElement(attribute, f"{_S}AttributeValue")
            coded = etree.SubElement(holder, f"{{{HL7_NS}}}{CODED_ATTRIBUTES[AttributeName(name)]}",
                                     nsmap={None: HL7_NS})
            coded.set("code", value.code)
            coded.set("codeSystem", value.code_system)
            if value.code_system_name is not None:
                coded.set("codeSystemName", value.code_system_name)
            if value.display_name is not None:
                coded.set("displayName", value.display_name)
            coded.set(_XSI_TYPE, "CE")
        else:
            holder = etree.SubElement(attribute, f"{_S}AttributeValue", nsmap={"xs": XS_NS})
            holder.set(_XSI_TYPE, "xs:string")
            holder.text = value


def build_vihf(vihf: Vihf) -> etree._Element:
    """The ``saml2:Assertion`` element of ``vihf``, shaped like the official tokens (unsigned)."""
    assertion = etree.Element(f"{_S}Assertion", nsmap={"saml2": SAML_NS, "xsi": XSI_NS})
    assertion.set("ID", vihf.assertion_id)
    if vihf.issue_instant is not None:
        assertion.set("IssueInstant", format_instant(vihf.issue_instant))
    if vihf.version is not None:
        assertion.set("Version", vihf.version)
    if vihf.issuer is not None:
        issuer = etree.SubElement(assertion, f"{_S}Issuer")
        if vihf.issuer_format:
            issuer.set("Format", vihf.issuer_format)
        issuer.text = vihf.issuer
    name_id = etree.SubElement(etree.SubElement(assertion, f"{_S}Subject"), f"{_S}NameID")
    if vihf.name_id_format:
        name_id.set("Format", vihf.name_id_format)
    name_id.text = vihf.subject_id
    if vihf.not_before or vihf.not_on_or_after or vihf.audiences:
        conditions = etree.SubElement(assertion, f"{_S}Conditions")
        if vihf.not_before:
            conditions.set("NotBefore", format_instant(vihf.not_before))
        if vihf.not_on_or_after:
            conditions.set("NotOnOrAfter", format_instant(vihf.not_on_or_after))
        if vihf.audiences:
            restriction = etree.SubElement(conditions, f"{_S}AudienceRestriction")
            for audience in vihf.audiences:
                etree.SubElement(restriction, f"{_S}Audience").text = audience
    authn = etree.SubElement(assertion, f"{_S}AuthnStatement")
    authn_instant = vihf.authn_instant or vihf.issue_instant
    if authn_instant is not None:
        authn.set("AuthnInstant", format_instant(authn_instant))
    context = etree.SubElement(authn, f"{_S}AuthnContext")
    if vihf.authn_context:
        etree.SubElement(context, f"{_S}AuthnContextClassRef").text = vihf.authn_context
    if vihf.authn_context_decl:
        etree.SubElement(context, f"{_S}AuthnContextDecl").text = vihf.authn_context_decl
    statement = etree.SubElement(assertion, f"{_S}AttributeStatement")
    simple: list[tuple[str, str | None]] = [
        (AttributeName.STRUCTURE_ID, vihf.structure_id),
        (AttributeName.SECTEUR_ACTIVITE, vihf.secteur_activite),
        (AttributeName.SUBJECT_NAME, vihf.subject_name),
    ]
    for name, text in simple:
        if text is not None:
            _attribute(statement, name, [text])
    if vihf.roles:
        _attribute(statement, AttributeName.ROLE, list(vihf.roles))
    for name, text in [
        (AttributeName.VIHF_VERSION, vihf.vihf_version),
        (vihf.auth_mode_name, vihf.auth_mode),
        (AttributeName.RESOURCE_ID, vihf.resource_id),
        (AttributeName.RESSOURCE_URN, vihf.ressource_urn),
    ]:
        if text is not None:
            _attribute(statement, name, [text])
    if vihf.purpose_of_use is not None:
        _attribute(statement, AttributeName.PURPOSE_OF_USE, [vihf.purpose_of_use])
    for name, text in [
        (AttributeName.CONFIDENTIALITY_CODE, vihf.confidentiality_code),
        (AttributeName.MODE_ACCES_RAAS, vihf.mode_acces_raas),
        (AttributeName.LPS_ID, vihf.lps_id),
        (AttributeName.LPS_NOM, vihf.lps_nom),
        (AttributeName.LPS_VERSION, vihf.lps_version),
        (AttributeName.LPS_HOMOLOGATION, vihf.lps_homologation),
    ]:
        if text is not None:
            _attribute(statement, name, [text])
    for name, texts in vihf.other_attributes.items():
        _attribute(statement, name, list(texts))
    return assertion


def vihf_to_bytes(assertion: etree._Element | Vihf) -> bytes:
    element = build_vihf(assertion) if isinstance(assertion, Vihf) else assertion
    return etree.tostring(element, encoding="utf-8")
