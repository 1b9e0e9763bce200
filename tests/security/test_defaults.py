"""Secrets and secure defaults: no private key in the repo, run-time PKI, loopback, admin off, limits."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest
import typer.main

from conformance.cli import app
from conformance.pki import TestPki
from conformance.server.settings import ServerSettings
from conformance.soap import MtomLimits
from conformance.xml.safe import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH
from tests.server.conftest import RunningServer

REPO = Path(__file__).resolve().parents[2]
# A whole PEM (PKCS#1/#8, EC, encrypted) or PGP private key block, not a mere mention of the marker
PRIVATE_KEY = re.compile(
    rb"-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----[\r\n]+[A-Za-z0-9+/=:,\- \r\n]{64,}-----END"
)


def _tracked_files() -> list[Path]:
    try:
        names = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=30
        ).stdout.split(b"\0")
    except (OSError, subprocess.SubprocessError):
        pytest.skip("not a git checkout")
    return [REPO / name.decode() for name in names if name]


def test_no_private_key_is_tracked() -> None:
    files = _tracked_files()
    assert files
    offenders = [
        str(path.relative_to(REPO))
        for path in files
        if path.is_file() and PRIVATE_KEY.search(path.read_bytes())
    ]
    assert offenders == [], "private keys in the repository (generate them at run time with TestPki)"
    key_files = [p for p in files if p.suffix in {".key", ".p12", ".pfx", ".jks"}]
    assert key_files == []


def test_the_marker_scan_finds_a_real_key() -> None:
    assert PRIVATE_KEY.search(TestPki.generate("scan").structure.key_pem)
    assert not PRIVATE_KEY.search(b'assert key.startswith(b"-----BEGIN PRIVATE KEY-----")')


def test_the_test_pki_is_generated_at_run_time() -> None:
    first, second = TestPki.create("a"), TestPki.create("a")
    assert first.ca.cert.public_key().public_numbers() != second.ca.cert.public_key().public_numbers()
    assert first.ca.cert.fingerprint(first.ca.cert.signature_hash_algorithm) != second.ca.cert.fingerprint(
        second.ca.cert.signature_hash_algorithm
    )  # type: ignore[arg-type]


def _serve_default(name: str) -> object:
    command = typer.main.get_command(app)
    serve = command.commands["serve"]  # type: ignore[attr-defined]
    [param] = [p for p in serve.params if p.name == name]
    return param.default


def test_serve_binds_to_loopback_and_is_strict_by_default() -> None:
    assert _serve_default("host") == "127.0.0.1"
    assert _serve_default("admin") is False
    assert _serve_default("lenient_signatures") is False


def test_server_settings_are_secure_by_default() -> None:
    settings = ServerSettings()
    assert not settings.admin_enabled and not settings.lenient_signatures
    assert 0 < settings.max_body_bytes <= 128 * 1024 * 1024
    assert 0 < settings.body_timeout_seconds <= 300
    assert list(settings.trust) == []  # nothing trusted unless configured
    limits = MtomLimits()
    assert (
        limits.max_part <= limits.max_total and limits.max_parts <= 1000 and limits.max_header_size <= 65536
    )
    assert DEFAULT_MAX_BYTES <= 128 * 1024 * 1024 and DEFAULT_MAX_DEPTH <= 1024


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/admin/patients"), ("POST", "/admin/professionals"), ("DELETE", "/admin/captures")],
)
def test_admin_endpoints_are_disabled_unless_asked_for(
    hardened: RunningServer, method: str, path: str
) -> None:
    captures = httpx.get(f"{hardened.url}/captures", timeout=10).json()
    response = httpx.request(method, f"{hardened.url}{path}", json={"ins": "1", "id_nat": "1"}, timeout=10)
    assert response.status_code in (403, 404)
    assert hardened.store.patient("1") is None and hardened.store.professional("1") is None
    assert httpx.get(f"{hardened.url}/captures", timeout=10).json() == captures
