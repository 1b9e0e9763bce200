"""Importer and local cache of the official packages (ANS CI-SIS TestContenuCDA, FHIR npm packages, DMP LPS).

``import_package(source)`` registers a folder, an archive or a URL; ``resolve_package(kind)`` gives the
package validators should use, or None, in which case :data:`INSTALL_HINTS` says which command installs it.
"""

from conformance.artefacts.archive import DEFAULT_CISIS_URL, Limits
from conformance.artefacts.errors import PackageError, UnsafeArchiveError
from conformance.artefacts.layout import UNKNOWN_VERSION, content_hash
from conformance.artefacts.store import (
    INSTALL_HINTS,
    KINDS,
    PROFILES_DIR_ENV,
    InstalledPackage,
    default_profiles_dir,
    find_packages,
    import_package,
    list_packages,
    package_from_folder,
    remove_package,
    resolve_package,
)

__all__ = [
    "DEFAULT_CISIS_URL",
    "INSTALL_HINTS",
    "KINDS",
    "PROFILES_DIR_ENV",
    "UNKNOWN_VERSION",
    "InstalledPackage",
    "Limits",
    "PackageError",
    "UnsafeArchiveError",
    "content_hash",
    "default_profiles_dir",
    "find_packages",
    "import_package",
    "list_packages",
    "package_from_folder",
    "remove_package",
    "resolve_package",
]
