"""Local value sets for bindings: FHIR/MHD sets and the DMP/CI-SIS JDV subsets, as project data.

The data lives in ``profiles/fhir/terminology.json``. When the CI-SIS package is available (its
``jeuxDeValeurs/`` IHE SVS files), the JDV_*_CISIS sets are replaced by the official lists. The CodeSystem
and ValueSet resources of the loaded FHIR packages (e.g. ``ans.fr.terminologies``, ``hl7.fhir.r4.core``)
are authoritative over the local data: code systems give known codes and their displays, value sets
given as concept lists or as whole code systems the bench holds give their members.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from conformance.resources import profiles_path
from conformance.xml import XmlInputError, parse_xml

DATA_DIR = profiles_path("fhir")
_SVS_NS = "{urn:ihe:iti:svs:2008}"


@dataclass(slots=True)
class LocalValueSet:
    url: str
    complete: bool  # False: a code outside the list is "unknown to the bench", not "wrong"
    codes: set[str] = field(default_factory=set)
    concepts: dict[tuple[str, str], str | None] = field(default_factory=dict)  # (system, code) → display
    syntax: re.Pattern[str] | None = None
    check_displays: bool = False
    svs: str | None = None  # the CI-SIS package's file (jeuxDeValeurs/) that gives the complete list

    def has_code(self, code: Any) -> bool:
        if not isinstance(code, str):
            return False
        if self.syntax is not None:
            return bool(self.syntax.match(code))
        return code in self.codes

    def has_coding(self, system: Any, code: Any) -> bool:
        if not isinstance(code, str) or not isinstance(system, str | None):
            return False
        if self.syntax is not None:
            return bool(self.syntax.match(code))
        return (system or "", code) in self.concepts if self.concepts else code in self.codes

    def display_of(self, system: Any, code: Any) -> str | None:
        """The display to expect, only for sets whose displays are authoritative (``check_displays``)."""
        if not self.check_displays or not isinstance(system, str) or not isinstance(code, str):
            return None
        return self.concepts.get((system, code))


@dataclass(slots=True)
class HeldCodeSystem:
    """A CodeSystem resource of a loaded package: its codes with every display it accepts."""

    url: str
    version: str | None
    complete: bool  # content "complete": a code it does not define is unknown
    displays: dict[str, list[str]] = field(default_factory=dict)  # code → display, then each designation

    @classmethod
    def from_resource(cls, resource: dict[str, Any]) -> HeldCodeSystem:
        held = cls(url=str(resource.get("url")), version=resource.get("version") if isinstance(
            resource.get("version"), str) else None, complete=resource.get("content") == "complete")
        pending = list(_dicts(resource.get("concept")))
        while pending:  # concepts nest (hierarchies): every level defines codes
            concept = pending.pop()
            code = concept.get("code")
            if isinstance(code, str):
                names = [concept.get("display")] + [d.get("value") for d in _dicts(concept.get("designation"))]
                held.displays[code] = [n for n in dict.fromkeys(names) if isinstance(n, str)]
            pending.extend(_dicts(concept.get("concept")))
        return held


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


class Terminology:
    """Value sets by canonical URL (version suffixes ignored) and code-system aliases."""

    def __init__(self, data: dict[str, Any], cisis_jdv_dir: Path | None = None) -> None:
        self.systems: dict[str, str] = {k: v for k, v in data["codeSystems"].items()}
        self.oids: dict[str, str] = dict(data.get("oids", {}))
        self.element_systems: dict[str, dict[str, Any]] = {
            k: v for k, v in data.get("elementSystems", {}).items() if not k.startswith("_")}
        self.profile_types: dict[str, str] = {
            k: v for k, v in data.get("profileTypes", {}).items() if not k.startswith("_")}
        self.extension_namespaces: tuple[str, ...] = tuple(data.get("knownExtensions", {}).get("namespaces", ()))
        self.value_sets: dict[str, LocalValueSet] = {}
        self.code_systems: dict[str, HeldCodeSystem] = {}
        raw_sets = data["valueSets"]
        for url, spec in raw_sets.items():
            source = raw_sets[spec["same_as"]] if "same_as" in spec else spec
            value_set = self._build(url, source, spec.get("complete", source.get("complete", False)))
            value_set.svs = spec.get("svs")
            if cisis_jdv_dir and value_set.svs and (cisis_jdv_dir / value_set.svs).is_file():
                self._load_svs(value_set, cisis_jdv_dir / value_set.svs)
            self.value_sets[url] = value_set

    def system_url(self, name: str) -> str:
        """``TRE_A03`` or an OID → the FHIR code system URL; other strings unchanged."""
        if name in self.systems:
            return self.systems[name]
        if name in self.oids:
            return self.systems[self.oids[name]]
        return name

    def systems_of(self, names: list[str]) -> set[str]:
        """FHIR URLs of the named systems, plus their ``urn:oid:`` forms (both appear in practice)."""
        urls = {self.system_url(n) for n in names}
        urls |= {f"urn:oid:{oid}" for oid, name in self.oids.items() if name in names and oid[0].isdigit()}
        return urls

    def _build(self, url: str, spec: dict[str, Any], complete: bool) -> LocalValueSet:
        value_set = LocalValueSet(url=url, complete=complete, check_displays=bool(spec.get("displays")))
        if "syntax" in spec:
            value_set.syntax = re.compile(spec["syntax"])
        value_set.codes.update(spec.get("codes", ()))
        for concept in spec.get("concepts", ()):
            system = self.system_url(concept["system"])
            value_set.concepts[(system, concept["code"])] = concept.get("display")
            value_set.codes.add(concept["code"])
        return value_set

    def _load_svs(self, value_set: LocalValueSet, path: Path) -> None:
        """Replace the subset by the official IHE SVS list: the set becomes complete."""
        try:
            root = parse_xml(path.read_bytes()).getroot()
        except (OSError, XmlInputError):
            return
        value_set.concepts.clear()
        value_set.codes.clear()
        for concept in root.iter(f"{_SVS_NS}Concept"):
            code, system = concept.get("code"), concept.get("codeSystem")
            if code and system:
                value_set.concepts[(self.system_url(system), code)] = concept.get("displayName")
                value_set.codes.add(code)
        value_set.complete = bool(value_set.codes)

    def with_package_resources(self, resources: Iterable[dict[str, Any]]) -> Terminology:
        """A copy that holds the packages' CodeSystems and, replacing the local data, their ValueSets given as
        concept lists or as whole held code systems (filters and imports cannot be expanded offline: skipped).
        The first package defining a URL wins (the packages come in priority order)."""
        clone = copy.copy(self)
        clone.value_sets, clone.code_systems = dict(self.value_sets), dict(self.code_systems)
        resources = list(resources)
        for resource in resources:
            if resource.get("resourceType") == "CodeSystem" and isinstance(resource.get("url"), str):
                clone.code_systems.setdefault(resource["url"], HeldCodeSystem.from_resource(resource))
        seen: set[str] = set()
        for resource in resources:
            if resource.get("resourceType") == "ValueSet" and str(resource.get("url")) not in seen:
                value_set = clone._expand(resource)
                if value_set is not None:
                    seen.add(value_set.url)
                    clone.value_sets[value_set.url] = value_set
        return clone

    def _expand(self, resource: dict[str, Any]) -> LocalValueSet | None:
        """The members of a ValueSet whose composition the bench can expand, else None."""
        compose = resource.get("compose") if isinstance(resource.get("compose"), dict) else {}
        includes, excludes = _dicts(compose.get("include")), _dicts(compose.get("exclude"))
        if not includes or any("filter" in part or "valueSet" in part for part in includes + excludes):
            return None
        value_set = LocalValueSet(url=str(resource.get("url")), complete=True, check_displays=True)
        for include in includes:
            system = str(include.get("system", ""))
            if "concept" in include:
                members = {str(c.get("code")): c.get("display") for c in _dicts(include["concept"])}
            else:
                held = self.code_systems.get(system)
                if held is None or not held.complete:
                    return None  # the whole of a code system the bench does not hold
                members = {code: (names or [None])[0] for code, names in held.displays.items()}
            for code, display in members.items():
                value_set.concepts[(system, code)] = display
        for exclude in excludes:
            if "concept" not in exclude:
                return None
            for concept in _dicts(exclude["concept"]):
                value_set.concepts.pop((str(exclude.get("system", "")), str(concept.get("code"))), None)
        value_set.codes.update(code for _, code in value_set.concepts)
        return value_set

    def code_system(self, url: Any) -> HeldCodeSystem | None:
        return self.code_systems.get(url.split("|", 1)[0]) if isinstance(url, str) else None

    def value_set(self, url: str | None) -> LocalValueSet | None:
        return self.value_sets.get(url.split("|", 1)[0]) if url else None


@lru_cache(maxsize=4)
def load_terminology(cisis_jdv_dir: Path | None = None) -> Terminology:
    data = json.loads((DATA_DIR / "terminology.json").read_text(encoding="utf-8"))
    return Terminology(data, cisis_jdv_dir)


@lru_cache(maxsize=1)
def type_profiles() -> dict[str, dict[str, Any]]:
    """MHD data-type profiles (identifier kinds) hand-described in ``profiles/fhir/type-profiles.json``."""
    data = json.loads((DATA_DIR / "type-profiles.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}
