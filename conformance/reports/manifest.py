"""Tamper evidence for a run directory: ``manifest.json`` (SHA-256 of every file) signed with Ed25519.

``manifest.sig`` is the raw Ed25519 signature of the exact bytes of ``manifest.json``; ``manifest.pub`` is the
public key (PEM) so anyone can verify offline. Verifying against ``manifest.pub`` alone only proves the files
match *a* signature: pass the expected key (``--public-key``) or compare the printed fingerprint to be sure of
*who* signed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "manifest.pub"
MANIFEST_SCHEMA = "dmp-conformance/manifest/v1"
_OWN_FILES = frozenset({MANIFEST, SIGNATURE, PUBLIC_KEY})


class SigningKeyError(ValueError):
    """The signing or verification key cannot be used (unreadable, not PEM, not Ed25519)."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def run_files(run_dir: Path) -> Iterator[tuple[str, Path]]:
    """Every regular file of the run (relative "/" path, path), sorted, except the manifest's own files."""
    for path in sorted(run_dir.rglob("*")):
        relative = path.relative_to(run_dir).as_posix()
        if path.is_file() and relative not in _OWN_FILES:
            yield relative, path


def hash_tree(directory: Path) -> str:
    """One SHA-256 for a folder: over the sorted (relative path, file hash) pairs (identifies a package
    version)."""
    digest = hashlib.sha256()
    for relative, path in run_files(directory):
        digest.update(f"{relative}\0{sha256_file(path)}\n".encode())
    return digest.hexdigest()


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, as colon-separated hex pairs of the first 16 bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest()
    return "SHA256:" + ":".join(digest[i : i + 2] for i in range(0, 32, 2))


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path}: not a readable unencrypted PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: the signing key must be Ed25519, found {type(key).__name__}")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        data = path.read_bytes()
        key = serialization.load_pem_public_key(data)
    except (OSError, ValueError) as exc:
        raise SigningKeyError(f"{path}: not a readable PEM public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path}: the public key must be Ed25519, found {type(key).__name__}")
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def build_manifest(run_dir: Path) -> dict[str, object]:
    files = [
        {"path": rel, "sha256": sha256_file(path), "size": path.stat().st_size}
        for rel, path in run_files(run_dir)
    ]
    return {"schema": MANIFEST_SCHEMA, "algorithm": "sha256", "signature": "ed25519", "files": files}


def sign_run(run_dir: Path, key: Ed25519PrivateKey | None = None) -> str:
    """Write manifest.json, manifest.sig and manifest.pub; return the public key fingerprint.

    Without ``key`` a key pair is generated for this run and its private half is discarded.
    """
    key = key or Ed25519PrivateKey.generate()
    manifest = json.dumps(build_manifest(run_dir), indent=2, sort_keys=True).encode() + b"\n"
    (run_dir / MANIFEST).write_bytes(manifest)
    (run_dir / SIGNATURE).write_bytes(key.sign(manifest))
    (run_dir / PUBLIC_KEY).write_bytes(public_pem(key.public_key()))
    return fingerprint(key.public_key())


@dataclass(slots=True)
class Verification:
    problems: list[str]
    fingerprint: str | None
    files: int

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_run(run_dir: Path, public_key: Path | Ed25519PublicKey | None = None, *,
               regenerated: Collection[str] = ()) -> Verification:
    """Check the signature, then every file: changed bytes, removed files and added files are all reported.

    ``public_key`` is the expected signer (a PEM file or a key); ``regenerated`` names files (relative "/" paths)
    the caller is about to rewrite before re-signing, whose current state therefore does not matter.
    """
    problems: list[str] = []
    for name in (MANIFEST, SIGNATURE) + (() if public_key else (PUBLIC_KEY,)):
        if not (run_dir / name).is_file():
            problems.append(f"{name} is missing: the run is not signed or the file was removed")
    if problems:
        return Verification(problems, None, 0)
    try:
        embedded = load_public_key(run_dir / PUBLIC_KEY) if (run_dir / PUBLIC_KEY).is_file() else None
        key = load_public_key(public_key) if isinstance(public_key, Path) else public_key or embedded
    except SigningKeyError as exc:
        return Verification([str(exc)], None, 0)
    assert key is not None  # checked above: manifest.pub exists when no key is given
    if public_key and embedded is not None and public_pem(embedded) != public_pem(key):
        problems.append(
            f"manifest.pub ({fingerprint(embedded)}) is not the expected key "
            f"{public_key if isinstance(public_key, Path) else 'given'} "
            f"({fingerprint(key)})"
        )
    manifest_bytes = (run_dir / MANIFEST).read_bytes()
    try:
        key.verify((run_dir / SIGNATURE).read_bytes(), manifest_bytes)
    except InvalidSignature:
        problems.append(
            f"manifest.sig does not match manifest.json under key {fingerprint(key)}: "
            "the manifest was changed or signed with another key"
        )
    try:
        listed = {entry["path"]: entry for entry in json.loads(manifest_bytes)["files"]}
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(f"manifest.json is not a valid manifest ({exc})")
        return Verification(problems, fingerprint(key), 0)
    present = {rel: path for rel, path in run_files(run_dir) if rel not in regenerated}
    listed = {rel: entry for rel, entry in listed.items() if rel not in regenerated}
    for rel, entry in sorted(listed.items()):
        path = present.get(rel)
        if path is None:
            problems.append(f"{rel}: removed (listed in the manifest, not in the run directory)")
            continue
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            problems.append(
                f"{rel}: changed (sha256 {actual}, manifest says {entry['sha256']}; "
                f"size {path.stat().st_size}, manifest says {entry['size']})"
            )
    for rel in sorted(set(present) - set(listed)):
        problems.append(f"{rel}: added (not listed in the manifest)")
    return Verification(problems, fingerprint(key), len(listed))
