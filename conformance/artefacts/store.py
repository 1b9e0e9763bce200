"""The local cache of imported official packages.

Layout: ``<profiles_dir>/packages/<kind>/<version>-<sha12>/`` holds ``manifest.json`` and ``content/``
(the package exactly as imported, files made read-only: fixes for upstream defects are applied by the
consumers in their own build trees, never here). ``manifest.json`` is written last, so a half-finished
import is never listed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tempfile
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from conformance.artefacts.archive import DEFAULT_CISIS_URL, Limits, copy_tree, download, extract_archive
from conformance.artefacts.errors import PackageError
from conformance.artefacts.layout import content_hash, find_package

PROFILES_DIR_ENV = "DMP_CONFORMANCE_PROFILES_DIR"
MANIFEST = "manifest.json"
KINDS = ("cisis", "fhir", "dmp-lps")
INSTALL_HINTS = {
    "cisis": "no CI-SIS package installed: run `dmp-conformance profiles import PATH|URL` "
             f"(default URL: {DEFAULT_CISIS_URL}) or pass --package FOLDER",
    "fhir": "no FHIR package installed: run `dmp-conformance profiles import PATH/TO/package.tgz` (PDSm, PDSM4DMP, "
            "and any terminology or dependency package: ans.fr.terminologies, ihe.iti.mhd…)",
    "dmp-lps": "no DMP LPS package installed: run `dmp-conformance profiles import PATH/TO/dmp-lps-package`",
}


@dataclass(frozen=True, slots=True)
class InstalledPackage:
    """An official package: imported in the cache (``entry`` set) or used in place (``entry`` None)."""

    kind: str
    name: str
    version: str
    sha256: str
    root: Path  # the package content (for fhir: the npm ``package/`` folder)
    source: str
    imported_at: str | None = None
    entry: Path | None = None  # the cache folder holding manifest.json and content/
    files: int = 0
    size_bytes: int = 0

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["root"] = str(self.root)
        data["entry"] = str(self.entry) if self.entry else None
        return data


def default_profiles_dir() -> Path:
    """``$DMP_CONFORMANCE_PROFILES_DIR``, else ``$XDG_CACHE_HOME/dmp-conformance`` (``~/.cache/…``)."""
    env = os.environ.get(PROFILES_DIR_ENV)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "dmp-conformance"


def _profiles_dir(profiles_dir: Path | None) -> Path:
    return Path(profiles_dir).expanduser() if profiles_dir else default_profiles_dir()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:60] or "unknown"


def _make_read_only(folder: Path) -> None:
    for dirpath, _dirs, filenames in os.walk(folder):
        for filename in filenames:
            path = Path(dirpath, filename)
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def import_package(source: str | Path | None = None, profiles_dir: Path | None = None,
                   limits: Limits = Limits(), version: str | None = None) -> InstalledPackage:
    """Import a folder, a .zip / .tar.gz / .tgz archive or an https URL (default: the ANS CI-SIS archive).

    ``version`` overrides the version found in the package (git metadata, names, readme). Importing the
    same content with the same version twice returns the existing entry.
    """
    source_text = str(source) if source is not None else DEFAULT_CISIS_URL
    base = _profiles_dir(profiles_dir)
    staging_parent = base / ".staging"
    staging_parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="import-", dir=staging_parent))
    try:
        if re.match(r"^[a-z]+://", source_text):
            label = source_text.rstrip("/").rsplit("/", 1)[-1]
            archive = download(source_text, staging / "download", limits)
            tree, from_folder = staging / "tree", False
            tree.mkdir()
            extract_archive(archive, tree, limits)
        else:
            path = Path(source_text).expanduser()
            if not path.exists():
                raise PackageError(f"{path}: no such file or folder",
                                   hint="give a package folder, a .zip/.tar.gz archive or an https URL")
            label = path.name
            if path.is_dir():
                tree, from_folder = path, True
            else:
                tree, from_folder = staging / "tree", False
                tree.mkdir()
                extract_archive(path, tree, limits)
        detected = find_package(tree, label)
        if version:
            detected = replace(detected, version=version)
        sha256, files, size = content_hash(detected.root)
        entry = base / "packages" / detected.kind / f"{_slug(detected.version)}-{sha256[:12]}"
        if (entry / MANIFEST).is_file():
            return _load(entry)
        # build the whole entry in the staging folder, then publish it with one atomic rename: a
        # concurrent or interrupted import never leaves a half-filled entry behind
        building = staging / "entry"
        building.mkdir()
        # keep the npm ``package/`` wrapper of FHIR packages so the cached tree mirrors the .tgz
        package_top = detected.root.parent if detected.kind == "fhir" else detected.root
        if from_folder:
            copy_tree(package_top, building / "content")
        else:
            shutil.move(str(package_top), str(building / "content"))
        _make_read_only(building / "content")
        manifest = {
            "kind": detected.kind, "name": detected.name, "version": detected.version, "sha256": sha256,
            "root": "content/package" if detected.kind == "fhir" else "content",
            "source": source_text if not from_folder else str(Path(source_text).expanduser().resolve()),
            "imported_at": datetime.now(UTC).isoformat(timespec="milliseconds"), "files": files, "size_bytes": size,
        }
        (building / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        entry.parent.mkdir(parents=True, exist_ok=True)
        if entry.exists() and not (entry / MANIFEST).is_file():
            shutil.rmtree(entry)  # leftover of a removal interrupted after its manifest went
        try:
            building.rename(entry)
        except OSError:
            if not (entry / MANIFEST).is_file():
                raise
            # another import of the same content won the race: use its entry
        return _load(entry)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _load(entry: Path) -> InstalledPackage:
    data = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
    return InstalledPackage(
        kind=data["kind"], name=data["name"], version=data["version"], sha256=data["sha256"],
        root=entry / data["root"], source=data["source"], imported_at=data.get("imported_at"), entry=entry,
        files=int(data.get("files", 0)), size_bytes=int(data.get("size_bytes", 0)),
    )


def list_packages(profiles_dir: Path | None = None, kind: str | None = None) -> list[InstalledPackage]:
    """Imported packages, most recent first."""
    packages_dir = _profiles_dir(profiles_dir) / "packages"
    found: list[InstalledPackage] = []
    for manifest in sorted(packages_dir.glob(f"{kind or '*'}/*/{MANIFEST}")):
        try:
            found.append(_load(manifest.parent))
        except (OSError, ValueError, KeyError):
            continue  # a damaged entry is ignored here; `profiles remove` can delete it
    return sorted(found, key=lambda p: p.imported_at or "", reverse=True)


def find_packages(selector: str, profiles_dir: Path | None = None) -> list[InstalledPackage]:
    """Packages matching ``selector``: a hash prefix (≥ 4 characters), a kind, a name or a version."""
    selector_lower = selector.lower()
    return [p for p in list_packages(profiles_dir)
            if (len(selector) >= 4 and p.sha256.startswith(selector_lower))
            or selector_lower in (p.kind, p.name.lower(), p.version.lower())]


def remove_package(package: InstalledPackage) -> None:
    if package.entry is None:
        raise PackageError(f"{package.root} is not in the cache", hint="only imported packages can be removed")
    # manifest first: the entry stops being listed even if the rest of the deletion is interrupted
    (package.entry / MANIFEST).unlink(missing_ok=True)
    shutil.rmtree(package.entry)


@lru_cache(maxsize=16)
def _package_in_place(root: Path) -> InstalledPackage:
    # hashed once per process (about 0.6 s for the 48 MB CI-SIS package): a folder used in place is
    # assumed not to change while the bench runs; imported packages carry their hash in the manifest
    detected = find_package(root)
    sha256, files, size = content_hash(detected.root)
    return InstalledPackage(kind=detected.kind, name=detected.name, version=detected.version, sha256=sha256,
                            root=detected.root, source=str(root), files=files, size_bytes=size)


def package_from_folder(folder: Path) -> InstalledPackage:
    """Describe a package folder used in place (hashed once per process)."""
    folder = Path(folder).expanduser().resolve()
    if (folder / MANIFEST).is_file():
        return _load(folder)
    if not folder.is_dir():
        raise PackageError(f"{folder}: no such package folder", hint="check the --package path")
    return _package_in_place(folder)


def resolve_package(kind: str = "cisis", profiles_dir: Path | None = None,
                    explicit: Path | str | None = None) -> InstalledPackage | None:
    """The package to use: ``explicit`` (a package folder or cache entry) if given, else the most recently
    imported package of ``kind``, else None (callers then report :data:`INSTALL_HINTS` [kind])."""
    if explicit is not None:
        package = package_from_folder(Path(explicit))
        if package.kind != kind:
            raise PackageError(f"{explicit}: a {package.kind} package, not a {kind} package")
        return package
    packages = list_packages(profiles_dir, kind)
    return packages[0] if packages else None
