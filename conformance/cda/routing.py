"""Which official schematrons apply to a CDA document: the five profils plus, at most, one volet.

The table is data (``profiles/cda/volet-routing.yaml``); this module only loads and applies it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from conformance.cda.document import CdaDocument
from conformance.resources import profiles_path

ROUTING_FILE = profiles_path("cda", "volet-routing.yaml")


@dataclass(frozen=True, slots=True)
class Profil:
    id: str
    schematron: str
    title: str


@dataclass(frozen=True, slots=True)
class VoletRoute:
    """The routing outcome. ``schematron`` None means "no volet" (``reason`` says why)."""

    schematron: str | None
    reason: str  # "templateId", "templateId-no-volet", "document-code", "none"
    key: dict[str, str | None] | None = None
    note: str | None = None

    @property
    def volet(self) -> str | None:
        """``CANCER-CR-GM_2022.01`` for ``schematrons/CI-SIS_CANCER-CR-GM_2022.01.sch``."""
        if self.schematron is None:
            return None
        return Path(self.schematron).stem.removeprefix("CI-SIS_")

    def to_dict(self) -> dict[str, Any]:
        return {"volet": self.volet, "schematron": self.schematron, "reason": self.reason, "key": self.key,
                "note": self.note}


@dataclass(frozen=True, slots=True)
class RoutingTable:
    profils: tuple[Profil, ...]
    by_template: dict[tuple[str, str | None], tuple[str | None, str | None]]
    non_structured_root: str
    by_code: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    def route(self, template_ids: Iterable[tuple[str, str | None]], code: str | None) -> VoletRoute:
        template_ids = list(template_ids)
        for root, extension in template_ids:
            hit = self.by_template.get((root, extension))
            if hit is not None:
                schematron, note = hit
                return VoletRoute(schematron, "templateId" if schematron else "templateId-no-volet",
                                  {"root": root, "extension": extension}, note)
        if any(root == self.non_structured_root for root, _ in template_ids) and code in self.by_code:
            schematron, note = self.by_code[code]
            return VoletRoute(schematron, "document-code",
                              {"templateId_root": self.non_structured_root, "code": code}, note)
        return VoletRoute(None, "none", None,
                          "no volet templateId known to the routing table: the five profils only")

    @property
    def volet_schematrons(self) -> set[str]:
        return {s for s, _ in self.by_template.values() if s} | {s for s, _ in self.by_code.values()}


@lru_cache(maxsize=4)
def load_routing(path: Path = ROUTING_FILE) -> RoutingTable:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    by_template: dict[tuple[str, str | None], tuple[str | None, str | None]] = {}
    for entry in data["volets"]:
        key = (str(entry["root"]), None if entry.get("extension") is None else str(entry["extension"]))
        if key in by_template:
            raise ValueError(f"{path}: templateId {key} is routed twice")
        by_template[key] = (entry.get("schematron"), entry.get("note"))
    non_structured = data["non_structured"]
    return RoutingTable(
        profils=tuple(Profil(p["id"], p["schematron"], p["title"]) for p in data["profils"]),
        by_template=by_template,
        non_structured_root=str(non_structured["templateId"]),
        by_code={str(e["code"]): (e["schematron"], e.get("note")) for e in non_structured["by_document_code"]},
    )


def route_document(document: CdaDocument, table: RoutingTable | None = None) -> VoletRoute:
    """Route on the document's own ``ClinicalDocument`` (the embedded one for self-presenting files)."""
    template_ids = [(t.get("root") or "", t.get("extension")) for t in document.xpath("hl7:templateId")]
    code = document.first("hl7:code/@code")
    return (table or load_routing()).route(template_ids, str(code) if code is not None else None)
