"""The per-package build tree: the ANS package as the compiled stylesheets see it, with upstream defects fixed.

The package folder is read-only. The build tree mirrors ``schematrons/`` and ``jeuxDeValeurs/`` with one
symbolic link per file (real folders, so that files can be added without touching the package) and holds
the generated XSLT next to where each ``.sch`` sits, so that ``document('../jeuxDeValeurs/x.xml')``,
``doc('include/voc-…')`` and ``doc('../terminologie/…rdf')`` resolve as in the package layout.

Defects coped with (cda-cisis.md §5), each reported once as a warning :class:`Finding`:

* ``BENCH-PKG-CASE-ALIAS``: an include or a value-set reference that only matches a file ignoring letter
  case (ANS works on Windows); an alias link is added.
* ``BENCH-PKG-SYNTH-VALUESET``: an ART-DECOR ``voc-<OID>-DYNAMIC.xml`` value set missing from the package
  (StrucMin's ``voc-1.2.250.1.213.1.1.5.471``) is synthesised from the ``jeuxDeValeurs/`` SVS file with the
  same OID.
* ``BENCH-PKG-MISSING-FILE`` / ``BENCH-PKG-EMPTY-FILE``: a value set referenced by ``document()``/``doc()``
  that is absent (or an empty file) is replaced by an **empty value set**: every code checked against it is
  then reported as not in the set, where the official pipeline aborts the whole schematron (FODC0002) —
  a loud, located failure instead of a lost verdict.
* ``BENCH-PKG-VOLET-BROKEN``: a schematron that cannot be assembled (``BIO-CR-BIO_2023.01``, whose include
  folder is missing): its runs get status ``compile_error``.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from lxml import etree

from conformance.findings import Finding, Severity, Source
from conformance.schematron.assemble import resolve_case_insensitive

MIRRORED = ("schematrons", "jeuxDeValeurs")
_VOC_NAME = re.compile(r"voc-(?P<oid>[0-9.]+)-DYNAMIC\.xml$")
_SVS_ID = re.compile(rb"<(?:\w+:)?ValueSet\b[^>]*\bid=\"([0-9.]+)\"")
_SVS_NS = "urn:ihe:iti:svs:2008"
EMPTY_SVS = (b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- dmp-conformance: empty stand-in for a missing value set -->\n'
             b'<RetrieveValueSetResponse xmlns="urn:ihe:iti:svs:2008"><ValueSet id="" displayName="missing">'
             b"<ConceptList/></ValueSet></RetrieveValueSetResponse>\n")
EMPTY_VOC = (b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- dmp-conformance: empty stand-in for a missing value set -->\n'
             b"<valueSets><valueSet><conceptList/></valueSet></valueSets>\n")


def package_finding(rule: str, message: str, path: str, hint: str, severity: Severity = Severity.WARNING) -> Finding:
    return Finding(rule=rule, severity=severity, source=Source.SCHEMATRON, message=message, location=path,
                   hint=hint, extra={"file": path})


class BuildTree:
    """The mirror of one package under ``cache_dir``; idempotent, safe to share between processes."""

    def __init__(self, package_root: Path, cache_dir: Path) -> None:
        self.package_root = package_root.resolve()
        digest = hashlib.sha256(str(self.package_root).encode()).hexdigest()[:12]
        self.root = (cache_dir / f"build-{digest}").absolute()
        self._svs_index: dict[str, Path] | None = None
        self._mirror()

    def _mirror(self) -> None:
        for top in MIRRORED:
            source_top = self.package_root / top
            for folder, dirs, files in os.walk(source_top):
                relative = Path(folder).relative_to(self.package_root)
                target = self.root / relative
                target.mkdir(parents=True, exist_ok=True)
                for name in files:
                    link = target / name
                    if not link.exists() and not link.is_symlink():
                        link.symlink_to(Path(folder) / name)
                dirs.sort()

    def build_path(self, package_path: Path) -> Path:
        return self.root / package_path.resolve().relative_to(self.package_root)

    def package_relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _svs_file_for(self, oid: str) -> Path | None:
        if self._svs_index is None:
            self._svs_index = {}
            for path in sorted((self.package_root / "jeuxDeValeurs").glob("*.xml")):
                found = _SVS_ID.search(path.read_bytes()[:4096])
                if found:
                    self._svs_index.setdefault(found.group(1).decode(), path)
        return self._svs_index.get(oid)

    def _write(self, target: Path, data: bytes) -> None:
        if target.is_symlink():
            target.unlink()
        if not target.exists() or target.read_bytes() != data:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(target)

    def ensure_document(self, base_dir: Path, href: str) -> tuple[Path | None, Finding | None]:
        """Make ``href`` (relative to the build folder ``base_dir``) readable; report what had to be fixed.

        Returns the build-tree path (None when the reference leaves the mirrored folders) and a finding
        when a defect was coped with.
        """
        target = Path(os.path.normpath(base_dir / href))
        try:
            relative = target.relative_to(self.root)
        except ValueError:
            return None, None
        if not relative.parts or relative.parts[0] not in MIRRORED:
            return None, None
        name = relative.as_posix()
        source = self.package_root / relative
        if source.is_file():
            if source.stat().st_size == 0 or not source.read_bytes().strip():
                self._write(target, EMPTY_VOC if _VOC_NAME.search(target.name) else EMPTY_SVS)
                return target, package_finding(
                    "BENCH-PKG-EMPTY-FILE", f"value set {name} is an empty file in the package; an empty value "
                    "set is used instead (every code checked against it is reported as not in the set)", name,
                    "report the empty value-set file to ANS; codes checked against it cannot be validated")
            return target, None
        alias = resolve_case_insensitive(self.package_root, relative.as_posix())
        if alias is not None and alias.is_file():
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(alias)
            return target, package_finding(
                "BENCH-PKG-CASE-ALIAS", f"{name} is referenced with a letter case that differs from the file "
                f"on disk ({alias.relative_to(self.package_root).as_posix()}); resolved ignoring case", name,
                "upstream defect (the package is authored on a case-insensitive file system); nothing to fix "
                "in the validated document")
        voc = _VOC_NAME.search(target.name)
        svs = self._svs_file_for(voc.group("oid")) if voc else None
        if svs is not None:
            self._write(target, synthesise_voc(svs))
            return target, package_finding(
                "BENCH-PKG-SYNTH-VALUESET", f"value set {name} is missing from the package; synthesised from "
                f"jeuxDeValeurs/{svs.name} (same value set OID {voc.group('oid') if voc else ''})", name,
                "upstream defect; the synthesised value set has the concepts of the CI-SIS SVS file")
        self._write(target, EMPTY_VOC if voc else EMPTY_SVS)
        return target, package_finding(
            "BENCH-PKG-MISSING-FILE", f"value set {name} is referenced by the schematrons but missing from the "
            "package; an EMPTY value set is used instead, so every code checked against it is reported as not "
            "in the set (the official pipeline aborts the schematron with FODC0002)", name,
            "a failed assert naming this value set is caused by the package, not by the document")


def synthesise_voc(svs_file: Path) -> bytes:
    """An IHE SVS value set converted to the ART-DECOR ``valueSets/valueSet/conceptList/concept`` layout."""
    tree = etree.parse(str(svs_file), etree.XMLParser(resolve_entities=False, no_network=True))
    value_set = tree.find(f"{{{_SVS_NS}}}ValueSet")
    if value_set is None:
        value_set = tree.getroot()
    out_set = etree.Element("valueSet")
    for key in ("id", "displayName", "version", "effectiveDate"):
        if value_set.get(key) is not None:
            out_set.set("name" if key == "displayName" else key, value_set.get(key, ""))
    concepts = etree.SubElement(out_set, "conceptList")
    for concept in value_set.iter(f"{{{_SVS_NS}}}Concept"):
        out = etree.SubElement(concepts, "concept")
        for key in ("code", "codeSystem", "displayName"):
            if concept.get(key) is not None:
                out.set(key, concept.get(key, ""))
        out.set("level", "0")
        out.set("type", "L")
    root = etree.Element("valueSets")
    root.append(etree.Comment(f" dmp-conformance: synthesised from jeuxDeValeurs/{svs_file.name} "))
    root.append(out_set)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
