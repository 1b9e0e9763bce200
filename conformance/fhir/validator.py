"""Validate one FHIR payload: structure (R4B models), profiles (PDSm snapshots), PDSm/DMP rules.

The PDSm package is found, in order, from ``context.options["fhir_packages"]`` (paths), the FHIR packages
imported with ``profiles import`` (``conformance.artefacts.list_packages(kind="fhir")``, the latest import of
each package name; any FHIR NPM package: ``ans.fr.terminologies``, ``ihe.iti.mhd``, ``hl7.fhir.r4.core``
bring their CodeSystems, ValueSets and profiles), the ``fhir`` folder
of the official artefacts (``$DMP_CONFORMANCE_OFFICIAL``), or ``../shared/official/fhir`` beside the checkout.
The JDV value sets come from the imported CI-SIS package when there is one.
Without a package only the structure, the base rules and our own rules run, and a warning says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from conformance.artefacts import PackageError, list_packages, resolve_package
from conformance.fhir import rules as _pdsm_rules  # noqa: F401  (registers the PDSm rules in the registry)
from conformance.fhir import rules_core as _core_rules  # noqa: F401  (registers the FHIR core rules)
from conformance.fhir.datatypes import Located, typed_values
from conformance.fhir.lines import json_lines, line_of
from conformance.fhir.package import FhirPackage, find_packages, load_package
from conformance.fhir.parse import FhirInput, parse_fhir
from conformance.fhir.profile import ProfileChecker, ProfileRegistry, ValidationRun, array, type_of
from conformance.fhir.terminology import Terminology, load_terminology
from conformance.findings import ArtefactResult, Finding, Severity, Source, rules
from conformance.resources import source_tree

PDSM = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/"
ITI65 = PDSM + "pdsm-comprehensive-provide-document-bundle"
ITI105 = PDSM + "pdsm-simplified-publish"
DOCUMENT_REFERENCE = PDSM + "pdsm-comprehensive-document-reference"
SUBMISSION_SET = PDSM + "pdsm-submissionset-comprehensive"
FOLDER = PDSM + "pdsm-folder-comprehensive"
FIND_DOCUMENT_REFERENCES = PDSM + "pdsm-find-documentreferences-comprehensive-response"
FIND_LISTS = PDSM + "pdsm-find-lists-response"
MHD_LIST_TYPES = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
TYPED_VALUES = ("canonical", "Coding")  # the data types the core rules check wherever they occur


@dataclass(slots=True)
class FhirModel:
    """What the hand-written ``fhir`` rules read: the parsed payload and its profile context."""

    input: FhirInput
    resource: dict[str, Any]
    profiles: list[str]
    terminology: Terminology
    run: ValidationRun
    details: dict[str, Any] = field(default_factory=dict)
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)  # StructureDefinitions by canonical URL
    _typed: dict[str, Located] | None = field(default=None, repr=False)

    @property
    def raw(self) -> bytes:
        return self.input.raw

    def typed(self, type_name: str) -> Located:
        """(value, FHIRPath) of every value of a FHIR data type (``canonical``, ``Coding``) in the payload,
        nested resources included; one walk per validation serves every rule."""
        if self._typed is None:
            self._typed = typed_values(self.resource, type_of(self.resource) or "?", TYPED_VALUES)
        return self._typed[type_name]

    def resources(self) -> Iterable[tuple[dict[str, Any], str]]:
        """The top resource and, for a Bundle, each entry's resource, with its FHIRPath."""
        root_type = type_of(self.resource) or "?"
        yield self.resource, root_type
        if root_type == "Bundle":
            for index, entry in enumerate(array(self.resource.get("entry"))):
                if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                    yield entry["resource"], f"Bundle.entry[{index}].resource"


def choose_profiles(resource: dict[str, Any]) -> list[str]:
    """The PDSm profiles to check: ``meta.profile`` when declared, else guessed from the resource's shape."""
    meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
    declared = [p for p in array(meta.get("profile")) if isinstance(p, str)]
    if declared:
        return declared
    resource_type = resource.get("resourceType")
    if resource_type == "Bundle":
        entries = [e.get("resource") for e in array(resource.get("entry")) if isinstance(e, dict)]
        if resource.get("type") == "transaction" and any(
                isinstance(r, dict) and list_code(r) == "submissionset" for r in entries):
            return [ITI65]
        if resource.get("type") == "searchset":
            types = {type_of(r) for r in entries} - {"OperationOutcome", None}
            if types == {"DocumentReference"}:
                return [FIND_DOCUMENT_REFERENCES]
            if types == {"List"}:
                return [FIND_LISTS]
    elif resource_type == "List":
        return {"submissionset": [SUBMISSION_SET], "folder": [FOLDER]}.get(list_code(resource) or "", [])
    elif resource_type == "DocumentReference":
        contents = array(resource.get("content"))
        inline = any(isinstance(c, dict) and isinstance(c.get("attachment"), dict) and "data" in c["attachment"]
                     for c in contents)
        return [ITI105 if inline else DOCUMENT_REFERENCE]
    return []


def list_code(resource: dict[str, Any]) -> str | None:
    if resource.get("resourceType") != "List" or not isinstance(resource.get("code"), dict):
        return None
    for coding in array(resource["code"].get("coding")):
        if isinstance(coding, dict) and coding.get("system") == MHD_LIST_TYPES:
            return coding.get("code")
    return None


def _package_candidates(options: dict[str, object]) -> list[FhirPackage]:
    explicit = options.get("fhir_packages")
    if isinstance(explicit, Sequence) and not isinstance(explicit, str):
        return [load_package(Path(str(p))) for p in explicit]
    profiles_dir = Path(str(options["profiles_dir"])) if options.get("profiles_dir") else None
    try:  # packages imported with `profiles import`: PDSm, PDSM4DMP and any FHIR package they depend on
        installed = list_packages(profiles_dir, "fhir")
        if installed:
            latest = {p.name: p for p in reversed(installed)}  # most recent import of each package name
            return [load_package(package.root) for package in installed if latest[package.name] is package]
    except (PackageError, ValueError, OSError):
        pass  # an unreadable cache must not prevent validation: the official folder is tried next
    env = os.environ.get("DMP_CONFORMANCE_OFFICIAL")
    tree = source_tree()  # a checkout of the bench has the shared artefacts beside it; a wheel has not
    return find_packages([Path(env) if env else None, tree.parent / "shared" / "official" if tree else None])


@lru_cache(maxsize=8)
def _validator(package_sources: tuple[str, ...], jdv_dir: str | None) -> FhirValidator:
    packages = [load_package(Path(source)) for source in package_sources]
    return FhirValidator(packages, load_terminology(Path(jdv_dir) if jdv_dir else None))


def _cisis_dir(options: dict[str, object]) -> Path | None:
    """The imported CI-SIS package, whose ``jeuxDeValeurs/`` replace the bench's JDV subsets."""
    profiles_dir = Path(str(options["profiles_dir"])) if options.get("profiles_dir") else None
    try:
        installed = resolve_package(kind="cisis", profiles_dir=profiles_dir)
    except (PackageError, ValueError, OSError):
        return None
    return Path(installed.root) if installed is not None else None


def default_validator(options: dict[str, object] | None = None, cisis_dir: Path | None = None) -> FhirValidator:
    """A cached validator over the packages found for ``options`` (see the module docstring)."""
    options = options or {}
    packages = _package_candidates(options)
    cisis_dir = cisis_dir or _cisis_dir(options)
    jdv = cisis_dir / "jeuxDeValeurs" if cisis_dir and (cisis_dir / "jeuxDeValeurs").is_dir() else None
    return _validator(tuple(p.source for p in packages), str(jdv) if jdv else None)


class FhirValidator:
    """Structure + profiles + rules for FHIR payloads over a fixed set of packages; reusable (the state of one
    validation lives in its ValidationRun, profiles are compiled once and then only read)."""

    def __init__(self, packages: Sequence[FhirPackage], terminology: Terminology | None = None) -> None:
        self.packages = list(packages)
        self.terminology = (terminology or load_terminology()).with_package_resources(
            r for package in self.packages for r in package.terminology_resources())
        self.registry = ProfileRegistry(self.packages, self.terminology)
        self.checker = ProfileChecker(self.registry)

    def validate_bytes(self, data: bytes, path: str = "<fhir>", *, profiles: Sequence[str] | None = None,
                       known: Iterable[dict[str, Any]] = (), closed_world: bool = False) -> ArtefactResult:
        parsed = parse_fhir(data)
        result = ArtefactResult(path=path, kind="fhir", findings=list(parsed.findings))
        result.details["format"] = parsed.format
        if parsed.resource is None:
            return result
        return self.validate_resource(parsed, result, profiles=profiles, known=known, closed_world=closed_world)

    def validate_resource(self, parsed: FhirInput, result: ArtefactResult, *, profiles: Sequence[str] | None = None,
                          known: Iterable[dict[str, Any]] = (), closed_world: bool = False) -> ArtefactResult:
        resource = parsed.resource
        if resource is None or type_of(resource) is None:
            return result  # the structure findings say why
        chosen = list(profiles) if profiles is not None else choose_profiles(resource)
        result.details.update(resource_type=resource.get("resourceType"), profiles=chosen)
        if not any(url.startswith(PDSM) for url in self.registry.definitions):  # e.g. only terminology packages
            result.findings.append(Finding(
                rule="PDSM-PACKAGE", severity=Severity.WARNING, source=Source.RULE,
                message="the PDSm FHIR package is not loaded: the PDSm profiles were not checked",
                hint="import it with `dmp-conformance profiles import ans.fhir.fr.pdsm-package.tgz`"))
        unknown = [p for p in chosen if self.registry.get(p) is None]
        if unknown:
            result.findings.append(Finding(
                rule="PDSM-PROFILE", severity=Severity.INFO, source=Source.RULE, location=type_of(resource),
                message=f"profiles whose definitions the bench does not hold (only the resource type is checked): "
                        f"{', '.join(unknown)}"))
        run = ValidationRun(resource, known=known, closed_world=closed_world)
        self.checker.validate(resource, chosen, type_of(resource) or "?", run)
        model = FhirModel(parsed, resource, chosen, self.terminology, run, definitions=self.registry.definitions)
        result.findings.extend(run.findings)
        result.findings.extend(rules.run("fhir", model))
        result.findings[:] = _unique(result.findings)
        if parsed.format == "json":
            _add_lines(parsed.raw, type_of(resource) or "?", result.findings)
        result.details.update(run.stats)
        return result


def _add_lines(raw: bytes, root: str, findings: list[Finding]) -> None:
    """Lines of the located errors and warnings (the index is built only when one needs it)."""
    wanted = [f for f in findings if f.location and f.line is None and f.severity is not Severity.INFO]
    if not wanted:
        return
    index = json_lines(raw, root)
    for finding in wanted:
        finding.line = line_of(index, finding.location or "")


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str | None, str]] = set()
    kept = []
    for finding in findings:
        key = (finding.rule, finding.location, finding.message)
        if key not in seen:
            seen.add(key)
            kept.append(finding)
    return kept
