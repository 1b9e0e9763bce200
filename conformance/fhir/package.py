"""FHIR NPM packages (PDSm, PDSM4DMP): StructureDefinitions, examples and the IG publisher's results.

A package is read from its ``.tgz`` (members read in memory, nothing extracted) or from an extracted
folder holding ``package/``. Loaded packages are cached per process, keyed by path and modification time.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

PDSM_PACKAGE = "ans.fhir.fr.pdsm-package.tgz"
PDSM4DMP_PACKAGE = "ans.fhir.fr.pdsm4dmp-package.tgz"
_MAX_MEMBER_BYTES = 16 * 1024 * 1024  # the largest PDSm definition is 356 KB: refuse absurd members


class FhirPackageError(ValueError):
    """A package that cannot be read (missing, not a FHIR NPM package, corrupt archive)."""


@dataclass(slots=True)
class FhirPackage:
    name: str
    version: str
    source: str
    # StructureDefinitions by canonical URL (without version).
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Other conformance resources (ValueSet, CodeSystem, ImplementationGuide …) by file name.
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Example instances by file name ("DocumentReference-xyz.json").
    examples: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Raw bytes of the examples, kept for hashing and byte-level tests.
    example_bytes: dict[str, bytes] = field(default_factory=dict)
    # "other/validation-oo.json": the IG publisher's own validation results.
    publisher_results: dict[str, Any] | None = None

    @property
    def implementation_guide(self) -> dict[str, Any] | None:
        return next((r for r in self.resources.values() if r.get("resourceType") == "ImplementationGuide"), None)

    def terminology_resources(self) -> Iterator[dict[str, Any]]:
        """The package's CodeSystem and ValueSet resources."""
        return (r for r in self.resources.values() if r.get("resourceType") in ("CodeSystem", "ValueSet"))


def _members(path: Path) -> Iterator[tuple[str, bytes]]:
    """(path inside ``package/``, bytes) for every JSON file of the package."""
    if path.is_dir():
        root = path / "package" if (path / "package").is_dir() else path
        for file in sorted(root.rglob("*.json")):
            yield file.relative_to(root).as_posix(), file.read_bytes()
        return
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                # Only regular files under package/: links, devices and ../ paths are never followed.
                if not member.isfile() or not member.name.endswith(".json") or member.size > _MAX_MEMBER_BYTES:
                    continue
                name = member.name.removeprefix("./")
                if not name.startswith("package/") or ".." in name.split("/"):
                    continue
                handle = archive.extractfile(member)
                if handle is not None:
                    yield name.removeprefix("package/"), handle.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise FhirPackageError(f"cannot read FHIR package {path}: {exc}") from exc


def _read(path: Path) -> FhirPackage:
    if not path.exists():
        raise FhirPackageError(f"FHIR package not found: {path}")
    package = FhirPackage(name="?", version="?", source=str(path))
    for name, data in _members(path):
        try:
            content = json.loads(data)
        except ValueError:
            continue  # index files of other tools, never conformance content
        if not isinstance(content, dict):
            continue
        if name == "package.json":
            package.name, package.version = content.get("name", "?"), content.get("version", "?")
        elif name == "other/validation-oo.json":
            package.publisher_results = content
        elif name.startswith("example/"):
            package.examples[name.removeprefix("example/")] = content
            package.example_bytes[name.removeprefix("example/")] = data
        elif content.get("resourceType") == "StructureDefinition" and "url" in content:
            package.definitions[content["url"]] = content
        elif "resourceType" in content and "/" not in name:
            package.resources[name] = content
    if package.name == "?":
        raise FhirPackageError(f"{path} is not a FHIR NPM package (no package/package.json)")
    return package


@lru_cache(maxsize=16)
def _cached(path: str, mtime: float) -> FhirPackage:
    return _read(Path(path))


def load_package(path: Path | str) -> FhirPackage:
    """The package at ``path`` (``.tgz`` or folder), parsed once per process."""
    resolved = Path(path).resolve()
    mtime = resolved.stat().st_mtime if resolved.exists() else 0.0
    return _cached(str(resolved), mtime)


def find_packages(folders: Iterable[Path | None]) -> list[FhirPackage]:
    """The PDSm (and PDSM4DMP when present) packages found in the first folder that holds PDSm."""
    for folder in folders:
        if folder is None:
            continue
        for candidate in (folder, folder / "fhir"):
            if (candidate / PDSM_PACKAGE).is_file():
                found = [load_package(candidate / PDSM_PACKAGE)]
                if (candidate / PDSM4DMP_PACKAGE).is_file():
                    found.append(load_package(candidate / PDSM4DMP_PACKAGE))
                return found
    return []
