"""Local value sets for bindings: FHIR/MHD sets and the DMP/CI-SIS JDV subsets, as project data.

The data lives in ``profiles/fhir/terminology.json``. When the CI-SIS package is available (its
``jeuxDeValeurs/`` IHE SVS files), the JDV_*_CISIS sets are replaced by the official lists.
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
        raw_sets = data["valueSets"]
        for url, spec in raw_sets.items():
            source = raw_sets[spec["same_as"]] if "same_as" in spec else spec
            svs = cisis_jdv_dir / spec["svs"] if cisis_jdv_dir and spec.get("svs") else None
            self.value_sets[url] = self._build(url, source, spec.get("complete", source.get("complete", False)), svs)

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

    def _build(self, url: str, spec: dict[str, Any], complete: bool, svs: Path | None) -> LocalValueSet:
        value_set = LocalValueSet(url=url, complete=complete, check_displays=bool(spec.get("displays")))
        if "syntax" in spec:
            value_set.syntax = re.compile(spec["syntax"])
        value_set.codes.update(spec.get("codes", ()))
        for concept in spec.get("concepts", ()):
            system = self.system_url(concept["system"])
            value_set.concepts[(system, concept["code"])] = concept.get("display")
            value_set.codes.add(concept["code"])
        if svs is not None and svs.is_file():
            self._load_svs(value_set, svs)
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

    def with_package_value_sets(self, value_sets: Iterable[dict[str, Any]]) -> Terminology:
        """A copy where the package's enumerated ValueSets (explicit concept lists, no filters nor imports)
        replace the local data: a package that carries its value sets is authoritative for them."""
        clone = copy.copy(self)
        clone.value_sets = dict(self.value_sets)
        for resource in value_sets:
            includes = (resource.get("compose") or {}).get("include") or []
            if not includes or any("filter" in i or "valueSet" in i or "concept" not in i for i in includes):
                continue
            value_set = LocalValueSet(url=str(resource.get("url")), complete=True, check_displays=True)
            for include in includes:
                for concept in include["concept"]:
                    value_set.concepts[(str(include.get("system", "")), str(concept.get("code")))] = concept.get("display")
                    value_set.codes.add(str(concept.get("code")))
            clone.value_sets[value_set.url] = value_set
        return clone

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
