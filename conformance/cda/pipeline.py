"""The CI-SIS validation pipeline of a CDA document, as the official ANS pipeline runs it, plus our rules.

Stages, in order, each one recorded even when an earlier one found errors:

1. encoding pre-checks and well-formedness (safe parser: no network, no entities) — a document that is
   not well-formed stops here;
2. XSD ``infrastructure/cda/CDA_extended.xsd`` with lxml (the file as given, like the official pipeline,
   so a self-presenting ``xsl:stylesheet`` is validated whole: the schema imports the XSLT 2.0 schema);
3. the five profils and the routed volet schematron, through the schematron engine;
4. our own rules (``rules.run("cda", CdaDocument)``) on the ``ClinicalDocument`` (the embedded one for a
   self-presenting document).

Without a CI-SIS package, stages 1 and 4 still run and one warning says which command installs it.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from conformance.artefacts import INSTALL_HINTS, InstalledPackage, PackageError, package_from_folder
from conformance.artefacts.store import default_profiles_dir
from conformance.cda.document import CdaDocument, NotACdaDocument
from conformance.cda.routing import RoutingTable, VoletRoute, load_routing, route_document
from conformance.findings import ArtefactResult, Finding, Severity, Source, rules
from conformance.xml import XmlInputError, parse_xml, precheck_findings, xpath_of

CDA_XSD = "infrastructure/cda/CDA_extended.xsd"
STAGES = ("xsd", "schematron", "rules")

RULE_NO_PACKAGE = "BENCH-CDA-NO-PACKAGE"
RULE_PACKAGE = "BENCH-CDA-PACKAGE"
RULE_NOT_CDA = "BENCH-CDA-ROOT"
RULE_XSD_LOAD = "BENCH-CDA-XSD-LOAD"
RULE_SCHEMATRON_UNAVAILABLE = "BENCH-CDA-SCHEMATRON-UNAVAILABLE"
RULE_VOLET_UNAVAILABLE = "BENCH-CDA-VOLET-UNAVAILABLE"
RULE_NO_VOLET = "BENCH-CDA-NO-VOLET"
RULE_SCHEMATRON_SKIPPED = "BENCH-CDA-SCHEMATRON-SKIPPED"


class _LocalOnly(etree.Resolver):
    """Refuse any schema import/include that is not a local file (libxml2 would otherwise try HTTP)."""

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        if system_url and "://" in system_url and not system_url.startswith("file:"):
            raise XmlInputError(f"the XSD references a remote schema {system_url}, which is never fetched",
                                rule=RULE_XSD_LOAD)
        return None


_XSD_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def xsd_schema(xsd_path: Path) -> etree.XMLSchema:
    """The CDA schema, built once per process and per package (about 60 ms)."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    parser.resolvers.add(_LocalOnly())
    return etree.XMLSchema(etree.parse(str(xsd_path), parser))


@dataclass(slots=True)
class _Run:
    """The result being assembled, with the timing of each stage."""

    result: ArtefactResult
    timings: dict[str, float]

    def add(self, findings: list[Finding]) -> None:
        self.result.findings.extend(findings)

    def timed(self, stage: str, started: float) -> None:
        self.timings[stage] = round((time.perf_counter() - started) * 1000, 3)


def validate_cda(data: bytes, path: str, package: InstalledPackage | Path | None, *,
                 profiles_dir: Path | None = None, stages: Collection[str] = STAGES,
                 routing: RoutingTable | None = None, engine: Any = None) -> ArtefactResult:
    """Validate one CDA document; ``package`` is an installed CI-SIS package, a package folder, or None.

    ``stages`` selects among ``xsd``, ``schematron`` and ``rules`` (well-formedness always runs);
    ``engine`` overrides the schematron engine (default: the shared engine of the package).
    """
    run = _Run(ArtefactResult(path=path, kind="cda"), {})
    details = run.result.details
    details["timings_ms"] = run.timings
    installed, package_findings = _installed(package)  # outside the timings: hashed once per process
    started = time.perf_counter()
    run.add(precheck_findings(data))
    try:
        tree = parse_xml(data)
        document = CdaDocument.from_tree(tree, path, package_dir=installed.root if installed else None)
    except XmlInputError as exc:
        run.add([exc.to_finding()])
        run.timed("parse", started)
        return run.result
    except NotACdaDocument as exc:
        run.add([Finding(RULE_NOT_CDA, Severity.ERROR, Source.XML, str(exc), location=xpath_of(tree.getroot()),
                         line=tree.getroot().sourceline,
                         hint="a CDA document has an hl7:ClinicalDocument root (or an xsl:stylesheet embedding one)")])
        run.timed("parse", started)
        return run.result
    run.timed("parse", started)
    details["self_presenting"] = document.self_presenting
    run.add(package_findings)
    table = routing or load_routing()
    volet = route_document(document, table)
    details["routing"] = volet.to_dict()
    if installed is not None:
        details["package"] = {"name": installed.name, "version": installed.version, "sha256": installed.sha256,
                              "root": str(installed.root)}
        if "xsd" in stages:
            started = time.perf_counter()
            run.add(_xsd_findings(tree, installed))
            run.timed("xsd", started)
        if "schematron" in stages:
            started = time.perf_counter()
            _run_schematrons(run, data, installed, table, volet, profiles_dir, engine)
            run.timed("schematron", started)
        else:
            run.add([Finding(RULE_SCHEMATRON_SKIPPED, Severity.WARNING, Source.SCHEMATRON,
                             "CI-SIS schematrons skipped on request: the verdict covers well-formedness, XSD and "
                             "the bench rules only", hint="validate again without --no-schematron for the "
                                                          "official verdict")])
    if "rules" in stages:
        started = time.perf_counter()
        run.add(_rule_findings(document))
        run.timed("rules", started)
    return run.result


def _installed(package: InstalledPackage | Path | None) -> tuple[InstalledPackage | None, list[Finding]]:
    """The CI-SIS package to use, and the findings explaining why there is none."""
    if isinstance(package, InstalledPackage):
        return package, []
    if package is not None:
        try:
            found = package_from_folder(Path(package))
            if found.kind == "cisis":
                return found, []
            problem = PackageError(f"{package}: a {found.kind} package, not a CI-SIS package",
                                   hint="pass the TestContenuCDA folder (with infrastructure/ and schematrons/)")
        except PackageError as exc:
            problem = exc
        return None, [Finding(RULE_PACKAGE, Severity.ERROR, Source.RULE, problem.message, hint=problem.hint)]
    return None, [Finding(
        RULE_NO_PACKAGE, Severity.WARNING, Source.RULE,
        "XSD and CI-SIS schematrons not run: no CI-SIS package available; only well-formedness and the "
        "bench rules were checked",
        hint=INSTALL_HINTS["cisis"],
    )]


def _xsd_findings(tree: etree._ElementTree, package: InstalledPackage) -> list[Finding]:
    xsd_path = package.root / CDA_XSD
    try:
        schema = xsd_schema(xsd_path)
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError, OSError, XmlInputError) as exc:
        return [Finding(RULE_XSD_LOAD, Severity.ERROR, Source.XSD, f"cannot load {CDA_XSD}: {exc}",
                        hint=f"the schema must load from {package.root} alone (remote schemas are never "
                             "fetched); if the package is damaged, import it again")]
    with _XSD_LOCK:  # the schema object keeps the error log of its last run: one run at a time
        if schema.validate(tree):
            return []
        errors = list(schema.error_log)
    findings = []
    for error in errors:
        location = None
        if error.path:
            nodes = tree.xpath(error.path)
            if nodes and isinstance(nodes[0], etree._Element):
                location = xpath_of(nodes[0])
        findings.append(Finding(
            "XSD", Severity.ERROR, Source.XSD, error.message, location=location, line=error.line,
            hint="make the element conform to the CDA R2 schema extended by the CI-SIS (CDA_extended.xsd)",
            extra={"column": error.column, "type": error.type_name},
        ))
    return findings


def schematron_engine(package: InstalledPackage, profiles_dir: Path | None = None) -> Any:
    """The schematron engine of ``package``, its build cache under the profiles folder (one per content hash).

    Raises ImportError when the engine is not installed.
    """
    cache_dir = (profiles_dir or default_profiles_dir()) / "schematron-build" / package.sha256[:16]
    return importlib.import_module("conformance.schematron").get_engine(package.root, cache_dir)


def prepare_schematrons(package: InstalledPackage, profiles_dir: Path | None = None, *,
                        progress: bool = False) -> None:
    """Compile ahead of time every schematron the routing table can select (the first validation is then fast)."""
    table = load_routing()
    names = [p.schematron for p in table.profils] + sorted(table.volet_schematrons)
    schematron_engine(package, profiles_dir).prepare([n for n in names if (package.root / n).is_file()],
                                                     progress=progress)


def _run_schematrons(run: _Run, data: bytes, package: InstalledPackage, table: RoutingTable,
                     volet: VoletRoute, profiles_dir: Path | None, engine: Any) -> None:
    # the engine gets the bytes (the whole file, as the official pipeline: a self-presenting stylesheet
    # included): it parses them once for all six schematrons, cheaper than serialising a tree six times
    details = run.result.details
    targets = [(p.schematron, p.id) for p in table.profils]
    if volet.schematron:
        targets.append((volet.schematron, volet.volet or volet.schematron))
    elif volet.reason != "none" or volet.note:
        run.add([Finding(RULE_NO_VOLET, Severity.INFO, Source.RULE,
                         f"no volet schematron applies: {volet.note}", location="/hl7:ClinicalDocument",
                         hint="only the five CI-SIS profils are applied to this document")])
    summaries: list[dict[str, Any]] = []
    details["schematrons"] = summaries
    for schematron, label in targets:
        is_volet = schematron == volet.schematron
        started = time.perf_counter()
        if not (package.root / schematron).is_file():
            summaries.append({"schematron": schematron, "status": "missing"})
            run.add([_unavailable(schematron, label, is_volet, package, "is not in the package")])
            continue
        if engine is None:  # loaded only when a schematron is actually there to run
            try:
                engine = schematron_engine(package, profiles_dir)
            except Exception as exc:  # missing or broken engine: report it, keep the other stages
                missing = isinstance(exc, ModuleNotFoundError)
                run.add([Finding(RULE_SCHEMATRON_UNAVAILABLE, Severity.WARNING if missing else Severity.ERROR,
                                 Source.SCHEMATRON,
                                 f"schematron engine not available ({type(exc).__name__}: {exc}); "
                                 "CI-SIS schematrons not run",
                                 hint="install the complete bench: pip install dmp-conformance" if missing else
                                 "this is a bench defect; please report it")])
                return
            details["package_warnings"] = [f.message for f in getattr(engine, "package_findings", [])]
        try:
            outcome = engine.validate(schematron, data, document_uri=_document_uri(run.result.path))
        except Exception as exc:  # an engine defect must not hide the other stages' verdicts
            summaries.append({"schematron": schematron, "status": "engine_error"})
            run.add([_unavailable(schematron, label, is_volet, package, "could not be run",
                                  f"{type(exc).__name__}: {exc}")])
            continue
        summaries.append({"schematron": schematron, "status": outcome.status,
                          "fired_rules": _count(getattr(outcome, "fired_rules", None)),
                          "failed_asserts": _count(getattr(outcome, "failed_asserts", None)),
                          "ms": round((time.perf_counter() - started) * 1000, 3)})
        if outcome.svrl:
            run.result.evidence[f"svrl:{schematron}"] = outcome.svrl
        if outcome.status == "ok":
            run.add(list(outcome.findings()))
            continue
        # one finding that names the volet/profil and what to do, carrying the engine's own diagnosis
        what = "could not be compiled" if outcome.status == "compile_error" else "aborted while running"
        error = getattr(outcome, "error", None)
        finding = _unavailable(schematron, label, is_volet, package, what, error)
        finding.extra.update({"status": outcome.status, "engine_rule": getattr(outcome, "error_rule", None)})
        run.add([finding])


def _unavailable(schematron: str, label: str, is_volet: bool, package: InstalledPackage, what: str,
                 detail: str | None = None) -> Finding:
    because = f" — {detail}" if detail else ""
    if is_volet:
        return Finding(
            RULE_VOLET_UNAVAILABLE, Severity.ERROR, Source.SCHEMATRON,
            f"the document is routed to the volet {label} ({schematron}), which {what} in the CI-SIS package "
            f"{package.version} ({package.sha256[:12]}): its volet rules were not checked{because}",
            location="/hl7:ClinicalDocument/hl7:templateId",
            hint="import a CI-SIS package where this volet is complete (`dmp-conformance profiles import`), "
                 "or check the document's volet templateId and extension",
        )
    return Finding(
        RULE_SCHEMATRON_UNAVAILABLE, Severity.ERROR, Source.SCHEMATRON,
        f"the CI-SIS profil {label} ({schematron}) {what} in the package {package.version} "
        f"({package.sha256[:12]}): its rules were not checked{because}",
        hint="import the package again or a newer release (`dmp-conformance profiles import`)",
    )


def _rule_findings(document: CdaDocument) -> list[Finding]:
    try:
        importlib.import_module("conformance.cda.rules")  # registers the CDA rules
    except ModuleNotFoundError as exc:
        if exc.name != "conformance.cda.rules":
            return [_rules_broken(exc)]
    except Exception as exc:  # a broken rule module must not hide the XSD and schematron verdicts
        return [_rules_broken(exc)]
    return rules.run("cda", document)


def _rules_broken(exc: Exception) -> Finding:
    return Finding("BENCH-CDA-RULES", Severity.ERROR, Source.RULE,
                   f"the bench CDA rules could not be loaded: {type(exc).__name__}: {exc}",
                   hint="this is a bench defect; please report it")


def _count(value: Any) -> int | None:
    """The engine reports fired rules / failed asserts as a count or as the list of them."""
    if value is None or isinstance(value, int):
        return value
    return len(value)


def _document_uri(path: str) -> str | None:
    """A proper file URI (spaces and accents percent-encoded) for a real file; None for other labels."""
    candidate = Path(path) if path else None
    return candidate.resolve().as_uri() if candidate is not None and candidate.is_file() else None
