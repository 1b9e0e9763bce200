"""FHIRPath Patch (a ``Parameters`` resource, JSON or XML; PDSm st_maj accepts it beside JSON Patch) turned into
the JSON Patch operations the metadata update applies, so both forms go through the same checks.

The paths are the simple FHIRPath the metadata updates need: ``DocumentReference.elem``, indexes (``[0]``) and
``.where(url='…')`` on extensions, e.g. ``DocumentReference.securityLabel[1]`` or
``DocumentReference.extension.where(url='…pdsm-ext-is-archived').value``. Operations: add, insert, delete,
replace (move is refused). A value is the part's ``value[x]``, or its parts for a complex type (an Extension).
"""

from __future__ import annotations

import re
from typing import Any

from conformance.server.fhir.outcome import FhirError

_STEP = re.compile(r"\.where\(url='(?P<url>[^']*)'\)|\.(?P<name>[A-Za-z]+)(?:\[(?P<index>\d+)\])?")
_LISTS = {"securityLabel", "extension", "category", "author", "relatesTo", "identifier", "content"}


def _value(part: dict[str, Any]) -> Any:
    """``value[x]`` of a part, or the object its own parts make (``{"url": …, "valueBoolean": …}``)."""
    for key, value in part.items():
        if key.startswith("value"):
            return value
    parts = _parts(part)
    if parts:
        return {name: _value(p) for name, p in parts.items()}
    return None


def _parts(parameter: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The parts of a parameter by name (a malformed part is left out: the operation then misses it)."""
    parts = parameter.get("part")
    return {p["name"]: p for p in parts if isinstance(p, dict) and isinstance(p.get("name"), str)} \
        if isinstance(parts, list) else {}


def _pointer(path: str, resource: dict[str, Any], where: str) -> tuple[str, Any]:
    """A FHIRPath of the resource → (JSON pointer, the node it points to)."""
    kind = resource.get("resourceType", "")
    if not isinstance(path, str) or not path.startswith(kind):
        raise FhirError(422, f"{where}: path {path!r} does not start with {kind}", expression=where)
    pointer, node, rest = "", resource, path[len(kind):]
    while rest:
        step = _STEP.match(rest)
        if step is None:
            raise FhirError(422, f"{where}: cannot follow {rest!r} in {path!r} (name, [index] and "
                            ".where(url='…') are supported)", expression=where)
        rest = rest[step.end():]
        if step["url"] is not None:
            matches = [i for i, item in enumerate(node if isinstance(node, list) else [])
                       if isinstance(item, dict) and item.get("url") == step["url"]]
            if not matches:
                raise FhirError(422, f"{where}: no extension {step['url']!r} in {path!r}", expression=where)
            pointer, node = f"{pointer}/{matches[0]}", node[matches[0]]
            continue
        name = step["name"]
        if name == "value" and isinstance(node, dict):  # value[x]: the one the element has
            name = next((k for k in node if k.startswith("value")), name)
        node = node.get(name) if isinstance(node, dict) else None
        pointer = f"{pointer}/{name}"
        if step["index"] is not None:
            index = int(step["index"])
            if not isinstance(node, list) or index >= len(node):
                raise FhirError(422, f"{where}: {path!r} has no item {index}", expression=where)
            pointer, node = f"{pointer}/{index}", node[index]
        elif isinstance(node, list) and len(node) == 1 and rest and not rest.startswith(".where("):
            pointer, node = f"{pointer}/0", node[0]  # FHIRPath walks into a single-item collection
    return pointer, node


def json_patch_of(parameters: Any, resource: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON Patch equivalent of a FHIRPath Patch ``Parameters`` on ``resource``."""
    if not isinstance(parameters, dict) or parameters.get("resourceType") != "Parameters":
        raise FhirError(400, "a FHIRPath Patch body is a Parameters resource")
    operations: list[dict[str, Any]] = []
    given = parameters.get("parameter")
    for index, parameter in enumerate(given if isinstance(given, list) else []):
        where = f"Parameters.parameter[{index}]"
        if not isinstance(parameter, dict) or parameter.get("name") != "operation":
            raise FhirError(422, f"{where} is not an operation", expression=where)
        parts = _parts(parameter)
        kind, path = _value(parts.get("type", {})), _value(parts.get("path", {}))
        value = _value(parts["value"]) if "value" in parts else None
        pointer, node = _pointer(str(path), resource, where)
        if kind == "replace":
            operations.append({"op": "replace", "path": pointer, "value": value})
        elif kind == "delete":
            operations.append({"op": "remove", "path": pointer})
        elif kind == "insert":
            operations.append({"op": "add", "path": f"{pointer}/{_value(parts.get('index', {}))}", "value": value})
        elif kind == "add":
            name = str(_value(parts.get("name", {})))
            existing = node.get(name) if isinstance(node, dict) else None
            if isinstance(existing, list):
                operations.append({"op": "add", "path": f"{pointer}/{name}/-", "value": value})
            else:
                operations.append({"op": "add", "path": f"{pointer}/{name}",
                                   "value": [value] if name in _LISTS else value})
        else:
            raise FhirError(422, f"{where}: operation type {kind!r} is not supported (add, insert, delete, replace)",
                            expression=where)
    if not operations:
        raise FhirError(400, "the Parameters carries no operation")
    return operations
