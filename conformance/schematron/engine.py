"""The schematron engine: compile CI-SIS schematrons once, keep them in process, run them with SaxonC-HE.

One :class:`saxonche.PySaxonProcessor` per process; one compiled ``XsltExecutable`` per schematron, reused
for every document. Generated XSLT is cached on disk in the build tree, keyed by the SHA-256 of the
schematron and of every file it includes (SaxonC-HE cannot export SEF, so Saxon compiles at start-up).
Value sets and terminologies that a schematron references are parsed once per process and handed to
every run as a preloaded document pool (see :mod:`conformance.schematron.compiler`).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from conformance.findings import Finding, Severity, Source
from conformance.schematron import assemble as assemble_module
from conformance.schematron import compiler as compiler_module
from conformance.schematron import package as package_module
from conformance.schematron.assemble import SCH, Assembly, SchematronBuildError, assemble
from conformance.schematron.compiler import SchematronCompileError, compile_schema, string_literals
from conformance.schematron.model import SchematronRun, parse_svrl
from conformance.schematron.package import BuildTree, package_finding
from conformance.xml import parse_xml

_PROCESSOR_LOCK = threading.Lock()
_PROCESSOR: Any = None
_DOCUMENT_SUFFIXES = (".xml", ".rdf")


def saxon_processor() -> Any:
    """The process-wide SaxonC processor (SaxonC wants exactly one)."""
    global _PROCESSOR
    with _PROCESSOR_LOCK:
        if _PROCESSOR is None:
            from saxonche import PySaxonProcessor

            _PROCESSOR = PySaxonProcessor(license=False)
        return _PROCESSOR


def _compiler_fingerprint() -> bytes:
    """Part of every cache key: generated XSLT is stale as soon as the code generating it changes."""
    digest = hashlib.sha256()
    for module in (assemble_module, compiler_module, package_module):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.digest()


_FINGERPRINT = _compiler_fingerprint()


def _uri(path: Path) -> str:
    # The form of resolve-uri(…, static-base-uri()) in SaxonC: "file:/abs/path".
    return "file:/" + path.as_uri().removeprefix("file:///")


@dataclass(slots=True)
class _Compiled:
    executable: Any
    active_patterns: int
    lock: threading.Lock


@dataclass(slots=True)
class _Broken:
    """A schematron that cannot be compiled: every run of it is a ``compile_error``."""

    error: str
    rule: str


class SchematronEngine:
    """Compiles and runs the ISO schematrons of one ANS package (``ans-testcontenucda``)."""

    def __init__(self, package_root: Path, cache_dir: Path) -> None:
        self.package_root = Path(package_root)
        self.cache_dir = Path(cache_dir)
        self.tree = BuildTree(self.package_root, self.cache_dir)
        self._findings: dict[tuple[str, str | None], Finding] = {}
        self._compiled: dict[str, _Compiled | _Broken] = {}
        self._documents: dict[Path, Any] = {}  # None: not parseable
        self._sources: OrderedDict[tuple[str | None, int, int], Any] = OrderedDict()  # content → Saxon tree
        self._lock = threading.RLock()

    @property
    def package_findings(self) -> list[Finding]:
        """Warnings about the upstream defects coped with so far (each once)."""
        return list(self._findings.values())

    def _note(self, finding: Finding | None) -> None:
        if finding is not None:
            self._findings.setdefault((finding.rule, finding.location), finding)

    # -- compilation -------------------------------------------------------------------------------

    def prepare(self, schematrons: Iterable[str], *, progress: bool = False) -> None:
        """Compile ahead of time (optionally with a progress bar on the terminal)."""
        names = list(dict.fromkeys(schematrons))
        if not progress:
            for name in names:
                self._get(name)
            return
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task("compiling schematrons", total=len(names))
            for name in names:
                bar.update(task, description=f"compiling {Path(name).name}")
                self._get(name)
                bar.advance(task)

    def _get(self, schematron: str) -> _Compiled | _Broken:
        with self._lock:
            found = self._compiled.get(schematron)
            if found is None:
                found = self._compiled[schematron] = self._build(schematron)
            return found

    def _cache_key(self, files: list[str]) -> str:
        digest = hashlib.sha256(_FINGERPRINT)
        for name in files:
            digest.update(name.encode() + b"\0")
            digest.update((self.package_root / name).read_bytes())
        return digest.hexdigest()

    def _build(self, schematron: str) -> _Compiled | _Broken:
        source = (self.package_root / schematron).resolve()
        if not source.is_file() or not source.is_relative_to(self.package_root.resolve()):
            return _Broken(f"schematron {schematron} not found in the package", "BENCH-SCH-NOT-FOUND")
        target = self.tree.build_path(source)
        xsl_path = target.with_name(f"{target.stem}.schx.xsl")
        manifest_path = target.with_name(f"{target.stem}.schx.json")
        manifest = self._cached_manifest(manifest_path, xsl_path)
        if manifest is None:
            try:
                assembly = assemble(source)
                compiled = compile_schema(assembly.schema)
            except (SchematronBuildError, SchematronCompileError) as exc:
                finding = package_finding(
                    "BENCH-PKG-VOLET-BROKEN", f"{schematron} cannot be built: {exc}", schematron,
                    "upstream defect of the package: documents routed to this schematron are not checked by it")
                self._note(finding)
                return _Broken(str(exc), "BENCH-PKG-VOLET-BROKEN")
            manifest = self._write_cache(schematron, assembly, compiled.xslt, compiled.active_patterns,
                                         compiled.warnings, xsl_path, manifest_path)
        for data in manifest["findings"]:
            self._note(Finding(**{**data, "severity": Severity(data["severity"]), "source": Source(data["source"])}))
        try:
            executable = saxon_processor().new_xslt30_processor().compile_stylesheet(
                stylesheet_file=str(xsl_path))
        except Exception as exc:  # PySaxonApiError: the schematron's XPath does not compile
            return _Broken(f"XSLT compilation failed: {exc}", "BENCH-SCH-COMPILE-ERROR")
        pool = {name: node for name in manifest["documents"]
                if (node := self._document(self.tree.root / name)) is not None}
        if pool:
            processor = saxon_processor()
            executable.set_parameter(
                "{urn:dmp-conformance:schematron}preloaded",
                processor.make_map({processor.make_string_value(_uri(self.tree.root / name)): node
                                    for name, node in pool.items()}))
        return _Compiled(executable, manifest["active_patterns"], threading.Lock())

    def _cached_manifest(self, manifest_path: Path, xsl_path: Path) -> dict[str, Any] | None:
        if not (manifest_path.is_file() and xsl_path.is_file()):
            return None
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            if manifest.get("key") == self._cache_key(manifest["files"]):
                return manifest
        except (OSError, ValueError, KeyError):
            pass
        return None

    def _write_cache(self, schematron: str, assembly: Assembly, xslt: bytes, active_patterns: int,
                     warnings: list[str], xsl_path: Path, manifest_path: Path) -> dict[str, Any]:
        findings: list[Finding] = []
        for alias in assembly.aliases:
            rel = alias.resolved.relative_to(self.package_root).as_posix()
            findings.append(package_finding(
                "BENCH-PKG-CASE-ALIAS", f"{alias.including_file.name} includes {alias.href!r}, which only "
                f"matches {rel} ignoring letter case; resolved ignoring case", rel,
                "upstream defect (the package is authored on a case-insensitive file system); nothing to fix "
                "in the validated document"))
        for warning in warnings:
            findings.append(package_finding("BENCH-SCH-LET-CLASH", f"{schematron}: {warning}", schematron,
                                            "upstream schematron declares a global variable twice"))
        documents: list[str] = []
        for path, finding in self._referenced_documents(assembly, xsl_path.parent):
            if finding is not None:
                findings.append(finding)
            documents.append(path.relative_to(self.tree.root).as_posix())
        files = [p.relative_to(self.package_root).as_posix() for p in dict.fromkeys(assembly.files)]
        manifest = {"schematron": schematron, "key": self._cache_key(files), "files": files,
                    "active_patterns": active_patterns, "documents": sorted(set(documents)),
                    "findings": [f.to_dict() for f in findings]}
        for path, data in ((xsl_path, xslt), (manifest_path, json.dumps(manifest, indent=1).encode())):
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return manifest

    def _referenced_documents(self, assembly: Assembly, base_dir: Path) -> list[tuple[Path, Finding | None]]:
        """Value sets and terminologies named by string literals, resolved like the stylesheet will.

        A literal ending in ``/`` that names a folder (``'../terminologie/'``) brings every document of
        that folder, for file names built at run time (``concat($path, @codeSystem, '.rdf')``).
        """
        literals: set[str] = set()
        for element in assembly.schema.iter(f"{SCH}let", f"{SCH}assert", f"{SCH}report", f"{SCH}value-of",
                                            f"{SCH}rule"):
            for key in ("value", "test", "select", "context"):
                if key in element.attrib:
                    literals.update(string_literals(element.get(key, "")))
        found: list[tuple[Path, Finding | None]] = []
        for literal in sorted(literals):
            if literal.endswith(_DOCUMENT_SUFFIXES) and "/" in literal:
                path, finding = self.tree.ensure_document(base_dir, literal)
                if path is not None:
                    found.append((path, finding))
            elif literal.endswith("/") and (folder := Path(os.path.normpath(base_dir / literal))).is_dir():
                found += [(p, None) for p in sorted(folder.iterdir()) if p.suffix in _DOCUMENT_SUFFIXES
                          and p.stat().st_size > 0]
        return found

    def _document(self, path: Path) -> Any:
        """A value set / terminology parsed once per process; None (and a warning) when it is not XML."""
        if path not in self._documents:
            try:
                self._documents[path] = saxon_processor().parse_xml(xml_file_name=str(path))
            except Exception as exc:  # PySaxonApiError: a rule reaching it will stop with FODC0002
                self._documents[path] = None
                name = path.relative_to(self.tree.root).as_posix()
                self._note(package_finding(
                    "BENCH-PKG-BAD-FILE", f"{name} is not well-formed XML ({exc}); a schematron rule reading it "
                    "stops its schematron (run_error)", name, "upstream defect of the package"))
        return self._documents[path]

    # -- running -----------------------------------------------------------------------------------

    def _source(self, document: bytes | etree._ElementTree, document_uri: str | None) -> Any:
        """The document as a Saxon tree, parsed once for the ~6 schematrons run on it in a row.

        Bytes go through the safe parser first (no DTD, no entities, size limits). The cache key is the
        content (the bytes, or a tree's serialisation), so a tree modified between two calls is never
        served stale.
        """
        if isinstance(document, bytes):
            key = (document_uri, len(document), hash(document))
            text = None
        else:
            text = etree.tostring(document, encoding="unicode")
            key = (document_uri, len(text), hash(text))
        with self._lock:
            node = self._sources.get(key)
            if node is not None:
                self._sources.move_to_end(key)
                return node
        if isinstance(document, bytes):
            text = etree.tostring(parse_xml(document), encoding="unicode")
        builder = saxon_processor().new_document_builder()
        if document_uri:
            builder.set_base_uri(document_uri)
        node = builder.parse_xml(xml_text=text, encoding="UTF-8")
        with self._lock:
            self._sources[key] = node
            while len(self._sources) > 4:  # a document is validated against ~6 schematrons in a row
                self._sources.popitem(last=False)
        return node

    def validate(self, schematron: str, document: bytes | etree._ElementTree, *,
                 document_uri: str | None = None) -> SchematronRun:
        """Run one schematron (path relative to the package root) on one document."""
        compiled = self._get(schematron)
        if isinstance(compiled, _Broken):
            return SchematronRun(schematron=schematron, status="compile_error", fired_rules=0, active_patterns=0,
                                 failed_asserts=[], successful_reports=[], svrl=b"", error=compiled.error,
                                 error_rule=compiled.rule)
        try:
            node = self._source(document, document_uri)
            with compiled.lock:
                svrl = compiled.executable.transform_to_string(xdm_node=node)
        except Exception as exc:  # XmlInputError (bad input) or PySaxonApiError (dynamic error, e.g. FODC0002)
            return SchematronRun(schematron=schematron, status="run_error", fired_rules=0,
                                 active_patterns=compiled.active_patterns, failed_asserts=[],
                                 successful_reports=[], svrl=b"", error=str(exc).strip(),
                                 error_rule="BENCH-SCH-RUN-ERROR")
        return parse_svrl(schematron, svrl.encode("utf-8"))


_ENGINES: dict[tuple[Path, Path], SchematronEngine] = {}
_ENGINES_LOCK = threading.Lock()


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dmp-conformance" / "schematron"


def get_engine(package_root: Path, cache_dir: Path | None = None) -> SchematronEngine:
    """The process-wide engine of a package (compiled schematrons are kept for the life of the process)."""
    key = (Path(package_root).resolve(), Path(cache_dir or default_cache_dir()).resolve())
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = SchematronEngine(key[0], key[1])
        return engine
