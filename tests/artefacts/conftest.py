"""Small synthetic packages (the real ones are 50 MB): the same layouts as the official artefacts."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

CISIS_FILES = {
    "infrastructure/cda/CDA_extended.xsd": "<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'/>",
    "schematrons/CI-SIS_LDL-SES_2022.01.sch": "<schema xmlns='http://purl.oclc.org/dsdl/schematron'/>",
    "jeuxDeValeurs/JDV_J07_XdsTypeCode_CISIS.xml": "<RetrieveValueSetResponse/>",
    "UPSTREAM-README.md": "# TestContenuCDA\n",
}


def write_tree(folder: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def cisis_folder(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "src" / "ans-testcontenucda", CISIS_FILES)


@pytest.fixture
def profiles_dir(tmp_path: Path) -> Path:
    return tmp_path / "profiles"


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return path


def make_tgz(path: Path, members: dict[str, bytes],
             extra: Callable[[tarfile.TarFile], None] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as bundle:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            bundle.addfile(info, io.BytesIO(data))
        if extra:
            extra(bundle)
    return path


def prefixed(prefix: str, files: dict[str, str]) -> dict[str, bytes]:
    return {f"{prefix}/{k}": v.encode() for k, v in files.items()}


def npm_package(name: str = "ans.fhir.fr.demo", version: str = "1.2.3") -> dict[str, bytes]:
    return {"package/package.json": json.dumps({"name": name, "version": version}).encode(),
            "package/StructureDefinition-x.json": b"{}"}
