"""``load --run-dir`` on a signed run: re-signed with the run's key, or a notice with the exact re-sign command;
never re-signed with another key or over an unrelated change. A small load.json stands in for a locust run."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from conformance.cli import app
from conformance.load import LoadResult, TransactionStats
from conformance.reports import verify_run, write_run_dir
from conformance.reports.manifest import MANIFEST, load_private_key, public_pem
from conformance.requirements import Catalogue

from .conftest import make_run

runner = CliRunner()


def _write_key(key: Ed25519PrivateKey, path: Path) -> Path:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


@pytest.fixture
def signed(tmp_path: Path, catalogue: Catalogue) -> tuple[Path, Path, Path]:
    """A run signed with a key kept in key.pem, and a load.json of an earlier load run."""
    key = Ed25519PrivateKey.generate()
    run_dir = tmp_path / "run"
    write_run_dir(make_run(catalogue, run_dir), run_dir, key)
    stats = [TransactionStats(name, 40, 0, 2.0, 20.0, 80.0, 95.0) for name in ("TD0.2", "TD2.1", "TD3.1", "TD3.2")]
    LoadResult(users=4, duration_s=5, workers=0, sut_url="http://127.0.0.1:1", transactions=stats,
               total=TransactionStats("Aggregated", 160, 0, 8.0, 20.0, 80.0, 95.0)).write(tmp_path / "load.json")
    return run_dir, _write_key(key, tmp_path / "key.pem"), tmp_path / "load.json"


def _load(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, ["load", *map(str, args)])
    return result.exit_code, result.output


def test_the_run_signed_with_the_given_key_is_re_signed(signed: tuple[Path, Path, Path]) -> None:
    run_dir, key, results = signed
    code, output = _load("--from-results", results, "--run-dir", run_dir, "--signing-key", key)
    assert code == 0, output
    assert "run re-signed by SHA256:" in output
    public = key.parent / "key.pub"
    public.write_bytes(public_pem(load_private_key(key).public_key()))
    verification = verify_run(run_dir, public)  # re-signed by the same signer, not just by some key
    assert verification.ok, verification.problems
    assert '<section id="load">' in (run_dir / "report.html").read_text()
    assert '"load/section.html"' in (run_dir / MANIFEST).read_text()
    cli = runner.invoke(app, ["report", "verify", str(run_dir), "--public-key", str(public)])
    assert cli.exit_code == 0, cli.output


def test_without_a_key_the_notice_gives_the_command_that_re_signs(signed: tuple[Path, Path, Path]) -> None:
    run_dir, key, results = signed
    code, output = _load("--from-results", results, "--run-dir", run_dir)
    assert code == 0, output
    assert "manifest is now stale" in output and not verify_run(run_dir).ok
    [command] = [line.strip() for line in output.splitlines() if line.strip().startswith("dmp-conformance load ")]
    args = [str(key) if arg == "KEY.pem" else arg for arg in shlex.split(command)[1:]]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert verify_run(run_dir).ok, verify_run(run_dir).problems


def test_another_key_is_refused_before_anything_changes(signed: tuple[Path, Path, Path]) -> None:
    run_dir, key, results = signed
    other = _write_key(Ed25519PrivateKey.generate(), key.parent / "other.pem")
    code, output = _load("--from-results", results, "--run-dir", run_dir, "--signing-key", other)
    assert code == 2 and "not an intact run signed by" in output and "manifest.pub" in output
    assert not (run_dir / "load").exists() and verify_run(run_dir).ok


def test_an_unrelated_change_is_not_laundered_by_the_re_signature(signed: tuple[Path, Path, Path]) -> None:
    run_dir, key, results = signed
    (run_dir / "junit.xml").write_text("<testsuites/>")
    code, output = _load("--from-results", results, "--run-dir", run_dir, "--signing-key", key)
    assert code == 2 and "junit.xml: changed" in output and "report verify" in output
    assert not (run_dir / "load").exists()


def test_a_signing_key_needs_a_run_dir(signed: tuple[Path, Path, Path]) -> None:
    _, key, results = signed
    code, output = _load("--from-results", results, "--signing-key", key)
    assert code == 2 and "--run-dir" in output


def test_an_unsigned_run_directory_is_not_signed_by_the_load_command(signed: tuple[Path, Path, Path]) -> None:
    run_dir, key, results = signed
    (run_dir / MANIFEST).unlink()
    code, output = _load("--from-results", results, "--run-dir", run_dir, "--signing-key", key)
    assert code == 2 and "not a signed run directory" in output
    assert not (run_dir / "load").exists()
