"""The CDA validation pipeline: prechecks, XSD (against the golden verdicts), schematrons, rules."""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path

import pytest

from conformance.cda.kind import detect
from conformance.cda.pipeline import (
    RULE_NO_PACKAGE,
    RULE_NOT_CDA,
    RULE_PACKAGE,
    RULE_SCHEMATRON_UNAVAILABLE,
    RULE_VOLET_UNAVAILABLE,
    validate_cda,
)
from conformance.findings import ArtefactResult, Severity, Source
from conformance.validation import ValidationContext, validate_bytes


def _has_engine() -> bool:
    try:
        return hasattr(importlib.import_module("conformance.schematron"), "get_engine")
    except ImportError:
        return False


HAS_ENGINE = _has_engine()
LDL_SES = "ExemplesCDA/LDL-SES_2022.01.xml"
SELF_PRESENTING = "ExemplesCDA/BIO-CR-BIO_2021.01_Auto-Presentable.xml"

MINIMAL_CDA = b"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <templateId root="1.2.250.1.213.1.1.1.29" extension="2022.01"/>
  <code code="11490-0" codeSystem="2.16.840.1.113883.6.1"/>
  <title>Lettre de liaison \xc3\xa0 la sortie</title>
</ClinicalDocument>
"""


@pytest.fixture(autouse=True)
def engine_profiles_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One schematron build cache for the whole session (compiled once), never the user's own cache."""
    shared = tmp_path_factory.getbasetemp() / "shared-profiles"
    monkeypatch.setenv("DMP_CONFORMANCE_PROFILES_DIR", str(shared))
    return shared


def rules_of(result: ArtefactResult, severity: Severity | None = None) -> set[str]:
    return {f.rule for f in result.findings if severity is None or f.severity is severity}


# --- without any package: prechecks, well-formedness, routing and our rules ------------------------------

def test_without_package_one_warning_says_which_command_installs_it() -> None:
    result = validate_cda(MINIMAL_CDA, "doc.xml", None)
    warnings = [f for f in result.findings if f.rule == RULE_NO_PACKAGE]
    assert len(warnings) == 1 and warnings[0].severity is Severity.WARNING
    assert "dmp-conformance profiles import" in (warnings[0].hint or "")
    assert result.details["routing"]["volet"] == "LDL-SES_2022.01"
    assert "rules" in result.details["timings_ms"] and "xsd" not in result.details["timings_ms"]
    assert not any(f.source is Source.XSD for f in result.findings)


def test_bom_is_a_warning_and_validation_goes_on() -> None:
    result = validate_cda(b"\xef\xbb\xbf" + MINIMAL_CDA, "bom.xml", None)
    assert "XML-BOM" in rules_of(result, Severity.WARNING)
    assert "routing" in result.details


def test_latin1_bytes_declared_utf8_are_an_error() -> None:
    result = validate_cda(MINIMAL_CDA.replace(b"\xc3\xa0", b"\xe0"), "latin1.xml", None)
    finding = next(f for f in result.findings if f.rule == "XML-UTF8")
    assert finding.severity is Severity.ERROR and finding.line == 6
    assert not result.valid


def test_xxe_is_refused_and_validation_stops() -> None:
    hostile = (b'<?xml version="1.0"?>\n<!DOCTYPE ClinicalDocument [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
               b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&x;</title></ClinicalDocument>')
    result = validate_cda(hostile, "xxe.xml", None)
    assert rules_of(result) == {"XML-ENTITY"}
    assert "routing" not in result.details and not result.valid


def test_not_well_formed_stops_with_a_line() -> None:
    result = validate_cda(MINIMAL_CDA.replace(b"</title>", b"</titel>"), "broken.xml", None)
    finding = next(f for f in result.findings if f.rule == "XML-WELLFORMED")
    assert finding.line == 6
    assert "routing" not in result.details


def test_other_root_is_not_a_cda_document() -> None:
    result = validate_cda(b"<Envelope xmlns='http://www.w3.org/2003/05/soap-envelope'/>", "soap.xml", None)
    assert rules_of(result) == {RULE_NOT_CDA}


def test_kind_detection() -> None:
    assert detect(MINIMAL_CDA)
    assert detect(MINIMAL_CDA.replace(b"</title>", b"</titel>"))  # a broken CDA is still reported as CDA
    stylesheet = (b'<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0">'
                  b'<xsl:template match="/">' + MINIMAL_CDA.split(b"?>", 1)[1] + b"</xsl:template></xsl:stylesheet>")
    assert detect(stylesheet)
    assert not detect(b"<Envelope xmlns='http://www.w3.org/2003/05/soap-envelope'><ClinicalDocument/></Envelope>")
    assert not detect(b'{"resourceType": "Bundle"}')
    mtom = (b"--MIMEBoundary\r\nContent-Type: application/xop+xml\r\n\r\n<Envelope/>\r\n--MIMEBoundary\r\n"
            b"Content-Type: text/xml\r\n\r\n" + MINIMAL_CDA + b"\r\n--MIMEBoundary--")
    assert not detect(mtom)  # a CDA attachment does not make the message a CDA document
    assert detect(b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- generated -->\n" + MINIMAL_CDA.split(b"?>", 1)[1])


def test_bad_explicit_package_is_an_error_finding(tmp_path: Path) -> None:
    result = validate_cda(MINIMAL_CDA, "doc.xml", tmp_path / "nowhere")
    assert RULE_PACKAGE in rules_of(result, Severity.ERROR)
    assert "rules" in result.details["timings_ms"]


# --- with the official package --------------------------------------------------------------------------

def _golden_cases(golden_dir: Path, cisis_package: Path) -> list[tuple[str, Path, dict]]:
    cases = []
    for line in (golden_dir / "examples.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        cases.append((record["document"], cisis_package / record["document"], record["xsd"]))
    for line in (golden_dir / "mutants.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        cases.append((record["id"], golden_dir / record["file"], record["xsd"]))
    return cases


@pytest.mark.official
@pytest.mark.requirement("BENCH-CDA-VALID")
def test_xsd_verdict_equals_the_golden_for_every_example_and_mutant(golden_dir: Path,
                                                                     cisis_package: Path) -> None:
    mismatches = []
    cases = _golden_cases(golden_dir, cisis_package)
    for label, path, golden in cases:
        result = validate_cda(path.read_bytes(), label, cisis_package, stages={"xsd"})
        xsd = [f for f in result.findings if f.source is Source.XSD]
        ours = (not xsd, len(xsd), [f.line for f in xsd])
        theirs = (golden["valid"], golden["n_errors"], [e["line"] for e in golden["errors"]])
        if ours != theirs:
            mismatches.append(f"{label}: ours {ours}, official {theirs}")
    assert len(cases) >= 174
    assert mismatches == []


@pytest.mark.official
def test_xsd_finding_is_located(golden_dir: Path, cisis_package: Path) -> None:
    result = validate_cda((golden_dir / "mutants" / "MUT-001.xml").read_bytes(), "MUT-001", cisis_package,
                          stages={"xsd"})
    finding = next(f for f in result.findings if f.rule == "XSD")
    assert finding.line == 142 and finding.location == "/cda:ClinicalDocument/cda:informant[1]"
    assert "informant" in finding.message and finding.hint


@pytest.mark.official
def test_self_presenting_document_routes_on_the_embedded_clinical_document(cisis_package: Path) -> None:
    result = validate_cda((cisis_package / SELF_PRESENTING).read_bytes(), SELF_PRESENTING, cisis_package,
                          stages={"xsd", "rules"})
    assert result.details["self_presenting"] is True
    assert result.details["routing"]["schematron"] == "schematrons/CI-SIS_BIO-CR-BIO_2021.01.sch"
    assert not any(f.source is Source.XSD for f in result.findings)  # XSD on the whole file, as officially


@pytest.mark.official
def test_details_name_the_package_and_the_stages(cisis_package: Path) -> None:
    result = validate_cda((cisis_package / LDL_SES).read_bytes(), LDL_SES, cisis_package, stages={"xsd", "rules"})
    assert result.details["package"]["sha256"] and result.details["package"]["version"]
    assert set(result.details["timings_ms"]) == {"parse", "xsd", "rules"}


@pytest.mark.official
def test_missing_volet_schematron_is_an_error_naming_the_volet(cisis_package: Path, tmp_path: Path) -> None:
    # a package whose schematrons folder lacks the routed volet (and the profils)
    package = tmp_path / "TestContenuCDA"
    (package / "schematrons").mkdir(parents=True)
    (package / "infrastructure").symlink_to(cisis_package / "infrastructure")
    result = validate_cda((cisis_package / LDL_SES).read_bytes(), LDL_SES, package)
    volet = next(f for f in result.findings if f.rule == RULE_VOLET_UNAVAILABLE)
    assert "LDL-SES_2022.01" in volet.message and "profiles import" in (volet.hint or "")
    assert sum(f.rule == RULE_SCHEMATRON_UNAVAILABLE for f in result.findings) == 5
    assert not result.valid


@pytest.mark.official
def test_validate_bytes_uses_the_explicit_package_folder(cisis_package: Path) -> None:
    data = (cisis_package / LDL_SES).read_bytes()
    result = validate_bytes(data, LDL_SES, ValidationContext(package_dir=cisis_package))
    assert result.kind == "cda" and "xsd" in result.details["timings_ms"]


@pytest.mark.official
def test_validate_bytes_uses_the_cache(cisis_package: Path, tmp_path: Path) -> None:
    from conformance.artefacts import import_package

    shutil.copytree(cisis_package / "infrastructure", tmp_path / "pkg" / "infrastructure")
    (tmp_path / "pkg" / "schematrons").mkdir()
    installed = import_package(tmp_path / "pkg", tmp_path / "profiles")
    result = validate_bytes((cisis_package / LDL_SES).read_bytes(), LDL_SES,
                            ValidationContext(profiles_dir=tmp_path / "profiles"))
    assert result.details["package"]["sha256"] == installed.sha256
    assert RULE_NO_PACKAGE not in rules_of(result)


# --- the schematron stage (needs the schematron engine) -------------------------------------------------

needs_engine = pytest.mark.skipif(not HAS_ENGINE, reason="schematron engine (conformance.schematron) not installed")




@needs_engine
@pytest.mark.official
@pytest.mark.slow
@pytest.mark.requirement("BENCH-CDA-VALID")
def test_valid_example_is_valid_with_all_six_schematrons(cisis_package: Path, engine_profiles_dir: Path,
                                                          tmp_path: Path) -> None:
    # a file name with a space and an accent, as in ExemplesCDA (it must become a proper document URI)
    copy = tmp_path / "Lettre de liaison é.xml"
    shutil.copy(cisis_package / LDL_SES, copy)
    result = validate_cda(copy.read_bytes(), str(copy), cisis_package, profiles_dir=engine_profiles_dir)
    assert result.valid, [f.to_dict() for f in result.findings if f.is_error]
    statuses = {s["schematron"]: s["status"] for s in result.details["schematrons"]}
    assert len(statuses) == 6 and set(statuses.values()) == {"ok"}
    assert set(result.evidence) == {f"svrl:{s}" for s in statuses}


@needs_engine
@pytest.mark.official
@pytest.mark.slow
@pytest.mark.requirement("BENCH-CDA-VALID")
def test_volet_that_cannot_be_built_is_reported(cisis_package: Path, engine_profiles_dir: Path) -> None:
    path = "ExemplesCDA/BIO-CR-BIO_2023.01_Electrophorese.xml"
    result = validate_cda((cisis_package / path).read_bytes(), path, cisis_package, profiles_dir=engine_profiles_dir,
                          stages={"schematron"})
    finding = next(f for f in result.findings if f.rule == RULE_VOLET_UNAVAILABLE)
    assert "BIO-CR-BIO_2023.01" in finding.message


def test_xsd_loading_never_reaches_the_network(tmp_path: Path) -> None:
    import functools
    import http.server
    import threading

    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema' targetNamespace='urn:r'/>")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        package = tmp_path / "pkg"
        (package / "schematrons").mkdir(parents=True)
        (package / "infrastructure" / "cda").mkdir(parents=True)
        (package / "infrastructure" / "cda" / "CDA_extended.xsd").write_text(
            "<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema' targetNamespace='urn:hl7-org:v3'>"
            f"<xs:import namespace='urn:r' schemaLocation='http://127.0.0.1:{server.server_address[1]}/r.xsd'/>"
            "</xs:schema>")
        result = validate_cda(MINIMAL_CDA, "doc.xml", package, stages={"xsd"})
    finally:
        server.shutdown()
        server.server_close()
    assert requests == []
    assert "BENCH-CDA-XSD-LOAD" in rules_of(result, Severity.ERROR)


# Examples covering every pipeline path: the 9 not fully valid officially (failed asserts in profils and
# volets, an unbuildable volet), a self-presenting one, non-structured ones (with and without volet), the
# catalogue without volet, and file names with spaces and accents.
VERDICT_SAMPLE = (
    "BIO-CR-BIO_2023.01_Electrophorese.xml", "BIO-CR-BIO_2024.01_TSH_1.xml", "CANCER-FRCP_2022.01_Appareil.xml",
    "TLM-DA_2022.01_TCG.xml", "eDISP-MED_2024.01.xml", "BIO-CR-BIO_2021.01_Auto-Presentable.xml",
    "DOC_NON_STRUCTURE_CDA-R2-N1.xml", "TLM-CR_2022.01.xml", "01_Modèles_contenus_CDA.xml",
    "BIO-CR-BIO_2024.01_Glycémie mole.xml", "LDL-EES_2022.01.xml",
)


@needs_engine
@pytest.mark.official
@pytest.mark.slow
@pytest.mark.requirement("BENCH-CDA-VALID")
@pytest.mark.parametrize("name", VERDICT_SAMPLE)
def test_official_verdict_is_reproduced(name: str, cisis_package: Path, golden_dir: Path,
                                        engine_profiles_dir: Path) -> None:
    golden = next(json.loads(line) for line in (golden_dir / "examples.jsonl").read_text(encoding="utf-8")
                  .splitlines() if json.loads(line)["document"] == f"ExemplesCDA/{name}")
    path = cisis_package / "ExemplesCDA" / name
    result = validate_cda(path.read_bytes(), str(path), cisis_package, profiles_dir=engine_profiles_dir,
                          stages={"xsd", "schematron"})
    official_errors = [f for f in result.findings if f.is_error and f.source in (Source.XSD, Source.SCHEMATRON)]
    assert (not official_errors) == golden["summary"]["fully_valid"], [f.message[:200] for f in official_errors]
    assert result.details["routing"]["schematron"] == golden["volet_schematron"]
    ran = {s["schematron"] for s in result.details["schematrons"]}
    assert ran == {s["schematron"] for s in golden["schematrons"]}
