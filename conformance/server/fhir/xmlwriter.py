"""FHIR JSON → FHIR XML for the answers, from the JSON values as they are (lossless) in the element order of
the R4B models.

Why not ``model_dump_xml``: it re-serialises the parsed values (instants gain microseconds) and takes about
20 ms per DocumentReference, so a searchset of a few hundred documents took seconds. Here the R4B classes only
give the order of the elements (``elements_sequence``) and the class of each child; the values are the JSON
ones. The rules of the XML form (FHIR R4 §2.6.2): primitives are ``value`` attributes with their ``_name``
extensions as children, ``id`` of an element and ``url`` of an extension are attributes, a resource inside an
element is wrapped in an element named after its type, ``div`` is the XHTML itself.
"""

from __future__ import annotations

import functools
import importlib
import json
import typing
from itertools import zip_longest
from typing import Any

from lxml import etree

FHIR_NS = "http://hl7.org/fhir"
Child = tuple[type[Any] | None, bool]  # (class of a complex child or None for a primitive, is it a resource)


def _model_class(resource_type: str) -> type[Any]:
    from fhir.resources.R4B import get_fhir_model_class  # 0.4 s import: only when XML is asked for

    return get_fhir_model_class(resource_type)  # type: ignore[no-any-return]


@functools.cache
def _children(cls: type[Any]) -> dict[str, Child]:
    """JSON name → how to write it, for the elements of ``cls`` (cached per class)."""
    children: dict[str, Child] = {}
    for field in cls.model_fields.values():
        if field.alias and not field.alias.startswith("_"):
            children[field.alias] = _kind(field.annotation)
    return children


def _kind(annotation: Any) -> Child:
    """The model class behind an R4B annotation (``Optional[List[abc.XType]]``), None for primitives."""
    for arg in (annotation, *typing.get_args(annotation)):
        path = getattr(arg, "_model_klass", None)
        if path is not None:
            module, _, name = str(path).rpartition(".")
            klass = getattr(importlib.import_module(module), name)
            return klass, name == "Resource"
        if typing.get_args(arg) and arg is not annotation:
            found = _kind(arg)
            if found != (None, False):
                return found
    return None, False


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _element(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{FHIR_NS}}}{name}")


def _primitive_extension(element: etree._Element, extension: Any) -> None:
    if not isinstance(extension, dict):
        return
    if extension.get("id"):
        element.set("id", str(extension["id"]))
    for item in extension.get("extension") or []:
        _complex(_element(element, "extension"), _model_class("Extension"), item)


def _complex(element: etree._Element, cls: type[Any], data: dict[str, Any], resource: bool = False) -> None:
    """The elements of ``data`` under ``element``, in the order of ``cls``."""
    if not resource:  # of an element, id (and url of an extension) are attributes
        for attribute in ("id", "url") if cls.__name__ == "Extension" else ("id",):
            if data.get(attribute) is not None:
                element.set(attribute, str(data[attribute]))
    children = _children(cls)
    order = cls.elements_sequence()
    unknown = {k.removeprefix("_") for k in data} - set(order) - {"resourceType"}
    if unknown:  # dropping them would lose data silently: the caller answers in JSON instead
        raise ValueError(f"{cls.__name__} has no element {sorted(unknown)}")
    for name in order:
        if not resource and (name == "id" or (name == "url" and cls.__name__ == "Extension")):
            continue
        value, extension = data.get(name), data.get(f"_{name}")
        if value is None and extension is None:
            continue
        klass, is_resource = children.get(name, (None, False))
        values = value if isinstance(value, list) else [value]
        extensions = extension if isinstance(extension, list) else [extension]
        for item, item_extension in zip_longest(values, extensions):
            if name == "div" and isinstance(item, str):
                element.append(etree.fromstring(item))
            elif klass is None:
                child = _element(element, name)
                if item is not None:
                    child.set("value", _text(item))
                _primitive_extension(child, item_extension)
            elif is_resource:
                _resource(_element(element, name), item)
            else:
                _complex(_element(element, name), klass, item)


def _resource(parent: etree._Element | None, data: dict[str, Any]) -> etree._Element:
    kind = data["resourceType"]
    element = etree.Element(f"{{{FHIR_NS}}}{kind}", nsmap={None: FHIR_NS}) if parent is None \
        else _element(parent, kind)
    _complex(element, _model_class(kind), data, resource=True)
    return element


def fhir_xml(resource: dict[str, Any]) -> bytes:
    """The resource (valid FHIR JSON) as FHIR XML with an XML declaration."""
    return etree.tostring(_resource(None, resource), xml_declaration=True, encoding="UTF-8")  # type: ignore[no-any-return]
