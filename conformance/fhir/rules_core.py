"""FHIR core rules that the R4B models cannot express, checked as the HL7 validator does (kind "fhir").

Data-type checks run on every value of the type, nested resources included (``canonical``); the ConceptMap
rules compare a map with the StructureDefinitions of the loaded packages it names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from conformance.findings import Violation, rules

if TYPE_CHECKING:  # the validator imports this module: a run-time import would be circular
    from conformance.fhir.terminology import HeldCodeSystem
    from conformance.fhir.validator import FhirModel

# The HL7 validator's absolute URL test: a lower-case scheme, then a non-empty part without spaces.
_ABSOLUTE_URL = re.compile(r"^[a-z][a-z0-9+.-]*:[^\s]+$")


def is_absolute_url(value: str) -> bool:
    return bool(_ABSOLUTE_URL.match(value))


@rules.register("FHIR-CANONICAL", kind="fhir", title="a canonical is an absolute URL or a #fragment reference",
                hint="write the full canonical URL (https://…/StructureDefinition/<id>, optionally |version), or "
                     "#<id> for a contained resource")
def canonical_urls(model: FhirModel) -> Iterator[Violation]:
    for value, where in model.typed("canonical"):
        if isinstance(value, str) and not (value.startswith("#") or is_absolute_url(value)):
            yield Violation(f"canonical {value!r} is neither an absolute URL nor a #fragment: canonical URLs must be "
                            "absolute URLs if they are not fragment references", location=where)


def _concept_maps(model: FhirModel) -> Iterator[tuple[dict[str, Any], str]]:
    for resource, path in model.resources():
        if resource.get("resourceType") == "ConceptMap":
            yield resource, path


def _definition(model: FhirModel, url: Any) -> dict[str, Any] | None:
    """The StructureDefinition of the loaded packages a canonical names (``|version`` ignored)."""
    return model.definitions.get(url.split("|", 1)[0]) if isinstance(url, str) else None


@rules.register("FHIR-CONCEPTMAP-SCOPE", kind="fhir", title="ConceptMap source[x] and target[x] name ValueSets",
                hint="put the ValueSets of the mapped codes in source[x] / target[x]; to map the elements of two "
                     "StructureDefinitions, leave them out and name the definitions in group.source / group.target")
def concept_map_scopes(model: FhirModel) -> Iterator[Violation]:
    for resource, path in _concept_maps(model):
        for side in ("source", "target"):
            for key in (f"{side}Uri", f"{side}Canonical"):
                definition = _definition(model, resource.get(key))
                if definition is not None:
                    yield Violation(f"{side}[x] {resource[key]!r} is a StructureDefinition: Reference must be to a "
                                    "ValueSet, but found a StructureDefinition instead", location=f"{path}.{side}")


def _element_names(definition: dict[str, Any]) -> set[str]:
    """Element paths and ids of a StructureDefinition (snapshot, else differential: logical models)."""
    view = definition.get("snapshot") or definition.get("differential") or {}
    return {name for element in view.get("element", []) if isinstance(element, dict)
            for name in (element.get("path"), element.get("id")) if isinstance(name, str)}


def _group_codes(model: FhirModel, url: Any) -> tuple[str, set[str], str] | None:
    """(system as HL7 names it, valid codes, what they are) of a group's source or target: a StructureDefinition
    of the loaded packages, or a complete CodeSystem they hold; None when the bench cannot judge its codes."""
    definition = _definition(model, url)
    if definition is not None:
        return (f"{definition.get('url')}|{definition.get('version', '?')}", _element_names(definition),
                "no element of that StructureDefinition has this path or id")
    held = model.terminology.code_system(url)
    if held is not None and held.complete:
        return f"{held.url}|{held.version or '?'}", set(held.displays), "the CodeSystem does not define it"
    return None


@rules.register("FHIR-CONCEPTMAP-CODE", kind="fhir",
                title="codes of a ConceptMap group exist in its source and target (StructureDefinition element paths "
                      "or ids, codes of a complete CodeSystem)",
                hint="write a code of the group's source / target: for a StructureDefinition the element path "
                     "(DocumentReference.subject) or id (DocumentReference.context.related:referenceIdList)")
def concept_map_codes(model: FhirModel) -> Iterator[Violation]:
    for resource, path in _concept_maps(model):
        for g, group in enumerate(_items(resource.get("group"))):
            source, target = _group_codes(model, group.get("source")), _group_codes(model, group.get("target"))
            for e, element in enumerate(_items(group.get("element"))):
                where = f"{path}.group[{g}].element[{e}]"
                yield from _invalid_code("source", element.get("code"), source, f"{where}.code")
                for t, mapped in enumerate(_items(element.get("target"))):
                    yield from _invalid_code("target", mapped.get("code"), target, f"{where}.target[{t}].code")


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _invalid_code(side: str, code: Any, known: tuple[str, set[str], str] | None, location: str) -> Iterator[Violation]:
    if known is not None and isinstance(code, str) and code not in known[1]:
        yield Violation(f"The {side} code {code!r} is not valid in the code system {known[0]}: {known[2]}",
                        location=location)


# ---------------------------------------------------------------- codings against the held code systems


def _held_codings(model: FhirModel) -> Iterator[tuple[dict[str, Any], HeldCodeSystem, str]]:
    """(coding, its code system, FHIRPath) of every coding whose code system a loaded package holds."""
    for coding, where in model.typed("Coding"):
        held = model.terminology.code_system(coding.get("system")) if isinstance(coding, dict) else None
        if held is not None:
            yield coding, held, where


@rules.register("FHIR-CODE-UNKNOWN", kind="fhir",
                title="a coding's code is defined by its code system (complete CodeSystems of the loaded packages)",
                hint="use a code the code system defines (check the code and the system URL)")
def unknown_codes(model: FhirModel) -> Iterator[Violation]:
    for coding, held, where in _held_codings(model):
        code = coding.get("code")
        if held.complete and isinstance(code, str) and code not in held.displays:
            version = f" version '{held.version}'" if held.version else ""
            yield Violation(f"Unknown code '{code}' in the CodeSystem '{held.url}'{version}", location=f"{where}.code")


@rules.register("FHIR-CODE-DISPLAY", kind="fhir",
                title="a coding's display is one of the displays or designations its code system gives the code",
                hint="copy the display of the code system (any of its designations, in any language, is accepted), "
                     "or leave display out")
def wrong_displays(model: FhirModel) -> Iterator[Violation]:
    for coding, held, where in _held_codings(model):
        valid = held.displays.get(coding["code"], []) if isinstance(coding.get("code"), str) else []
        display = coding.get("display")
        if valid and isinstance(display, str) and display not in valid:
            shown = " or ".join(f"'{name}'" for name in valid)
            yield Violation(f"Wrong Display Name '{display}' for {held.url}#{coding['code']}. Valid display is "
                            f"{shown}", location=f"{where}.display")
