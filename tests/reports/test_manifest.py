"""Tamper evidence: the signed manifest detects changed bytes, removed and added files, and a wrong key."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from conformance.cli import app
from conformance.reports import Run, verify_run, write_run_dir
from conformance.reports.manifest import fingerprint, load_private_key, public_pem

runner = CliRunner()


def test_untouched_run_verifies(signed_run: tuple[Run, Path, str]) -> None:
    _, run_dir, printed = signed_run
    result = verify_run(run_dir)
    assert result.ok, result.problems
    assert (
        result.fingerprint == printed and result.files == 4
    )  # report.json/html, junit.xml, one evidence file
    cli = runner.invoke(app, ["report", "verify", str(run_dir)])
    assert cli.exit_code == 0 and "OK 4 files" in cli.output


def test_a_changed_byte_is_detected(signed_run: tuple[Run, Path, str]) -> None:
    _, run_dir, _ = signed_run
    target = run_dir / "evidence" / "t_td21" / "response.xml"
    data = bytearray(target.read_bytes())
    data[10] ^= 0x01
    target.write_bytes(bytes(data))
    result = verify_run(run_dir)
    assert result.problems == [
        p for p in result.problems if p.startswith("evidence/t_td21/response.xml: changed")
    ]
    assert len(result.problems) == 1
    cli = runner.invoke(app, ["report", "verify", str(run_dir)])
    assert cli.exit_code == 1 and "evidence/t_td21/response.xml: changed" in cli.output


def test_removed_and_added_files_are_detected(signed_run: tuple[Run, Path, str]) -> None:
    _, run_dir, _ = signed_run
    (run_dir / "junit.xml").unlink()
    (run_dir / "evidence" / "extra.txt").write_text("planted")
    problems = verify_run(run_dir).problems
    assert "junit.xml: removed (listed in the manifest, not in the run directory)" in problems
    assert "evidence/extra.txt: added (not listed in the manifest)" in problems


def test_an_edited_manifest_breaks_the_signature(signed_run: tuple[Run, Path, str]) -> None:
    _, run_dir, _ = signed_run
    manifest = run_dir / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"size"', '"size" ', 1))
    assert any("manifest.sig does not match manifest.json" in p for p in verify_run(run_dir).problems)


def test_wrong_key_is_reported(signed_run: tuple[Run, Path, str], tmp_path: Path) -> None:
    _, run_dir, _ = signed_run
    other = tmp_path / "other.pub"
    other.write_bytes(public_pem(Ed25519PrivateKey.generate().public_key()))
    problems = verify_run(run_dir, other).problems
    assert any("is not the expected key" in p for p in problems)
    assert any("manifest.sig does not match" in p for p in problems)
    cli = runner.invoke(app, ["report", "verify", str(run_dir), "--public-key", str(other)])
    assert cli.exit_code == 1


def test_re_signed_with_a_forged_key_fails_against_the_expected_key(
    signed_run: tuple[Run, Path, str], tmp_path: Path
) -> None:
    _, run_dir, _ = signed_run
    expected = tmp_path / "expected.pub"
    expected.write_bytes((run_dir / "manifest.pub").read_bytes())
    (run_dir / "report.json").write_text("{}")
    from conformance.reports import sign_run

    sign_run(run_dir)  # an attacker re-signs everything with a fresh key
    assert verify_run(run_dir).ok  # consistent with itself…
    assert not verify_run(run_dir, expected).ok  # …but not with the key the user expects


def test_given_signing_key_is_used(tmp_path: Path, catalogue: object) -> None:
    from tests.reports.conftest import make_run

    key = Ed25519PrivateKey.generate()
    pem = tmp_path / "key.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    run_dir = tmp_path / "run"
    printed = write_run_dir(make_run(catalogue, run_dir), run_dir, load_private_key(pem))
    assert printed == fingerprint(key.public_key())
    public = tmp_path / "key.pub"
    public.write_bytes(public_pem(key.public_key()))
    assert verify_run(run_dir, public).ok


def test_missing_signature_and_bad_key_file(signed_run: tuple[Run, Path, str], tmp_path: Path) -> None:
    _, run_dir, _ = signed_run
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    assert "not a readable PEM public key" in verify_run(run_dir, bad).problems[0]
    (run_dir / "manifest.sig").unlink()
    assert verify_run(run_dir).problems == [
        "manifest.sig is missing: the run is not signed or the file was removed"
    ]


def test_render_regenerates_identical_html(signed_run: tuple[Run, Path, str], tmp_path: Path) -> None:
    _, run_dir, _ = signed_run
    before = (run_dir / "report.html").read_bytes()
    (run_dir / "report.html").unlink()
    result = runner.invoke(app, ["report", "render", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert (run_dir / "report.html").read_bytes() == before  # deterministic: the manifest still holds
    assert verify_run(run_dir).ok
    elsewhere = tmp_path / "copy.html"
    assert runner.invoke(app, ["report", "render", str(run_dir), "-o", str(elsewhere)]).exit_code == 0
    assert elsewhere.read_bytes() == before


@pytest.mark.parametrize("command", [["report", "render"], ["report", "verify"]])
def test_commands_on_a_missing_run(tmp_path: Path, command: list[str]) -> None:
    result = runner.invoke(app, [*command, str(tmp_path / "nope")])
    assert result.exit_code == 2


def test_pdf_export(signed_run: tuple[Run, Path, str], tmp_path: Path) -> None:
    pytest.importorskip("weasyprint", reason="PDF export needs the [pdf] extra (weasyprint)")
    _, run_dir, _ = signed_run
    pdf = tmp_path / "report.pdf"
    result = runner.invoke(app, ["report", "render", str(run_dir), "--pdf", str(pdf)])
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes().startswith(b"%PDF-") and pdf.stat().st_size > 5_000
    assert verify_run(run_dir).ok  # the PDF lives outside the signed run
