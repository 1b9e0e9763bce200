"""Steps 1 and 2 of ISO Schematron compilation: inline the includes, instantiate abstract patterns.

The result is one self-contained ``sch:schema`` element (lxml) equivalent to the ``colle.sch`` →
``concret.sch`` output of the ISO skeleton (``iso_dsdl_include.xsl``, ``iso_abstract_expand.xsl``).
Includes resolve relative to the including file and, because ANS authors on a case-insensitive file
system, fall back to a case-insensitive lookup (each alias is reported).
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

SCH_NS = "http://purl.oclc.org/dsdl/schematron"
SCH = f"{{{SCH_NS}}}"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


class SchematronBuildError(Exception):
    """The schematron cannot be assembled (missing include, malformed file): status ``compile_error``."""


@dataclass(slots=True)
class CaseAlias:
    """An href that only resolves when letter case is ignored (upstream defect #1)."""

    including_file: Path
    href: str
    resolved: Path


@dataclass(slots=True)
class Assembly:
    schema: etree._Element
    files: list[Path] = field(default_factory=list)  # the .sch and every included file (for cache keys)
    aliases: list[CaseAlias] = field(default_factory=list)


def resolve_case_insensitive(base: Path, relative: str) -> Path | None:
    """``base / relative`` if it exists, else the unique path whose segments match ignoring letter case."""
    exact = Path(os.path.normpath(base / relative))
    if exact.exists():
        return exact
    current = base
    for part in Path(relative).parts:
        if part in ("..", "."):
            current = current / part
            continue
        candidate = current / part
        if candidate.exists():
            current = candidate
            continue
        if not current.is_dir():
            return None
        lowered = part.lower()
        matches = [child for child in current.iterdir() if child.name.lower() == lowered]
        if len(matches) != 1:
            return None
        current = matches[0]
    return Path(os.path.normpath(current)) if current.exists() else None


def _parse(path: Path) -> etree._Element:
    try:
        return etree.parse(str(path), _PARSER).getroot()
    except (OSError, etree.XMLSyntaxError) as exc:
        raise SchematronBuildError(f"cannot read {path.name}: {exc}") from exc


def _inline_includes(element: etree._Element, source: Path, assembly: Assembly, depth: int = 0) -> None:
    if depth > 50:
        raise SchematronBuildError(f"include nesting too deep at {source}")
    for include in list(element.iter(f"{SCH}include")):
        href = unquote(include.get("href", ""))
        target = resolve_case_insensitive(source.parent, href)
        if target is None or not target.is_file():
            raise SchematronBuildError(f"include {href!r} of {source.name} not found ({source.parent / href})")
        if target != Path(os.path.normpath(source.parent / href)):
            assembly.aliases.append(CaseAlias(source, href, target))
        assembly.files.append(target)
        included = _parse(target)
        _inline_includes(included, target, assembly, depth + 1)
        parent = include.getparent()
        if parent is None:
            raise SchematronBuildError(f"{source.name}: include as document element")
        included.tail = include.tail
        parent.replace(include, included)


def _substitute(text: str, params: list[tuple[str, str]]) -> str:
    # Longest names first so that $path_jdv1 is not rewritten as ($path_jdv)1.
    for name, value in params:
        text = re.sub(r"\$" + re.escape(name) + r"(?![\w.\-])", lambda _m, v=value: v, text)
    return text


def _instantiate(abstract: etree._Element, instance: etree._Element) -> etree._Element:
    params = sorted(((p.get("name", ""), p.get("value", "")) for p in instance.iter(f"{SCH}param")),
                    key=lambda item: -len(item[0]))
    concrete = etree.Element(f"{SCH}pattern", nsmap=abstract.nsmap)
    for name, value in instance.attrib.items():
        if name not in ("is-a", "abstract"):
            concrete.set(name, value)
    for child in abstract:
        if isinstance(child, etree._Element) and child.tag == f"{SCH}param":
            continue
        clone = copy.deepcopy(child)
        if params and isinstance(clone, etree._Element):
            for node in clone.iter():
                if isinstance(node, etree._Element):
                    for key, value in node.attrib.items():
                        if "$" in value:
                            node.set(key, _substitute(value, params))
        concrete.append(clone)
    concrete.tail = instance.tail
    return concrete


def _expand_abstract_patterns(schema: etree._Element) -> None:
    abstracts = {p.get("id"): p for p in schema.iter(f"{SCH}pattern") if p.get("abstract") == "true"}
    for instance in list(schema.iter(f"{SCH}pattern")):
        base_id = instance.get("is-a")
        if not base_id:
            continue
        abstract = abstracts.get(base_id)
        if abstract is None:
            raise SchematronBuildError(f"pattern {instance.get('id')!r}: abstract pattern {base_id!r} not found")
        instance.getparent().replace(instance, _instantiate(abstract, instance))
    for abstract in abstracts.values():
        abstract.getparent().remove(abstract)


def assemble(path: Path) -> Assembly:
    """Read ``path`` and return the schema with includes inlined and abstract patterns instantiated."""
    root = _parse(path)
    if root.tag != f"{SCH}schema":
        raise SchematronBuildError(f"{path.name} is not an ISO Schematron schema (root {root.tag})")
    assembly = Assembly(schema=root, files=[path])
    _inline_includes(root, path, assembly)
    _expand_abstract_patterns(root)
    return assembly
