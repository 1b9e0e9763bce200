"""One test per document of ``--documents-dir``, validated with the official CI-SIS package when it is
available."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.plugin import official_dir_from, record_package, recorder_of
from conformance.validation import ValidationContext, iter_files


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "document_path" not in metafunc.fixturenames:
        return
    folder = recorder_of(metafunc.config).settings.documents_dir
    if folder is not None and not Path(folder).is_dir():
        raise pytest.UsageError(f"--documents-dir {folder}: not a folder")
    root = Path(folder) if folder else None
    files = list(iter_files([root])) if root else []
    metafunc.parametrize(
        "document_path",
        files or [None],
        ids=[f.relative_to(root).as_posix() for f in files] if root and files else ["no-documents"],
    )


@pytest.fixture(scope="session")
def validation_context(pytestconfig: pytest.Config) -> ValidationContext:
    """The official CI-SIS package when found (--official-dir), else the imported package cache."""
    official = official_dir_from(pytestconfig)
    package = official / "ans-testcontenucda" if official else None
    if package is not None and package.is_dir():
        record_package(pytestconfig, "ans-testcontenucda", package)
        return ValidationContext(package_dir=package)
    return ValidationContext()
