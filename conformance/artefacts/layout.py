"""Recognise an official package in a folder: its kind, root, name, version and content hash.

Three kinds are known: ``cisis`` (ANS TestContenuCDA: ``infrastructure/cda/CDA_extended.xsd`` and
``schematrons/``), ``fhir`` (an npm FHIR package: ``package/package.json``) and ``dmp-lps`` (the DMP LPS
package: ``wsdl-schema/``). An archive may wrap the package in one top-level folder, so detection also
looks one or two levels down through single sub-folders.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from conformance.artefacts.errors import PackageError

CISIS_XSD = Path("infrastructure/cda/CDA_extended.xsd")
UNKNOWN_VERSION = "unknown"
# Files that never belong to the package content (VCS metadata, OS litter).
_IGNORED_PARTS = {".git", "__MACOSX", ".DS_Store"}


@dataclass(frozen=True, slots=True)
class DetectedPackage:
    kind: str
    name: str
    version: str
    root: Path


def _is_cisis(folder: Path) -> bool:
    return (folder / CISIS_XSD).is_file() and (folder / "schematrons").is_dir()


def _is_fhir(folder: Path) -> bool:
    return (folder / "package" / "package.json").is_file()


def _is_dmp_lps(folder: Path) -> bool:
    return (folder / "wsdl-schema").is_dir()


def find_package(folder: Path, label: str | None = None) -> DetectedPackage:
    """The package in ``folder`` (or below single wrapping folders); ``label`` is the source's file name."""
    candidate = folder
    for _ in range(3):
        detected = _detect_here(candidate, label or folder.name)
        if detected:
            return detected
        children = [c for c in candidate.iterdir() if c.name not in _IGNORED_PARTS]
        if len(children) != 1 or not children[0].is_dir():
            break
        candidate = children[0]
    raise PackageError(
        f"{label or folder}: not a recognised official package",
        hint="expected an ANS CI-SIS TestContenuCDA tree (infrastructure/cda/CDA_extended.xsd + schematrons/), "
             "a FHIR npm package (.tgz with package/package.json) or the DMP LPS package (wsdl-schema/)",
    )


def _detect_here(folder: Path, label: str) -> DetectedPackage | None:
    if _is_cisis(folder):
        version = git_version(folder) or version_from_name(folder.name) or version_from_name(label) \
            or version_from_readme(folder) or UNKNOWN_VERSION
        return DetectedPackage("cisis", "TestContenuCDA", version, folder)
    if _is_fhir(folder):
        try:
            manifest = json.loads((folder / "package" / "package.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PackageError(f"{label}: unreadable package/package.json: {exc}",
                               hint="the FHIR package archive looks damaged; download it again") from exc
        return DetectedPackage("fhir", str(manifest.get("name") or folder.name),
                               str(manifest.get("version") or UNKNOWN_VERSION), folder / "package")
    if _is_dmp_lps(folder):
        version = version_from_readme(folder / "wsdl-schema") or version_from_name(label) or UNKNOWN_VERSION
        return DetectedPackage("dmp-lps", "dmp-lps-package", version, folder)
    return None


_ARCHIVE_SUFFIX = re.compile(r"(\.tar\.gz|\.tgz|\.zip)$", re.IGNORECASE)
_COMMIT = re.compile(r"[-_]([0-9a-f]{40}|[0-9a-f]{7,12})$")
_RELEASE = re.compile(r"[-_]v?(\d+(?:\.\d+)+)$")


def version_from_name(name: str) -> str | None:
    """``TestContenuCDA-3-0-7cd489b…`` → the commit; ``…_2024.01`` / ``…-v1.2.3`` → the release."""
    stem = _ARCHIVE_SUFFIX.sub("", name)
    for pattern in (_COMMIT, _RELEASE):
        match = pattern.search(stem)
        if match:
            return match.group(1)
    return None


_README_VERSION = re.compile(r"(?im)^\s*version\s*[:=]?\s*v?(\d+(?:\.\d+)+)")
_README_NAMES = ("UPSTREAM-README.md", "README.md", "readme.txt", "README.txt", "VERSION")


def version_from_readme(folder: Path) -> str | None:
    for name in _README_NAMES:
        path = folder / name
        if path.is_file():
            # ANS readme files are often Latin-1; the version line is ASCII either way.
            match = _README_VERSION.search(path.read_bytes()[:65536].decode("utf-8", errors="replace"))
            if match:
                return match.group(1)
    return None


def git_version(folder: Path) -> str | None:
    """The commit checked out in ``folder/.git`` (read from the files; no git binary needed)."""
    git = folder / ".git"
    try:
        head = (git / "HEAD").read_text(encoding="ascii").strip()
        if not head.startswith("ref:"):
            return head[:12] or None
        ref = head.split(":", 1)[1].strip()
        if (git / ref).is_file():
            return (git / ref).read_text(encoding="ascii").strip()[:12] or None
        for line in (git / "packed-refs").read_text(encoding="ascii").splitlines():
            if line.endswith(" " + ref):
                return line.split()[0][:12]
    except (OSError, UnicodeDecodeError):
        return None
    return None


def iter_package_files(root: Path) -> list[Path]:
    """Every regular file of the package, sorted by relative POSIX path, VCS metadata excluded."""
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _IGNORED_PARTS)
        for filename in filenames:
            if filename not in _IGNORED_PARTS:
                files.append(Path(dirpath, filename))
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def content_hash(root: Path) -> tuple[str, int, int]:
    """SHA-256 over the sorted relative paths and the SHA-256 of each file; also the file count and size.

    Independent of where the package sits, of timestamps and of the archive format it came in.
    """
    digest = hashlib.sha256()
    count = size = 0
    for path in iter_package_files(root):
        file_digest = hashlib.sha256()
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                file_digest.update(block)
                size += len(block)
        digest.update(f"{path.relative_to(root).as_posix()}\0{file_digest.hexdigest()}\n".encode())
        count += 1
    return digest.hexdigest(), count, size
