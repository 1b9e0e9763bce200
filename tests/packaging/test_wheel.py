"""A non-editable install works: the sdist and the wheel carry ``profiles/`` and ``load/locustfile.py``, and the
installed package finds them under ``conformance/_data/`` with no checkout in sight.

Built from a copy of the source tree (the build writes ``build/`` and ``*.egg-info`` beside its sources, which must
not touch the shared checkout), then installed with ``pip --target`` and exercised in subprocesses whose
``PYTHONPATH`` puts that folder first, so the editable install of the development venv cannot answer instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

from conformance.resources import DATA_ENV

ROOT = Path(__file__).resolve().parents[2]
# what a clean checkout holds for the build (the sdist's MANIFEST.in decides what goes further)
SOURCES = ("conformance", "profiles", "load", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md")

pytestmark = pytest.mark.slow


def _setuptools_is_recent() -> bool:
    try:
        return int(version("setuptools").split(".")[0]) >= 77
    except (PackageNotFoundError, ValueError):
        return False


def _pip(*args: str, cwd: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", *args, "--no-deps", "--no-index", "--no-build-isolation",
                           "--disable-pip-version-check", "-q"], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def wheel_and_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The wheel built from the sdist of a copy of the sources, and the folder it was installed into."""
    if not (ROOT / "setup.py").is_file():
        pytest.skip("not a source checkout: nothing to build")
    if not _setuptools_is_recent():
        pytest.skip("the build needs setuptools>=77 in this environment: pip install 'setuptools>=77'")
    base = tmp_path_factory.mktemp("packaging")
    source = base / "source"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta as b; "
                            "print(b.build_sdist(sys.argv[1]))", str(base / "sdist")],
                           cwd=source, capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    assert "deprecat" not in built.stderr.lower(), built.stderr
    sdist = base / "sdist" / built.stdout.strip().splitlines()[-1]
    _pip("wheel", "-w", str(base / "dist"), str(sdist), cwd=base)
    [wheel] = (base / "dist").glob("*.whl")
    _pip("install", "--target", str(base / "site"), str(wheel), cwd=base)
    return wheel, base / "site"


def _run_installed(site: Path, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -c code`` from an empty folder, importing the package from ``site`` only."""
    env = {k: v for k, v in os.environ.items() if k not in (DATA_ENV, "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    cwd = site.parent / "cwd"
    cwd.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_wheel_carries_the_data_files_unchanged(wheel_and_site: tuple[Path, Path]) -> None:
    wheel, _ = wheel_and_site
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        expected = {f"conformance/_data/{path.relative_to(ROOT).as_posix()}": path
                    for path in [*(ROOT / "profiles").rglob("*"), ROOT / "load" / "locustfile.py"] if path.is_file()}
        assert set(expected) <= names, sorted(set(expected) - names)
        assert all(archive.read(name) == path.read_bytes() for name, path in expected.items())
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert {name.split("/")[0] for name in names} == {"conformance", "dmp_conformance-0.1.0.dist-info"}
    assert "conformance/reports/report-v1.schema.json" in names and "conformance/py.typed" in names
    assert any(n.startswith("conformance/reports/templates/") and n.endswith(".j2") for n in names)
    assert "License-Expression: Apache-2.0" in metadata


def test_installed_package_finds_its_data_without_a_checkout(wheel_and_site: tuple[Path, Path]) -> None:
    _, site = wheel_and_site
    done = _run_installed(site, """
        import json, conformance
        from conformance.load.slo import load_slo
        from conformance.fhir.terminology import load_terminology
        from conformance.resources import data_root, load_path, profiles_path
        load_terminology(), load_slo()
        print(json.dumps({"package": conformance.__file__, "root": str(data_root()),
                          "locustfile": load_path("locustfile.py").is_file(),
                          "catalogue": profiles_path("requirements").is_dir()}))
    """)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert Path(found["package"]).is_relative_to(site), found  # not the editable checkout
    assert Path(found["root"]) == site / "conformance" / "_data"
    assert found["locustfile"] and found["catalogue"]


def test_installed_cli_lists_the_catalogue_from_the_wheel(wheel_and_site: tuple[Path, Path]) -> None:
    _, site = wheel_and_site
    done = _run_installed(site, "from conformance.cli import app; app()", "requirements", "list", "--format", "json")
    assert done.returncode == 0, done.stderr
    requirements = json.loads(done.stdout)
    assert len(requirements) > 200
    from_yaml = {r["origin"].rsplit(":", 1)[0] for r in requirements if r["origin"] != "rule registry"}
    assert from_yaml and all(Path(p).is_relative_to(site / "conformance" / "_data" / "profiles") for p in from_yaml)


def test_installed_validator_uses_the_shipped_value_sets(wheel_and_site: tuple[Path, Path]) -> None:
    """A generated TD2.1 given a practiceSettingCode outside the shipped JDV: the finding needs the value sets."""
    _, site = wheel_and_site
    done = _run_installed(site, """
        import json, sys
        from dataclasses import replace
        from pathlib import Path
        from conformance.generate import DocumentSpec, SubmissionSpec, build_submission
        from conformance.generate.xds import document_entry
        from conformance.identity import Ins
        from conformance.pki import TestPki
        from conformance.validation import ValidationContext, validate_bytes
        from conformance.xds import Code, builders
        spec = SubmissionSpec(Ins("248039263001064", "1.2.250.1.213.1.4.10"), DocumentSpec(b"<x/>"),
                              TestPki.PS_ID_NAT, TestPki.STRUCTURE_ID)
        unknown = Code("NOT-IN-THE-JDV", "1.2.250.1.213.1.1.4.9", "none")
        entry = replace(document_entry(spec), practice_setting_code=unknown)
        body, content_type = builders.td21_request(build_submission(spec, entry=entry)).to_http()
        context = ValidationContext(profiles_dir=Path(sys.argv[1]), options={"content_type": content_type})
        print(json.dumps([f.rule for f in validate_bytes(body, "td21", context, kind="soap").findings]))
    """, str(site.parent / "empty-profiles"))
    assert done.returncode == 0, done.stderr
    assert "BENCH-XDS-DE-PRACTICE" in json.loads(done.stdout)
