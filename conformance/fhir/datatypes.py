"""The FHIR data type of every element of a JSON resource, read from the ``fhir.resources`` R4B model classes.

Checks that HL7 validators run on a data type wherever it occurs (canonical URLs, codings against their code
systems) need to know which JSON values have that type without a snapshot of every resource. The R4B
classes carry it: each field's annotation names its primitive (``Annotated[str, Canonical()]``) or its
complex type (``CodingType`` → ``Coding``); choice types are one field per type (``exampleCanonical``).
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from functools import cache
from typing import Any

# JSON key → (type name, model class of a complex type or None); "Resource" for nested resources
Fields = dict[str, tuple[str, Any]]
Located = list[tuple[Any, str]]


def _model_class(resource_type: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class  # heavy import: only when FHIR is validated

    try:
        return get_fhir_model_class(resource_type)
    except Exception:  # an unknown resourceType: the structure findings report it
        return None


def _element_type(annotation: Any) -> tuple[str, Any] | None:
    """(type name, class) of a field annotation: Optional / List / Annotated wrappers removed."""
    while (origin := typing.get_origin(annotation)) is not None:
        if origin is typing.Annotated:  # a primitive: Annotated[str, Canonical()] → "canonical"
            marker = type(typing.get_args(annotation)[1]).__name__
            return marker[:1].lower() + marker[1:], None
        arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
        if not arguments:
            return None
        annotation = arguments[0]
    klass = getattr(annotation, "get_model_klass", None)
    if klass is None:
        return None  # plain Python primitives (bool, int …) are never the types the checks look for
    model = klass()
    return ("Resource", None) if model.__name__ == "Resource" else (model.__name__, model)


@cache
def fields_of(model: Any) -> Fields:
    """The typed JSON keys of a model class (primitive extension keys ``_x`` left out)."""
    found: Fields = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key.startswith("_") or name == "fhir_comments":
            continue
        element_type = _element_type(info.annotation)
        if element_type is not None:
            found[key] = element_type
    return found


def typed_values(resource: dict[str, Any], root: str, wanted: Iterable[str]) -> dict[str, Located]:
    """{type name: [(value, FHIRPath)]} of the values of the ``wanted`` types in document order, nested resources
    included (contained, Bundle entries), located like the other findings (``Bundle.entry[0].resource.meta``)."""
    found: dict[str, Located] = {name: [] for name in wanted}

    def visit(obj: dict[str, Any], model: Any, location: str) -> None:
        fields = fields_of(model)
        for key, value in obj.items():
            field = fields.get(key)
            if field is None:
                continue  # unknown element: reported by the structure check
            type_name, child_model = field
            items = enumerate(value) if isinstance(value, list) else ((None, value),)
            for index, item in items:
                where = f"{location}.{key}" if index is None else f"{location}.{key}[{index}]"
                if type_name in found:
                    found[type_name].append((item, where))
                if isinstance(item, dict):
                    inner = _resource_model(item) if type_name == "Resource" else child_model
                    if inner is not None:
                        visit(item, inner, where)

    model = _resource_model(resource)
    if model is not None:
        visit(resource, model, root)
    return found


def _resource_model(resource: dict[str, Any]) -> Any:
    resource_type = resource.get("resourceType")
    return _model_class(resource_type) if isinstance(resource_type, str) else None
