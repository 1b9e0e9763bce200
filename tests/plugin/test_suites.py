"""The suites end to end through `dmp-conformance run`: server role and client role against a real reference
DMP subprocess, documents role on a folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conformance.cli import app
from conformance.plugin import reference_dmp_available
from conformance.reports import verify_run


@pytest.mark.slow
@pytest.mark.skipif(not reference_dmp_available(), reason="reference DMP not available")
def test_run_server_role_suite_against_the_embedded_dmp(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "-o", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["sut"]["embedded"] and report["sut"]["role"] == "server"
    outcomes = {t["name"]: t["outcome"] for t in report["tests"]}
    assert set(outcomes.values()) == {"passed"}, outcomes
    verdicts = {r["id"]: r["verdict"] for r in report["requirements"]}
    for rid in (
        "BENCH-DMP-AVAILABLE",
        "BENCH-DMP-TD0.2",
        "BENCH-DMP-TD2.1",
        "BENCH-DMP-TD3.1",
        "BENCH-DMP-TD3.2",
        "BENCH-DMP-TD3.3c",
        "BENCH-DMP-TD1.3a",
        "BENCH-DMP-ERRORS",
        "EX_2.1-1140",
    ):
        assert verdicts[rid] == "pass", rid
    feed = next(t for t in report["tests"] if t["name"] == "test_td21_feed_is_accepted")
    request = out / feed["evidence"][0]["path"]
    assert b"ProvideAndRegisterDocumentSet-b" in request.read_bytes()  # the raw exchange is kept as evidence
    assert verify_run(out).ok


@pytest.mark.slow
@pytest.mark.skipif(not reference_dmp_available(), reason="reference DMP not available")
def test_run_client_role_suite_with_a_scripted_lps(tmp_path: Path) -> None:
    from conformance.pki import TestPki

    pki_dir = tmp_path / "pki"
    paths = TestPki.generate("client-role-suite-test").write(pki_dir)
    out = tmp_path / "run"
    command = f"{sys.executable} {Path(__file__).with_name('lps_stand_in.py')} {pki_dir}"
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--suite",
            "client_role",
            "-o",
            str(out),
            "--",
            "--lps-command",
            command,
            "--wait-timeout",
            "60",
            "--dmp-options",
            f"--admin --trust {paths['ca.crt']}",
        ],
    )
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    outcomes = {t["name"]: (t["outcome"], t["message"]) for t in report["tests"]}
    assert result.exit_code == 0, outcomes
    assert report["sut"]["role"] == "client" and len(outcomes) == 5
    verdicts = {r["id"]: r["verdict"] for r in report["requirements"]}
    assert verdicts["BENCH-MTOM"] == verdicts["BENCH-VIHF-SIGNATURE"] == "pass"
    assert verify_run(out).ok


def test_run_documents_role_suite_on_a_folder(tmp_path: Path) -> None:
    documents = tmp_path / "produced"
    documents.mkdir()
    (documents / "broken.xml").write_text('<ClinicalDocument xmlns="urn:hl7-org:v3"><id root="1.2"/>')
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["run", "--suite", "documents_role", "-o", str(out), "--", "--documents-dir", str(documents)]
    )
    assert result.exit_code == 1, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    (test,) = report["tests"]
    assert test["name"] == "test_document_is_valid[broken.xml]" and test["outcome"] == "failed"
    assert test["findings"][0]["rule"] == "XML-WELLFORMED" and test["findings"][0]["line"] == 1
    assert report["sut"]["role"] == "documents"
    assert {r["id"]: r["verdict"] for r in report["requirements"]}["BENCH-CDA-VALID"] == "fail"
    empty = CliRunner().invoke(app, ["run", "--suite", "documents_role", "-o", str(tmp_path / "none")])
    assert empty.exit_code == 1 and "NOTHING TESTED" in empty.output


@pytest.mark.slow
@pytest.mark.skipif(not reference_dmp_available(), reason="reference DMP not available")
def test_run_server_role_suite_against_an_external_dmp(tmp_path: Path) -> None:
    """A DMP the bench did not start: its operator gives the patient and the VIHF signer it trusts."""
    import httpx

    from conformance.identity.synthetic import SyntheticIdentities
    from conformance.pki import TestPki
    from conformance.plugin import embedded_dmp

    pki = TestPki.generate("external-dmp-test")
    patient = SyntheticIdentities(seed=7).patient().ins
    paths = pki.write(tmp_path / "pki")
    with embedded_dmp(tmp_path / "external.sqlite", ["--admin", "--trust", str(paths["ca.crt"])]) as url:
        httpx.post(
            f"{url}/admin/professionals", json={"id_nat": pki.PS_ID_NAT, "role_code": "10"}
        ).raise_for_status()
        httpx.post(
            f"{url}/admin/patients",
            json={
                "ins": patient.value,
                "ins_oid": patient.oid,
                "family_name": "MARTIN",
                "given_name": "ALICE",
                "birth_date": "19800101",
                "gender": "F",
                "authorizations": [{"professional": pki.PS_ID_NAT}],
            },
        ).raise_for_status()
        out = tmp_path / "run"
        result = CliRunner().invoke(
            app,
            [
                "run",
                "--sut-url",
                url,
                "-o",
                str(out),
                "--",
                "--sut-patient",
                patient.cx(),
                "--vihf-subject",
                pki.PS_ID_NAT,
                "--vihf-cert",
                str(paths["ps_signature.crt"]),
                "--vihf-key",
                str(paths["ps_signature.key"]),
            ],
        )
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    outcomes = {t["name"]: (t["outcome"], t["message"]) for t in report["tests"]}
    assert result.exit_code == 0, outcomes
    assert not report["sut"]["embedded"] and report["sut"]["url"] == url
    assert not [n for n, (o, _) in outcomes.items() if o in ("failed", "error")], outcomes
    mine = (
        "test_td02_existence_of_an_existing_dmp",
        "test_td21_feed_is_accepted",
        "test_td31_finds_the_fed_document",
        "test_td32_retrieves_the_same_bytes",
        "test_td33c_deletes_the_fed_document",
    )
    assert all(outcomes[name][0] == "passed" for name in mine), outcomes
