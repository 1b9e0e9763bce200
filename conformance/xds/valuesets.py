"""DMP value sets for XDS metadata: project data (``profiles/xds/valuesets.yaml``) and, when the CI-SIS
package is available at run time, its official SVS lists (``jeuxDeValeurs/``), which replace ours."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from conformance.resources import profiles_path
from conformance.xml import parse_xml

VALUESETS_FILE = profiles_path("xds", "valuesets.yaml")
SVS = "urn:ihe:iti:svs:2008"


@dataclass(frozen=True, slots=True)
class ValueSet:
    """Codes as (code, codingScheme) pairs; ``complete`` says whether a code outside the set is an error."""

    name: str
    oid: str
    complete: bool
    source: str  # "profiles/xds/valuesets.yaml" or the SVS file name
    concepts: dict[tuple[str, str], str] = field(default_factory=dict)  # (code, scheme) -> display

    def __contains__(self, item: tuple[str, str | None]) -> bool:
        code, scheme = item
        return (code, scheme or "") in self.concepts

    def schemes_of(self, code: str) -> set[str]:
        return {s for c, s in self.concepts if c == code}


def _from_svs(name: str, path: Path) -> ValueSet | None:
    try:
        root = parse_xml(path.read_bytes()).getroot()
    except (OSError, ValueError):
        return None
    value_set = root.find(f"{{{SVS}}}ValueSet")
    concepts = {(c.get("code", ""), c.get("codeSystem", "")): c.get("displayName", "")
                for c in root.iter(f"{{{SVS}}}Concept")}
    if value_set is None or not concepts:
        return None
    return ValueSet(name, value_set.get("id", ""), True, path.name, concepts)


def _from_yaml(name: str, entry: dict[str, object]) -> ValueSet:
    concepts: dict[tuple[str, str], str] = {}
    for line in entry.get("codes", []) or []:  # type: ignore[union-attr]
        code, scheme, display = ([*str(line).split("|"), "", ""])[:3]
        concepts[(code, scheme)] = display
    return ValueSet(name, str(entry.get("oid", "")), bool(entry.get("complete", False)),
                    "profiles/xds/valuesets.yaml", concepts)


@cache
def load_value_sets(jeux_de_valeurs: Path | None = None) -> dict[str, ValueSet]:
    """The value sets by name (``J57_class_code``…); ``jeux_de_valeurs`` is the CI-SIS SVS folder, if any."""
    data = yaml.safe_load(VALUESETS_FILE.read_text(encoding="utf-8")) or {}
    sets: dict[str, ValueSet] = {}
    for name, entry in data.items():
        official = None
        if jeux_de_valeurs is not None and entry.get("svs"):
            official = _from_svs(name, jeux_de_valeurs / str(entry["svs"]))
        sets[name] = official or _from_yaml(name, entry)
    return sets


__all__ = ["VALUESETS_FILE", "ValueSet", "load_value_sets"]
