"""Parse FHIR JSON or XML into a plain dict (the profile checker's input) and check its structure.

Structure = the ``fhir.resources.R4B`` models (never the R5 default, which rejects R4 DocumentReferences):
required and unknown elements, 0..1 vs 0..*, choice types, primitive formats. Their errors become findings
located with a FHIRPath (``DocumentReference.content[0].attachment.size``). The raw bytes are kept:
the models re-serialise lossily, so hashes and byte comparisons use the payload as received.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from conformance.fhir.lines import json_lines, line_of
from conformance.findings import Finding, Severity, Source
from conformance.xml import XmlInputError, parse_xml

FHIR_NS = "http://hl7.org/fhir"
MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_JSON_DEPTH = 128


@dataclass(slots=True)
class FhirInput:
    """One FHIR payload: raw bytes, its format, the resource as a JSON dict and the structure findings."""

    raw: bytes
    format: str  # "json" or "xml"
    resource: dict[str, Any] | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def resource_type(self) -> str | None:
        return self.resource.get("resourceType") if self.resource else None


def _finding(rule: str, message: str, location: str | None = None, hint: str | None = None,
             line: int | None = None) -> Finding:
    return Finding(rule=rule, severity=Severity.ERROR, source=Source.XML, message=message, location=location,
                   line=line, hint=hint)


def fhirpath_of(root: str, loc: tuple[int | str, ...]) -> str:
    """``('content', 0, 'attachment', 'size')`` under ``DocumentReference`` → ``DocumentReference.content[0].attachment.size``."""
    path = root
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.startswith("function-"):  # pydantic's name for model-level validators: not a FHIR element
            continue
        else:
            path += f".{part}"
    return path


def _depth_ok(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def _model_class(resource_type: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class  # 0.4 s import: only when FHIR is validated

    return get_fhir_model_class(resource_type)


def _structure_findings(exc: Exception, root: str) -> list[Finding]:
    errors = getattr(exc, "errors", None)
    if not callable(errors):  # an unknown contained resourceType raises a KeyError-like error, not a ValidationError
        return [_finding("FHIR-STRUCTURE", f"the resource cannot be read as FHIR R4: {type(exc).__name__}: {exc}",
                         root, "check resourceType values (also in contained and Bundle.entry.resource)")]
    findings = []
    for error in errors():
        location = fhirpath_of(root, tuple(error.get("loc", ())))
        found = error.get("input")
        shown = "" if isinstance(found, dict | list) else f" (found {found!r})"
        message = f"{location}: {error.get('msg', 'invalid')}{shown}"
        hint = ("remove the element: it does not exist in FHIR R4 for this type"
                if error.get("type") == "extra_forbidden" else
                "follow the FHIR R4 definition of the element (cardinality, type, primitive format)")
        findings.append(_finding("FHIR-STRUCTURE", message, location, hint))
    return findings


def check_structure(resource: dict[str, Any]) -> list[Finding]:
    """Validate ``resource`` against the R4B model of its type; findings instead of exceptions."""
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return [_finding("FHIR-STRUCTURE", "resourceType is missing or not a string", None,
                         "every FHIR JSON resource starts with \"resourceType\": \"<Type>\"")]
    try:
        model = _model_class(resource_type)
    except Exception:
        return [_finding("FHIR-STRUCTURE", f"unknown FHIR resource type {resource_type!r}", resource_type,
                         "use an R4 resource type (DocumentReference, List, Bundle, Binary …)")]
    try:
        model.model_validate(resource)
    except Exception as exc:
        return _structure_findings(exc, resource_type)
    return []


def parse_json(data: bytes) -> FhirInput:
    if len(data) > MAX_JSON_BYTES:
        return FhirInput(data, "json", None, [_finding("FHIR-JSON", f"payload of {len(data)} bytes exceeds the "
                                                       f"{MAX_JSON_BYTES}-byte limit")])
    try:
        content = json.loads(data.decode("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"))
    except UnicodeDecodeError as exc:
        return FhirInput(data, "json", None, [_finding("FHIR-JSON", f"not UTF-8 at byte {exc.start}",
                                                       hint="FHIR JSON is always UTF-8")])
    except json.JSONDecodeError as exc:
        return FhirInput(data, "json", None, [_finding("FHIR-JSON", f"not well-formed JSON: {exc.msg}",
                                                       line=exc.lineno, hint="fix the JSON syntax")])
    except ValueError as exc:  # well-formed but unreadable, e.g. an integer beyond Python's 4300-digit limit
        return FhirInput(data, "json", None, [_finding("FHIR-JSON", f"unreadable JSON value: {str(exc)[:200]}",
                                                       hint="FHIR numbers are decimals of reasonable size")])
    except RecursionError:
        content = None
    if content is None or not _depth_ok(content):
        return FhirInput(data, "json", None, [_finding("FHIR-JSON", "JSON nested too deeply",
                                                       hint=f"FHIR resources never nest beyond {MAX_JSON_DEPTH}")])
    if not isinstance(content, dict):
        return FhirInput(data, "json", None, [_finding("FHIR-JSON", "a FHIR resource is a JSON object",
                                                       hint="wrap the content in {\"resourceType\": …}")])
    findings = check_structure(content)
    if findings and isinstance(content.get("resourceType"), str):
        index = json_lines(data, content["resourceType"])
        for finding in findings:
            finding.line = line_of(index, finding.location or "")
    return FhirInput(data, "json", content, findings)


def parse_xml_resource(data: bytes) -> FhirInput:
    try:
        tree = parse_xml(data)  # safety gate: no DTD entities, no network, size and depth limits
    except XmlInputError as exc:
        return FhirInput(data, "xml", None, [exc.to_finding()])
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    if etree.QName(root).namespace != FHIR_NS:
        return FhirInput(data, "xml", None, [_finding(
            "FHIR-XML", f"root element {root.tag} is not in the FHIR namespace {FHIR_NS}", "/",
            "FHIR XML resources use xmlns=\"http://hl7.org/fhir\"")])
    resource_type = etree.QName(root).localname
    try:
        model = _model_class(resource_type)
    except Exception:
        return FhirInput(data, "xml", None, [_finding("FHIR-STRUCTURE", f"unknown FHIR resource type {resource_type!r}",
                                                      resource_type)])
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        instance = model.model_validate_xml(data, xmlparser=parser)
    except Exception as exc:
        return FhirInput(data, "xml", None, _structure_findings(exc, resource_type))
    content = instance.model_dump(mode="json", by_alias=True, exclude_none=True)
    return FhirInput(data, "xml", content, [])


def looks_like_json(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")


def parse_fhir(data: bytes) -> FhirInput:
    """Parse a FHIR resource in JSON or XML (decided on the first significant byte)."""
    return parse_json(data) if looks_like_json(data) else parse_xml_resource(data)
