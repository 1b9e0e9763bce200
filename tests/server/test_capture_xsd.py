"""The capture validation checks SOAP bodies against the DMP LPS annex XSDs of the configured package: the
``--dmp-lps-package`` folder, else the most recent import in the cache; without one it says the check was skipped."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from conformance.artefacts import import_package
from conformance.cli import app
from conformance.pki import TestPki
from conformance.server.settings import ServerSettings
from conformance.soap.envelope import SOAP12
from conformance.xds.builders import td31_request
from conformance.xds.queries import find_documents

from .conftest import PATIENT, seeded_store, serving

BOGUS = "{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}Bogus"


def _capture_findings(settings: ServerSettings, pki: TestPki) -> list[dict[str, Any]]:
    """Send a TD3.1 whose body the annex XSD refuses (an extra rim:Bogus), return its capture's findings."""
    outgoing = td31_request(find_documents(PATIENT.cx()))
    body = outgoing.envelope.find(f"{{{SOAP12}}}Body")
    assert body is not None
    body[0].append(body.makeelement(BOGUS, {}))
    data, content_type = outgoing.to_http()
    with serving(seeded_store(settings.db_url), settings, pki) as dmp:
        response = httpx.post(f"{dmp.url}/si-dmp-server/v2/services/registry", content=data,
                              headers={"content-type": content_type})
        url = f"{dmp.url}/captures/{response.headers['x-capture-id']}"
        deadline = time.monotonic() + 30
        while not (detail := httpx.get(url).json())["validated"]:  # the validators run after the response
            assert time.monotonic() < deadline, "the capture was not validated"
            time.sleep(0.1)
    return list(detail["findings"])


def _settings(tmp_path: Path, pki: TestPki, **fields: Any) -> ServerSettings:
    return ServerSettings(db_url=f"sqlite:///{tmp_path / 'dmp.db'}", trust=pki.trust, **fields)


def test_the_configured_package_finds_the_schema_error(tmp_path: Path, pki: TestPki,
                                                      dmp_lps_package: Path) -> None:
    settings = _settings(tmp_path, pki, profiles_dir=tmp_path / "empty-cache", dmp_lps_package=dmp_lps_package)
    findings = _capture_findings(settings, pki)
    assert any(f["rule"] == "XSD" and "Bogus" in f["message"] for f in findings), findings


def test_by_default_the_imported_package_is_used(tmp_path: Path, pki: TestPki, dmp_lps_package: Path) -> None:
    cache = tmp_path / "cache"
    imported = import_package(str(dmp_lps_package), cache)
    settings = _settings(tmp_path, pki, profiles_dir=cache)
    package = settings.lps_package()
    assert package is not None and package.sha256 == imported.sha256
    findings = _capture_findings(settings, pki)
    assert any(f["rule"] == "XSD" and "Bogus" in f["message"] for f in findings), findings


def test_without_a_package_the_capture_says_the_schema_check_was_skipped(tmp_path: Path, pki: TestPki) -> None:
    settings = _settings(tmp_path, pki, profiles_dir=tmp_path / "empty-cache")
    assert settings.lps_package() is None
    findings = _capture_findings(settings, pki)
    skipped = [f for f in findings if f["rule"] == "BENCH-XSD-SKIPPED"]
    assert skipped and "profiles import" in (skipped[0]["hint"] or ""), findings
    assert not any(f["rule"] == "XSD" for f in findings)


def test_serve_refuses_a_folder_that_is_not_a_dmp_lps_package(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--profiles-dir",
                                      str(tmp_path / "cache"), "--dmp-lps-package", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "--dmp-lps-package" in result.output and "nowhere" in result.output
